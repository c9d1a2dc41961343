/**
 * A throwaway PostgreSQL cluster: initdb in a temporary directory, a free port, stoppable and
 * restartable to inject faults. Postgres refuses to run as root, so as root the cluster runs as
 * the `postgres` user. Used by the test harness and by the local launcher.
 */
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { registerThrowaway } from "./registry.ts";

export interface PgServer {
  readonly port: number;
  url(database?: string): string;
  /** The same database over the server's Unix socket (libpq's `?host=/directory`). */
  socketUrl?(database?: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
  readonly restartable: boolean;
}

const asRoot = process.getuid?.() === 0;

/** Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<version>/bin. */
function binary(name: string): string {
  const onPath = Bun.which(name);
  if (onPath) return onPath;
  const versions = [...new Bun.Glob("/usr/lib/postgresql/*/bin/" + name).scanSync({ onlyFiles: true })].sort();
  const found = versions.at(-1);
  if (!found) throw new Error(`${name} not found: install PostgreSQL (Debian package postgresql)`);
  return found;
}

function run(args: string[]): void {
  const resolved = [binary(args[0]!), ...args.slice(1)];
  const cmd = asRoot ? ["runuser", "-u", "postgres", "--", ...resolved] : resolved;
  const result = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${args[0]} failed: ${result.stderr.toString()}${result.stdout.toString()}`);
}

export interface PostgresOptions {
  /**
   * Acknowledge a commit before its WAL is written (`synchronous_commit=off`): faster, but a stop
   * (immediate: a crash) can lose transactions already reported committed. Off by default, so an
   * acknowledged write is a durable one in tests and fault runs; the local launcher and the
   * benchmarks turn it on for speed. (`fsync` stays off either way: the WAL reaches the operating
   * system before the acknowledgement, which survives the server's crash though not the machine's.)
   */
  fastCommits?: boolean;
  /** Server settings over the defaults. */
  settings?: Record<string, string>;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PgServer> {
  const dir = mkdtempSync(join(tmpdir(), "vexil-pg-"));
  if (asRoot) {
    const uid = Number(Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim());
    const gid = Number(Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  run(["initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const port = freePort();
  const synchronousCommit = options.fastCommits ? "off" : "on";
  const settings = { fsync: "off", synchronous_commit: synchronousCommit, full_page_writes: "off", max_connections: "300", ...options.settings };
  const serverOptions = [`-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(" ");
  let running = false;
  const server: PgServer = {
    port,
    restartable: true,
    url: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
    socketUrl: (database = "postgres") => `postgres://postgres@localhost:${port}/${database}?host=${encodeURIComponent(dir)}`,
    async start() {
      run(["pg_ctl", "-D", data, "-o", serverOptions, "-l", join(dir, "log"), "-w", "-t", "60", "start"]);
      running = true;
    },
    async stop() {
      if (!running) return;
      run(["pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]);
      running = false;
    },
    async destroy() {
      unregister();
      await server.stop().catch(() => {});
      // A test server's directory holds a copy of the template per test database (gigabytes after
      // a suite): it goes in the background, so a test process ends without waiting for the disk.
      Bun.spawn(["rm", "-rf", dir], { stdio: ["ignore", "ignore", "ignore"] }).unref();
    },
  };
  const unregister = registerThrowaway(() => server.destroy());
  await server.start();
  // A process that dies without cleaning up must not leave clusters behind.
  process.once("exit", () => {
    if (running) {
      const stop = [binary("pg_ctl"), "-D", data, "-m", "immediate", "stop"];
      Bun.spawnSync(asRoot ? ["runuser", "-u", "postgres", "--", ...stop] : stop);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

