/**
 * The SDK connections of this instance, per environment: each open stream with the SDK that opened
 * it, and the polling SDKs seen in the last `pollingWindowMs`. Answers the flags service's
 * scatter/gather on `vexil.streaming.connections` with the environment's connections grouped per
 * SDK (`shared/sdk-connections.ts`). What an SDK calls itself is read from its headers and kept
 * short and printable; no credential and no client address is kept.
 */
import { MAX_GROUPS_PER_REPLY, type SdkConnectionGroup, type SdkConnectionKind, type SdkIdentity } from "@vexil/shared/sdk-connections";

/** One open stream. `seq` moves as the stream's group delivers changes (or finds one changes nothing for it). */
export interface StreamConnection {
  environmentId: string;
  kind: Extract<SdkConnectionKind, `${string}-stream`>;
  sdk: SdkIdentity;
  wrapper: SdkIdentity | null;
  connectedAt: number;
  seq: number;
}

interface PollingRecord {
  kind: Extract<SdkConnectionKind, `${string}-polling`>;
  sdk: SdkIdentity;
  wrapper: SdkIdentity | null;
  requests: number;
  firstSeen: number;
  lastSeen: number;
  seq: number;
}

export interface SdkConnectionsOptions {
  /** How long a polling SDK stays listed after its last request. */
  pollingWindowMs?: number;
  /** Polling SDKs (kind, SDK and wrapper) remembered per environment; the least recently seen go first. */
  pollingPerEnvironment?: number;
  now?: () => number;
}

const UNKNOWN: SdkIdentity = { name: "unknown", version: null };
const TOKEN = /^[A-Za-z0-9._+-]{1,64}$/;

/** `Name/version` (the first product of a User-Agent-like header), if it reads as one. */
export function identityOf(header: string | null): SdkIdentity | undefined {
  const product = header?.trim().split(/\s+/)[0];
  if (!product) return undefined;
  const [name, version, ...rest] = product.split("/");
  if (rest.length > 0 || !name || !TOKEN.test(name)) return undefined;
  if (version === undefined || version === "") return { name, version: null };
  return TOKEN.test(version) ? { name, version } : { name, version: null };
}

/**
 * The SDK behind a request: `X-LaunchDarkly-User-Agent` (what browser SDKs send, as a browser keeps
 * `User-Agent` for itself), else `User-Agent`; the wrapper from `X-LaunchDarkly-Wrapper`.
 */
export function sdkOf(headers: Headers): { sdk: SdkIdentity; wrapper: SdkIdentity | null } {
  const sdk = identityOf(headers.get("x-launchdarkly-user-agent")) ?? identityOf(headers.get("user-agent")) ?? UNKNOWN;
  return { sdk, wrapper: identityOf(headers.get("x-launchdarkly-wrapper")) ?? null };
}

const groupKey = (kind: string, sdk: SdkIdentity, wrapper: SdkIdentity | null) =>
  [kind, sdk.name, sdk.version ?? "", wrapper?.name ?? "", wrapper?.version ?? ""].join("\u0000");

export class SdkConnections {
  private readonly streams = new Map<string, Set<StreamConnection>>();
  private readonly polling = new Map<string, Map<string, PollingRecord>>();
  readonly pollingWindowMs: number;
  private readonly pollingLimit: number;
  private readonly now: () => number;

  constructor(options: SdkConnectionsOptions = {}) {
    this.pollingWindowMs = options.pollingWindowMs ?? 5 * 60_000;
    this.pollingLimit = options.pollingPerEnvironment ?? 256;
    this.now = options.now ?? Date.now;
  }

  /** A stream opened: its record, and the function that forgets it when it closes. */
  opened(environmentId: string, kind: StreamConnection["kind"], headers: Headers, seq: number): { connection: StreamConnection; closed: () => void } {
    const connection: StreamConnection = { environmentId, kind, ...sdkOf(headers), connectedAt: this.now(), seq };
    let open = this.streams.get(environmentId);
    if (!open) this.streams.set(environmentId, (open = new Set()));
    open.add(connection);
    return {
      connection,
      closed: () => {
        const set = this.streams.get(environmentId);
        if (!set?.delete(connection)) return;
        if (set.size === 0) this.streams.delete(environmentId);
      },
    };
  }

  /** A polling request was answered with the environment's data at `seq`. */
  polled(environmentId: string, kind: PollingRecord["kind"], headers: Headers, seq: number): void {
    const now = this.now();
    const { sdk, wrapper } = sdkOf(headers);
    const key = groupKey(kind, sdk, wrapper);
    let records = this.polling.get(environmentId);
    if (!records) this.polling.set(environmentId, (records = new Map()));
    const known = records.get(key);
    // Re-inserted, so the map's first entry is always the least recently seen.
    records.delete(key);
    const fresh = known && now - known.lastSeen <= this.pollingWindowMs;
    records.set(key, fresh ? { ...known, requests: known.requests + 1, lastSeen: now, seq } : { kind, sdk, wrapper, requests: 1, firstSeen: now, lastSeen: now, seq });
    while (records.size > this.pollingLimit) records.delete(records.keys().next().value!);
  }

  /** The environment's connections on this instance, grouped per kind and SDK, the largest groups first. */
  report(environmentId: string): SdkConnectionGroup[] {
    const groups = new Map<string, SdkConnectionGroup>();
    for (const c of this.streams.get(environmentId) ?? []) {
      const key = groupKey(c.kind, c.sdk, c.wrapper);
      const group = groups.get(key);
      if (!group) {
        groups.set(key, { kind: c.kind, sdk: c.sdk, wrapper: c.wrapper, count: 1, connectedSince: c.connectedAt, lastEventSeq: c.seq, lastSeen: c.connectedAt });
        continue;
      }
      group.count++;
      group.connectedSince = Math.min(group.connectedSince, c.connectedAt);
      group.lastSeen = Math.max(group.lastSeen, c.connectedAt);
      group.lastEventSeq = Math.min(group.lastEventSeq, c.seq);
    }
    for (const p of this.pollingSeen(environmentId)) {
      groups.set(groupKey(p.kind, p.sdk, p.wrapper), { kind: p.kind, sdk: p.sdk, wrapper: p.wrapper, count: p.requests, connectedSince: p.firstSeen, lastEventSeq: p.seq, lastSeen: p.lastSeen });
    }
    return [...groups.values()].sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind) || a.sdk.name.localeCompare(b.sdk.name)).slice(0, MAX_GROUPS_PER_REPLY);
  }

  /** Open streams of the environment on this instance. */
  streamCount(environmentId: string): number {
    return this.streams.get(environmentId)?.size ?? 0;
  }

  /** Polling SDKs still in the window; those past it are forgotten here. */
  private pollingSeen(environmentId: string): PollingRecord[] {
    const records = this.polling.get(environmentId);
    if (!records) return [];
    const since = this.now() - this.pollingWindowMs;
    for (const [key, record] of records) if (record.lastSeen < since) records.delete(key);
    if (records.size === 0) this.polling.delete(environmentId);
    return [...records.values()];
  }

  /** Forgets polling SDKs past the window in every environment (run now and then: environments nobody asks about are not reported). */
  sweep(): void {
    for (const environmentId of [...this.polling.keys()]) this.pollingSeen(environmentId);
  }
}
