/**
 * SDK connections (version 1): what SDKs each streaming instance serves for one environment. The
 * flags service asks every streaming instance at once on `vexil.streaming.connections` (a
 * scatter/gather with a short time limit) and answers `GET …/environments/{key}/sdk-connections`
 * with what came back. Connections are grouped per SDK on the instance, so a reply stays small
 * however many streams are open; no credential and no client address is part of it.
 */

/** Open streams of each SDK family, and polling SDKs recently seen. */
export const CONNECTION_KINDS = ["server-stream", "client-stream", "mobile-stream", "server-polling", "client-polling", "mobile-polling"] as const;
export type SdkConnectionKind = (typeof CONNECTION_KINDS)[number];

/** An SDK or wrapper as it names itself (`NodeJSClient/9.7.1`): the name, and the version when given. */
export interface SdkIdentity {
  name: string;
  version: string | null;
}

/** Connections of one kind from one SDK (and wrapper) on one instance. */
export interface SdkConnectionGroup {
  kind: SdkConnectionKind;
  sdk: SdkIdentity;
  wrapper: SdkIdentity | null;
  /** Open streams; for polling, requests in the polling window. */
  count: number;
  /** When the oldest of the streams opened; for polling, the first request in the window (epoch ms). */
  connectedSince: number;
  /** The environment's sequence number every stream of the group is up to date with (the lowest of them); for polling, that of the last data served. */
  lastEventSeq: number;
  /** The latest stream opened or request made (epoch ms). */
  lastSeen: number;
}

export interface SdkConnectionsRequest {
  v: 1;
  environmentId: string;
}

export interface SdkConnectionsReply {
  v: 1;
  /** The streaming instance (`host:pid`). */
  instance: string;
  environmentId: string;
  /** The sequence number of the environment's data in the instance's memory; null when it holds none. */
  environmentSeq: number | null;
  /** How long a polling SDK stays listed after its last request (ms). */
  pollingWindowMs: number;
  groups: SdkConnectionGroup[];
}

/** At most this many groups in one reply (the busiest first): a reply is one bus message. */
export const MAX_GROUPS_PER_REPLY = 500;

const isCount = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;
const isName = (v: unknown) => typeof v === "string" && v.length > 0 && v.length <= 256;

function identityOf(value: unknown): SdkIdentity | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const i = value as Record<string, unknown>;
  return isName(i.name) && (i.version === null || isName(i.version)) ? { name: i.name as string, version: i.version as string | null } : undefined;
}

function groupOf(value: unknown): SdkConnectionGroup | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const g = value as Record<string, unknown>;
  const sdk = identityOf(g.sdk);
  const wrapper = g.wrapper === null ? null : identityOf(g.wrapper);
  if (!CONNECTION_KINDS.includes(g.kind as SdkConnectionKind) || !sdk || wrapper === undefined) return undefined;
  if (![g.count, g.connectedSince, g.lastEventSeq, g.lastSeen].every(isCount)) return undefined;
  return { kind: g.kind as SdkConnectionKind, sdk, wrapper, count: g.count as number, connectedSince: g.connectedSince as number, lastEventSeq: g.lastEventSeq as number, lastSeen: g.lastSeen as number };
}

/** A reply, if `value` is one for `environmentId` (anything else is left out, as if the instance had not answered). */
export function connectionsReplyOf(value: unknown, environmentId: string): SdkConnectionsReply | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (r.v !== 1 || r.environmentId !== environmentId || !isName(r.instance) || !isCount(r.pollingWindowMs)) return undefined;
  if (r.environmentSeq !== null && !isCount(r.environmentSeq)) return undefined;
  if (!Array.isArray(r.groups) || r.groups.length > MAX_GROUPS_PER_REPLY) return undefined;
  const groups = r.groups.map(groupOf);
  if (groups.some((g) => g === undefined)) return undefined;
  return { v: 1, instance: r.instance as string, environmentId, environmentSeq: r.environmentSeq as number | null, pollingWindowMs: r.pollingWindowMs as number, groups: groups as SdkConnectionGroup[] };
}
