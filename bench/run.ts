/**
 * The benchmark baseline: authenticated reads and writes through each way of running Vexil,
 * measured in the same run as a bare `Bun.serve` hello-world, so the figures can be read as ratios.
 *
 *   bun run bench                                   # every target, defaults
 *   bun run bench --duration 10 --connections 32 --warmup 3
 *   bun run bench --only hello,all-in-one,distributed
 *   bun run bench --only hello,flag-reads-all-in-one,flag-reads,flag-reads-distributed
 *   bun run bench --only flag-writes --connections 8,64
 *   bun run bench --rounds 3 --json /tmp/bench.json
 *
 * Targets (all started before the first measurement, stopped after the last). Three Vexil
 * processes (or clusters) serve them; targets on one share it:
 *   hello                  bench/hello-server.ts, a bare Bun.serve answering a small JSON body
 *   all-in-one             services/all-in-one/main.ts on embedded PGlite and the in-process bus:
 *                          `GET /api/v2/projects/default`
 *   all-in-one-noauth      a second all-in-one process as above, authentication bypassed
 *                          (bench/entries/all-in-one-no-auth.ts)
 *   distributed            infra/launcher.ts: 1 gateway, 1 auth, 1 flags over nats-server and
 *                          Postgres; the project read through the gateway
 *   distributed-noauth     one more gateway in that cluster, authentication bypassed
 *                          (bench/entries/gateway-no-auth.ts)
 *   all-in-one-pg          the all-in-one process with DATABASE_URL (the same Postgres server, its
 *                          own database): the project read
 *   flag-reads-all-in-one  `GET /api/v2/flags/default/bench-flag-<n>` on the all-in-one (PGlite)
 *                          process; each flag has targets, a rule and a rollout in both of the
 *                          project's environments; each connection reads its own flag
 *   flag-reads-distributed the same flag reads through the distributed cluster's gateway
 *   flag-reads             the same flag reads on the all-in-one-pg process
 *   flag-writes            the all-in-one-pg process: semantic patches `turnFlagOn` and
 *                          `turnFlagOff` (production) taking turns, each connection on its own
 *                          flag, so every write is a change (audit entry and outbox event each)
 *   flag-writes-contended  the same writes, each request taking the next flag across all
 *                          connections, so concurrent writes meet on one flag
 * The flag targets use max(8, connections) flags, so each connection has a flag of its own at any
 * connection count; a write target also reports how many flag versions it wrote (the sum of the
 * flags' `_version` before and after each measurement, warm-up included).
 *
 * --connections takes a list (`8,64`): every target is then measured at each count, and each
 * row's ratio is to the hello row of the same count.
 *
 * Benchmarks of their own run only when --only names them (after any targets above), each
 * given the arguments after `--` and printing its own tables:
 *   project-size   bench/project-size.ts: single admin calls against the number of flags in a project
 *   streams        bench/streams.ts: change → SDK `patch` latency over many SDK streams
 *   scheduler      bench/scheduler.ts: lateness of K scheduled items due in the same second
 *   webhooks       bench/webhooks.ts: commit → webhook delivery latency at a rate of changes, backlog drain
 *   bus-hop        bench/bus-hop.ts: the bus hop alone (no service work) next to a direct answer
 *   bun run bench --only project-size -- --sizes 100,1000,5000,20000
 *   bun run bench --only streams -- --connections 300 --only distributed,distributed-2flags
 *   bun run bench --only scheduler -- --items 1000,10000
 *   bun run bench --only webhooks -- --rates 100,1000 --seconds 10
 *
 * The load comes from autocannon, run by node in its own process (bench/load.mjs). A target
 * that answers anything but 2xx, or drops a request, fails the run. The gateways run with their
 * rate limits set as high as they go, since one admin token sends every request.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import postgres from "postgres";
import { freePort, launchCluster, waitReady, type Cluster } from "../infra/launcher.ts";
import { startPostgres, type PgServer } from "../infra/local/postgres.ts";
import { median, type LoadResult } from "./load-result.ts";

const ROOT = resolve(import.meta.dir, "..");
const TARGETS = [
  "hello",
  "all-in-one",
  "all-in-one-noauth",
  "distributed",
  "distributed-noauth",
  "all-in-one-pg",
  "flag-reads-all-in-one",
  "flag-reads-distributed",
  "flag-reads",
  "flag-writes",
  "flag-writes-contended",
] as const;
type TargetName = (typeof TARGETS)[number];

const DESCRIPTIONS: Record<TargetName, string> = {
  hello: "bare `Bun.serve`, small JSON body (bench/hello-server.ts)",
  "all-in-one": "all-in-one process: embedded PGlite, in-process bus",
  distributed: "1 gateway + 1 auth + 1 flags over nats-server and Postgres",
  "all-in-one-pg": "all-in-one process with DATABASE_URL (Postgres), in-process bus",
  "all-in-one-noauth": "all-in-one process as above, authentication bypassed (bench/entries/all-in-one-no-auth.ts)",
  "distributed-noauth": "a second gateway of the distributed cluster, authentication bypassed (bench/entries/gateway-no-auth.ts)",
  "flag-reads-all-in-one": "the all-in-one (PGlite) process: `GET` of one flag per connection, each with targets, a rule and a rollout in both environments",
  "flag-reads-distributed": "the distributed cluster: the same flag reads through its gateway",
  "flag-reads": "the all-in-one-pg process: the same flag reads",
  "flag-writes": "the all-in-one-pg process: semantic patches `turnFlagOn` and `turnFlagOff` taking turns (audit entry and outbox event each), each connection on its own flag, so every write is a change",
  "flag-writes-contended": "the same writes, every request taking the next flag (on, off, next flag, …) across all connections, so concurrent writes meet on one flag",
};

/** Benchmarks of their own, run (after the targets above) only when --only names them. */
const SCRIPTS = { "project-size": "bench/project-size.ts", streams: "bench/streams.ts", scheduler: "bench/scheduler.ts", webhooks: "bench/webhooks.ts", "bus-hop": "bench/bus-hop.ts" } as const;
type ScriptName = keyof typeof SCRIPTS;
const SCRIPT_NAMES = Object.keys(SCRIPTS) as ScriptName[];

