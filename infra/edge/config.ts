/**
 * The edge's HAProxy configuration, rendered from where the instances are. One function renders it
 * for every deployment: the local launcher lists the instances with the ports it chose; compose and
 * Kubernetes name them by DNS (`server-template` over a `resolvers` section), and their rendering is
 * the shipped `infra/edge/haproxy.cfg` (`bun infra/edge/render.ts` writes it; a test checks it is
 * current).
 *
 * What it does: every SDK path (`STREAMING_PATHS`, the same expression the all-in-one process routes
 * by) goes to the streaming instances, everything else (REST, the docs, health) to the gateways.
 * Each instance is checked on `/readyz` (gateways every second, streaming instances every 3 s, more
 * patient with a slow answer) and leaves the rotation after two or three failures, so a dead instance
 * or one draining after SIGTERM (its `/readyz` says 503 at once) gets no new work.
 * Streams are not buffered (HAProxy forwards each event as it comes, with `http-no-delay`), idle for
 * at most 10 minutes (heartbeats come every minute), and a new stream that reaches a draining or
 * dead instance is tried again on another one, so SDKs move without seeing an error.
 */
import { STREAMING_PATHS } from "../../services/streaming/paths.ts";

export interface StaticServer {
  name: string;
  host: string;
  port: number;
}

/** Instances named by a DNS name with one address per instance (compose service names, Kubernetes headless Services). */
export interface DnsServers {
  /** `host:port`, or `"${ENV}"` to read it from the environment when HAProxy starts. */
  address: string;
  /** How many server slots to keep for the name's addresses. */
  slots: number;
}

export interface EdgeConfigOptions {
  /** `host:port` the edge listens on for Vexil's traffic. */
  bind: string;
  /** `host:port` for the edge's own status: `/stats` (HTML, `;csv` for CSV) and `/metrics` (Prometheus). */
  statsBind: string;
  gateways: StaticServer[] | DnsServers;
  streaming: StaticServer[] | DnsServers;
  /** Most connections the edge holds at once; absent: HAProxy's default, from the file limit. A stream costs two. */
  maxconn?: number;
}

/** Idle time allowed on a stream between two writes: well above the one-minute heartbeat. */
export const STREAM_IDLE_TIMEOUT = "10m";

