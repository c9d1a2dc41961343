/**
 * Server memory per open SDK stream: N server-side SDK streams (`GET /all`) on one environment of
 * 50 flags with rules or targets (a `put` of about 35 KB), held by load clients of their own
 * (bench/stream-client.ts, raw sockets, up to `--per-client` streams per process), next to a bare
 * `Bun.serve` SSE server (bench/hello-sse.ts) sending the same `put` bytes to the same number of
 * streams in the same run. Each measurement starts its server afresh, opens and closes a few
 * streams (warm-up), lets the heap settle (a full GC through bench/entries/gc-on-signal.ts, then
 * RSS sampled until it stops moving), reads RSS, opens the N streams, waits until each has the
 * whole `put`, settles again and reads RSS: (after − before) / N.
 *
 *   bun bench/stream-memory.ts [--connections 1000,10000] [--flags 50] [--per-client 5000] [--only hello-sse,all-in-one]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import { freePort, waitReady } from "../infra/launcher.ts";

const ROOT = resolve(import.meta.dir, "..");
const TOKEN = `stream-memory-${crypto.randomUUID()}`;
const PROJECT = "memory";
const ENVIRONMENT = "production";

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "1000,10000" },
    flags: { type: "string", default: "50" },
    "per-client": { type: "string", default: "5000" },
    only: { type: "string", default: "hello-sse,all-in-one" },
  },
});
const counts = values.connections!.split(",").map(Number);
const flagCount = Number(values.flags);
const perClient = Number(values["per-client"]);
const targets = values.only!.split(",") as Array<"hello-sse" | "all-in-one">;
const log = (m: string) => process.stderr.write(`[stream-memory] ${m}\n`);

const dataDir = mkdtempSync(join(tmpdir(), "vexil-stream-memory-"));
const putFile = join(dataDir, "put.txt");

interface Server {
  url: string;
  proc: Subprocess;
  stop(): Promise<void>;
}

/** Starts an entry under the GC hook, so `settle` can collect its garbage before reading RSS. */
async function start(entry: string, env: Record<string, string>): Promise<Server> {
  const port = freePort();
  const proc = Bun.spawn(["bun", "bench/entries/gc-on-signal.ts", entry], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env },
    stdout: "ignore",
    stderr: "inherit",
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, 60_000, proc);
  return {
    url,
    proc,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

const startAllInOne = () => start("services/all-in-one/main.ts", { VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: join(dataDir, "pglite"), DATABASE_URL: "", NATS_URL: "" });
const startHello = () => start("bench/hello-sse.ts", { PUT_FILE: putFile });

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
}

/** Full GCs until RSS moves less than 256 KiB three samples running (30 s at most); the last sample. */
async function settle(pid: number): Promise<number> {
  let previous = rssKiB(pid);
  let still = 0;
  for (let i = 0; i < 30 && still < 3; i++) {
    process.kill(pid, "SIGUSR2");
    await Bun.sleep(1_000);
    const now = rssKiB(pid);
    still = Math.abs(now - previous) < 256 ? still + 1 : 0;
    previous = now;
  }
  return previous;
}

async function admin(url: string, method: string, path: string, body?: unknown, contentType = "application/json") {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: TOKEN, "content-type": contentType }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as any;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The flags, all on: even ones with two rules of one clause, odd ones with targets for both variations. */
async function seed(url: string): Promise<string> {
  const project = await admin(url, "POST", "/api/v2/projects", { key: PROJECT, name: "Memory", environments: [{ key: ENVIRONMENT, name: "Production", color: "808080" }] });
  const sdkKey = (project.environments as Array<{ key: string; apiKey: string }>).find((e) => e.key === ENVIRONMENT)!.apiKey;
  for (let i = 0; i < flagCount; i++) {
    const flag = await admin(url, "POST", `/api/v2/flags/${PROJECT}`, { key: `memory-flag-${i}`, name: `Memory flag ${i}` });
    const [on, off] = (flag.variations as Array<{ _id: string }>).map((v) => v._id);
    const rule = (r: number) => ({ kind: "addRule", variationId: r === 0 ? on : off, clauses: [{ contextKind: "user", attribute: "email", op: "endsWith", values: [`@team-${r}.example.com`, `@partner-${r}.example.org`] }] });
    const users = (from: number) => Array.from({ length: 3 }, (_, j) => `user-${i}-${from + j}`);
    const targeting = i % 2 === 0 ? [rule(0), rule(1)] : [{ kind: "addTargets", variationId: on, values: users(0) }, { kind: "addTargets", variationId: off, values: users(3) }];
    await admin(url, "PATCH", `/api/v2/flags/${PROJECT}/${flag.key}`, { environmentKey: ENVIRONMENT, instructions: [...targeting, { kind: "turnFlagOn" }] }, "application/json; domain-model=launchdarkly.semanticpatch");
  }
  return sdkKey;
}