const FLAG_TARGETS: readonly TargetName[] = ["flag-reads-all-in-one", "flag-reads-distributed", "flag-reads", "flag-writes", "flag-writes-contended"];

/** The flags the flag targets read and write: one per connection, at least 8. */
const flagCount = (connections: number) => Math.max(8, connections);
const benchFlag = (i: number) => `bench-flag-${i}`;
const flagPath = (i: number) => `/api/v2/flags/default/${benchFlag(i)}`;

/** The origin of a target's server (its URL without the path). */
const originOf = (target: Target) => new URL(target.url).origin;

/** The sum of the first `count` bench flags' versions, as the target's server reports them. */
async function flagVersions(target: Target, count: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${originOf(target)}${flagPath(i)}`, { headers: AUTH });
    sum += ((await res.json()) as { _version: number })._version;
  }
  return sum;
}

/**
 * Creates the bench flags (those not there yet) with targeting in both environments of the
 * default project: individual targets, a rule with a clause, a percentage rollout as fallthrough;
 * on in `test`, off in `production` (where the write targets turn them on and off).
 */
async function seedFlags(origin: string, count: number): Promise<void> {
  const json = { ...AUTH, "content-type": "application/json" };
  const semantic = { ...AUTH, "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
  // The default project is made once the flags service is up (in a cluster, once auth answers).
  for (const deadline = Date.now() + 30_000; ; await Bun.sleep(250)) {
    const res = await fetch(`${origin}${READ_PATH}`, { headers: AUTH }).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`${origin}: no default project after 30 s (last answer: ${res?.status ?? "none"})`);
  }
  let next = 0;
  const one = async (i: number) => {
    const key = benchFlag(i);
    if ((await fetch(`${origin}${flagPath(i)}`, { headers: AUTH }).then(async (r) => (await r.arrayBuffer(), r.status))) === 200) return;
    const created = await fetch(`${origin}/api/v2/flags/default`, { method: "POST", headers: json, body: JSON.stringify({ key, name: key, tags: ["bench"] }) });
    if (created.status !== 201) throw new Error(`could not create ${key}: ${created.status} ${await created.text()}`);
    const [on, off] = ((await created.json()) as { variations: Array<{ _id: string }> }).variations.map((v) => v._id);
    for (const environmentKey of ["test", "production"]) {
      const instructions = [
        { kind: "addTargets", variationId: on, values: ["user-1", "user-2", "user-3"] },
        { kind: "addTargets", variationId: off, values: ["user-4"] },
        { kind: "addRule", variationId: on, clauses: [{ attribute: "email", op: "endsWith", values: ["@example.com"] }], description: "staff" },
        { kind: "addRule", rolloutWeights: { [on!]: 25_000, [off!]: 75_000 }, clauses: [{ attribute: "country", op: "in", values: ["de", "fr", "nl"] }] },
        { kind: "updateFallthroughVariationOrRollout", rolloutWeights: { [on!]: 10_000, [off!]: 90_000 } },
        ...(environmentKey === "test" ? [{ kind: "turnFlagOn" }] : []),
      ];
      const res = await fetch(`${origin}${flagPath(i)}`, { method: "PATCH", headers: semantic, body: JSON.stringify({ environmentKey, instructions }) });
      if (res.status !== 200) throw new Error(`could not give ${key} its targeting in ${environmentKey}: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < count) await one(next++);
  }));
}

/** A flag read answered with both environments' targeting. */
function isSeededFlag(body: unknown): boolean {
  const flag = body as { key?: unknown; environments?: Record<string, { rules?: unknown[]; targets?: unknown[] }> } | null;
  return flag?.key === benchFlag(0) && ["test", "production"].every((e) => (flag.environments?.[e]?.rules?.length ?? 0) > 0 && (flag.environments?.[e]?.targets?.length ?? 0) > 0);
}

