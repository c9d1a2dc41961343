/**
 * Cost against project size: how long single admin calls take through the gateway of the
 * all-in-one process when one project holds N flags, for N rising (100, 1,000, 5,000, 20,000).
 *
 *   bun bench/project-size.ts [--sizes 100,1000,5000,20000] [--samples 50] [--only all-in-one,all-in-one-pg]
 *                             [--fill-connections 32] [--seed 1] [--json FILE]
 *   bun run bench --only project-size -- --sizes 100,1000      (the same, through bench/run.ts)
 *
 * Targets, one after the other, each a fresh process and database:
 *   all-in-one      services/all-in-one/main.ts on the embedded default (PGlite), in-process bus
 *   all-in-one-pg   the same process with DATABASE_URL: a throwaway Postgres server
 *
 * The project (`default`, two environments) is filled through the API: `POST /api/v2/flags/default`
 * by --fill-connections concurrent clients (flags `f-00000`, `f-00001`, …, default targeting), up
 * to each N in turn, while the server's RSS is sampled every 50 ms (the table shows the largest).
 * At each N, one request at a time, --samples times each, timed from request to the last byte:
 *   create      `POST` of a new flag (`n-<N>-<i>`)
 *   cold patch  semantic patch `turnFlagOn` (production) of a flag picked at random among the N that
 *               the process has not read or changed before, so no cache of it holds that flag
 *   warm patch  `turnFlagOff` of the same flag right after, when the flag's rows (and whatever the
 *               instance keeps of a flag it just changed) are fresh
 *   delete      `DELETE` of each flag the creates made (so the project holds N flags again)
 *   first page  `GET /api/v2/flags/default?limit=20&offset=0`
 *   last page   `GET …?limit=20&offset=N-20`; each page read follows an (untimed) change to a flag
 *               of the project, so that no page read can be answered from a cache of pages
 * A warm-up (creates, patches, page reads and deletes of other flags) comes before the first N.
 * Prints per target a markdown table of medians and 95th percentiles in milliseconds, and the
 * ratio of each median to its median at the smallest N (targets: flat within 1.5×; the last page
 * within 2× of the first).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import { freePort, waitReady } from "../infra/launcher.ts";
import { startPostgres, type PgServer } from "../infra/local/postgres.ts";

const ROOT = resolve(import.meta.dir, "..");
const TOKEN = `size-bench-${crypto.randomUUID()}`;
const TARGETS = ["all-in-one", "all-in-one-pg"] as const;
type TargetName = (typeof TARGETS)[number];

const USAGE = `usage: bun bench/project-size.ts [--sizes 100,1000,5000,20000] [--samples 50]
                                 [--only ${TARGETS.join(",")}] [--fill-connections 32] [--seed 1] [--json FILE]
`;

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        sizes: { type: "string", default: "100,1000,5000,20000" },
        samples: { type: "string", default: "50" },
        only: { type: "string", default: TARGETS.join(",") },
        "fill-connections": { type: "string", default: "32" },
        seed: { type: "string", default: "1" },
        json: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    fail(`${(e as Error).message}\n\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, raw: string, min: number, max: number) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return n;
  };
  const samples = int("samples", values.samples, 1, 1000);
  const sizes = values.sizes.split(",").map((s) => int("sizes", s.trim(), 20, 1_000_000));
  if (sizes.some((n, i) => i > 0 && n <= sizes[i - 1]!)) fail("--sizes must rise");
  // The cold patches of every size so far take distinct flags, and a last page needs 20.
  sizes.forEach((n, i) => (i + 1) * samples > n && fail(`--samples ${samples}: at N=${n} there are not enough flags left untouched for the cold patches`));
  const only = values.only.split(",").map((s) => s.trim());
  for (const name of only) if (!(TARGETS as readonly string[]).includes(name)) fail(`--only: unknown target "${name}" (known: ${TARGETS.join(", ")})`);
  return {
    sizes,
    samples,
    only: TARGETS.filter((t) => only.includes(t)),
    fillConnections: int("fill-connections", values["fill-connections"], 1, 256),
    seed: int("seed", values.seed, 0, 2 ** 31),
    json: values.json,
  };
}

function fail(message: string): never {
  process.stderr.write(`project-size: ${message}\n`);
  process.exit(2);
}

const log = (m: string) => process.stderr.write(`[project-size] ${m}\n`);

// ---------------------------------------------------------------------------------------------
// The server under test, stopped on every way out.

interface Server {
  name: TargetName;
  url: string;
  pid: number;
  /** Warnings, errors and lines that are not JSON log lines, from its output. */
  complaints(): string[];
  stop(): Promise<void>;
}

