/**
 * Turns a presented access token into a verdict by asking the auth service over the bus,
 * and remembers verdicts briefly. Keys of the cache are token verifiers, never tokens.
 * A revocation event from auth drops the affected verdicts at once.
 */
import type { RevokedEvent, Verdict } from "@vexil/shared/auth-messages";
import { decodeJson, type Bus } from "@vexil/shared/bus/bus";
import { requestJson } from "@vexil/shared/bus/rpc";
import { verifierOf } from "@vexil/shared/secrets";
import { subjects } from "@vexil/shared/subjects";

export interface CallerVerifier {
  verify(token: string): Promise<Verdict>;
}

export interface VerifierOptions {
  timeoutMs: number;
  /** How long a positive verdict is reused. */
  ttlMs?: number;
  /** How long a refusal is reused (short: a token may be created a moment later). */
  negativeTtlMs?: number;
  maxEntries?: number;
}

interface Entry {
  verdict: Verdict;
  expiresAt: number;
}

export function busCallerVerifier(bus: Bus, options: VerifierOptions): CallerVerifier & { size(): number } {
  const ttl = options.ttlMs ?? 5_000;
  const negativeTtl = options.negativeTtlMs ?? 1_000;
  const max = options.maxEntries ?? 10_000;
  const cache = new Map<string, Entry>();
  const byTokenId = new Map<string, Set<string>>();

  bus.subscribe(subjects.authRevoked, (msg) => {
    const event = decodeJson<RevokedEvent>(msg.data);
    for (const tokenId of event.tokenIds ?? []) {
      for (const key of byTokenId.get(tokenId) ?? []) cache.delete(key);
      byTokenId.delete(tokenId);
    }
  });

  const forget = (key: string) => {
    const entry = cache.get(key);
    cache.delete(key);
    if (entry?.verdict.ok) {
      const keys = byTokenId.get(entry.verdict.caller.tokenId);
      keys?.delete(key);
      if (keys?.size === 0) byTokenId.delete(entry.verdict.caller.tokenId);
    }
  };

  const remember = (key: string, verdict: Verdict) => {
    forget(key);
    if (cache.size >= max) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) forget(oldest);
    }
    cache.set(key, { verdict, expiresAt: Date.now() + (verdict.ok ? ttl : negativeTtl) });
    if (verdict.ok) {
      const keys = byTokenId.get(verdict.caller.tokenId) ?? new Set<string>();
      keys.add(key);
      byTokenId.set(verdict.caller.tokenId, keys);
    }
  };

  return {
    async verify(token) {
      const key = verifierOf(token);
      const hit = cache.get(key);
      if (hit && hit.expiresAt > Date.now()) return hit.verdict;
      const verdict = await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token }, options.timeoutMs);
      remember(key, verdict);
      return verdict;
    },
    size: () => cache.size,
  };
}