const USAGE = `usage: bun run bench [--duration S] [--connections N] [--warmup S] [--rounds N]
                     [--only ${TARGETS.join(",")}] [--json FILE] [--profile DIR]
       bun run bench --only project-size|streams|scheduler|webhooks|bus-hop [-- script options]

  --duration S      measured seconds per target and round (default 10)
  --connections N   concurrent connections of the load client (default 32); a list (8,64)
                    measures every target at each count
  --warmup S        unmeasured seconds before each measurement (default 3)
  --rounds N        measure every target N times, interleaved; the table shows medians (default 1)
  --only LIST       comma-separated targets (default: all of the above); project-size
                    (bench/project-size.ts), streams (bench/streams.ts), scheduler
                    (bench/scheduler.ts), webhooks (bench/webhooks.ts) and bus-hop
                    (bench/bus-hop.ts) run their own benchmarks afterwards, given the
                    arguments after --
  --json FILE       also write every raw measurement to FILE
  --postgres tcp|socket
                    how the all-in-one-pg process reaches its Postgres server: TCP on loopback
                    (default) or the server's Unix socket, as a Postgres on the same machine is
  --profile DIR     run the single-process targets under Bun's CPU profiler, a folder of
                    .cpuprofile files per target in DIR (the figures then include its cost)
`;

/** How the all-in-one-pg process reaches Postgres (--postgres). */
let postgresOver: "tcp" | "socket" = "tcp";

/** Where the single-process targets write CPU profiles (--profile), if anywhere. */
let profileDir: string | undefined;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  duration: number;
  connections: number[];
  warmup: number;
  rounds: number;
  only: TargetName[];
  scripts: ScriptName[];
  /** Passed to each script. */
  scriptArgs: string[];
  json: string | undefined;
  /** A folder for CPU profiles of the single-process targets (`bun --cpu-prof`), one folder a target. */
  profile: string | undefined;
  /** How the all-in-one-pg process reaches Postgres: TCP on loopback, or the server's Unix socket. */
  postgres: "tcp" | "socket";
}

function parseOptions(argv: string[]): Options {
  // What follows `--` is for the scripts.
  const cut = argv.indexOf("--");
  const scriptArgs = cut < 0 ? [] : argv.slice(cut + 1);
  let values;
  try {
    ({ values } = parseArgs({
      args: cut < 0 ? argv : argv.slice(0, cut),
      options: {
        duration: { type: "string", default: "10" },
        connections: { type: "string", default: "32" },
        warmup: { type: "string", default: "3" },
        rounds: { type: "string", default: "1" },
        only: { type: "string" },
        json: { type: "string" },
        profile: { type: "string" },
        postgres: { type: "string", default: "tcp" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    fail(`${(e as Error).message}\n\n${USAGE}`, 2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, raw: string, min: number, max: number) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max} (got "${raw}")\n\n${USAGE}`, 2);
    return n;
  };
  const only = values.only === undefined ? [...TARGETS] : values.only.split(",").map((s) => s.trim()).filter(Boolean);
  const known = [...TARGETS, ...SCRIPT_NAMES];
  for (const name of only) if (!known.includes(name as never)) fail(`--only: unknown target "${name}" (known: ${known.join(", ")})`, 2);
  if (only.length === 0) fail("--only: name at least one target", 2);
  const scripts = SCRIPT_NAMES.filter((s) => only.includes(s));
  if (scriptArgs.length > 0 && scripts.length === 0) fail(`arguments after -- are for ${SCRIPT_NAMES.join(" or ")}; name one in --only`, 2);
  return {
    duration: int("duration", values.duration, 1, 3600),
    connections: [...new Set(values.connections.split(",").map((c) => int("connections", c.trim(), 1, 1000)))],
    warmup: int("warmup", values.warmup, 0, 600),
    rounds: int("rounds", values.rounds, 1, 20),
    // Keep the canonical order whatever order was given.
    only: TARGETS.filter((t) => only.includes(t)),
    scripts,
    scriptArgs,
    json: values.json,
    profile: values.profile,
    postgres: values.postgres === "socket" ? "socket" : values.postgres === "tcp" ? "tcp" : fail(`--postgres must be tcp or socket (got "${values.postgres}")`, 2),
  };
}

function fail(message: string, code = 1): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(code);
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

// ---------------------------------------------------------------------------------------------
// Everything started here is stopped here, in reverse order, also on errors and signals.

const cleanups: Array<{ name: string; run: () => Promise<void> }> = [];
const children = new Set<Subprocess>();
let cleaningUp: Promise<void> | undefined;
/** Set when something went wrong: the server logs are then left in place and their folders named. */
let keepLogs = false;

function onCleanup(name: string, run: () => Promise<void>) {
  cleanups.push({ name, run });
}

function track<T extends Subprocess>(proc: T): T {
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  return proc;
}

async function stopProcess(proc: Subprocess, graceMs = 12_000): Promise<number | null> {
  if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
  if (!exited) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  return proc.exitCode;
}

/** Direct children still alive (e.g. left by a cluster whose start failed half-way), by pid. */
function ownChildPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …; comm may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === process.pid && fields[0] !== "Z") pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    for (const { name, run } of cleanups.reverse()) {
      try {
        await run();
      } catch (e) {
        log(`while stopping ${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    await Promise.all([...children].map((p) => stopProcess(p, 5_000)));
    const stray = ownChildPids();
    for (const pid of stray) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {}
    }
    if (stray.length > 0) {
      await Bun.sleep(2_000);
      for (const pid of ownChildPids()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
    }
  })();
  return cleaningUp;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on("exit", () => {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
});

// ---------------------------------------------------------------------------------------------
// Targets

interface Watch {
  servers: Array<{ label: string; pid: number }>;
  /** `tree`: the process and its children (Postgres forks a backend per connection). */
  infra: Array<{ label: string; pid: number; tree?: boolean }>;
}

interface Target {
  name: TargetName;
  url: string;
  headers: Record<string, string>;
  /** Requests other than a GET of `url`: a method and, for a number of connections, `path|body` entries taken in turn. */
  method?: string;
  requests?(connections: number): string[];
  /** A write target: how many of the bench flags it changes at a number of connections (their versions are counted). */
  writesFlags?(connections: number): number;
  /** Each connection keeps to its own share of `requests` (one flag each) rather than taking the next of all. */
  perConnection?: boolean;
  /** The processes to account CPU to: the servers under test, and their database and nats-server. */
  watch(): Watch;
  /** Checks one response before the load starts. */
  check(body: unknown): boolean;
  /** Stops the servers of this target; returns problems found on the way (bad exit codes). */
  stop(): Promise<string[]>;
  /** What the servers logged at warn level or above, and anything that is not a log line. */
  complaints(): string[];
}

const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

const ADMIN_TOKEN = `bench-admin-${crypto.randomUUID()}`;
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const READ_PATH = "/api/v2/projects/default";
/**
 * The gateways' rate limits (per caller: 100,000 calls and 50,000 per route in 10 s by default) at
 * their highest: every request of a run comes from one admin token, and a fast target passes 5,000
 * per second. The limiter still counts every call, as it does in service.
 */
const NO_RATE_LIMIT = { VEXIL_RATE_LIMIT_GLOBAL: "100000000", VEXIL_RATE_LIMIT_ROUTE: "100000000" };
const isDefaultProject = (body: unknown) => (body as { key?: unknown } | null)?.key === "default";

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** Lines at warn or error level, and lines that are not JSON log lines at all (crashes, stack traces). */
function complaintsIn(text: string, source: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let level: unknown;
    try {
      level = (JSON.parse(line) as { level?: unknown }).level;
    } catch {
      out.push(`${source}: ${line}`);
      continue;
    }
    if (level === "warn" || level === "error") out.push(`${source}: ${line}`);
  }
  return out;
}

function spawnServer(name: string, args: string[], env: Record<string, string | undefined>, logDir: string) {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) fullEnv[k] = v;
  const out = join(logDir, `${name}.out.log`);
  const err = join(logDir, `${name}.err.log`);
  const proc = track(Bun.spawn(args, { cwd: ROOT, env: fullEnv, stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(err) }));
  return { proc, out, err };
}

async function startSingle(
  infra: () => Watch["infra"],
  name: TargetName,
  entry: string,
  env: Record<string, string | undefined>,
  logDir: string,
  headers: Record<string, string>,
  path: string,
  check: (body: unknown) => boolean,
): Promise<Target> {
  const port = freePort();
  const profiling = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir, name)}`] : [];
  const { proc, out, err } = spawnServer(name, ["bun", ...profiling, entry], { ...env, PORT: String(port), HOST: "127.0.0.1" }, logDir);
  let stopped: Promise<string[]> | undefined;
  const target: Target = {
    name,
    url: `http://127.0.0.1:${port}${path}`,
    headers,
    watch: () => ({ servers: [{ label: name, pid: proc.pid }], infra: infra() }),
    check,
    stop: () =>
      (stopped ??= stopProcess(proc).then((code) => (code === 0 ? [] : [`${name}: exited with ${code ?? proc.signalCode} after SIGTERM`]))),
    complaints: () => [...complaintsIn(readText(err), `${name} stderr`), ...complaintsIn(readText(out), `${name} stdout`)],
  };
  onCleanup(name, async () => void (await target.stop()));
  try {
    await waitReady(`http://127.0.0.1:${port}`, 60_000, proc);
  } catch (e) {
    throw new Error(`${name} did not start: ${(e as Error).message}\n${readText(err).slice(-4000)}`);
  }
  return target;
}

