/**
 * The process's metrics, served as Prometheus text at `GET /metrics` (prom-client). Every metric
 * Vexil exports is defined here, once per process, whatever services the process runs; the table in
 * `docs/metrics.md` describes them and `infra/grafana/vexil.json` charts them.
 *
 * Labels are bounded: route templates (never raw paths), a fixed set of methods, statuses,
 * kinds and reasons, and project/environment keys capped per process (`environmentLabels`). No flag
 * key, token, SDK key or context ever becomes a label.
 *
 * Hot paths keep label children: `httpRecorder` looks a request's counter and histogram up in
 * nested maps (no label strings built per request), and other code keeps the child it increments.
 */
import { timingSafeEqual } from "node:crypto";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { errorResponse } from "./errors.ts";
import { acceptRequestId } from "./ids.ts";

export const registry = new Registry();

let processMetrics = false;

/** Process metrics (CPU, memory, open files, event-loop lag, heap): started once, by a process's composition root. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry });
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

// HTTP

/**
 * The request metrics are counted in plain numbers, one record per component, route and method
 * found through maps, and turned into Prometheus samples only when scraped. prom-client's own
 * children hash their labels on every increment (about a microsecond each); this path costs a few
 * map lookups and additions, which the flag read path does not notice.
 */
interface RequestSeries {
  labels: { service: string; route: string; method: string };
  statuses: Map<number, number>;
  /** Observations per bucket (not cumulative), the last for those above every bound. */
  buckets: number[];
  sum: number;
  count: number;
}
const requestSeries: RequestSeries[] = [];

const REQUESTS = "vexil_http_requests_total";
const REQUESTS_HELP = "HTTP requests answered, by the component that answered (gateway, auth, flags, streaming), route template, method and status";
const DURATION = "vexil_http_request_duration_seconds";
const DURATION_HELP = "Time to answer an HTTP request (to the response's headers; an SDK stream counts until it opened), by component, route template and method";

/** A family prom-client's registry formats like its own (`get()` in its shape). */
function registerFamily(name: string, help: string, type: "counter" | "histogram", values: () => Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>): void {
  const family = { name, help, type, aggregator: "sum", get: () => ({ name, help, type, aggregator: "sum", values: values() }), reset: () => {} };
  registry.registerMetric(family as unknown as Parameters<Registry["registerMetric"]>[0]);
}
registerFamily(REQUESTS, REQUESTS_HELP, "counter", () => requestSeries.flatMap((s) => [...s.statuses].map(([status, value]) => ({ labels: { ...s.labels, status: String(status) }, value }))));
registerFamily(DURATION, DURATION_HELP, "histogram", () =>
  requestSeries.flatMap((s) => {
    let cumulative = 0;
    const out = LATENCY_BUCKETS.map((le, i) => ({ metricName: `${DURATION}_bucket`, labels: { le, ...s.labels }, value: (cumulative += s.buckets[i]!) }));
    out.push({ metricName: `${DURATION}_bucket`, labels: { le: "+Inf", ...s.labels } as never, value: s.count });
    out.push({ metricName: `${DURATION}_sum`, labels: s.labels as never, value: s.sum });
    out.push({ metricName: `${DURATION}_count`, labels: s.labels as never, value: s.count });
    return out;
  }),
);

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "REPORT"]);

/** Counts and times the requests one component answers. */
export interface HttpRecorder {
  record(route: string, method: string, status: number, seconds: number): void;
}

