/**
 * Streams across streaming instances: N server-side SDK streams (`GET /all`) spread over several
 * environments and over the streaming instances, held by several load processes (a process may hold
 * 20,000 open files here; bench/stream-client.ts, raw sockets), then rounds of one flag change per
 * environment through the gateway. Every stream must receive every change; per stream, the time
 * from the PATCH response to its `patch` event (p50/p99/max), and the streaming processes' memory
 * per open stream.
 *
 *   bun bench/streams-cluster.ts [--connections 30000] [--streaming 2] [--clients 6] [--environments 10] [--rounds 2]
 *
 * By default it launches its own cluster (infra/launcher.ts: 1 gateway, 1 auth, 1 flags and
 * --streaming instances) and the streams go to the streaming instances directly. Against a
 * deployment already running (an edge in front of the streaming instances, say):
 *
 *   bun bench/streams-cluster.ts --url http://127.0.0.1:8080 --admin-url http://127.0.0.1:8080 --token … [--pids 123,456]
 *
 * (--pids: the streaming processes, to measure their memory; without them memory is not reported).
 *
 * Through the edge the launcher starts in front (HAProxy, `--edge`): every stream goes to the edge's
 * one port, and the edge's processes (`--edge-processes N`; by default as many as --connections needs
 * under the file limit, infra/edge/capacity.ts) share it. Each load process then connects from an
 * address of its own in 127.0.1.0/24, since one source address reaches one port through at most the
 * ephemeral port range (about 28,000 connections). Reported besides: the edge processes' memory and
 * how the kernel spread the streams over them.
 *
 *   bun bench/streams-cluster.ts --edge --paced 100 --connections 30000 --streaming 2 --clients 6 --environments 10 --rounds 2
 *
 * `--paced N`: each load process sets up N streams at a time, the next N once their `put`s are in
 * (without it, all of its streams at once). Through the edge an unpaced burst of 30,000 on this
 * two-core machine makes the instances answer their health checks late, and the edge then takes
 * them out and closes their streams (BENCHMARKS.md); the edge's answers, printed at the end, show it.
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import { launchCluster, type Cluster } from "../infra/launcher.ts";

const ROOT = resolve(import.meta.dir, "..");

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "30000" },
    streaming: { type: "string", default: "2" },
    clients: { type: "string", default: "6" },
    environments: { type: "string", default: "10" },
    rounds: { type: "string", default: "2" },
    url: { type: "string" },
    "admin-url": { type: "string" },
    token: { type: "string" },
    pids: { type: "string" },
    edge: { type: "boolean", default: false },
    "edge-processes": { type: "string" },
    paced: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const USAGE = "usage: bun bench/streams-cluster.ts [--connections 30000] [--streaming 2] [--clients 6] [--environments 10] [--rounds 2] [--edge [--edge-processes N]] [--paced N] [--url U --admin-url A --token T [--pids p1,p2]]\n";
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const total = Number(values.connections);
const streamingCount = Number(values.streaming);
const clientCount = Number(values.clients);
const environments = Number(values.environments);
const rounds = Number(values.rounds);
/** Streams each load process sets up at once (`--paced N`: the next N only once their puts are in); without it, every stream at once. */
const paced = values.paced === undefined ? undefined : Number(values.paced);
const edgeProcesses = values["edge-processes"] === undefined ? undefined : Number(values["edge-processes"]);
const badEdge = (paced !== undefined && (!Number.isInteger(paced) || paced < 1)) || (edgeProcesses !== undefined && (!values.edge || !Number.isInteger(edgeProcesses) || edgeProcesses < 1)) || (values.edge && values.url !== undefined) || (values.edge && clientCount > 250);
if (badEdge || ![total, streamingCount, clientCount, environments, rounds].every((n) => Number.isInteger(n) && n > 0) || (values.url !== undefined && (!values["admin-url"] || !values.token))) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const log = (m: string) => process.stderr.write(`[streams-cluster ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function rssKiB(pid: number): number {
  const status = Bun.spawnSync(["cat", `/proc/${pid}/status`]).stdout.toString();
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** An edge process's memory: its master's RSS and its workers' (the master's children). */
function edgeRssKiB(masterPid: number): number {
  const children = Bun.spawnSync(["cat", `/proc/${masterPid}/task/${masterPid}/children`]).stdout.toString().trim().split(/\s+/).filter(Boolean).map(Number);
  return [masterPid, ...children].reduce((sum, pid) => sum + rssKiB(pid), 0);
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);

let cluster: Cluster | undefined;
const token = values.token ?? `streams-cluster-${crypto.randomUUID()}`;
let adminUrl: string;
let streamUrls: string[];
let pids: number[];
let warmUrls: string[];
if (values.url) {
  adminUrl = values["admin-url"]!;
  streamUrls = [values.url];
  pids = values.pids ? values.pids.split(",").map(Number) : [];
  warmUrls = streamUrls;
} else {
  log(`launching 1 gateway, 1 auth, 1 flags, ${streamingCount} streaming${values.edge ? ", the edge in front" : ""}`);
  // Room for this benchmark's streams on each instance (the default limit is 15,000).
  cluster = await launchCluster({
    counts: { gateway: 1, auth: 1, flags: 1, streaming: streamingCount },
    adminToken: token,
    logLevel: "warn",
    env: { VEXIL_STREAM_LIMIT: "19000" },
    edge: values.edge,
    edgeProcesses,
    expectedStreams: total,
  });
  adminUrl = cluster.gateways[0]!;
  const streaming = cluster.instances.filter((i) => i.kind === "streaming");
  warmUrls = streaming.map((i) => i.url);
  streamUrls = cluster.edge ? [cluster.edge.url] : warmUrls;
  pids = streaming.map((i) => i.process.pid);
  if (cluster.edge) log(`edge: ${cluster.edge.url}, ${cluster.edge.processes.length} processes`);
}
const edge = cluster?.edge;
/** Streams each edge process holds to the streaming instances now (its current worker's count). */
const edgeStreams = async () =>
  edge ? Promise.all(edge.processes.map(async (p) => (await p.servers()).filter((s) => s.backend === "streaming").reduce((n, s) => n + s.current, 0))) : [];
const clients: Array<Subprocess<"pipe", "pipe", "inherit">> = [];
const stopAll = async () => {
  for (const c of clients) c.kill("SIGTERM");
  await cluster?.stop();
};
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stopAll().finally(() => process.exit(130)));

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(`${adminUrl}${path}`, { method, headers: { authorization: token, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as any;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A load process's output, one JSON object a line. */
function lines(client: Subprocess<"pipe", "pipe", "inherit">): AsyncGenerator<any> {
  return (async function* () {
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of client.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        yield JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    }
  })();
}

try {
  const project = `scale-${Date.now()}`;
  const created = await admin("POST", "/api/v2/projects", {
    key: project,
    name: project,
    environments: Array.from({ length: environments }, (_, i) => ({ key: `e${i}`, name: `E${i}`, color: "808080" })),
  });
  await admin("POST", `/api/v2/flags/${project}`, { key: "bench", name: "Bench" });
  const envs = (created.environments as Array<{ key: string; apiKey: string }>).map((e) => ({ key: e.key, sdkKey: e.apiKey }));
  // Warm up every instance with every environment, then settle before the baseline.
  for (const url of warmUrls) {
    const warm = await Promise.all(envs.flatMap((e) => Array.from({ length: 10 }, () => fetch(`${url}/all`, { headers: { authorization: e.sdkKey } }))));
    for (const res of warm) await res.body?.cancel();
  }
  await Bun.sleep(3_000);
  const before = pids.map(rssKiB);
  const edgeBefore = edge ? edge.processes.map((p) => edgeRssKiB(p.process.pid)) : [];

  // Each load process takes an even share, spread over the environments and (in turn) the instances.
  const started = performance.now();
  const outputs: Array<AsyncGenerator<any>> = [];
  for (let c = 0; c < clientCount; c++) {
    const mine = Math.floor(total / clientCount) + (c < total % clientCount ? 1 : 0);
    const config = {
      streamUrl: streamUrls[0],
      streamUrls: streamUrls.map((_, i) => streamUrls[(i + c) % streamUrls.length]),
      localAddress: edge ? `127.0.1.${c + 1}` : undefined,
      ...(paced ? { paced: true, batch: paced } : {}),
      adminUrl,
      token,
      project,
      flag: "bench",
      rounds,
      coordinated: true,
      readyTimeoutMs: 600_000,
      patchTimeoutMs: 60_000,
      environments: envs.map((e, i) => ({ ...e, connections: Math.floor(mine / environments) + (i < mine % environments ? 1 : 0) })),
    };
    const client = Bun.spawn(["bun", "bench/stream-client.ts", JSON.stringify(config)], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    clients.push(client);
    outputs.push(lines(client));
  }
  const readies = await Promise.all(outputs.map(async (o) => (await o.next()).value));
  const held = readies.reduce((n, r) => n + (r?.open ?? 0), 0);
  const openErrors = readies.reduce((n, r) => n + (r?.errors ?? 0), 0);
  const openSeconds = (performance.now() - started) / 1000;
  log(`${held} of ${total} streams open, every put in, after ${openSeconds.toFixed(1)} s (${openErrors} connection errors)`);
  await Bun.sleep(5_000);
  const after = pids.map(rssKiB);
  const edgeAfter = edge ? edge.processes.map((p) => edgeRssKiB(p.process.pid)) : [];
  const spread = await edgeStreams();
  const load = loadavg();
  for (const c of clients) {
    c.stdin.write("go\n");
    c.stdin.flush();
  }

  const delivery: number[] = [];
  let missing = 0;
  let closed = 0;
  for (let round = 0; round < rounds; round++) {
    for (const c of clients) {
      c.stdin.write("round\n");
      c.stdin.flush();
    }
    const armed = await Promise.all(outputs.map(async (o) => (await o.next()).value));
    if (!armed.every((a) => a?.armed)) throw new Error(`a load process did not arm: ${JSON.stringify(armed)}`);
    // One change per environment: on in even rounds, off in odd ones.
    const answered: number[] = [];
    const kind = round % 2 === 0 ? "turnFlagOn" : "turnFlagOff";
    for (const env of envs) {
      const res = await fetch(`${adminUrl}/api/v2/flags/${project}/bench`, {
        method: "PATCH",
        headers: { authorization: token, "content-type": "application/json; domain-model=launchdarkly.semanticpatch" },
        body: JSON.stringify({ environmentKey: env.key, instructions: [{ kind }] }),
      });
      await res.arrayBuffer();
      answered.push(performance.timeOrigin + performance.now());
      if (res.status !== 200) throw new Error(`PATCH answered ${res.status}`);
    }
    const results = await Promise.all(outputs.map(async (o) => (await o.next()).value));
    let roundMissing = 0;
    for (const r of results) {
      roundMissing += r.missing;
      closed = Math.max(closed, r.closed);
      (r.arrivals as number[][]).forEach((xs, env) => {
        for (const at of xs) delivery.push(Math.max(0, at - answered[env]!));
      });
    }
    missing += roundMissing;
    log(`round ${round + 1}: ${results.reduce((n, r) => n + r.arrivals.flat().length, 0)} patch events, ${roundMissing} missing`);
  }
  for (const c of clients) {
    c.stdin.write("exit\n");
    c.stdin.flush();
  }
  await Promise.all(clients.map((c) => c.exited));
  delivery.sort((a, b) => a - b);

  const kib = pids.length > 0 ? after.reduce((s, x, i) => s + x - before[i]!, 0) / held : NaN;
  const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "—");
  console.log(`| streams asked | held (every put in) | streaming instances | load processes | patch events | missing | p50 (ms) | p99 (ms) | max (ms) | memory per stream | time to open all |`);
  console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  console.log(
    `| ${total.toLocaleString("en-US")} | ${held.toLocaleString("en-US")} | ${values.url ? `behind ${values.url}` : edge ? `${streamingCount} behind the edge (${edge.processes.length} processes)` : streamingCount} | ${clientCount} | ${delivery.length.toLocaleString("en-US")} | ${missing} | ${ms(percentile(delivery, 50))} | ${ms(percentile(delivery, 99))} | ${ms(delivery.at(-1) ?? NaN)} | ${Number.isFinite(kib) ? `${kib.toFixed(1)} KiB` : "—"} | ${openSeconds.toFixed(0)} s |`,
  );
  console.log("");
  console.log(`- delivery: every stream's \`patch\` event of every change, from the PATCH response (an event before it counts 0); ${environments} environments × ${rounds} rounds, one change per environment and round`);
  console.log(`- memory: the streaming processes' RSS with the streams open and idle, less their RSS before (after a warm-up), divided by the streams held${pids.length ? ` (per instance: ${after.map((x, i) => `${((x - before[i]!) / 1024).toFixed(0)} MiB`).join(", ")})` : ""}`);
  if (edge) {
    const edgeKiB = edgeAfter.reduce((s, x, i) => s + x - edgeBefore[i]!, 0) / held;
    console.log(
      `- edge: ${edge.processes.length} HAProxy processes on one port; streams each held (to the streaming instances): ${spread.map((n) => n.toLocaleString("en-US")).join(", ")}; their RSS with the streams open: ${edgeAfter.map((x) => `${(x / 1024).toFixed(0)} MiB`).join(", ")} (before: ${edgeBefore.map((x) => `${(x / 1024).toFixed(0)} MiB`).join(", ")}), ${edgeKiB.toFixed(1)} KiB per stream`,
    );
  }
  if (edge) {
    // How the edge answered the streams (status and HAProxy's termination flags) and what it took out of the rotation: why a stream closed.
    const answers = new Map<string, number>();
    for (const e of edge.requests()) if (e.path === "/all") answers.set(`${e.status} ${e.end}`, (answers.get(`${e.status} ${e.end}`) ?? 0) + 1);
    const downs = edge.processes.flatMap((p) => readFileSync(p.logFile, "utf8").split("\n").filter((l) => l.startsWith("[WARNING]") && l.includes(" is DOWN")).map((l) => l.replace(/^.*Server /, "").replace(/\. \d+ active.*$/, "")));
    console.log(`- edge answers to the streams (status, termination flags): ${[...answers].map(([k, n]) => `${k}: ${n.toLocaleString("en-US")}`).join(", ")}; instances taken out of a process's rotation: ${downs.length === 0 ? "none" : downs.join("; ")}`);
  }
  console.log(`- streams closed by the end: ${closed} (the last round's count of one load process at most); connection errors while opening: ${openErrors}`);
  console.log(`- command: \`bun bench/streams-cluster.ts ${process.argv.slice(2).filter((a) => a !== values.token).join(" ")}\``.replace(/ `$/, "`"));
  console.log(`- machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${cpus()[0]?.model ?? "?"}, bun ${Bun.version}; load average with the streams open: ${load.map((x) => x.toFixed(2)).join(" ")}`);
  console.log(`- code: commit ${commit}`);
  console.log(`- date: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`);
} finally {
  await stopAll();
}