const stops = new Set<() => Promise<void>>();
async function stopAll() {
  for (const stop of [...stops].reverse()) await stop().catch((e) => log(`while stopping: ${(e as Error).message}`));
  stops.clear();
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stopAll().finally(() => process.exit(130)));

async function startServer(name: TargetName): Promise<Server> {
  let pg: PgServer | undefined;
  if (name === "all-in-one-pg") {
    pg = await startPostgres({ fastCommits: true });
    stops.add(pg.destroy);
  }
  const dir = mkdtempSync(join(tmpdir(), "vexil-size-bench-"));
  const port = freePort();
  const logFile = join(dir, "server.log");
  const proc: Subprocess = Bun.spawn(["bun", "services/all-in-one/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: join(dir, "data"), LOG_LEVEL: "warn", DATABASE_URL: pg?.url() ?? "", NATS_URL: "" },
    stdin: "ignore",
    stdout: Bun.file(logFile),
    stderr: Bun.file(`${logFile}.err`),
  });
  const stop = async () => {
    proc.kill("SIGTERM");
    await Promise.race([proc.exited, Bun.sleep(12_000)]);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  stops.add(stop);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, 60_000, proc);
  const complaints = () =>
    [logFile, `${logFile}.err`].flatMap((f) => {
      let text = "";
      try {
        text = readFileSync(f, "utf8");
      } catch {}
      return text.split("\n").filter((line) => {
        if (line.trim() === "") return false;
        try {
          const level = (JSON.parse(line) as { level?: unknown }).level;
          return level === "warn" || level === "error";
        } catch {
          return true;
        }
      });
    });
  return {
    name,
    url,
    pid: proc.pid,
    complaints,
    async stop() {
      stops.delete(stop);
      await stop();
      if (pg) {
        await pg.destroy();
        stops.delete(pg.destroy);
      }
    },
  };
}

function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

const JSON_HEADERS = { authorization: TOKEN, "content-type": "application/json" };
const SEMANTIC_HEADERS = { authorization: TOKEN, "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const flagKey = (i: number) => `f-${String(i).padStart(6, "0")}`;

/** One request, timed from sending to the last byte of the answer; anything but `expected` fails the run. */
async function timed(method: string, url: string, expected: number, headers: Record<string, string> = { authorization: TOKEN }, body?: unknown): Promise<{ ms: number; body: unknown }> {
  const started = performance.now();
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const ms = performance.now() - started;
  if (res.status !== expected) throw new Error(`${method} ${new URL(url).pathname}${new URL(url).search}: ${res.status} (expected ${expected}) ${text.slice(0, 300)}`);
  return { ms, body: text ? JSON.parse(text) : undefined };
}

const create = (server: Server, key: string) => timed("POST", `${server.url}/api/v2/flags/default`, 201, JSON_HEADERS, { key, name: key });
const turn = (server: Server, key: string, on: boolean) =>
  timed("PATCH", `${server.url}/api/v2/flags/default/${key}`, 200, SEMANTIC_HEADERS, { environmentKey: "production", instructions: [{ kind: on ? "turnFlagOn" : "turnFlagOff" }] });
const remove = (server: Server, key: string) => timed("DELETE", `${server.url}/api/v2/flags/default/${key}`, 204);
const page = (server: Server, offset: number) => timed("GET", `${server.url}/api/v2/flags/default?limit=20&offset=${offset}`, 200);

/** Creates flags `from` … `to - 1` with `connections` clients at once; returns the seconds it took. */
async function fill(server: Server, from: number, to: number, connections: number): Promise<number> {
  const started = performance.now();
  let next = from;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < to) await create(server, flagKey(next++));
    }),
  );
  return (performance.now() - started) / 1000;
}

