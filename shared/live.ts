/**
 * Live changes (version 1): what the console's feed (`GET /api/v2/live`) tells signed-in callers.
 * A committed audit entry of a flag, segment, project or environment sends `vexil_live` (migration
 * `0017_live_notices`); every flags instance hears it and publishes it on `vexil.live`; every gateway
 * sends it to the open feeds whose caller may read it. An event names what changed, never its
 * contents: the console reads the resource again through the API, under the caller's permissions.
 *
 * The feed is resumable. An event's SSE id is its audit entry's id, which begins with the entry's
 * date (`sortableId`): a feed position. A browser that reconnects sends the last one it had
 * (`Last-Event-ID`) and the gateway first replays, from the audit log, the changes dated from
 * `LIVE_REPLAY_OVERLAP_MS` before it: a transaction takes its date before it commits, so a change
 * committed after the last one seen can carry an earlier date, but not earlier by more than a
 * write may take. The overlap sends some changes twice; an event is a hint to read again, so a
 * repeat costs a read and nothing else. Beyond the bound (older than `LIVE_REPLAY_MAX_AGE_MS`, or
 * more than `LIVE_REPLAY_LIMIT` entries) the feed sends `reset`: read everything again.
 */
export const LIVE_CHANNEL = "vexil_live";

export type LiveKind = "flag" | "segment" | "project" | "environment";

export interface LiveEvent {
  v: 1;
  /** The audit entry's id: the same change heard by several flags instances is sent once. */
  id: string;
  kind: LiveKind;
  project: string;
  /** The environment, for an environment and a segment, and for a flag change of one environment only. */
  environment: string | null;
  /** The flag's or segment's key; null for a project or environment. */
  key: string | null;
  /** The resource's version after the change; null when it has none (a deletion). */
  version: number | null;
}

/** The audit entry kinds the feed names. */
export const LIVE_KINDS: readonly LiveKind[] = ["flag", "segment", "project", "environment"];
const KINDS = new Set<string>(LIVE_KINDS);
const scope = (part: string | undefined, type: string) => (part?.startsWith(`${type}/`) ? part.slice(type.length + 1) : undefined);

/** A `vexil_live` payload (`<id>:<kind>:<version>:<spec>`) read back; undefined for anything else. */
export function parseLiveNotice(payload: string): LiveEvent | undefined {
  const [id, kind, version, ...specParts] = payload.split(":");
  if (!id || !kind || !KINDS.has(kind) || version === undefined || !/^(-1|0|[1-9]\d{0,9})$/.test(version)) return undefined;
  const project = scope(specParts[0], "proj");
  if (!project) return undefined;
  const env = scope(specParts[1], "env");
  const environment = env === undefined || env === "*" ? null : env;
  const key = kind === "flag" || kind === "segment" ? (scope(specParts[2], kind) ?? null) : null;
  if ((kind === "flag" || kind === "segment") && !key) return undefined;
  if (kind === "environment" && !environment) return undefined;
  return { v: 1, id, kind: kind as LiveKind, project, environment, key, version: version === "-1" ? null : Number(version) };
}

/** A bus message read back as a live event; undefined when it is not one. */
export function liveEventOf(data: unknown): LiveEvent | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const e = data as Record<string, unknown>;
  const text = (v: unknown) => typeof v === "string" && v.length > 0;
  if (e.v !== 1 || !text(e.id) || !KINDS.has(e.kind as string) || !text(e.project)) return undefined;
  if (!(e.environment === null || text(e.environment)) || !(e.key === null || text(e.key))) return undefined;
  if (!(e.version === null || Number.isInteger(e.version))) return undefined;
  return { v: 1, id: e.id as string, kind: e.kind as LiveKind, project: e.project as string, environment: e.environment as string | null, key: e.key as string | null, version: e.version as number | null };
}

/**
 * Longer than any write's transaction can stay open between taking its date and committing (writes
 * run under the request deadline, `VEXIL_SERVICE_TIMEOUT_MS`, at most 120 s) plus clock skew between hosts.
 */
export const LIVE_REPLAY_OVERLAP_MS = 150_000;
/** A feed position older than this is not replayed: the browser reads everything again. */
export const LIVE_REPLAY_MAX_AGE_MS = 15 * 60_000;
/** Audit entries read for one replay at most; more, and the browser reads everything again. */
export const LIVE_REPLAY_LIMIT = 2_000;

/** What a reconnecting feed asks the flags service (`subjects.liveReplay`). */
export interface LiveReplayRequest {
  /** The feed position the caller had: an audit entry's id, or `livePosition(date)`. */
  after: string;
  project?: string;
}

/** The changes since a position, oldest first; or `reset`: too many or too old to replay. */
export type LiveReplay = { events: LiveEvent[] } | { reset: true };

const POSITION = /^[0-9a-f]{24}$/;

/** The date (unix ms) a feed position stands for; undefined for anything that is not one. */
export function positionDate(id: string): number | undefined {
  return POSITION.test(id) ? parseInt(id.slice(0, 12), 16) : undefined;
}

/** A feed position at `date`, before every audit entry of that millisecond. */
export function livePosition(date: number): string {
  return date.toString(16).padStart(12, "0").slice(-12) + "0".repeat(12);
}

/** An audit entry's live event, or undefined for an entry of another kind. */
export function liveEventOfEntry(entry: { id: string; kind: string; currentVersion: number | null; spec: string }): LiveEvent | undefined {
  return parseLiveNotice(`${entry.id}:${entry.kind}:${entry.currentVersion ?? -1}:${entry.spec}`);
}
