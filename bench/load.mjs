/**
 * The load client, run by node in its own process so that it never shares an event loop (or a
 * runtime) with the server it measures. One autocannon warm-up, then one measured run; prints a
 * single JSON object on stdout.
 *
 *   node bench/load.mjs --url http://127.0.0.1:8080/ --connections 32 --duration 10 --warmup 3 \
 *     [--header "authorization: Bearer …"]
 *
 * Latency percentiles are computed here from every 2xx response time (fractional milliseconds):
 * autocannon's own histogram keeps whole milliseconds, too coarse for sub-millisecond servers.
 */
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

const common = {
  url: values.url,
  connections: Number(values.connections),
  headers,
  timeout: Number(values.timeout),
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

const warmupSeconds = Number(values.warmup);
let warmup;
if (warmupSeconds > 0) warmup = await run({ ...common, duration: warmupSeconds });

let samples = new Float64Array(1 << 20);
let n = 0;
const result = await run({ ...common, duration: Number(values.duration) }, (_client, statusCode, _bytes, responseTime) => {
  if (statusCode < 200 || statusCode >= 300) return;
  if (n === samples.length) {
    const bigger = new Float64Array(samples.length * 2);
    bigger.set(samples);
    samples = bigger;
  }
  samples[n++] = responseTime;
});

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
  bytesPerResponse: result.requests.total ? result.throughput.total / result.requests.total : 0,
  status: { "2xx": result["2xx"], non2xx: result.non2xx, codes: result.statusCodeStats },
  errors: result.errors,
  timeouts: result.timeouts,
  resets: result.resets,
  mismatches: result.mismatches,
};
process.stdout.write(JSON.stringify(out) + "\n");
