import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { isOutcomeUnknown, isUniqueViolation, isUniqueViolationOf, openDatabase, pgErrorCode, socketOf, type Database } from "@vexil/shared/db/connector";
import { migrate, rowsOf } from "@vexil/shared/db/migrate";
import { startPostgres, testDatabaseUrl } from "../../support/postgres.ts";

// The first database starts the shared throwaway server (initdb and a migrated template): allow it time.
beforeAll(async () => {
  await testDatabaseUrl();
}, 60_000);

const dirs: string[] = [];
const open: Database[] = [];
afterAll(async () => {
  await Promise.allSettled(open.map((d) => d.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "vexil-pglite-"));
  dirs.push(dir);
  return dir;
}

const insertMember = (database: Database, id: string, email: string) =>
  database.db.execute(sql`insert into members (id, email, role, created_at) values (${id}, ${email}, 'owner', 1)`);

async function errorOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => {
      throw new Error("expected the statement to fail");
    },
    (e: unknown) => e,
  );
}

/** A unique violation is told by the index it violates, and by no other (the members' email, then their id). */
async function expectViolationNamed(database: Database, emailTaken: unknown): Promise<void> {
  expect(isUniqueViolationOf(emailTaken, "members_email_unique")).toBe(true);
  expect(isUniqueViolationOf(emailTaken, "audit_log_operation_id_idx")).toBe(false);
  const idTaken = await errorOf(insertMember(database, "m1", "another@example.com"));
  expect(isUniqueViolationOf(idTaken, "members_pkey")).toBe(true);
  expect(isUniqueViolationOf(idTaken, "members_email_unique")).toBe(false);
  expect(isUniqueViolationOf(await errorOf(database.db.execute(sql`select * from no_such_table`)), "members_pkey")).toBe(false);
}

describe("openDatabase without a URL: embedded PGlite", () => {
  test("migrates, pings, keeps data across reopening, and reports unique violations", async () => {
    const dataDir = tempDir();
    const first = await openDatabase({ url: undefined, dataDir });
    expect(first.kind).toBe("pglite");
    expect(await migrate(first.db)).toBeGreaterThan(0);
    await first.ping();
    await insertMember(first, "m1", "a@example.com");

    const error = await errorOf(insertMember(first, "m2", "a@example.com"));
    expect(pgErrorCode(error)).toBe("23505");
    expect(isUniqueViolation(error)).toBe(true);
    await expectViolationNamed(first, error);

    const other = await errorOf(first.db.execute(sql`select * from no_such_table`));
    expect(pgErrorCode(other)).toBe("42P01");
    expect(isUniqueViolation(other)).toBe(false);
    await first.close();

    const again = await openDatabase({ url: undefined, dataDir });
    open.push(again);
    expect(await migrate(again.db)).toBe(0);
    const rows = rowsOf<{ email: string }>(await again.db.execute(sql`select email from members`));
    expect(rows).toEqual([{ email: "a@example.com" }]);
  }, 30_000);
});

describe("openDatabase with a URL: Postgres server", () => {
  test("pings and reports unique violations", async () => {
    const database = await openDatabase({ url: await testDatabaseUrl(), dataDir: "/nonexistent-unused", max: 2 });
    open.push(database);
    expect(database.kind).toBe("postgres");
    await database.ping();
    expect(await migrate(database.db)).toBe(0);
    await insertMember(database, "m1", "b@example.com");

    const error = await errorOf(insertMember(database, "m2", "b@example.com"));
    expect(pgErrorCode(error)).toBe("23505");
    expect(isUniqueViolation(error)).toBe(true);
    await expectViolationNamed(database, error);

    const other = await errorOf(database.db.execute(sql`select 1/0`));
    expect(pgErrorCode(other)).toBe("22012");
    expect(isUniqueViolation(other)).toBe(false);
  });

  test("libpq's ?host=/directory reaches the server over its Unix socket", async () => {
    const server = await startPostgres();
    try {
      const url = server.socketUrl!();
      expect(socketOf(url)).toEqual({ url: `postgres://postgres@localhost:${server.port}/postgres`, socket: { host: new URL(url).searchParams.get("host")!, port: server.port } });
      const database = await openDatabase({ url, dataDir: "/nonexistent-unused", max: 1 });
      try {
        // A Unix-socket connection has no server address.
        const rows = rowsOf<{ address: string | null }>(await database.db.execute(sql`select inet_server_addr()::text as address`));
        expect(rows).toEqual([{ address: null }]);
      } finally {
        await database.close();
      }
      // A TCP URL is left as it is.
      expect(socketOf(server.url())).toEqual({ url: server.url(), socket: {} });
    } finally {
      await server.destroy();
    }
  });

  test("a server that does not answer fails ping", async () => {
    const database = await openDatabase({ url: "postgres://postgres@127.0.0.1:1/none", dataDir: "/nonexistent-unused", max: 1 });
    open.push(database);
    await expect(database.ping(2_000)).rejects.toThrow();
  });
});

describe("pgErrorCode", () => {
  test("finds the code on the error or up to a few causes down", () => {
    expect(pgErrorCode({ code: "23505" })).toBe("23505");
    expect(pgErrorCode(new Error("wrapped", { cause: { code: "40001" } }))).toBe("40001");
    expect(pgErrorCode({ cause: { cause: { cause: { code: "23503" } } } })).toBe("23503");
  });

  test("ignores values that are not Postgres error codes", () => {
    expect(pgErrorCode(undefined)).toBeUndefined();
    expect(pgErrorCode(null)).toBeUndefined();
    expect(pgErrorCode("23505")).toBeUndefined();
    expect(pgErrorCode(new Error("plain"))).toBeUndefined();
    expect(pgErrorCode({ code: "ECONNREFUSED" })).toBeUndefined();
    expect(pgErrorCode({ code: 23505 })).toBeUndefined();
    expect(pgErrorCode({ code: "2350" })).toBeUndefined();
    expect(isUniqueViolation(new Error("duplicate key"))).toBe(false);
  });

  test("stops looking after four levels", () => {
    expect(pgErrorCode({ cause: { cause: { cause: { cause: { code: "23505" } } } } })).toBeUndefined();
  });
});

describe("isOutcomeUnknown", () => {
  test("a statement cut off in flight is of unknown outcome; one that never reached the server is not", () => {
    for (const code of ["ECONNRESET", "CONNECTION_CLOSED", "57P01"]) expect(isOutcomeUnknown(Object.assign(new Error("x"), { code }))).toBe(true);
    expect(isOutcomeUnknown({ cause: Object.assign(new Error("x"), { code: "CONNECTION_CLOSED" }) })).toBe(true);
    for (const code of ["ECONNREFUSED", "CONNECT_TIMEOUT", "57P03", "23505"]) expect(isOutcomeUnknown(Object.assign(new Error("x"), { code }))).toBe(false);
  });
});
