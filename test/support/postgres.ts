/**
 * Databases for tests: one throwaway Postgres server per test process (or the server of
 * DATABASE_URL, without stop/restart), a migrated template, and a fresh copy per caller.
 */
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "@vexil/shared/db/migrate";
import type { Db } from "@vexil/shared/db/connector";
import { startPostgres, type PgServer } from "../../infra/local/postgres.ts";

export { startPostgres, type PgServer };

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