export function httpRecorder(service: string): HttpRecorder {
  const routes = new Map<string, Map<string, RequestSeries>>();
  return {
    record(route, method, status, seconds) {
      let methods = routes.get(route);
      if (!methods) routes.set(route, (methods = new Map()));
      let series = methods.get(method);
      if (!series) {
        const label = METHODS.has(method) ? method : "other";
        series = methods.get(label);
        if (!series) {
          series = { labels: { service, route, method: label }, statuses: new Map(), buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
          requestSeries.push(series);
          methods.set(label, series);
        }
      }
      series.statuses.set(status, (series.statuses.get(status) ?? 0) + 1);
      let i = 0;
      while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
      series.buckets[i]!++;
      series.sum += seconds;
      series.count++;
    },
  };
}

/** The path of a request URL, without parsing all of it. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

// The console's live feed

export const liveFeedsOpen = new Gauge({
  name: "vexil_live_feeds_open",
  help: "Live feeds (GET /api/v2/live) open on this gateway",
  registers: [registry],
});
export const liveEvents = new Counter({
  name: "vexil_live_events_total",
  help: "Change events written to live feeds (one per feed)",
  registers: [registry],
});

// SDK streams and change delivery

/** Distinct project/environment label pairs one process uses before further environments share `other`. */
export const MAX_ENVIRONMENT_LABELS = 500;

const openStreams = new Gauge({
  name: "vexil_sdk_streams_open",
  help: "SDK streams open on this instance, by project and environment key and SDK kind (server, client, mobile)",
  labelNames: ["project", "environment", "kind"] as const,
  registers: [registry],
});
const streamEvents = new Counter({
  name: "vexil_sdk_stream_events_total",
  help: "SSE events written to SDK streams (one per stream), by SDK kind and event (put, patch, delete)",
  labelNames: ["kind", "event"] as const,
  registers: [registry],
});
export const changeDelivery = new Histogram({
  name: "vexil_change_delivery_seconds",
  help: "From a change's commit to its event written to every stream of its environment on this instance (changes with at least one stream here)",
  buckets: LAG_BUCKETS,
  registers: [registry],
});
export const sdkRefusals = new Counter({
  name: "vexil_sdk_refusals_total",
  help: "SDK requests refused, by reason (unauthorized: a missing key or one that does not work; unknown_client_id: a client-side ID of no environment; stream_limit: the instance holds its limit of streams, or is draining)",
  labelNames: ["reason"] as const,
  registers: [registry],
});

export type StreamKind = "server" | "client" | "mobile";

const environmentLabelOf = new Map<string, [string, string]>();
const OTHER: [string, string] = ["other", "other"];

/** The project and environment labels of an environment: its keys, or `other` once the process has used `MAX_ENVIRONMENT_LABELS` of them. */
export function environmentLabels(environmentId: string, projectKey: string, environmentKey: string): [string, string] {
  let labels = environmentLabelOf.get(environmentId);
  if (!labels) {
    if (environmentLabelOf.size >= MAX_ENVIRONMENT_LABELS) return OTHER;
    environmentLabelOf.set(environmentId, (labels = [projectKey, environmentKey]));
  }
  return labels;
}

/** One more open stream of the environment; the function returned counts it closed (once). */
export function streamOpened(environmentId: string, projectKey: string, environmentKey: string, kind: StreamKind): () => void {
  const [project, environment] = environmentLabels(environmentId, projectKey, environmentKey);
  const child = openStreams.labels(project, environment, kind);
  child.inc();
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    child.dec();
  };
}

/** Counts events written to streams: `count` streams of `kind` got one `event`. */
export function streamEventCounter(kind: StreamKind): (event: "put" | "patch" | "delete", count: number) => void {
  const children = { put: streamEvents.labels(kind, "put"), patch: streamEvents.labels(kind, "patch"), delete: streamEvents.labels(kind, "delete") };
  return (event, count) => {
    if (count > 0) children[event].inc(count);
  };
}

// The outbox

export const outboxRelayLag = new Histogram({
  name: "vexil_outbox_relay_lag_seconds",
  help: "From a change's commit to its event published on the bus by the outbox relay",
  buckets: LAG_BUCKETS,
  registers: [registry],
});
export const outboxPublished = new Counter({
  name: "vexil_outbox_published_total",
  help: "Change events the outbox relay of this process published",
  registers: [registry],
});

export interface OutboxState {
  /** Events committed and not yet published. */
  backlog: number;
  /** Age of the oldest of them, in seconds (0 when none). */
  oldestSeconds: number;
}
const outboxSources = new Set<() => Promise<OutboxState>>();
let lastOutbox: OutboxState = { backlog: 0, oldestSeconds: 0 };
let outboxRead: Promise<void> | undefined;
/** Reads the outbox once per scrape, for both gauges; keeps the last figures when the database does not answer in time. */
function readOutbox(): Promise<void> {
  outboxRead ??= (async () => {
    try {
      for (const source of outboxSources) lastOutbox = await withTimeout(source(), 1_000);
    } catch {
      // Keep the last figures.
    }
  })().finally(() => {
    outboxRead = undefined;
  });
  return outboxRead;
}
// Registered with the first source: a process without an outbox relay does not show them.
const outboxGauges = [
  new Gauge({
    name: "vexil_outbox_backlog",
    help: "Change events committed and not yet published on the bus (read from the database at scrape time by flags processes)",
    registers: [],
    async collect() {
      if (outboxSources.size === 0) return;
      await readOutbox();
      this.set(lastOutbox.backlog);
    },
  }),
  new Gauge({
    name: "vexil_outbox_oldest_unpublished_seconds",
    help: "Age of the oldest change event not yet published (0 when none)",
    registers: [],
    async collect() {
      if (outboxSources.size === 0) return;
      await readOutbox();
      this.set(lastOutbox.oldestSeconds);
    },
  }),
];

/** Registers how to read the outbox's state at scrape time; the function returned unregisters it. */
export function watchOutbox(read: () => Promise<OutboxState>): () => void {
  registerOnce(outboxGauges);
  outboxSources.add(read);
  return () => void outboxSources.delete(read);
}

// The bus

export const busReconnects = new Counter({ name: "vexil_bus_reconnects_total", help: "Times the NATS connection came back after an outage", registers: [registry] });
export const busDisconnects = new Counter({ name: "vexil_bus_disconnects_total", help: "Times the NATS connection was lost", registers: [registry] });
const busRequestFailures = new Counter({
  name: "vexil_bus_request_failures_total",
  help: "Bus requests that got no answer, by subject and reason (timeout, no_responders, closed)",
  labelNames: ["subject", "reason"] as const,
  registers: [registry],
});

