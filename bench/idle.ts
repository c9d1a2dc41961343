/**
 * What the all-in-one process costs while nobody uses it: `bun services/all-in-one/main.ts` on a
 * fresh data directory (embedded PGlite, in-process bus), left alone to settle, then its CPU time
 * over a window (utime + stime of every thread, from /proc/<pid>/stat) and its resident memory.
 *
 *   bun bench/idle.ts                     # settle 20 s, sample 60 s
 *   bun bench/idle.ts --seconds 30 --settle 10 --reads 200
 *
 * `--reads N` sends N authenticated reads of the default project before settling, so what a first
 * request builds lazily is counted too. Prints one markdown row.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort, waitReady } from "../infra/launcher.ts";

const ROOT = resolve(import.meta.dir, "..");
const USAGE = `usage: bun bench/idle.ts [--seconds S] [--settle S] [--reads N]

  --seconds S   CPU sampling window (default 60)
  --settle S    idle seconds after start-up (and the reads) before sampling (default 20)
  --reads N     authenticated reads of /api/v2/projects/default before settling (default 0)
`;

function fail(message: string, code = 1): never {
  process.stderr.write(`idle: ${message}\n`);
  process.exit(code);
}

let values;
try {
  ({ values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      seconds: { type: "string", default: "60" },
      settle: { type: "string", default: "20" },
      reads: { type: "string", default: "0" },
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
const whole = (name: string, raw: string, min: number) => {
  if (!/^\d+$/.test(raw) || Number(raw) < min) fail(`--${name} must be a whole number of at least ${min} (got "${raw}")\n\n${USAGE}`, 2);
  return Number(raw);
};
const seconds = whole("seconds", values.seconds, 1);
const settle = whole("settle", values.settle, 0);
const reads = whole("reads", values.reads, 0);

const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;
const log = (message: string) => process.stderr.write(`[idle] ${message}\n`);

/** CPU seconds the process has used so far, all threads, user and system. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // pid (comm) state …: utime and stime are fields 14 and 15, counted after the command name.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** A `/proc/<pid>/status` memory line (VmRSS, VmHWM, RssAnon, RssFile) in MB. */
function memoryMb(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN;
}

const dataDir = mkdtempSync(join(tmpdir(), "vexil-idle-"));
const port = freePort();
const token = `idle-admin-${crypto.randomUUID()}`;
const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "DATABASE_URL" && k !== "NATS_URL") env[k] = v;
Object.assign(env, { VEXIL_DATA_DIR: dataDir, VEXIL_ADMIN_TOKEN: token, LOG_LEVEL: "warn", PORT: String(port), HOST: "127.0.0.1" });
const server = Bun.spawn(["bun", "services/all-in-one/main.ts"], { cwd: ROOT, env, stdin: "ignore", stdout: "ignore", stderr: "inherit" });
const stop = async () => {
  if (server.exitCode === null && server.signalCode === null) server.kill("SIGTERM");
  await Promise.race([server.exited, Bun.sleep(10_000)]);
  if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop().finally(() => process.exit(130)));

try {
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  await waitReady(base, 60_000, server);
  log(`ready after ${Math.round(performance.now() - started)} ms (pid ${server.pid}, data ${dataDir})`);
  for (let i = 0; i < reads; i++) {
    const res = await fetch(`${base}/api/v2/projects/default`, { headers: { authorization: token } });
    if (!res.ok) throw new Error(`read ${i + 1} answered ${res.status}`);
    await res.arrayBuffer();
  }
  if (reads > 0) log(`${reads} reads done`);
  log(`settling ${settle} s`);
  await Bun.sleep(settle * 1000);
  const rssSettled = memoryMb(server.pid, "VmRSS");
  const before = cpuSeconds(server.pid);
  const t0 = performance.now();
  log(`sampling ${seconds} s`);
  await Bun.sleep(seconds * 1000);
  const cpu = cpuSeconds(server.pid) - before;
  const wall = (performance.now() - t0) / 1000;
  const rss = memoryMb(server.pid, "VmRSS");
  const row = [
    "all-in-one (PGlite) idle",
    String(reads),
    `${seconds} s`,
    `${((cpu / wall) * 100).toFixed(2)} %`,
    `${cpu.toFixed(2)} s`,
    rssSettled.toFixed(0),
    rss.toFixed(0),
    memoryMb(server.pid, "RssAnon").toFixed(0),
    memoryMb(server.pid, "RssFile").toFixed(0),
    memoryMb(server.pid, "VmHWM").toFixed(0),
  ];
  process.stdout.write("| process | reads first | window | CPU (of one core) | CPU time | RSS settled (MB) | RSS end (MB) | anon (MB) | file (MB) | peak RSS (MB) |\n");
  process.stdout.write("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  process.stdout.write(`| ${row.join(" | ")} |\n`);
} catch (e) {
  process.stderr.write(`idle: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
} finally {
  await stop();
}
