/**
 * Live changes (version 1): what the console's feed (`GET /api/v2/live`) tells signed-in callers.
 * A committed audit entry of a flag, segment, project or environment sends `vexil_live` (migration
 * `0017_live_notices`); every flags instance hears it and publishes it on `vexil.live`; every gateway
 * sends it to the open feeds whose caller may read it. An event names what changed, never its
 * contents: the console reads the resource again through the API, under the caller's permissions.
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

const KINDS = new Set<string>(["flag", "segment", "project", "environment"]);
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