const startHello = (logDir: string) =>
  startSingle(() => [], "hello", "bench/hello-server.ts", {}, logDir, {}, "/", (b) => (b as { hello?: unknown } | null)?.hello === "world");

function startAllInOne(name: TargetName, logDir: string, databaseUrl: string | undefined, pg: PgServer | undefined, entry = "services/all-in-one/main.ts") {
  const dataDir = mkdtempSync(join(tmpdir(), "vexil-bench-data-"));
  onCleanup(`${name} data`, async () => rmSync(dataDir, { recursive: true, force: true }));
  return startSingle(
    () => (pg ? infraOf(pg, undefined) : []),
    name,
    entry,
    { ...NO_RATE_LIMIT, VEXIL_DATA_DIR: dataDir, VEXIL_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: "warn", DATABASE_URL: databaseUrl, NATS_URL: undefined },
    logDir,
    AUTH,
    READ_PATH,
    isDefaultProject,
  );
}

async function startDistributed(): Promise<{ target: Target; cluster: Cluster }> {
  const cluster = await launchCluster({
    counts: { gateway: 1, auth: 1, flags: 1, streaming: 0 },
    adminToken: ADMIN_TOKEN,
    logLevel: "warn",
    env: NO_RATE_LIMIT,
    postgres: { fastCommits: true },
  });
  onCleanup("distributed cluster", () => cluster.stop());
  onCleanup("distributed logs", async () => {
    if (keepLogs) log(`distributed logs kept in ${cluster.logDir}`);
    else rmSync(cluster.logDir, { recursive: true, force: true });
  });
  let stopped: Promise<string[]> | undefined;
  const target: Target = {
    name: "distributed",
    url: `${cluster.gateways[0]}${READ_PATH}`,
    headers: AUTH,
    watch: () => ({
      servers: cluster.instances.map((i) => ({ label: `${i.kind}-${i.index}`, pid: i.process.pid })),
      infra: infraOf(cluster.postgres, cluster.nats?.port),
    }),
    check: isDefaultProject,
    // Stops the services; Postgres and nats-server stay up for all-in-one-pg and go with cluster.stop().
    stop: () =>
      (stopped ??= Promise.all(
        cluster.instances.map(async (i) => {
          // Through the launcher first, so that it does not start the instance again.
          void cluster.kill(i);
          const code = await stopProcess(i.process);
          return code === 0 ? undefined : `distributed ${i.kind}-${i.index}: exited with ${code ?? i.process.signalCode} after SIGTERM`;
        }),
      ).then((problems) => problems.filter((p): p is string => p !== undefined))),
    complaints: () =>
      cluster.instances.flatMap((i) => [
        ...complaintsIn(readText(`${i.logFile}.err`), `distributed ${i.kind}-${i.index} stderr`),
        ...complaintsIn(readText(i.logFile), `distributed ${i.kind}-${i.index} stdout`),
      ]),
  };
  return { target, cluster };
}