/** The SDK paths as an HAProxy (PCRE2) expression. */
export function streamingPathPattern(): string {
  const source = STREAMING_PATHS.source.replaceAll("\\/", "/");
  if (/[\s\\"'#]/.test(source)) throw new Error(`STREAMING_PATHS cannot be written into the edge configuration as it is: ${source}`);
  return source;
}

function servers(kind: "gateway" | "streaming", list: StaticServer[] | DnsServers): string[] {
  if (Array.isArray(list)) return list.map((s) => `  server ${s.name} ${s.host}:${s.port} check`);
  // Addresses come and go with the DNS answers; a slot without one is kept out of the rotation.
  return [`  server-template ${kind}- 1-${list.slots} ${list.address} check resolvers dns init-addr none resolve-prefer ipv4`];
}

export function renderEdgeConfig(options: EdgeConfigOptions): string {
  const dns = !Array.isArray(options.gateways) || !Array.isArray(options.streaming);
  const lines = [
    "# Vexil's edge: one address for the REST API, the docs and every SDK endpoint.",
    "# Rendered by infra/edge/config.ts; see infra/README.md.",
    "global",
    "  log stdout format raw local0 info",
    "  # The master process reloads the configuration on SIGUSR2 without dropping connections;",
    "  # the old worker's streams are closed 60 s later and their SDKs reconnect to the new one.",
    "  master-worker",
    "  hard-stop-after 60s",
    ...(options.maxconn ? [`  maxconn ${options.maxconn}`] : []),
    "",
    "defaults",
    "  mode http",
    "  log global",
    "  option dontlognull",
    `  log-format '{"time":"%tr","client":"%ci","backend":"%b","server":"%s","status":%ST,"method":"%HM","path":"%{+E}HPO","ms":"%Ta","retries":%rc,"end":"%tsc"}'`,
    "  option forwardfor",
    "  # A request that could not reach its instance goes to another one.",
    "  option redispatch 1",
    "  retries 3",
    "  timeout connect 3s",
    "  timeout http-request 10s",
    "  timeout http-keep-alive 15s",
    "  timeout queue 5s",
    `  timeout client ${STREAM_IDLE_TIMEOUT}`,
    "  timeout server 30s",
    "  timeout tunnel 1h",
    "  timeout client-fin 5s",
    "  timeout server-fin 5s",
    "  # The edge's own answers (no instance in the rotation, an instance that failed or did not answer in",
    "  # time) are JSON errors like the services' own, with the request's id; a 503 says when to retry.",
    "  unique-id-format %{+X}o%ci%cp%fp%Ts%ms%rt%pid",
    "  # An instance that stopped before answering (killed, crashed) is a 502 inside HAProxy; it leaves",
    "  # as a 504, like an instance that did not answer in time: the request may or may not have taken",
    "  # effect, and a client treats both alike (see the frontend's http-after-response).",
    `  http-error status 502 content-type application/json lf-string '{"code":"gateway_timeout","message":"The instance that took this request stopped before answering; it may or may not have taken effect","id":"%ID"}'`,
    `  http-error status 503 content-type application/json hdr retry-after 1 lf-string '{"code":"service_unavailable","message":"No instance is available to answer this request; try again shortly","id":"%ID"}'`,
    `  http-error status 504 content-type application/json lf-string '{"code":"gateway_timeout","message":"The instance that took this request did not answer in time","id":"%ID"}'`,
    "  # /readyz every second; two failures take an instance out, two successes bring it back.",
    "  default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 2",
    "  # A check fails on an error answer or a refused connection at once, a slow answer only after 5 s.",
    "  timeout check 5s",
    "",
    ...(dns
      ? [
          "resolvers dns",
          "  parse-resolv-conf",
          "  resolve_retries 3",
          "  timeout resolve 1s",
          "  timeout retry 1s",
          "  hold valid 5s",
          "  hold obsolete 10s",
          "  accepted_payload_size 8192",
          "",
        ]
      : []),
    "frontend vexil",
    "  # Several edge processes may listen on this address at once: HAProxy binds with SO_REUSEPORT on",
    "  # Linux (unless `noreuseport`) and the kernel spreads new connections over them; see infra/README.md.",
    `  bind ${options.bind}`,
    "  # No 502 leaves the edge (see the 502 error above).",
    "  http-after-response set-status 504 if { status eq 502 }",
    "  # A request is logged when its answer starts, so a stream's status shows while it runs.",
    "  option logasap",
    "  # The edge's own readiness: 200 while at least one gateway is in the rotation.",
    "  monitor-uri /edge/healthz",
    "  monitor fail if { nbsrv(gateway) lt 1 }",
    "  # Each process's /metrics is for the scraper inside, not the public address.",
    `  http-request return status 404 content-type application/json string '{"code":"not_found","message":"No resource at /metrics"}' if { path /metrics }`,
    "  # Every SDK endpoint (services/streaming/paths.ts) to the streaming instances.",
    `  acl sdk path_reg ${streamingPathPattern()}`,
    "  use_backend streaming if sdk",
    "  default_backend gateway",
    "",
    "backend gateway",
    "  balance roundrobin",
    "  option httpchk",
    "  http-check send meth GET uri /readyz ver HTTP/1.1 hdr host vexil-edge",
    "  http-check expect status 200",
    "  # Only a refused connection is retried: a write that reached a gateway is never sent twice.",
    "  retry-on conn-failure",
    ...servers("gateway", options.gateways),
    "",
    "backend streaming",
    "  # Streams are long: the instance holding the fewest gets the next one.",
    "  balance leastconn",
    "  option httpchk",
    "  http-check send meth GET uri /readyz ver HTTP/1.1 hdr host vexil-edge",
    "  http-check expect status 200",
    "  # A draining instance refuses new streams with 503 and a dead one refuses connections:",
    "  # the request goes to another instance instead, so the SDK never sees either.",
    "  retry-on conn-failure empty-response 503",
    "  # Each event is sent as it comes; between heartbeats a stream is quiet for a minute.",
    "  option http-no-delay",
    `  timeout server ${STREAM_IDLE_TIMEOUT}`,
    "  # An instance that leaves the rotation (not ready: bus lost, draining) has its streams",
    "  # closed, so their SDKs reconnect to one that is. Taking one out by mistake would close every",
    "  # stream it holds and send them all to the others at once, so a busy instance (thousands of",
    "  # streams opening, a connect queued for a SYN resend) is given time: checks every 3 s, which",
    "  # is also their connect timeout, 10 s for the answer, three failures; a 503 or a refused",
    "  # connection still fails a check at once.",
    "  default-server inter 3s fastinter 1s downinter 2s fall 3 rise 2 on-marked-down shutdown-sessions",
    "  timeout check 10s",
    ...servers("streaming", options.streaming),
    "",
    "frontend edge-status",
    `  bind ${options.statsBind}`,
    "  http-request use-service prometheus-exporter if { path /metrics }",
    "  stats enable",
    "  stats uri /stats",
    "  stats refresh 5s",
    "  option dontlog-normal",
    "",
  ];
  return lines.join("\n");
}

/** The configuration shipped in `infra/edge/haproxy.cfg`, used by compose and Kubernetes. */
export function shippedEdgeConfig(): string {
  return renderEdgeConfig({
    bind: ":8080",
    statsBind: ":8404",
    gateways: { address: '"${VEXIL_EDGE_GATEWAYS}"', slots: 16 },
    streaming: { address: '"${VEXIL_EDGE_STREAMING}"', slots: 16 },
  });
}