/** Counts a failed bus request. Subjects that carry an identifier (`vexil.changes.<id>`) are never requested, but are cut to their family all the same. */
export function busRequestFailed(subject: string, reason: "timeout" | "no_responders" | "closed"): void {
  const family = subject.startsWith("vexil.changes.") ? "vexil.changes.*" : subject.length > 64 ? "other" : subject;
  busRequestFailures.labels(family, reason).inc();
}

// The database pool

export interface PoolState {
  /** Connections the pool may open. */
  size: number;
  /** Statements and transactions under way or waiting for a connection. */
  inFlight: number;
}
const pools = new Set<() => PoolState>();
// Registered with the first pool: a process without Postgres does not show them.
const poolGauges = [
  new Gauge({
    name: "vexil_db_pool_size",
    help: "Connections the Postgres pools of this process may open",
    registers: [],
    collect() {
      if (pools.size === 0) return;
      let size = 0;
      for (const read of pools) size += read().size;
      this.set(size);
    },
  }),
  new Gauge({
    name: "vexil_db_pool_in_use",
    help: "Postgres pool connections busy with a statement or a transaction",
    registers: [],
    collect() {
      if (pools.size === 0) return;
      let inUse = 0;
      for (const read of pools) {
        const s = read();
        inUse += Math.min(s.size, s.inFlight);
      }
      this.set(inUse);
    },
  }),
  new Gauge({
    name: "vexil_db_pool_waiting",
    help: "Statements and transactions waiting for a Postgres pool connection",
    registers: [],
    collect() {
      if (pools.size === 0) return;
      let waiting = 0;
      for (const read of pools) {
        const s = read();
        waiting += Math.max(0, s.inFlight - s.size);
      }
      this.set(waiting);
    },
  }),
];

/** Registers a pool; the function returned unregisters it (when the database closes). */
export function watchPool(read: () => PoolState): () => void {
  registerOnce(poolGauges);
  pools.add(read);
  return () => void pools.delete(read);
}

// Refusals at the gateway

const gatewayRefusals = new Counter({
  name: "vexil_gateway_refusals_total",
  help: "REST calls the gateway refused, by reason (unauthorized: a missing, wrong, expired or revoked credential; auth_failure_limited: an address past the failed-authentication limit; rate_limited: a caller past its rate limit)",
  labelNames: ["reason"] as const,
  registers: [registry],
});
export const refusals = {
  unauthorized: gatewayRefusals.labels("unauthorized"),
  authFailureLimited: gatewayRefusals.labels("auth_failure_limited"),
  rateLimited: gatewayRefusals.labels("rate_limited"),
};

// The scheduler

const schedulerLateness = new Histogram({
  name: "vexil_scheduler_lateness_seconds",
  help: "How long after its time a scheduled change or expiring target was executed, by kind",
  labelNames: ["kind"] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
  registers: [registry],
});
const schedulerExecutions = new Counter({
  name: "vexil_scheduler_executions_total",
  help: "Scheduled items executed, by kind and outcome (applied, failed, superseded, alreadyApplied, error)",
  labelNames: ["kind", "outcome"] as const,
  registers: [registry],
});

/** Records one execution of a scheduled item: its lateness (when applied) and its outcome. */
export function scheduledItemExecuted(kind: string, outcome: string, latenessSeconds: number | undefined): void {
  if (latenessSeconds !== undefined) schedulerLateness.labels(kind).observe(Math.max(0, latenessSeconds));
  schedulerExecutions.labels(kind, outcome).inc();
}

function registerOnce(metrics: Gauge[]): void {
  for (const metric of metrics) if (!registry.getSingleMetric((metric as unknown as { name: string }).name)) registry.registerMetric(metric);
}

// Serving

/** `GET /metrics`: the registry as Prometheus text; with `token` set, only for `Authorization: Bearer <token>`. */
export async function metricsResponse(request: Request, token: string | undefined): Promise<Response> {
  const id = acceptRequestId(request.headers.get("x-request-id"));
  if (request.method !== "GET" && request.method !== "HEAD") return errorResponse(405, "method_not_allowed", `${request.method} is not allowed on /metrics; use GET`, id, { allow: "GET, HEAD" });
  if (token !== undefined && !bearerMatches(request.headers.get("authorization"), token)) {
    return errorResponse(401, "unauthorized", "The metrics token is required in the Authorization header", id, { "www-authenticate": 'Bearer realm="vexil-metrics"' });
  }
  const text = await registry.metrics();
  return new Response(request.method === "HEAD" ? null : text, { headers: { "content-type": registry.contentType, "cache-control": "no-store" } });
}

const encoder = new TextEncoder();

function bearerMatches(header: string | null, token: string): boolean {
  if (!header) return false;
  const presented = encoder.encode(header.replace(/^Bearer\s+/i, "").trim());
  const expected = encoder.encode(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    work,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