/** The first event of an `/all` stream: the `put`, exactly as the server sends it. */
async function readPut(url: string, sdkKey: string): Promise<Uint8Array> {
  const res = await fetch(`${url}/all`, { headers: { authorization: sdkKey } });
  if (res.status !== 200) throw new Error(`/all answered ${res.status}`);
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the stream ended before its put");
    chunks.push(value);
    const all = Buffer.concat(chunks);
    const end = all.indexOf("\n\n");
    if (end >= 0) {
      await reader.cancel();
      return all.subarray(0, end + 2);
    }
  }
}

/** Opens and closes a few streams (code paths, the environment's data) before the baseline. */
async function warmUp(url: string, sdkKey: string): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 20 }, () => readPut(url, sdkKey)));
}

interface Row {
  target: string;
  connections: number;
  held: number;
  beforeKiB: number;
  afterKiB: number;
  kibPerStream: number;
}

async function measure(target: "hello-sse" | "all-in-one", n: number, sdkKey: string, putBytes: number): Promise<Row> {
  const server = target === "hello-sse" ? await startHello() : await startAllInOne();
  try {
    await warmUp(server.url, sdkKey);
    const before = await settle(server.proc.pid);
    const clients: Array<Subprocess<"pipe", "pipe", "inherit">> = [];
    for (let from = 0; from < n; from += perClient) {
      const config = { streamUrl: server.url, adminUrl: server.url, token: TOKEN, project: PROJECT, flag: "", rounds: 0, putBytes, environments: [{ key: ENVIRONMENT, sdkKey, connections: Math.min(perClient, n - from) }] };
      clients.push(Bun.spawn(["bun", "bench/stream-client.ts", JSON.stringify(config)], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "inherit" }));
    }
    let held = 0;
    for (const client of clients) {
      const { value } = await client.stdout.getReader().read();
      const ready = JSON.parse(new TextDecoder().decode(value).split("\n")[0]!) as { ready: boolean; open: number };
      if (!ready.ready) throw new Error(`a load client did not get ready: ${JSON.stringify(ready)}`);
      held += ready.open;
    }
    const after = await settle(server.proc.pid);
    for (const client of clients) {
      client.stdin.write("go\n");
      client.stdin.flush();
    }
    await Promise.all(clients.map((c) => c.exited));
    const row = { target, connections: n, held, beforeKiB: before, afterKiB: after, kibPerStream: (after - before) / n };
    log(`${target} ${n}: held ${held}; RSS ${(before / 1024).toFixed(1)} → ${(after / 1024).toFixed(1)} MiB; ${row.kibPerStream.toFixed(1)} KiB per stream`);
    return row;
  } finally {
    await server.stop();
  }
}

const rows: Row[] = [];
let putBytes = 0;
try {
  log(`seeding ${flagCount} flags`);
  const seeding = await startAllInOne();
  let sdkKey: string;
  try {
    sdkKey = await seed(seeding.url);
    const put = await readPut(seeding.url, sdkKey);
    writeFileSync(putFile, put);
    putBytes = put.byteLength;
    log(`put: ${putBytes.toLocaleString("en-US")} bytes`);
  } finally {
    await seeding.stop();
  }
  for (const n of counts) for (const target of targets) rows.push(await measure(target, n, sdkKey, putBytes));
} finally {
  if (!process.env.KEEP) rmSync(dataDir, { recursive: true, force: true });
  else log(`kept ${dataDir}`);
}

const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
const dirty = Bun.spawnSync(["git", "status", "--porcelain"], { cwd: ROOT }).stdout.toString().trim() !== "";
const baseline = (n: number) => rows.find((r) => r.target === "hello-sse" && r.connections === n);
console.log(`| target | streams | held | RSS before (MiB) | RSS with the streams (MiB) | per stream | ratio to bare Bun SSE |`);
console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const r of rows) {
  const base = baseline(r.connections);
  const ratio = base && r !== base ? `${(r.kibPerStream / base.kibPerStream).toFixed(2)}×` : "—";
  console.log(
    `| ${r.target} | ${r.connections.toLocaleString("en-US")} | ${r.held.toLocaleString("en-US")} | ${(r.beforeKiB / 1024).toFixed(1)} | ${(r.afterKiB / 1024).toFixed(1)} | ${r.kibPerStream.toFixed(1)} KiB | ${ratio} |`,
  );
}
console.log("");
console.log(`- command: \`bun bench/stream-memory.ts --connections ${values.connections} --flags ${flagCount} --per-client ${perClient} --only ${values.only}\``);
console.log(`- put: ${putBytes.toLocaleString("en-US")} bytes (${flagCount} flags: half with two rules, half with six targets)`);
console.log(`- load: bench/stream-client.ts, up to ${perClient.toLocaleString("en-US")} streams per process, raw sockets`);
console.log(`- machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${cpus()[0]?.model ?? "?"}, bun ${Bun.version}`);
console.log(`- code: commit ${commit}${dirty ? " with uncommitted changes" : ""}`);
console.log(`- date: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`);