/** Processes whose command line has `-p <port>` and whose program is `program`. */
function processesListeningOn(program: string, port: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const i = argv.indexOf("-p");
      if (argv[0]?.split("/").at(-1) === program && i > 0 && argv[i + 1] === String(port)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function infraOf(pg: PgServer | undefined, natsPort: number | undefined): Watch["infra"] {
  return [
    ...(pg ? processesListeningOn("postgres", pg.port).map((pid) => ({ label: "postgres", pid, tree: true })) : []),
    ...(natsPort ? processesListeningOn("nats-server", natsPort).map((pid) => ({ label: "nats-server", pid })) : []),
  ];
}

async function createDatabase(server: PgServer, name: string): Promise<string> {
  const sql = postgres(server.url(), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create database ${name}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  return postgresOver === "socket" && server.socketUrl ? server.socketUrl(name) : server.url(name);
}

/** The first response must be the expected 2xx body: otherwise the load would measure errors. */
async function checkTarget(target: Target): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    let detail: string;
    try {
      const res = await fetch(target.url, { headers: target.headers });
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {}
      if (res.ok && target.check(body)) return text.length;
      detail = `${res.status} ${text.slice(0, 300)}`;
    } catch (e) {
      detail = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${target.name}: ${target.url} does not answer as expected: ${detail}`);
    await Bun.sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// Load


async function load(target: Target, options: Options, connections: number): Promise<LoadResult> {
  const args = [
    "node",
    "bench/load.mjs",
    "--url",
    target.url,
    "--connections",
    String(connections),
    "--duration",
    String(options.duration),
    "--warmup",
    String(options.warmup),
    "--hz",
    String(CLK_TCK),
  ];
  for (const [k, v] of Object.entries(target.headers)) args.push("--header", `${k}: ${v}`);
  if (target.method) args.push("--method", target.method);
  for (const r of target.requests?.(connections) ?? []) args.push("--request", r);
  if (target.perConnection) args.push("--per-connection");
  const watch = target.watch();
  for (const w of watch.servers) args.push("--server", `${w.label}:${w.pid}`);
  for (const w of watch.infra) args.push("--infra", `${w.label}:${w.pid}${w.tree ? ":tree" : ""}`);
  const proc = track(Bun.spawn(args, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${target.name}: the load client exited with ${code}\n${stderr}`);
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as LoadResult;
  const w = result.warmup;
  const problems = [
    result.status.non2xx > 0 && `${result.status.non2xx} non-2xx responses (${JSON.stringify(result.status.codes)})`,
    result.errors > 0 && `${result.errors} errors`,
    result.timeouts > 0 && `${result.timeouts} timeouts`,
    result.status["2xx"] === 0 && "no 2xx response at all",
    w && (w.non2xx > 0 || w.errors > 0 || w.timeouts > 0) && `warm-up: ${w.non2xx} non-2xx, ${w.errors} errors, ${w.timeouts} timeouts`,
  ].filter(Boolean);
  if (problems.length > 0) throw new BenchFailure(`${target.name}: ${problems.join("; ")}`);
  return result;
}

class BenchFailure extends Error {}

// ---------------------------------------------------------------------------------------------
// Report

function machine() {
  const sh = (cmd: string[]) => {
    try {
      return Bun.spawnSync(cmd).stdout.toString().trim();
    } catch {
      return "?";
    }
  };
  const cpuinfo = readText("/proc/cpuinfo");
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readText("/proc/meminfo"))?.[1] ?? NaN);
  return {
    nproc: sh(["nproc"]),
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "?",
    kernel: sh(["uname", "-sr"]),
    bun: `${Bun.version} (${Bun.revision.slice(0, 9)})`,
    commit: sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) + (sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench"]) ? " with uncommitted changes" : ""),
  };
}

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
const fmtMs = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtCpu = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : "—");

const fmtRatio = (n: number) => (n >= 0.1 ? n.toFixed(2) : n.toFixed(3));

