/**
 * The endpoints of client-side SDKs (credential: the environment's client-side ID in the path) and
 * mobile SDKs (the mobile key in `Authorization`). They never see rules: this instance evaluates
 * every flag available to the credential for the SDK's context and ships the results, by polling
 * (`evalx`) or as a stream (`eval`, `meval`) that gets a `patch` for each flag a change affects.
 */
import { parseContext, type EvaluationContext, type EvaluationReason } from "@vexil/shared/evaluation/evaluate";
import type { SdkItem } from "@vexil/shared/environment-data";
import { VexilError, invalidRequest } from "@vexil/shared/errors";
import { sdkRefusals, streamEventCounter, streamOpened, type StreamKind } from "@vexil/shared/metrics";
import { evaluateIn } from "./evaluations.ts";
import { FeedGroups, type Feed, type FeedHub, type FeedUpdate } from "./feeds.ts";
import type { StreamTag } from "./server-sdk.ts";
import { unavailable } from "./server-sdk.ts";
import type { SdkConnections, StreamConnection } from "./sdk-connections.ts";
import { sseEvent, type Stream, type StreamHub } from "./streams.ts";

export type ClientKind = "client" | "mobile";

/**
 * One flag as client-side SDKs receive it. `version` is what the SDK compares to order updates: the
 * environment's change sequence number, which rises with every change, including a segment's that
 * changes a flag's result while the flag's own version (`flagVersion`, for events) stays.
 */
export interface EvaluatedFlag {
  value: unknown;
  variation?: number;
  version: number;
  flagVersion: number;
  trackEvents: boolean;
  trackReason?: boolean;
  reason?: EvaluationReason;
  debugEventsUntilDate?: number;
  prerequisites?: string[];
}

interface FlagView {
  version?: number;
  trackEvents?: boolean | null;
  trackEventsFallthrough?: boolean | null;
  debugEventsUntilDate?: number | null;
  clientSide?: boolean | null;
  clientSideAvailability?: { usingEnvironmentId?: boolean; usingMobileKey?: boolean } | null;
  rules?: Array<{ trackEvents?: boolean | null }> | null;
}

/** Whether a credential of this kind may see the flag. */
export function availableTo(item: SdkItem, kind: ClientKind): boolean {
  const flag = item as FlagView;
  if (kind === "mobile") return flag.clientSideAvailability?.usingMobileKey ?? true;
  return flag.clientSideAvailability?.usingEnvironmentId ?? flag.clientSide === true;
}

/** The flag evaluated for one context, in the client-side format. */
export function evaluatedFlag(feed: Feed, key: string, context: EvaluationContext, withReasons: boolean): EvaluatedFlag | undefined {
  const item = feed.flags.get(key);
  if (!item) return undefined;
  const flag = item as FlagView;
  const result = evaluateIn(feed, key, context);
  const reason = result.reason;
  const inExperiment = "inExperiment" in reason && reason.inExperiment === true;
  const tracked =
    inExperiment ||
    (reason.kind === "RULE_MATCH" && flag.rules?.[reason.ruleIndex]?.trackEvents === true) ||
    (reason.kind === "FALLTHROUGH" && flag.trackEventsFallthrough === true);
  const out: EvaluatedFlag = { value: result.value, version: feed.seq, flagVersion: flag.version ?? 0, trackEvents: flag.trackEvents === true || tracked };
  if (result.variationIndex !== null && result.variationIndex !== undefined) out.variation = result.variationIndex;
  if (tracked) out.trackReason = true;
  if (withReasons || tracked) out.reason = reason;
  if (typeof flag.debugEventsUntilDate === "number") out.debugEventsUntilDate = flag.debugEventsUntilDate;
  if (result.prerequisites.length > 0) out.prerequisites = result.prerequisites;
  return out;
}

/** Every flag the credential may see, evaluated for the context. */
export function evaluateAll(feed: Feed, context: EvaluationContext, kind: ClientKind, withReasons: boolean): Record<string, EvaluatedFlag> {
  const out: Record<string, EvaluatedFlag> = {};
  for (const [key, item] of feed.flags) {
    if (!availableTo(item, kind)) continue;
    const evaluated = evaluatedFlag(feed, key, context, withReasons);
    if (evaluated) out[key] = evaluated;
  }
  return out;
}

/** The context of a client-side request: base64url JSON in the path, or the body of a REPORT. */
export function contextFrom(encoded: string | undefined, body: unknown): EvaluationContext {
  let raw: unknown = body;
  if (encoded !== undefined) {
    try {
      raw = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
    } catch {
      throw invalidRequest("The context in the path must be base64url-encoded JSON");
    }
  }
  const parsed = parseContext(raw);
  if (!parsed.ok) throw invalidRequest(`Invalid context: ${parsed.message}`);
  return parsed.context;
}

/**
 * The flags a change affects: the changed flag, flags using a changed segment (directly or
 * through other segments), and, transitively, flags that have any of those as prerequisites.
 */
