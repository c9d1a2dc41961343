/**
 * Turns a presented credential (an access token or a session cookie) into a verdict by asking the
 * auth service over the bus, and remembers verdicts briefly together with the signed caller
 * assertion the services check. Cache keys are SHA-256 digests, never credentials. A revocation
 * event from auth drops the affected verdicts at once.
 */
import type { RevokedEvent, UsageEvent, Verdict, VerifyRequest } from "@vexil/shared/auth-messages";
import type { Assertions } from "@vexil/shared/assertion";
import { decodeJson, encodeJson, type Bus } from "@vexil/shared/bus/bus";
import { requestJson } from "@vexil/shared/bus/rpc";
import type { Caller } from "@vexil/shared/caller";
import { verifierOf } from "@vexil/shared/secrets";
import { subjects } from "@vexil/shared/subjects";

export type Credential = { token: string } | { session: string };

export type Checked = { ok: true; caller: Caller; assertion: string; cached: boolean } | { ok: false; reason: string };

export interface CallerVerifier {
  verify(credential: Credential): Promise<Checked>;
  /** True if this credential has a live positive verdict here (no bus call). */
  isKnownGood(credential: Credential): boolean;
}

export interface VerifierOptions {
  assertions: Assertions;
  timeoutMs: number;
  /** How long a positive verdict is reused. */
  ttlMs?: number;
  /** How long a refusal is reused (short: a token may be created a moment later). */
  negativeTtlMs?: number;
  maxEntries?: number;
  /** How often token use and member activity go to auth. */
  usageFlushMs?: number;
}

interface Entry {
  checked: Checked;
  expiresAt: number;
  subjects: string[];
}

const keyOf = (c: Credential) => ("token" in c ? verifierOf(`t:${c.token}`) : verifierOf(`s:${c.session}`));

export function busCallerVerifier(bus: Bus, options: VerifierOptions): CallerVerifier & { size(): number; stop(): void } {
  const ttl = options.ttlMs ?? 5_000;
  const negativeTtl = options.negativeTtlMs ?? 1_000;
  const max = options.maxEntries ?? 10_000;
  const cache = new Map<string, Entry>();
  const index = new Map<string, Set<string>>();
  const usage: UsageEvent = { v: 1, tokens: {}, members: {} };

  const forget = (key: string) => {
    const entry = cache.get(key);
    if (!entry) return;
    cache.delete(key);
    for (const s of entry.subjects) {
      const keys = index.get(s);
      keys?.delete(key);
      if (keys?.size === 0) index.delete(s);
    }
  };

  const remember = (key: string, entry: Entry) => {
    forget(key);
    if (cache.size >= max) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) forget(oldest);
    }
    cache.set(key, entry);
    for (const s of entry.subjects) {
      const keys = index.get(s) ?? new Set<string>();
      keys.add(key);
      index.set(s, keys);
    }
  };

  bus.subscribe(subjects.authRevoked, (msg) => {
    const event = decodeJson<RevokedEvent>(msg.data);
    if (event.all) {
      cache.clear();
      index.clear();
      return;
    }
    const named = [
      ...(event.tokenIds ?? []).map((id) => `token:${id}`),
      ...(event.memberIds ?? []).map((id) => `member:${id}`),
      ...(event.sessionIds ?? []).map((id) => `session:${id}`),
    ];
    for (const s of named) for (const key of [...(index.get(s) ?? [])]) forget(key);
  });

  // Armed by the first use after a flush, so an idle gateway has no timer running.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flushUsage = () => {
    clearTimeout(timer);
    timer = undefined;
    if (Object.keys(usage.tokens).length === 0 && Object.keys(usage.members).length === 0) return;
    try {
      bus.publish(subjects.authUsage, encodeJson(usage));
    } catch {
      // The bus is down: this batch of timestamps is dropped, the next one goes out.
    }
    usage.tokens = {};
    usage.members = {};
  };
  const noteUse = (caller: Caller) => {
    const now = Date.now();
    if (caller.tokenId) usage.tokens[caller.tokenId] = now;
    if (caller.memberId) usage.members[caller.memberId] = now;
    if (!timer) {
      timer = setTimeout(flushUsage, options.usageFlushMs ?? 5_000);
      timer.unref?.();
    }
  };

  return {
    async verify(credential) {
      const key = keyOf(credential);
      const hit = cache.get(key);
      if (hit && hit.expiresAt > Date.now()) {
        if (hit.checked.ok) noteUse(hit.checked.caller);
        return hit.checked.ok ? { ...hit.checked, cached: true } : hit.checked;
      }
      const request: VerifyRequest = { v: 1, ...credential };
      const verdict = await requestJson<Verdict>(bus, subjects.authVerify, request, options.timeoutMs);
      if (!verdict.ok) {
        const checked: Checked = { ok: false, reason: verdict.reason };
        remember(key, { checked, expiresAt: Date.now() + negativeTtl, subjects: [] });
        return checked;
      }
      const { caller } = verdict;
      const checked: Checked = { ok: true, caller, assertion: await options.assertions.sign(caller), cached: false };
      const named = [caller.tokenId && `token:${caller.tokenId}`, caller.memberId && `member:${caller.memberId}`, verdict.sessionId && `session:${verdict.sessionId}`];
      remember(key, { checked, expiresAt: Date.now() + ttl, subjects: named.filter((s): s is string => Boolean(s)) });
      noteUse(caller);
      return checked;
    },
    isKnownGood(credential) {
      const hit = cache.get(keyOf(credential));
      return Boolean(hit && hit.checked.ok && hit.expiresAt > Date.now());
    },
    size: () => cache.size,
    stop: () => {
      flushUsage();
    },
  };
}
