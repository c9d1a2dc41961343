/**
 * The streaming service: the SDK-facing endpoints. It holds the environments its SDKs use in
 * memory (loaded from the flags service, kept current by change events), serves streams and
 * polling from there, and closes the streams of keys that stop working.
 */
import { hostname } from "node:os";
import { decodeJson, encodeJson, type Bus } from "@vexil/shared/bus/bus";
import type { DeliveryReceipt } from "@vexil/shared/delivery-receipts";
import type { SdkConnectionsReply, SdkConnectionsRequest } from "@vexil/shared/sdk-connections";
import { subjects } from "@vexil/shared/subjects";
import { measuredHandle } from "@vexil/shared/http/measured";
import type { Logger } from "@vexil/shared/logger";
import { changeDelivery } from "@vexil/shared/metrics";
import { AllDataCache } from "./all-data.ts";
import { createStreamingApp } from "./app.ts";
import { BROWSER_PATHS, withCors } from "./client-routes.ts";
import { ClientStreams } from "./client-sdk.ts";
import { EvaluationCounts } from "./evaluation-counts.ts";
import { FeedHub } from "./feeds.ts";
import { busKeyVerifier } from "./sdk-keys.ts";
import { ServerStreams, type StreamTag } from "./server-sdk.ts";
import { SdkConnections } from "./sdk-connections.ts";
import { StreamHub } from "./streams.ts";

export interface StreamingServiceOptions {
  bus: Bus;
  logger: Logger;
  requestTimeoutMs: number;
  /** Open streams one instance holds; past it, new ones get 503 (SDKs retry, elsewhere behind a balancer). */
  streamLimit?: number;
  heartbeatMs?: number;
  /** How often the evaluation counts of SDK reports go out (flag statuses). */
  evaluationsFlushMs?: number;
  /** This instance's name in delivery receipts; default `host:pid`. */
  instance?: string;
}

/** Paths this service answers; everything else is the gateway's. */
export { STREAMING_PATHS } from "./paths.ts";

export async function startStreamingService(options: StreamingServiceOptions) {
  const { bus, logger } = options;
  const instance = options.instance ?? `${hostname()}:${process.pid}`;
  const keys = busKeyVerifier(bus, { timeoutMs: options.requestTimeoutMs });
  const feeds = new FeedHub(bus, logger, {
    timeoutMs: options.requestTimeoutMs,
    onDelivered: (event, streams) => {
      if (streams === 0 || event.committedAt === undefined) return;
      const deliveredAt = Date.now();
      changeDelivery.observe(Math.max(0, deliveredAt - event.committedAt) / 1000);
      if (event.kind !== "flag") return;
      const receipt: DeliveryReceipt = { v: 1, instance, environmentId: event.environmentId, key: event.key, version: event.version, seq: event.seq, committedAt: event.committedAt, streams, deliveredAt };
      try {
        bus.publish(subjects.streamingReceipts, encodeJson(receipt));
      } catch {
        // The bus is away: this receipt is lost, the delivery itself is not.
      }
    },
  });
  const hub = new StreamHub<StreamTag>({ heartbeatMs: options.heartbeatMs ?? 60_000, limit: options.streamLimit ?? 15_000 });
  const all = new AllDataCache();
  const connections = new SdkConnections();
  const serverStreams = new ServerStreams(hub, feeds, all, connections);
  const clientStreams = new ClientStreams(hub, feeds, connections);
  const answering = serveConnections(bus, connections, feeds, instance);
  const sweeper = setInterval(() => connections.sweep(), 60_000);
  sweeper.unref?.();
  const counts = new EvaluationCounts(bus, logger, { flushMs: options.evaluationsFlushMs });
  // A key that stops working closes its streams at once; reconnecting with it gets 401.
  keys.onRevoked((environmentId, selectors) => {
    const closed = hub.closeWhere((tag) => tag.environmentId === environmentId && selectors.has(tag.selector));
    if (closed > 0) logger.info("closed the streams of keys that stopped working", { environmentId, streams: closed });
  });
  const app = createStreamingApp({ logger, keys, feeds, serverStreams, all, clientStreams, counts, connections });
  const handle = measuredHandle("streaming", app.routes, async (request: Request): Promise<Response> => {
    if (!BROWSER_PATHS.test(new URL(request.url).pathname)) return app.handle(request);
    // Browser SDKs: preflights answered here, CORS headers on every answer.
    if (request.method === "OPTIONS") return withCors(request, new Response(null, { status: 204 }));
    return withCors(request, await app.handle(request));
  }, { report: false });
  return {
    handle,
    /** Open streams, for readiness and benchmarks. */
    streams: () => hub.size,
    /** Closes every stream and refuses new ones (503): SDKs reconnect to another instance. */
    closeStreams: () => hub.shutdown(),
    stop: () => {
      answering.unsubscribe();
      clearInterval(sweeper);
      hub.shutdown();
      keys.stop();
      feeds.stop();
      counts.stop();
    },
  };
}

/**
 * Answers the flags service's scatter/gather on `vexil.streaming.connections`: every instance (no
 * queue group) tells its own SDK connections of the environment asked about. A malformed request
 * gets an empty answer rather than none, so the asker still counts this instance.
 */
function serveConnections(bus: Bus, connections: SdkConnections, feeds: FeedHub, instance: string) {
  return bus.serve(subjects.streamingConnections, (msg) => {
    let environmentId = "";
    try {
      const request = decodeJson<SdkConnectionsRequest>(msg.data);
      if (request.v === 1 && typeof request.environmentId === "string") environmentId = request.environmentId;
    } catch {
      // Left empty: no environment has that id.
    }
    const reply: SdkConnectionsReply = {
      v: 1,
      instance,
      environmentId,
      environmentSeq: feeds.heldSeq(environmentId) ?? null,
      pollingWindowMs: connections.pollingWindowMs,
      groups: environmentId ? connections.report(environmentId) : [],
    };
    return { data: encodeJson(reply) };
  });
}
