/**
 * SDK keys and mobile keys, checked by the auth service over the bus and remembered briefly
 * (keyed by a SHA-256 digest, never the key). When auth announces that keys stop working, their
 * verdicts are dropped and whoever listens (the open streams) hears of it at the moment they stop.
 *
 * While auth cannot answer (its database or the service itself out of reach), a key this instance
 * found working keeps working past its verdict's time, for `staleMs` at most: its revocation would
 * have been heard. Not a verdict from before the bus last reconnected (a revocation may have gone by
 * unheard), nor a refusal. A key checked for the first time then gets a 503, never a 401 (which SDKs
 * take as final), so the SDK tries again, through the edge perhaps on an instance that knows the key.
 */
import type { EnvironmentKeysRevokedEvent } from "@vexil/shared/auth-messages";
import { decodeJson, type Bus } from "@vexil/shared/bus/bus";
import { requestJson } from "@vexil/shared/bus/rpc";
import { VexilError } from "@vexil/shared/errors";
import { sdkRefusals } from "@vexil/shared/metrics";
import { parseCredential, verifierOf } from "@vexil/shared/secrets";
import { subjects } from "@vexil/shared/subjects";

export type KeyKind = "sdk" | "mob";

export interface KeyGrant {
  environmentId: string;
  kind: KeyKind;
  /** The key's public part: what revocations name. */
  selector: string;
}

type Verdict = { v: 1; ok: true; environmentId: string; kind: KeyKind } | { v: 1; ok: false; reason: string };

export interface KeyVerifier {
  /** The key's environment, or undefined when the key does not work (or is of another kind). */
  verify(presented: string, kind: KeyKind): Promise<KeyGrant | undefined>;
  /** Called with the selectors of keys that stop working, when they stop. */
  onRevoked(listener: (environmentId: string, selectors: Set<string>) => void): void;
  stop(): void;
}

interface Entry {
  grant: KeyGrant | undefined;
  /** The bus connection it was verified on (see `connection`). */
  connection: number;
  expiresAt: number;
}

export interface KeyVerifierOptions {
  timeoutMs: number;
  ttlMs?: number;
  negativeTtlMs?: number;
  maxEntries?: number;
  /** How long past its time a working key's verdict still serves while auth cannot answer. */
  staleMs?: number;
}

const KIND_NAMES: Record<KeyKind, string> = { sdk: "SDK key", mob: "mobile key" };

/**
 * The grant of a key presented in `where`; 401 (which SDKs take as final) only for a key that is
 * missing or does not work — an unreachable auth service is a 503 from the bus call.
 */
export async function requireGrant(keys: KeyVerifier, kind: KeyKind, presented: string | undefined, where = "the Authorization header"): Promise<KeyGrant> {
  if (!presented) {
    refusedKeys.inc();
    throw new VexilError("unauthorized", `An ${KIND_NAMES[kind]} is required in ${where}`);
  }
  const grant = await keys.verify(presented, kind);
  if (!grant) {
    refusedKeys.inc();
    throw new VexilError("unauthorized", `Invalid ${KIND_NAMES[kind]}`);
  }
  return grant;
}

const refusedKeys = sdkRefusals.labels("unauthorized");

export function busKeyVerifier(bus: Bus, options: KeyVerifierOptions): KeyVerifier {
  const ttl = options.ttlMs ?? 30_000;
  const negativeTtl = options.negativeTtlMs ?? 2_000;
  const max = options.maxEntries ?? 20_000;
  const staleMs = options.staleMs ?? 10 * 60_000;
  /** Raised when the bus reconnects: revocations may have gone by unheard before. */
  let connection = 0;
  bus.onReconnect(() => {
    connection++;
  });
  const cache = new Map<string, Entry>();
  const listeners: Array<(environmentId: string, selectors: Set<string>) => void> = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const revoke = (event: EnvironmentKeysRevokedEvent) => {
    const selectors = new Set(event.selectors);
    for (const [key, entry] of cache) if (entry.grant && selectors.has(entry.grant.selector)) cache.delete(key);
    for (const listener of listeners) listener(event.environmentId, selectors);
  };

  const subscription = bus.subscribe(subjects.authEnvironmentKeysRevoked, (msg) => {
    const event = decodeJson<EnvironmentKeysRevokedEvent>(msg.data);
    if (!Array.isArray(event.selectors)) return;
    const wait = (event.at ?? 0) - Date.now();
    if (wait <= 0) return revoke(event);
    // A key reset with an expiry keeps working until then.
    const timer = setTimeout(() => {
      timers.delete(timer);
      revoke(event);
    }, wait);
    timers.add(timer);
  });

  return {
    async verify(presented, kind) {
      const parsed = parseCredential(presented);
      if (!parsed || parsed.kind !== kind) return undefined;
      const key = verifierOf(`k:${presented}`);
      const now = Date.now();
      const hit = cache.get(key);
      if (hit && hit.expiresAt > now) return hit.grant;
      const askedOn = connection;
      let verdict: Verdict;
      try {
        verdict = await requestJson<Verdict>(bus, subjects.authVerifyEnvironmentKey, { v: 1, key: presented }, options.timeoutMs);
      } catch (e) {
        const known = cache.get(key);
        if (known?.grant && known.connection === connection && Date.now() - known.expiresAt < staleMs) return known.grant;
        if (e instanceof VexilError && e.code === "gateway_timeout") throw new VexilError("service_unavailable", "Keys cannot be checked right now; try again");
        throw e;
      }
      const grant = verdict.ok && verdict.kind === kind ? { environmentId: verdict.environmentId, kind, selector: parsed.selector } : undefined;
      cache.delete(key);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(key, { grant, connection: askedOn, expiresAt: now + (grant ? ttl : negativeTtl) });
      return grant;
    },
    onRevoked(listener) {
      listeners.push(listener);
    },
    stop() {
      subscription.unsubscribe();
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
