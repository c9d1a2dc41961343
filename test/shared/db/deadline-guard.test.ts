/**
 * Request deadlines at the database, on Postgres and on PGlite: nothing starts past the commit
 * deadline, a transaction that outlives it is rolled back by the check before COMMIT (made by the
 * database's clock), and nobody waits for a statement past the caller's deadline.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { sql } from "drizzle-orm";
import { openDatabase, type Database } from "@vexil/shared/db/connector";
import { deadlineCheck, isDeadlineRefusal } from "@vexil/shared/db/deadline-guard";
import { rowsOf } from "@vexil/shared/db/migrate";
import { withDeadline } from "@vexil/shared/deadline";
import { vexilErrorOf } from "@vexil/shared/errors";
import { testDatabaseUrl } from "../../support/postgres.ts";

const dirs: string[] = [];
const open: Database[] = [];
afterAll(async () => {
  await Promise.allSettled(open.map((d) => d.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

let postgresUrl: string;
beforeAll(async () => {
  postgresUrl = await testDatabaseUrl();
}, 60_000);

const opened = new Map<string, Promise<Database>>();
let tables = 0;

/**
 * A database of each kind, opened once, with one connection (so a statement issued after another
 * runs after it has finished), and a fresh table for each test.
 */
async function database(kind: "postgres" | "pglite") {
  if (!opened.has(kind)) {
    const dataDir = mkdtempSync(join(tmpdir(), "vexil-deadline-"));
    dirs.push(dataDir);
    opened.set(kind, openDatabase({ url: kind === "postgres" ? postgresUrl : undefined, dataDir, max: 1 }).then((d) => (open.push(d), d)));
  }
  const { db } = await opened.get(kind)!;
  const table = sql.identifier(`deadline_probe_${++tables}`);
  await db.execute(sql`create table ${table} (v int)`);
  const values = async () => rowsOf<{ v: number }>(await db.execute(sql`select v from ${table} order by v`)).map((r) => Number(r.v));
  return { db, table, name: `deadline_probe_${tables}`, values };
}

async function refusal(work: Promise<unknown>): Promise<void> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(vexilErrorOf(error)).toMatchObject({ code: "gateway_timeout", status: 504 });
}

for (const kind of ["postgres", "pglite"] as const) {
  describe(`deadlines on ${kind}`, () => {
    test("without a deadline, statements and transactions run as ever", async () => {
      const d = await database(kind);
      await d.db.transaction(async (tx) => {
        await tx.execute(sql`insert into ${d.table} values (1)`);
      });
      await d.db.execute(sql`insert into ${d.table} values (2)`);
      expect(await d.values()).toEqual([1, 2]);
    });

    test("in time, a transaction commits", async () => {
      const d = await database(kind);
      await withDeadline(Date.now() + 10_000, () =>
        d.db.transaction(async (tx) => {
          await tx.execute(sql`insert into ${d.table} values (1)`);
        }),
      );
      expect(await d.values()).toEqual([1]);
    });

    test("past the commit deadline no statement runs and no transaction begins", async () => {
      const d = await database(kind);
      await withDeadline(Date.now() - 1, async () => {
        await refusal(d.db.execute(sql`insert into ${d.table} values (1)`));
        await refusal(d.db.transaction(async (tx) => void (await tx.execute(sql`insert into ${d.table} values (2)`))));
      });
      expect(await d.values()).toEqual([]);
    });

    test("a transaction that outlives its deadline is rolled back by the check before COMMIT", async () => {
      const d = await database(kind);
      // Every statement of the body starts in time; only the check before COMMIT sees the deadline passed.
      await withDeadline(Date.now() + 300, () =>
        refusal(
          d.db.transaction(async (tx) => {
            await tx.execute(sql`insert into ${d.table} values (1)`);
            await Bun.sleep(400);
          }),
        ),
      );
      // One connection: this read waits until the transaction has ended.
      expect(await d.values()).toEqual([]);
    });

    test("the check in a statement is made by the database's clock", async () => {
      const d = await database(kind);
      const check = (deadline: number | null) => d.db.execute(sql`select ${deadlineCheck(sql`${deadline}`)} as in_time`);
      expect(rowsOf<{ in_time: number }>(await check(null))[0]!.in_time).toBe(1);
      expect(rowsOf<{ in_time: number }>(await check(Date.now() + 60_000))[0]!.in_time).toBe(1);
      const late = await check(Date.now() - 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDeadlineRefusal(late)).toBe(true);
      const other = await d.db.execute(sql`select 'abc'::int`).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(other).toBeDefined();
      expect(isDeadlineRefusal(other)).toBe(false);
    });
  });
}

describe("deadlines on postgres: waiting", () => {
  test("a statement held up by a lock is given up at the caller's deadline, and its transaction does not commit", async () => {
    const d = await database("postgres");
    await d.db.execute(sql`insert into ${d.table} values (1)`);
    const locker = postgres(postgresUrl, { max: 1, onnotice: () => {} });
    const holder = await locker.reserve();
    try {
      await holder`begin`;
      await holder.unsafe(`select v from ${d.name} for update`);
      await withDeadline(Date.now() + 500, () =>
        refusal(
          d.db.transaction(async (tx) => {
            await tx.execute(sql`update ${d.table} set v = 2`);
          }),
        ),
      );
    } finally {
      await holder`rollback`;
      holder.release();
      await locker.end();
    }
    expect(await d.values()).toEqual([1]);
  });
});
