/**
 * Streaming benchmark: N SSE connections (`/all`, server-side SDK protocol) spread over several
 * environments, one flag change per environment and round through the admin API, and per
 * connection the time from the PATCH response to the `patch` event; plus the server's memory per
 * idle connection. The load client is its own process (bench/stream-client.ts).
 *
 *   bun bench/streams.ts [--connections 1000,10000] [--environments 10] [--rounds 3] [--only all-in-one,distributed]
 *   bun bench/streams.ts --connections 300 --rounds 10 --only distributed,distributed-2flags
 *   bun run bench --only streams -- …                 (the same, through bench/run.ts)
 *
 * Targets, one after the other (each started, measured at every --connections, stopped):
 *   all-in-one          the all-in-one process (embedded PGlite, in-process bus)
 *   distributed         1 gateway, 1 auth, 1 flags, 1 streaming over Postgres and nats-server;
 *                       PATCHes to the gateway, streams on the streaming instance
 *   distributed-2flags  the same with 2 flags instances: each PATCH goes to either (NATS queue
 *                       group), and each pass of the outbox relay runs on whichever instance takes
 *                       its lock first
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import { freePort, launchCluster, waitReady, type Cluster } from "../infra/launcher.ts";

const ROOT = resolve(import.meta.dir, "..");
const TOKEN = `stream-bench-${crypto.randomUUID()}`;

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "1000,10000" },
    environments: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    only: { type: "string", default: "all-in-one,distributed" },
    help: { type: "boolean", short: "h" },
  },
});
const counts = values.connections!.split(",").map(Number);
const environments = Number(values.environments);
const rounds = Number(values.rounds);
const log = (m: string) => process.stderr.write(`[streams] ${m}\n`);
const TARGETS = ["all-in-one", "distributed", "distributed-2flags"];
if (values.help) {
  process.stdout.write("usage: bun bench/streams.ts [--connections 1000,10000] [--environments 10] [--rounds 3] [--only " + TARGETS.join(",") + "]\n");
  process.exit(0);
}
for (const name of values.only!.split(",")) {
  if (!TARGETS.includes(name)) {
    process.stderr.write(`streams: unknown target "${name}" (known: ${TARGETS.join(", ")})\n`);
    process.exit(2);
  }
}
if (![...counts, environments, rounds].every((n) => Number.isInteger(n) && n > 0)) {
  process.stderr.write("streams: --connections, --environments and --rounds take whole numbers above 0\n");
  process.exit(2);
}

interface Server {
  name: string;
  adminUrl: string;
  streamUrl: string;
  /** The process holding the streams. */
  streamPid: number;
  stop(): Promise<void>;
}

async function startAllInOne(): Promise<Server> {
  const port = freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "vexil-stream-bench-"));
  const proc = Bun.spawn(["bun", "services/all-in-one/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: dataDir, LOG_LEVEL: "warn", DATABASE_URL: "", NATS_URL: "" },
    stdout: "ignore",
    stderr: "inherit",
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, 60_000, proc);
  return {
    name: "all-in-one",
    adminUrl: url,
    streamUrl: url,
    streamPid: proc.pid,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startDistributed(name: string, flags: number): Promise<Server> {
  const cluster: Cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags, streaming: 1 }, adminToken: TOKEN, logLevel: "warn", postgres: { fastCommits: true } });
  const streaming = cluster.instances.find((i) => i.kind === "streaming")!;
  return { name, adminUrl: cluster.gateways[0]!, streamUrl: streaming.url, streamPid: streaming.process.pid, stop: () => cluster.stop() };
}

