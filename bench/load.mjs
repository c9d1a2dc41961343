/**
 * The load client, run by node in its own process so that it never shares an event loop (or a
 * runtime) with the server it measures. One autocannon warm-up, then one measured run; prints a
 * single JSON object on stdout.
 *
 *   node bench/load.mjs --url http://127.0.0.1:8080/ --connections 32 --duration 10 --warmup 3 \
 *     [--header "authorization: Bearer …"] [--server gateway-0:1234 …] [--infra postgres:5678:tree …]
 *
 * With --server (the processes under test) and --infra (their database and nats-server; `:tree`
 * adds the process's children, e.g. Postgres backends) it also reports where the CPU went during
 * the measured run, from /proc: each of them, this load client, and the rest of the machine.
 *
 * Latency percentiles are computed here from every 2xx response time (fractional milliseconds):
 * autocannon's own histogram keeps whole milliseconds, too coarse for sub-millisecond servers.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import autocannon from "autocannon";

const require = createRequire(import.meta.url);
const { version } = require("autocannon/package.json");

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    connections: { type: "string", default: "32" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    header: { type: "string", multiple: true, default: [] },
    timeout: { type: "string", default: "10" },
    server: { type: "string", multiple: true, default: [] },
    infra: { type: "string", multiple: true, default: [] },
    hz: { type: "string", default: "100" },
    method: { type: "string", default: "GET" },
    /** `path|body`, repeated: requests go round-robin over them (a body is sent as is). */
    request: { type: "string", multiple: true, default: [] },
    /** Each connection keeps to its own share of the --request entries instead of taking the next of all. */
    "per-connection": { type: "boolean", default: false },
  },
});
if (!values.url) {
  process.stderr.write("load.mjs: --url is required\n");
  process.exit(2);
}

const headers = {};
for (const h of values.header) {
  const i = h.indexOf(":");
  if (i <= 0) throw new Error(`bad --header ${JSON.stringify(h)}: expected "name: value"`);
  headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
}

const spread = values.request.map((r) => {
  const bar = r.indexOf("|");
  return bar < 0 ? { path: r, body: undefined } : { path: r.slice(0, bar), body: r.slice(bar + 1) };
});
let turn = 0;
let clients = 0;
const connections = Number(values.connections);
const share = Math.max(1, Math.floor(spread.length / connections));

/** With --per-connection: each new connection (of the warm-up, then of the measured run) gets its own share of the requests. */
function ownShare(client) {
  const slot = clients++ % connections;
  const mine = Array.from({ length: share }, (_, i) => spread[(slot * share + i) % spread.length]);
  client.setRequests(mine.map((r) => ({ method: values.method, path: r.path, headers, ...(r.body !== undefined ? { body: r.body } : {}) })));
}

const common = {
  url: values.url,
  connections: Number(values.connections),
  headers,
  timeout: Number(values.timeout),
  method: values.method,
  // With --request, every request takes the next path and body in turn, across all connections
  // (or, with --per-connection, of the connection's own share).
  ...(spread.length > 0 && values["per-connection"] ? { setupClient: ownShare } : {}),
  ...(spread.length > 0 && !values["per-connection"]
    ? {
        requests: [
          {
            setupRequest: (req) => {
              const next = spread[turn++ % spread.length];
              return { ...req, method: values.method, path: next.path, ...(next.body !== undefined ? { body: next.body } : {}) };
            },
          },
        ],
      }
    : {}),
};

function run(opts, onResponse) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    if (onResponse) instance.on("response", onResponse);
    // Stop cleanly (and still print) when the parent asks.
    const stop = () => instance.stop();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

const HZ = Number(values.hz);
const parseWatch = (spec, kind) => {
  const [label, pid, tree] = spec.split(":");
  if (!label || !/^\d+$/.test(pid ?? "")) throw new Error(`bad --${kind} ${JSON.stringify(spec)}: expected label:pid[:tree]`);
  return { label, pid: Number(pid), tree: tree === "tree", kind };
};
const watched = [...values.server.map((s) => parseWatch(s, "server")), ...values.infra.map((s) => parseWatch(s, "infra"))];

function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** utime + stime of one process, in clock ticks (0 once it is gone). */
const ticksOf = (pid) => {
  const f = statFields(pid);
  return f ? Number(f[11]) + Number(f[12]) : 0;
};