interface Row {
  name: TargetName;
  connections: number;
  /** The target's name, and its connection count when the run measured several. */
  label: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  bytes: number;
  /** Labels of the server processes (one per process). */
  servers: string[];
  runs: LoadResult[];
  /** Write targets: flag versions written in each run (warm-up included). */
  versions: number[];
  method: string;
}

/** What each target requests, for the notes under the tables. */
function requestOf(r: Row): string {
  if (r.name === "hello") return "`GET /`";
  const auth = " with `Authorization: Bearer <admin token>`";
  const flags = "max(8, connections) flags";
  if (r.method === "PATCH") return `\`PATCH /api/v2/flags/default/bench-flag-<n>\` (${flags}, \`{"environmentKey": "production", "instructions": [{"kind": "turnFlagOn"}]}\` or \`turnFlagOff\`)${auth}`;
  if (FLAG_TARGETS.includes(r.name)) return `\`GET /api/v2/flags/default/bench-flag-<n>\` (${flags})${auth}`;
  return `\`GET ${new URL(r.runs[0]!.url).pathname}\`${auth}`;
}

/** Ratios of the flag reads: to hello, and of the distributed cluster to the all-in-one processes. */
function flagReadRatios(rows: Row[], helloOf: (r: Row) => Row | undefined): string[] {
  const lines: string[] = [];
  for (const connections of [...new Set(rows.map((r) => r.connections))]) {
    const find = (name: TargetName) => rows.find((r) => r.name === name && r.connections === connections);
    const [pglite, pg, distributed] = [find("flag-reads-all-in-one"), find("flag-reads"), find("flag-reads-distributed")];
    const present = [pglite && ["all-in-one (PGlite)", pglite], pg && ["all-in-one on Postgres", pg], distributed && ["distributed", distributed]].filter(Boolean) as Array<[string, Row]>;
    if (present.length === 0) continue;
    const hello = helloOf(present[0]![1]);
    const parts = hello ? present.map(([what, r]) => `${what} ${fmtRatio(r.rps / hello.rps)}`) : [];
    const hop = [distributed && pglite && `÷ all-in-one (PGlite) ${fmtRatio(distributed.rps / pglite.rps)}`, distributed && pg && `÷ all-in-one on Postgres ${fmtRatio(distributed.rps / pg.rps)}`].filter(Boolean);
    const at = rows.some((r) => r.connections !== connections) ? ` at ${connections} connections` : "";
    if (parts.length > 0) lines.push(`- flag reads × hello${at}: ${parts.join(", ")} (target: all-in-one ≥ 0.25 on either database)`);
    if (hop.length > 0) lines.push(`- flag reads, distributed${at} ${hop.join(", ")} (target: ≥ 0.5)`);
  }
  return lines;
}

function report(rows: Row[], options: Options, command: string, date: string, m: ReturnType<typeof machine>, client: LoadResult) {
  const helloOf = (r: Row) => rows.find((h) => h.name === "hello" && h.connections === r.connections);
  const seconds = options.warmup + options.duration;
  const writes = rows.filter((r) => r.versions.length > 0);
  const ratios = flagReadRatios(rows, helloOf);
  const lines = [
    `### Gateway baseline — ${date}`,
    "",
    "| target | req/s | p50 (ms) | p99 (ms) | × hello | non-2xx | bytes/resp |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) => {
      const hello = helloOf(r);
      return `| ${r.label} | ${fmtInt(r.rps)} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${hello ? fmtRatio(r.rps / hello.rps) : "—"} | ${r.non2xx} | ${Math.round(r.bytes)} |`;
    }),
    ...(ratios.length > 0 ? ["", ...ratios] : []),
    ...(writes.length > 0
      ? [
          "",
          `Flag versions written by the write targets in each run of ${seconds} s (warm-up included), against the 2xx answers counted in it ` +
            "(writes still in flight when autocannon stops are written but not counted):",
          "",
          ...writes.map((r) => `- ${r.label}: ${r.versions.map(fmtInt).join(", ")} (${r.versions.map((v) => fmtInt(v / seconds)).join(", ")} per second) against ${r.runs.map((x) => fmtInt(x.status["2xx"] + (x.warmup?.requests ?? 0))).join(", ")} answers`),
        ]
      : []),
    "",
    "CPU per request during the measured run, in milliseconds of one core (from /proc): the processes under test, " +
      "their Postgres and nats-server, the load client, and the rest of the machine (kernel network time charged to no process, anything else running):",
    "",
    "| target | servers | postgres | nats-server | load client | rest | total | busy cores | stolen |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) => {
      const c = (f: (x: LoadResult["cpu"]) => number | undefined) => fmtCpu(median(r.runs.map((x) => f(x.cpu) ?? NaN)));
      const cores = (f: (x: LoadResult["cpu"]) => number) => median(r.runs.map((x) => f(x.cpu))).toFixed(2);
      return (
        `| ${r.label} | ${c((x) => x.msPerRequest.servers)} | ${c((x) => x.msPerRequest.byLabel.postgres)} | ${c((x) => x.msPerRequest.byLabel["nats-server"])} | ` +
        `${c((x) => x.msPerRequest.client)} | ${c((x) => x.msPerRequest.rest)} | ${c((x) => x.msPerRequest.total)} | ${cores((x) => x.busyCores)} of ${m.nproc} | ${cores((x) => x.stolenCores)} |`
      );
    }),
    ...rows
      .filter((r) => r.servers.length > 1)
      .map(
        (r) =>
          `\n${r.label}, each server: ${r.servers.map((l) => `${l} ${fmtCpu(median(r.runs.map((x) => x.cpu.msPerRequest.byLabel[l] ?? NaN)))}`).join(", ")} ms per request`,
      ),
    "",
    ...rows.filter((r, i) => rows.findIndex((x) => x.name === r.name) === i).map((r) => `- **${r.name}**: ${DESCRIPTIONS[r.name]}; ${requestOf(r)}`),
    "",
    `- command: \`${command}\``,
    `- load: autocannon ${client.autocannon} on node ${client.node}, its own process; ${options.connections.join(" and ")} connections, ${options.warmup} s warm-up then ${options.duration} s measured per target` +
      (options.rounds > 1 ? `, ${options.rounds} interleaved rounds (medians shown)` : ", 1 round"),
    `- machine: ${m.nproc} cores (nproc), ${m.memory} RAM, ${m.cpu}, ${m.kernel}, bun ${m.bun}`,
    `- code: commit ${m.commit}`,
    `- date: ${date}`,
    "",
  ];
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  profileDir = options.profile;
  postgresOver = options.postgres;
  const command = ["bun run bench", ...argv].join(" ");
  if (options.only.length > 0) await measureTargets(options, command);
  for (const script of options.scripts) {
    log(`running ${SCRIPTS[script]} ${options.scriptArgs.join(" ")}`);
    const proc = track(Bun.spawn(["bun", SCRIPTS[script], ...options.scriptArgs], { cwd: ROOT, stdin: "ignore", stdout: "inherit", stderr: "inherit" }));
    const code = await proc.exited;
    if (code !== 0) throw new BenchFailure(`${SCRIPTS[script]} exited with ${code ?? proc.signalCode}`);
  }
}

