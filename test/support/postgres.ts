/**
 * A throwaway PostgreSQL cluster for tests: initdb in a temporary directory, a free port,
 * stoppable and restartable to inject faults. Postgres refuses to run as root, so as root the
 * cluster runs as the `postgres` user. With DATABASE_URL set, tests use that server instead
 * (without stop/restart).
 */
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "@vexil/shared/db/migrate";
import type { Db } from "@vexil/shared/db/connector";
import { freePort } from "./ports.ts";

export interface PgServer {
  readonly port: number;
  url(database?: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
  readonly restartable: boolean;
}

const asRoot = process.getuid?.() === 0;

function run(args: string[]): void {
  const cmd = asRoot ? ["runuser", "-u", "postgres", "--", ...args] : args;
  const result = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${args[0]} failed: ${result.stderr.toString()}${result.stdout.toString()}`);
}

export async function startPostgres(): Promise<PgServer> {
  const dir = mkdtempSync(join(tmpdir(), "vexil-pg-"));
  if (asRoot) {
    const uid = Number(Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim());
    const gid = Number(Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  run(["initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const port = freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`;
  let running = false;
  const server: PgServer = {
    port,
    restartable: true,
    url: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      run(["pg_ctl", "-D", data, "-o", options, "-l", join(dir, "log"), "-w", "-t", "60", "start"]);
      running = true;
    },
    async stop() {
      if (!running) return;
      run(["pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]);
      running = false;
    },
    async destroy() {
      await server.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  // A process that dies without cleaning up must not leave clusters behind.
  process.once("exit", () => {
    if (running) Bun.spawnSync(asRoot ? ["runuser", "-u", "postgres", "--", "pg_ctl", "-D", data, "-m", "immediate", "stop"] : ["pg_ctl", "-D", data, "-m", "immediate", "stop"]);
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

function external(url: string): PgServer {
  const base = new URL(url);
  return {
    port: Number(base.port || 5432),
    restartable: false,
    url: (database = base.pathname.slice(1) || "postgres") => {
      const u = new URL(url);
      u.pathname = `/${database}`;
      return u.toString();
    },
    start: async () => {},
    stop: async () => {
      throw new Error("an external DATABASE_URL server cannot be stopped by tests");
    },
    destroy: async () => {},
  };
}

let shared: Promise<{ server: PgServer; template: string }> | undefined;

/** One server and one migrated template per test process. */
function sharedServer() {
  shared ??= (async () => {
    const server = process.env.DATABASE_URL ? external(process.env.DATABASE_URL) : await startPostgres();
    const template = `vexil_template_${process.pid}`;
    const admin = postgres(server.url(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${template}`);
    await admin.unsafe(`create database ${template}`);
    await admin.end();
    const client = postgres(server.url(template), { max: 1, onnotice: () => {} });
    await migrate(drizzle(client) as unknown as Db);
    await client.end();
    return { server, template };
  })();
  return shared;
}

let counter = 0;

/** A fresh, migrated database (a copy of the template), and its URL. */
export async function testDatabaseUrl(): Promise<string> {
  const { server, template } = await sharedServer();
  const name = `vexil_t${process.pid}_${++counter}_${Math.floor(Math.random() * 1e6)}`;
  const admin = postgres(server.url(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name} template ${template}`);
  await admin.end();
  return server.url(name);
}

/** An empty, unmigrated database on the shared server. */
export async function emptyDatabaseUrl(): Promise<string> {
  const { server } = await sharedServer();
  const name = `vexil_e${process.pid}_${++counter}_${Math.floor(Math.random() * 1e6)}`;
  const admin = postgres(server.url(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  return server.url(name);
}
