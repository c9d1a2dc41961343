/** The throwaway Postgres of tests and the launcher: durable acknowledgements unless asked for speed. */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { startPostgres, type PgServer } from "../../infra/local/postgres.ts";

const servers: PgServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.destroy()));
});

async function setting(server: PgServer, name: string): Promise<string> {
  const sql = postgres(server.url(), { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql.unsafe(`show ${name}`);
    return String(Object.values(row!)[0]);
  } finally {
    await sql.end();
  }
}

describe("startPostgres", () => {
  test("by default a commit is acknowledged only once its WAL is written, and a committed row survives an immediate stop", async () => {
    const server = await startPostgres();
    servers.push(server);
    expect(await setting(server, "synchronous_commit")).toBe("on");
    const sql = postgres(server.url(), { max: 1, onnotice: () => {} });
    await sql`create table acknowledged (n int)`;
    for (let i = 0; i < 50; i++) await sql`insert into acknowledged values (${i})`;
    await sql.end();
    await server.stop();
    await server.start();
    const again = postgres(server.url(), { max: 1, onnotice: () => {} });
    expect((await again`select count(*)::int as n from acknowledged`)[0]!.n).toBe(50);
    await again.end();
  }, 60_000);

  test("fastCommits trades that for speed", async () => {
    const server = await startPostgres({ fastCommits: true });
    servers.push(server);
    expect(await setting(server, "synchronous_commit")).toBe("off");
  }, 60_000);
});