function rssKiB(pid: number): number {
  const status = Bun.spawnSync(["cat", `/proc/${pid}/status`]).stdout.toString();
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

async function admin(server: Server, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.adminUrl}${path}`, { method, headers: { authorization: TOKEN, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as any;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

interface Row {
  target: string;
  connections: number;
  open: number;
  samples: number;
  missing: number;
  fromResponse: { p50: number; p99: number; max: number };
  fromRequest: { p50: number; p99: number; max: number };
  firstPerChange: { p50: number; p90: number; p99: number; max: number };
  kibPerConnection: number;
  openSeconds: number;
}

async function measure(server: Server, n: number, run: number): Promise<Row> {
  const project = `streams-${run}`;
  const created = await admin(server, "POST", "/api/v2/projects", {
    key: project,
    name: project,
    environments: Array.from({ length: environments }, (_, i) => ({ key: `e${i}`, name: `E${i}`, color: "808080" })),
  });
  await admin(server, "POST", `/api/v2/flags/${project}`, { key: "bench", name: "Bench" });
  const envs = (created.environments as Array<{ key: string; apiKey: string }>).map((e, i) => ({ key: e.key, sdkKey: e.apiKey, connections: Math.floor(n / environments) + (i < n % environments ? 1 : 0) }));
  // Warm up (code paths, the environments' data), then let the process settle before the baseline.
  const warm = await Promise.all(envs.flatMap((e) => Array.from({ length: 20 }, () => fetch(`${server.streamUrl}/all`, { headers: { authorization: e.sdkKey } }))));
  for (const res of warm) await res.body?.cancel();
  await Bun.sleep(3_000);
  const before = rssKiB(server.streamPid);
  const config = { streamUrl: server.streamUrl, adminUrl: server.adminUrl, token: TOKEN, project, flag: "bench", rounds, environments: envs };
  const client: Subprocess<"pipe", "pipe", "inherit"> = Bun.spawn(["bun", "bench/stream-client.ts", JSON.stringify(config)], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const lines = (async function* () {
    let buffered = "";
    for await (const chunk of client.stdout) {
      buffered += new TextDecoder().decode(chunk);
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        yield JSON.parse(buffered.slice(0, nl)) as any;
        buffered = buffered.slice(nl + 1);
      }
    }
  })();
  const ready = (await lines.next()).value;
  if (!ready?.ready) throw new Error(`the client did not get ready: ${JSON.stringify(ready)}`);
  // Idle connections, settled.
  await Bun.sleep(3_000);
  const after = rssKiB(server.streamPid);
  client.stdin.write("go\n");
  client.stdin.flush();
  const done = (await lines.next()).value;
  await client.exited;
  log(`${server.name} ${n}: open ${ready.open} in ${(ready.openMs / 1000).toFixed(1)} s; from response p50 ${done.fromResponse.p50.toFixed(1)} p99 ${done.fromResponse.p99.toFixed(1)} max ${done.fromResponse.max.toFixed(1)} ms; ${((after - before) / n).toFixed(1)} KiB/conn; missing ${done.missing}`);
  await Bun.sleep(2_000);
  return {
    target: server.name,
    connections: n,
    open: ready.open,
    samples: done.samples,
    missing: done.missing,
    fromResponse: done.fromResponse,
    fromRequest: done.fromRequest,
    firstPerChange: done.firstPerChange,
    kibPerConnection: (after - before) / n,
    openSeconds: ready.openMs / 1000,
  };
}

const rows: Row[] = [];
let current: Server | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130)));
}
for (const name of values.only!.split(",")) {
  log(`starting ${name}`);
  const server = name === "all-in-one" ? await startAllInOne() : await startDistributed(name, name === "distributed-2flags" ? 2 : 1);
  current = server;
  try {
    let run = 0;
    for (const n of counts) rows.push(await measure(server, n, run++));
  } finally {
    await server.stop();
    current = undefined;
  }
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "—");
const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
const dirty = Bun.spawnSync(["git", "status", "--porcelain"], { cwd: ROOT }).stdout.toString().trim() !== "";
console.log(`| target | connections | held | patch events | missing | p50 (ms) | p99 (ms) | max (ms) | p99 from PATCH sent (ms) | first event per change p50 / p90 / max (ms) | server memory per idle connection |`);
console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const r of rows) {
  console.log(
    `| ${r.target} | ${r.connections.toLocaleString("en-US")} | ${r.open.toLocaleString("en-US")} | ${r.samples.toLocaleString("en-US")} | ${r.missing} | ${ms(r.fromResponse.p50)} | ${ms(r.fromResponse.p99)} | ${ms(r.fromResponse.max)} | ${ms(r.fromRequest.p99)} | ${ms(r.firstPerChange.p50)} / ${ms(r.firstPerChange.p90)} / ${ms(r.firstPerChange.max)} | ${r.kibPerConnection.toFixed(1)} KiB |`,
  );
}
console.log("");
console.log("- p50, p99, max: every connection's `patch` event of every change, from the PATCH response (an event before it counts 0)");
console.log("- first event per change: the earliest `patch` of each change on any connection of its environment, from the PATCH response: the commit-to-bus path without the fan-out");
console.log(`- command: \`bun bench/streams.ts --connections ${values.connections} --environments ${environments} --rounds ${rounds} --only ${values.only}\``);
console.log(`- load: bench/stream-client.ts, its own bun process, raw sockets; one change per environment and round (${environments} environments × ${rounds} rounds)`);
console.log(`- machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${cpus()[0]?.model ?? "?"}, bun ${Bun.version}`);
console.log(`- code: commit ${commit}${dirty ? " with uncommitted changes" : ""}`);
console.log(`- date: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`);