async function measureTargets(options: Options, command: string) {
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const logDir = mkdtempSync(join(tmpdir(), "vexil-bench-logs-"));
  onCleanup("logs", async () => {
    if (keepLogs) log(`server logs kept in ${logDir}`);
    else rmSync(logDir, { recursive: true, force: true });
  });

  const check = Bun.spawnSync(["node", "-e", "require('autocannon')"], { cwd: ROOT, stderr: "pipe" });
  if (check.exitCode !== 0) throw new Error(`autocannon cannot be loaded by node (run \`bun install\`): ${check.stderr.toString()}`);

  // Start every server first, so that all rounds measure the same processes. Targets of one
  // server share it: the distributed cluster starts before the all-in-one-pg process, which then
  // uses the cluster's Postgres server (a database of its own) rather than a second one.
  const wanted = (...names: TargetName[]) => options.only.some((n) => names.includes(n));
  const servers: Target[] = [];
  const started = async (name: TargetName, start: () => Promise<Target>) => {
    const at = Date.now();
    log(`starting ${name}`);
    const server = await start();
    servers.push(server);
    log(`${name} started in ${((Date.now() - at) / 1000).toFixed(1)} s`);
    return server;
  };
  const hello = wanted("hello") ? await started("hello", () => startHello(logDir)) : undefined;
  const pglite = wanted("all-in-one", "flag-reads-all-in-one") ? await started("all-in-one", () => startAllInOne("all-in-one", logDir, undefined, undefined)) : undefined;
  const noauth = wanted("all-in-one-noauth")
    ? await started("all-in-one-noauth", () => startAllInOne("all-in-one-noauth", logDir, undefined, undefined, "bench/entries/all-in-one-no-auth.ts"))
    : undefined;
  let cluster: Cluster | undefined;
  const distributed = wanted("distributed", "distributed-noauth", "flag-reads-distributed")
    ? await started("distributed", async () => {
        const d = await startDistributed();
        cluster = d.cluster;
        return d.target;
      })
    : undefined;
  const distributedNoauth = wanted("distributed-noauth")
    ? await started("distributed-noauth", () =>
        startSingle(
          () => infraOf(cluster!.postgres, cluster!.nats?.port),
          "distributed-noauth",
          "bench/entries/gateway-no-auth.ts",
          { ...NO_RATE_LIMIT, NATS_URL: cluster!.natsUrl, VEXIL_INTERNAL_KEY: cluster!.internalKey, LOG_LEVEL: "warn" },
          logDir,
          AUTH,
          READ_PATH,
          isDefaultProject,
        ),
      )
    : undefined;
  const pg = wanted("all-in-one-pg", "flag-reads", "flag-writes", "flag-writes-contended")
    ? await started("all-in-one-pg", async () => {
        let server = cluster?.postgres;
        if (!server) {
          const own = await startPostgres({ fastCommits: true });
          onCleanup("postgres", () => own.destroy());
          server = own;
        }
        return startAllInOne("all-in-one-pg", logDir, await createDatabase(server, "vexil_bench_all_in_one"), server);
      })
    : undefined;

  const flags = flagCount(Math.max(...options.connections));
  for (const [server, names] of [[pglite, ["flag-reads-all-in-one"]], [distributed, ["flag-reads-distributed"]], [pg, ["flag-reads", "flag-writes", "flag-writes-contended"]]] as const) {
    if (!server || !wanted(...names)) continue;
    const at = Date.now();
    await seedFlags(originOf(server), flags);
    log(`${flags} flags with targeting in two environments on ${server.name} in ${((Date.now() - at) / 1000).toFixed(1)} s`);
  }

  const flagTarget = (server: Target, name: TargetName): Target => {
    const writes = name === "flag-writes" || name === "flag-writes-contended";
    const semantic = (kind: string) => JSON.stringify({ environmentKey: "production", instructions: [{ kind }] });
    const paths = (connections: number) => Array.from({ length: flagCount(connections) }, (_, i) => flagPath(i));
    return {
      ...server,
      name,
      url: `${originOf(server)}${flagPath(0)}`,
      headers: writes ? { ...AUTH, "content-type": "application/json; domain-model=launchdarkly.semanticpatch" } : AUTH,
      method: writes ? "PATCH" : "GET",
      requests: (c) => (writes ? paths(c).flatMap((p) => [`${p}|${semantic("turnFlagOn")}`, `${p}|${semantic("turnFlagOff")}`]) : paths(c)),
      writesFlags: writes ? flagCount : undefined,
      perConnection: name !== "flag-writes-contended",
      check: isSeededFlag,
    };
  };
  const targets: Target[] = [];
  for (const name of options.only) {
    if (name === "hello") targets.push(hello!);
    if (name === "all-in-one") targets.push(pglite!);
    if (name === "all-in-one-noauth") targets.push(noauth!);
    if (name === "distributed") targets.push(distributed!);
    if (name === "distributed-noauth") targets.push(distributedNoauth!);
    if (name === "all-in-one-pg") targets.push(pg!);
    if (name === "flag-reads-all-in-one") targets.push(flagTarget(pglite!, name));
    if (name === "flag-reads-distributed") targets.push(flagTarget(distributed!, name));
    if (name === "flag-reads" || name === "flag-writes" || name === "flag-writes-contended") targets.push(flagTarget(pg!, name));
    const bytes = await checkTarget(targets.at(-1)!);
    log(`${name} ready (${targets.at(-1)!.url}, ${bytes} body bytes)`);
  }

  const several = options.connections.length > 1;
  const results = new Map<string, { name: TargetName; connections: number; runs: LoadResult[]; versions: number[]; method: string }>();
  let failure: unknown;
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const target of targets) {
        for (const connections of options.connections) {
          const label = several ? `${target.name} @${connections}` : target.name;
          log(`round ${round}/${options.rounds}: ${label} (${connections} connections, ${options.warmup} s warm-up + ${options.duration} s)`);
          const written = target.writesFlags?.(connections);
          const versionsBefore = written ? await flagVersions(target, written) : 0;
          const r = await load(target, options, connections);
          log(`  ${fmtInt(r.requests.perSecond)} req/s, p50 ${fmtMs(r.latencyMs.p50)} ms, p99 ${fmtMs(r.latencyMs.p99)} ms, ${r.status["2xx"]} × 2xx`);
          const entry = results.get(label) ?? { name: target.name, connections, runs: [], versions: [], method: target.method ?? "GET" };
          entry.runs.push(r);
          // Each write that changed its flag raised its version: how many of the answered writes (warm-up included) did.
          if (written) {
            const versions = (await flagVersions(target, written)) - versionsBefore;
            entry.versions.push(versions);
            log(`  ${fmtInt(versions)} flag versions written`);
          }
          results.set(label, entry);
        }
      }
    }
  } catch (e) {
    failure = e;
  }

  // Stop the servers before reading their logs, so shutdown problems show too.
  const exitProblems = (await Promise.all(servers.map((t) => t.stop()))).flat();
  const complaints = servers.flatMap((t) => t.complaints());
  if (complaints.length > 0 || exitProblems.length > 0 || failure) keepLogs = true;
  for (const p of exitProblems) log(`PROBLEM: ${p}`);
  if (complaints.length > 0) {
    log(`the servers logged ${complaints.length} warning/error line(s):`);
    for (const c of complaints.slice(0, 20)) log(`  ${c.slice(0, 400)}`);
  }

  const rows: Row[] = [...results].map(([label, { name, connections, runs, versions, method }]) => ({
    name,
    connections,
    label,
    rps: median(runs.map((r) => r.requests.perSecond)),
    p50: median(runs.map((r) => r.latencyMs.p50)),
    p99: median(runs.map((r) => r.latencyMs.p99)),
    non2xx: runs.reduce((a, r) => a + r.status.non2xx, 0),
    bytes: median(runs.map((r) => r.bytesPerResponse)),
    servers: targets.find((t) => t.name === name)!.watch().servers.map((w) => w.label),
    runs,
    versions,
    method,
  }));
  const m = machine();
  if (options.json) {
    writeFileSync(options.json, JSON.stringify({ date, command, options, machine: m, results: Object.fromEntries(results), complaints, exitProblems }, null, 2));
    log(`raw results written to ${options.json}`);
  }
  if (rows.length > 0) process.stdout.write("\n" + report(rows, options, command, date, m, rows[0]!.runs[0]!) + "\n");
  if (failure) throw failure;
  if (exitProblems.length > 0) throw new BenchFailure("a server did not stop cleanly (see above)");
}

try {
  await main();
  await cleanup();
  process.exit(0);
} catch (e) {
  keepLogs = true;
  process.stderr.write(`\nbench: FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
  await cleanup();
  process.exit(1);
}