export function affectedFlags(feed: Feed, update: Extract<FeedUpdate, { type: "upsert" | "delete" }>): Set<string> {
  const affected = new Set<string>();
  if (update.kind === "flag") affected.add(update.key);
  else {
    const segments = new Set([update.key]);
    // Segments that include a changed segment through a segmentMatch rule are changed too.
    for (let grew = true; grew; ) {
      grew = false;
      for (const [key, segment] of feed.segments) if (!segments.has(key) && referencesSegments(segment, segments)) segments.add(key), (grew = true);
    }
    for (const [key, flag] of feed.flags) if (referencesSegments(flag, segments)) affected.add(key);
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const [key, flag] of feed.flags) {
      if (affected.has(key)) continue;
      const prerequisites = (flag as { prerequisites?: Array<{ key: string }> | null }).prerequisites ?? [];
      if (prerequisites.some((p) => affected.has(p.key))) affected.add(key), (grew = true);
    }
  }
  return affected;
}

function referencesSegments(item: SdkItem, segments: Set<string>): boolean {
  const rules = (item as { rules?: Array<{ clauses?: Array<{ op?: string; values?: unknown[] }> | null }> | null }).rules ?? [];
  return rules.some((r) => (r.clauses ?? []).some((c) => c.op === "segmentMatch" && (c.values ?? []).some((v) => typeof v === "string" && segments.has(v))));
}

interface ClientStream {
  stream: Stream;
  connection: StreamConnection;
  context: EvaluationContext;
  kind: ClientKind;
  withReasons: boolean;
}

/** Streams of client-side and mobile SDKs; one feed listener per environment works out what a change affects once, then evaluates per stream. */
export class ClientStreams {
  /** What a change affects is worked out once per environment; each stream then evaluates those flags for its context. */
  private readonly groups = new FeedGroups<ClientStream>((update, feed, streams) => {
    const count = { client: { put: 0, patch: 0, delete: 0 }, mobile: { put: 0, patch: 0, delete: 0 } };
    // Each stream is up to date with the change once it was looked at for it, sent something or not.
    for (const s of streams) s.connection.seq = feed.seq;
    if (update.type === "put") {
      for (const s of streams) {
        s.stream.send(sseEvent("put", evaluateAll(feed, s.context, s.kind, s.withReasons)));
        count[s.kind].put++;
      }
    } else {
      const keys = [...affectedFlags(feed, update)];
      for (const s of streams) {
        for (const key of keys) {
          const item = feed.flags.get(key);
          if (!item || !availableTo(item, s.kind)) {
            // Gone, or (by this very change) no longer for this credential: the SDK drops it.
            if (!item || (update.kind === "flag" && update.key === key)) {
              s.stream.send(sseEvent("delete", { key, version: feed.seq }));
              count[s.kind].delete++;
            }
            continue;
          }
          const evaluated = evaluatedFlag(feed, key, s.context, s.withReasons);
          if (evaluated) {
            s.stream.send(sseEvent("patch", { key, ...evaluated }));
            count[s.kind].patch++;
          }
        }
      }
    }
    for (const kind of ["client", "mobile"] as const) for (const event of ["put", "patch", "delete"] as const) sent[kind](event, count[kind][event]);
    return streams.size;
  });

  constructor(
    private readonly hub: StreamHub<StreamTag>,
    private readonly feeds: FeedHub,
    private readonly connections: SdkConnections,
  ) {}

  /** Opens an `eval`/`meval` stream; `headers` name the SDK (SDK connections). */
  async open(environmentId: string, selector: string, context: EvaluationContext, kind: ClientKind, withReasons: boolean, headers: Headers): Promise<Response> {
    const feed = await this.feeds.get(environmentId);
    let leave = () => {};
    let uncount = () => {};
    let forget = () => {};
    const opened = this.hub.open({
      initial: sseEvent("put", evaluateAll(feed, context, kind, withReasons)),
      tag: { environmentId, selector },
      onClose: () => {
        uncount();
        leave();
        forget();
      },
    });
    if (!opened) throw unavailable();
    sent[kind]("put", 1);
    uncount = streamOpened(feed.environmentId, feed.projectKey, feed.environmentKey, kind);
    const { connection, closed } = this.connections.opened(feed.environmentId, kind === "client" ? "client-stream" : "mobile-stream", headers, feed.seq);
    forget = closed;
    leave = this.groups.join(feed, { stream: opened.stream, connection, context, kind, withReasons });
    // Closed before it joined (the client went away at once): nothing will call leave later.
    if (opened.stream.closed) {
      uncount();
      leave();
      forget();
    }
    return opened.response;
  }
}

/** A client-side ID names an environment that exists; anything else is 404 (the SDK stops: the ID is wrong for good). */
export async function clientFeed(feeds: FeedHub, environmentId: string): Promise<Feed> {
  if (!/^[0-9a-zA-Z_-]{1,64}$/.test(environmentId)) throw unknownClientId();
  try {
    return await feeds.get(environmentId);
  } catch (e) {
    if (e instanceof VexilError && e.code === "not_found") throw unknownClientId();
    throw e;
  }
}

const sent: Record<Extract<StreamKind, ClientKind>, ReturnType<typeof streamEventCounter>> = { client: streamEventCounter("client"), mobile: streamEventCounter("mobile") };
const unknownIds = sdkRefusals.labels("unknown_client_id");

function unknownClientId(): VexilError {
  unknownIds.inc();
  return new VexilError("not_found", "Unknown client-side ID");
}
