/**
 * The live events committed since a feed position (`shared/live.ts`), read from the audit log: for
 * a browser's feed that reconnects, and for this service's own notices after its listening
 * connection to Postgres was renewed. Bounded: a position older than `LIVE_REPLAY_MAX_AGE_MS`, or
 * more entries since it than `LIVE_REPLAY_LIMIT`, answers `reset` instead.
 */
import { invalidRequest } from "@vexil/shared/errors";
import { LIVE_KINDS, LIVE_REPLAY_LIMIT, LIVE_REPLAY_MAX_AGE_MS, LIVE_REPLAY_OVERLAP_MS, liveEventOfEntry, positionDate, type LiveEvent, type LiveReplay, type LiveReplayRequest } from "@vexil/shared/live";
import type { AuditReader } from "../storage/audit-reader.ts";

const PROJECT_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/;

export async function liveChangesSince(reader: AuditReader, request: LiveReplayRequest, now: number, limit = LIVE_REPLAY_LIMIT): Promise<LiveReplay> {
  const since = typeof request?.after === "string" ? positionDate(request.after) : undefined;
  if (since === undefined) throw invalidRequest("after must be a live feed position (24 hex digits)");
  if (request.project !== undefined && (typeof request.project !== "string" || !PROJECT_KEY.test(request.project))) throw invalidRequest("project must be a project key");
  if (since < now - LIVE_REPLAY_MAX_AGE_MS) return { reset: true };
  // One more than the bound: a full answer means there may be more than can be replayed.
  const entries = await reader.changesSince(since - LIVE_REPLAY_OVERLAP_MS - 1, LIVE_KINDS, limit + 1);
  if (entries.length > limit) return { reset: true };
  const events: LiveEvent[] = [];
  for (const entry of entries) {
    const event = liveEventOfEntry(entry);
    if (event && (request.project === undefined || event.project === request.project)) events.push(event);
  }
  return { events };
}