/** Mulberry32: the same picks for the same --seed. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement

interface Stats {
  p50: number;
  p95: number;
}

interface Row {
  n: number;
  fillSeconds: number;
  fillFlags: number;
  maxRssKiB: number;
  create: Stats;
  cold: Stats;
  warm: Stats;
  delete: Stats;
  firstPage: Stats;
  lastPage: Stats;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const stats = (xs: number[]): Stats => ({ p50: percentile(xs, 50), p95: percentile(xs, 95) });

async function warmUp(server: Server) {
  const keys = Array.from({ length: 30 }, (_, i) => `w-${i}`);
  for (const key of keys) await create(server, key);
  for (const key of keys) {
    await turn(server, key, true);
    await turn(server, key, false);
    await page(server, 0);
    await page(server, 10);
  }
  for (const key of keys) await remove(server, key);
}

async function measure(server: Server, o: ReturnType<typeof options>): Promise<Row[]> {
  const pick = random(o.seed);
  const touched = new Set<number>();
  const rows: Row[] = [];
  let held = 0;
  log(`${server.name}: warming up`);
  await warmUp(server);
  for (const n of o.sizes) {
    // Fill to n, sampling the server's memory meanwhile.
    let maxRss = rssKiB(server.pid);
    const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssKiB(server.pid))), 50);
    const fillSeconds = await fill(server, held, n, o.fillConnections).finally(() => clearInterval(sampler));
    maxRss = Math.max(maxRss, rssKiB(server.pid));
    log(`${server.name} N=${n}: ${n - held} flags created in ${fillSeconds.toFixed(1)} s (${Math.round((n - held) / fillSeconds)}/s), max RSS ${(maxRss / 1024).toFixed(0)} MiB`);
    const fillFlags = n - held;
    held = n;

    const creates: number[] = [];
    const colds: number[] = [];
    const warms: number[] = [];
    const deletes: number[] = [];
    const firsts: number[] = [];
    const lasts: number[] = [];
    const made = Array.from({ length: o.samples }, (_, i) => `n-${n}-${i}`);
    for (const key of made) creates.push((await create(server, key)).ms);
    for (let i = 0; i < o.samples; i++) {
      let at: number;
      do at = Math.floor(pick() * n);
      while (touched.has(at));
      touched.add(at);
      colds.push((await turn(server, flagKey(at), true)).ms);
      warms.push((await turn(server, flagKey(at), false)).ms);
    }
    for (const key of made) deletes.push((await remove(server, key)).ms);
    // Page reads, each after a change to the project's flags, which makes any page held out of date
    // (the change is to a flag already changed above, so it leaves the cold picks alone).
    const churn = [...touched].slice(0, 2);
    let on = true;
    for (let i = 0; i < o.samples; i++) {
      await turn(server, flagKey(churn[0]!), on);
      const first = await page(server, 0);
      await turn(server, flagKey(churn[1]!), on);
      const last = await page(server, n - 20);
      on = !on;
      firsts.push(first.ms);
      lasts.push(last.ms);
      const body = last.body as { items: Array<{ key: string }>; totalCount: number };
      if (body.totalCount !== n || body.items.length !== 20 || body.items.at(-1)?.key !== flagKey(n - 1)) {
        throw new Error(`the last page at N=${n} is not the last 20 flags: totalCount ${body.totalCount}, ${body.items.length} items, last ${body.items.at(-1)?.key}`);
      }
    }
    const row: Row = { n, fillSeconds, fillFlags, maxRssKiB: maxRss, create: stats(creates), cold: stats(colds), warm: stats(warms), delete: stats(deletes), firstPage: stats(firsts), lastPage: stats(lasts) };
    log(
      `${server.name} N=${n}: create ${ms(row.create.p50)}, cold patch ${ms(row.cold.p50)}, warm patch ${ms(row.warm.p50)}, delete ${ms(row.delete.p50)}, ` +
        `first page ${ms(row.firstPage.p50)}, last page ${ms(row.lastPage.p50)} ms (medians)`,
    );
    rows.push(row);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Report

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const ratio = (x: number) => `${x.toFixed(2)}×`;
const int = (x: number) => Math.round(x).toLocaleString("en-US");

function table(name: TargetName, rows: Row[], samples: number): string {
  const base = rows[0]!;
  const ops = ["create", "cold", "warm", "delete", "firstPage", "lastPage"] as const;
  const both = (s: Stats) => `${ms(s.p50)} / ${ms(s.p95)}`;
  return [
    `**${name}** (${name === "all-in-one" ? "embedded PGlite" : "Postgres"}): milliseconds, median / 95th percentile of ${samples} requests each`,
    "",
    "| N | create | cold patch | warm patch | delete | first page | last page | last ÷ first | max RSS while filling | fill |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (r) =>
        `| ${int(r.n)} | ${both(r.create)} | ${both(r.cold)} | ${both(r.warm)} | ${both(r.delete)} | ${both(r.firstPage)} | ${both(r.lastPage)} | ` +
        `${ratio(r.lastPage.p50 / r.firstPage.p50)} | ${int(r.maxRssKiB / 1024)} MiB | ${int(r.fillFlags / r.fillSeconds)} flags/s |`,
    ),
    "",
    `Median against N = ${int(base.n)}:`,
    "",
    "| N | create | cold patch | warm patch | delete | first page | last page | max RSS |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) => `| ${int(r.n)} | ${ops.map((op) => ratio(r[op].p50 / base[op].p50)).join(" | ")} | ${ratio(r.maxRssKiB / base.maxRssKiB)} |`),
  ].join("\n");
}

const o = options();
const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const results: Record<string, Row[]> = {};
const complaints: string[] = [];
let failed = false;
try {
  for (const name of o.only) {
    log(`starting ${name}`);
    const server = await startServer(name);
    try {
      results[name] = await measure(server, o);
    } finally {
      await server.stop();
      complaints.push(...server.complaints().map((c) => `${name}: ${c}`));
    }
  }
} catch (e) {
  failed = true;
  process.stderr.write(`\nproject-size: FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
} finally {
  await stopAll();
}
if (complaints.length > 0) {
  log(`the servers logged ${complaints.length} warning/error line(s):`);
  for (const c of complaints.slice(0, 20)) log(`  ${c.slice(0, 400)}`);
}

const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench"], { cwd: ROOT }).stdout.toString().trim() !== "";
const command = ["bun bench/project-size.ts", ...process.argv.slice(2)].join(" ");
if (o.json) writeFileSync(o.json, JSON.stringify({ date, command, options: o, results, complaints }, null, 2));
for (const [name, rows] of Object.entries(results)) console.log(`\n${table(name as TargetName, rows, o.samples)}`);
console.log("");
console.log(`- command: \`${command}\``);
console.log(`- fill: \`POST /api/v2/flags/default\` through the API, ${o.fillConnections} clients at once; timed requests one at a time, ${o.samples} per operation and N`);
console.log(`- machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${cpus()[0]?.model ?? "?"}, bun ${Bun.version}`);
console.log(`- code: commit ${commit}${dirty ? " with uncommitted changes" : ""}`);
console.log(`- date: ${date} (start)`);
process.exit(failed || complaints.length > 0 ? 1 : 0);
