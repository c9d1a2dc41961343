/**
 * Webhooks: how long a committed change takes to reach a receiver, and how fast a backlog drains.
 *
 *   bun bench/webhooks.ts [--rates 100,1000] [--seconds 20] [--flags 50] [--backlog 2000] [--instances 1] [--concurrency 32] [--json FILE]
 *
 * A fresh cluster (infra/launcher.ts: 1 gateway, 1 auth, 1 flags, --instances webhooks, no
 * streaming) over a throwaway Postgres and nats-server, one webhook (signed) whose receiver is a
 * Bun.serve on this machine answering 200 at once.
 *
 * Latency: for each rate, changes are sent open-loop at that rate for --seconds (each a JSON Patch of
 * one flag's description, the flags taken in turn, so no two of one flag are in flight at once at
 * these rates), and each change is matched with its delivery by flag key and version. Reported:
 *   commit → received   from the write's answer (the change committed) to the delivery's arrival
 *   sent → received     from the write's request to the delivery's arrival (adds the write itself)
 * as p50, p99 and max over every change, and the rate of writes that succeeded (writes the cluster
 * could not take in time — 504 — changed nothing and are counted apart).
 * Backlog: the receiver stops, --backlog changes are made, the receiver starts again: the time from
 * its start to the last delivery, and deliveries per second.
 */
import { cpus, totalmem } from "node:os";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { launchCluster } from "../infra/launcher.ts";

const TOKEN = `webhooks-bench-${crypto.randomUUID()}`;
const log = (m: string) => process.stderr.write(`[webhooks] ${m}\n`);

const { values } = parseArgs({
  options: {
    rates: { type: "string", default: "100,1000" },
    seconds: { type: "string", default: "20" },
    flags: { type: "string", default: "50" },
    backlog: { type: "string", default: "2000" },
    instances: { type: "string", default: "1" },
    concurrency: { type: "string", default: "32" },
    json: { type: "string" },
  },
});
const rates = values.rates!.split(",").map(Number);
const seconds = Number(values.seconds);
const flagCount = Number(values.flags);
const backlog = Number(values.backlog);

const pct = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: Math.round(pct(s, 50)), p99: Math.round(pct(s, 99)), max: Math.round(s.at(-1) ?? NaN) };
};

const arrived = new Map<string, number>();
let up = true;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(request) {
    if (!up) return new Response("down", { status: 503 });
    const body = (await request.json()) as { target: { resources: string[] }; _currentVersionNumber?: number };
    const key = `${String(body.target.resources[0]).split("flag/")[1]}:${body._currentVersionNumber}`;
    if (!arrived.has(key)) arrived.set(key, performance.now());
    return new Response("ok");
  },
});

const cluster = await launchCluster({
  counts: { gateway: 1, auth: 1, flags: 1, streaming: 0, webhooks: Number(values.instances) },
  adminToken: TOKEN,
  env: { VEXIL_RATE_LIMIT_GLOBAL: "0", VEXIL_RATE_LIMIT_ROUTE: "0", VEXIL_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.0/8", VEXIL_WEBHOOK_RETRY_BASE_MS: "200", VEXIL_WEBHOOK_RETRY_MAX_MS: "1000", VEXIL_WEBHOOK_MAX_ATTEMPTS: "100", VEXIL_WEBHOOK_CONCURRENCY: values.concurrency!, LOG_LEVEL: "warn" },
});
const gateway = cluster.gateways[0]!;
const api = (method: string, path: string, body?: unknown) =>
  fetch(gateway + path, { method, headers: { authorization: TOKEN, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });

const results: Record<string, unknown> = { instances: Number(values.instances), concurrency: Number(values.concurrency) };
try {
  if ((await api("POST", "/api/v2/projects", { key: "bench", name: "Bench" })).status !== 201) throw new Error("project");
  const flags = Array.from({ length: flagCount }, (_, i) => `f${i}`);
  for (const key of flags) if ((await api("POST", "/api/v2/flags/bench", { key, name: key })).status !== 201) throw new Error(`flag ${key}`);
  const hook = await api("POST", "/api/v2/webhooks", { url: `http://127.0.0.1:${server.port}/hook`, sign: true, on: true, statements: [{ effect: "allow", actions: ["*"], resources: ["proj/bench:env/*:flag/*", "proj/bench:flag/*"] }] });
  if (hook.status !== 200) throw new Error(`webhook: ${await hook.text()}`);

  let n = 0;
  let refused = 0;
  const change = async (sent: Map<string, { sent: number; answered: number }>) => {
    const flag = flags[n++ % flags.length]!;
    const t0 = performance.now();
    const res = await api("PATCH", `/api/v2/flags/bench/${flag}`, [{ op: "replace", path: "/description", value: `change ${n}` }]);
    const t1 = performance.now();
    // A write the cluster could not take in time (504 at overload) changed nothing: counted, not matched.
    if (res.status !== 200) return void refused++;
    const version = ((await res.json()) as { _version: number })._version;
    sent.set(`${flag}:${version}`, { sent: t0, answered: t1 });
  };

  for (const rate of rates) {
    const sent = new Map<string, { sent: number; answered: number }>();
    const total = rate * seconds;
    refused = 0;
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await Bun.sleep(wait);
      inflight.push(change(sent));
    }
    await Promise.all(inflight);
    const elapsed = (performance.now() - start) / 1000;
    const deadline = performance.now() + 120_000;
    while ([...sent.keys()].some((k) => !arrived.has(k)) && performance.now() < deadline) await Bun.sleep(20);
    const missing = [...sent.keys()].filter((k) => !arrived.has(k)).length;
    const fromCommit = [...sent].filter(([k]) => arrived.has(k)).map(([k, v]) => arrived.get(k)! - v.answered);
    const fromSend = [...sent].filter(([k]) => arrived.has(k)).map(([k, v]) => arrived.get(k)! - v.sent);
    const r = { rate, achieved: Math.round(sent.size / elapsed), changes: sent.size, refusedWrites: refused, missing, commitToReceived: stats(fromCommit), sentToReceived: stats(fromSend) };
    results[`rate-${rate}`] = r;
    log(JSON.stringify(r));
  }

  if (backlog > 0) {
    up = false;
    const sent = new Map<string, { sent: number; answered: number }>();
    for (let i = 0; i < backlog; i += 50) await Promise.all(Array.from({ length: Math.min(50, backlog - i) }, () => change(sent)));
    // Let every delivery fail at least once and back off, as after a real outage.
    await Bun.sleep(3_000);
    up = true;
    const restart = performance.now();
    const deadline = restart + 300_000;
    while ([...sent.keys()].some((k) => !arrived.has(k)) && performance.now() < deadline) await Bun.sleep(20);
    const last = Math.max(...[...sent.keys()].map((k) => arrived.get(k) ?? NaN));
    const drainSeconds = (last - restart) / 1000;
    const r = { changes: backlog, missing: [...sent.keys()].filter((k) => !arrived.has(k)).length, drainSeconds: Number(drainSeconds.toFixed(2)), perSecond: Math.round(backlog / drainSeconds) };
    results.backlog = r;
    log(JSON.stringify(r));
  }
} finally {
  await cluster.stop();
  server.stop(true);
}
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), date: new Date().toISOString() };
console.log(JSON.stringify({ machine, results }, null, 2));
if (values.json) writeFileSync(values.json, JSON.stringify({ machine, results }, null, 2));