function childrenOf(ppid) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (/^\d+$/.test(entry) && Number(statFields(entry)?.[1]) === ppid) out.push(Number(entry));
  }
  return out;
}

/** CPU ticks so far: the whole machine (busy time of all cores), each watched process (and its children), this process. */
function cpuSnapshot() {
  let busy = 0;
  let steal = 0;
  try {
    const cols = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, stolen] = cols; // idle and iowait left out; steal apart
    busy = user + nice + system + irq + softirq;
    steal = stolen ?? 0;
  } catch {}
  // One entry per watched process: label → (pid → ticks); children are looked up anew each time.
  const perWatch = watched.map((w) => new Map([w.pid, ...(w.tree ? childrenOf(w.pid) : [])].map((pid) => [pid, ticksOf(pid)])));
  return { at: performance.now(), busy, steal, perWatch, client: ticksOf(process.pid) };
}

/** Ticks of one watched process (and its children) between two snapshots; one born in between counts from zero. */
function ticksBetween(before, after, i) {
  let t = 0;
  for (const [pid, ticks] of after.perWatch[i]) t += Math.max(0, ticks - (before.perWatch[i].get(pid) ?? 0));
  return t;
}

const warmupSeconds = Number(values.warmup);
let warmup;
if (warmupSeconds > 0) warmup = await run({ ...common, duration: warmupSeconds });

let samples = new Float64Array(1 << 20);
let n = 0;
const before = cpuSnapshot();
const result = await run({ ...common, duration: Number(values.duration) }, (_client, statusCode, _bytes, responseTime) => {
  if (statusCode < 200 || statusCode >= 300) return;
  if (n === samples.length) {
    const bigger = new Float64Array(samples.length * 2);
    bigger.set(samples);
    samples = bigger;
  }
  samples[n++] = responseTime;
});

const after = cpuSnapshot();
const msPerTick = 1000 / HZ;
const perReq = (ticks) => (result.requests.total ? (ticks * msPerTick) / result.requests.total : NaN);
const busy = after.busy - before.busy;
const byLabel = {};
let serverTicks = 0;
let infraTicks = 0;
for (const [i, w] of watched.entries()) {
  const t = ticksBetween(before, after, i);
  byLabel[w.label] = (byLabel[w.label] ?? 0) + t;
  if (w.kind === "server") serverTicks += t;
  else infraTicks += t;
}
const clientTicks = after.client - before.client;
const cpu = {
  wallSeconds: (after.at - before.at) / 1000,
  busyCores: (busy * msPerTick) / (after.at - before.at),
  /** Time the hypervisor gave to other machines: a sign of a noisy neighbour. */
  stolenCores: ((after.steal - before.steal) * msPerTick) / (after.at - before.at),
  msPerRequest: {
    servers: perReq(serverTicks),
    infra: perReq(infraTicks),
    client: perReq(clientTicks),
    rest: perReq(Math.max(0, busy - serverTicks - infraTicks - clientTicks)),
    total: perReq(busy),
    byLabel: Object.fromEntries(Object.entries(byLabel).map(([k, t]) => [k, perReq(t)])),
  },
};

const sorted = samples.subarray(0, n).sort();
const sum = sorted.reduce((a, b) => a + b, 0);
const out = {
  autocannon: version,
  node: process.version,
  url: values.url,
  connections: common.connections,
  duration: result.duration,
  warmup: warmup && { duration: warmup.duration, requests: warmup.requests.total, non2xx: warmup.non2xx, errors: warmup.errors, timeouts: warmup.timeouts },
  requests: {
    total: result.requests.total,
    sent: result.requests.sent,
    perSecond: result.requests.total / result.duration,
    perSecondMean: result.requests.mean,
    perSecondStddev: result.requests.stddev,
  },
  latencyMs: {
    count: n,
    mean: n ? sum / n : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1] : NaN,
  },
  autocannonLatencyMs: { p50: result.latency.p50, p99: result.latency.p99, mean: result.latency.mean },
  cpu,
  bytesPerResponse: result.requests.total ? result.throughput.total / result.requests.total : 0,
  status: { "2xx": result["2xx"], non2xx: result.non2xx, codes: result.statusCodeStats },
  errors: result.errors,
  timeouts: result.timeouts,
  resets: result.resets,
  mismatches: result.mismatches,
};
process.stdout.write(JSON.stringify(out) + "\n");
