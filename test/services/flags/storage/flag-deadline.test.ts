/**
 * A flag write under a request deadline, on Postgres through the service's own connector: past
 * the deadline nothing of it is written — not the flag, not its audit entry, not its change
 * event — even when the statement was sent in time and only finished late.
 */
import { afterAll, beforeEach, expect, test } from "bun:test";
import postgres from "postgres";
import { sql } from "drizzle-orm";
import { openDatabase, type Database } from "@vexil/shared/db/connector";
import { rowsOf } from "@vexil/shared/db/migrate";
import { withDeadline } from "@vexil/shared/deadline";
import { vexilErrorOf } from "@vexil/shared/errors";
import { silentLogger } from "@vexil/shared/logger";
import type { EnvironmentKeyIssuer, FlagsContext } from "@vexil/flags/domain/context";
import { createFlag, patchFlag } from "@vexil/flags/domain/flags/flags";
import { createProject } from "@vexil/flags/domain/projects";
import { DrizzleAuditReader } from "@vexil/flags/storage/drizzle-audit-reader";
import { DrizzleFlagStore } from "@vexil/flags/storage/drizzle-flag-store";
import { DrizzleFlagUsageStore } from "@vexil/flags/storage/drizzle-flag-usage-store";
import { DrizzleProjectStore } from "@vexil/flags/storage/drizzle-project-store";
import { DrizzleSegmentStore } from "@vexil/flags/storage/drizzle-segment-store";
import { DrizzleScheduleStore } from "@vexil/flags/storage/drizzle-schedule-store";
import { DrizzleApprovalStore } from "@vexil/flags/storage/drizzle-approval-store";
import { testDatabaseUrl } from "../../../support/postgres.ts";
import { admin } from "../domain/memory-context.ts";

const keys: EnvironmentKeyIssuer = {
  issue: async (ids) => ids.map((environmentId) => ({ environmentId, sdkKey: `sdk-${environmentId}`, mobileKey: `mob-${environmentId}` })),
  forget: async () => {},
  reset: async ({ environmentId }) => `sdk-${environmentId}-reset`,
};

const opened: Database[] = [];
afterAll(async () => {
  await Promise.allSettled(opened.map((d) => d.close()));
});

let url: string;
let database: Database;
let ctx: FlagsContext;
let variationId: string;

beforeEach(async () => {
  url = await testDatabaseUrl();
  // One connection: a read issued after a write runs once the write has finished, late or not.
  database = await openDatabase({ url, dataDir: "", max: 1 });
  opened.push(database);
  const db = database.db;
  ctx = { store: new DrizzleProjectStore(db), flags: new DrizzleFlagStore(db), segments: new DrizzleSegmentStore(db), schedules: new DrizzleScheduleStore(db), approvals: new DrizzleApprovalStore(db), usage: new DrizzleFlagUsageStore(db), audit: new DrizzleAuditReader(db), keys, logger: silentLogger, now: Date.now };
  await createProject(ctx, admin, { key: "shop", name: "Shop", environments: [{ key: "production", name: "Production", color: "ff0000" }] });
  variationId = (await createFlag(ctx, admin, "shop", { key: "checkout", name: "Checkout" })).variations[0]!._id;
}, 60_000);

const addTarget = (value: string) =>
  patchFlag(ctx, admin, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "addTargets", values: [value], variationId }] }, "application/json; domain-model=launchdarkly.semanticpatch");

/** What a write changes: the flag's version and targeting, its audit entries, the outbox. */
async function written() {
  const [row] = rowsOf<{ version: number; configs: string }>(
    await database.db.execute(sql`select f.version, (select string_agg(c.config::text, ',') from flag_configs c where c.flag_id = f.id) as configs from flags f where f.key = 'checkout'`),
  );
  const count = async (query: ReturnType<typeof sql>) => Number(rowsOf<{ n: number }>(await database.db.execute(query))[0]!.n);
  return {
    version: Number(row!.version),
    configs: row!.configs,
    audit: await count(sql`select count(*) as n from audit_log where spec like '%:flag/checkout'`),
    outbox: await count(sql`select count(*) as n from outbox`),
  };
}

async function refusal(work: Promise<unknown>): Promise<void> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(vexilErrorOf(error)).toMatchObject({ code: "gateway_timeout", status: 504 });
}

test("in time, a flag write is applied with its audit entry and change event", async () => {
  const before = await written();
  await withDeadline(Date.now() + 10_000, () => addTarget("in-time"));
  const after = await written();
  expect(after.version).toBe(before.version + 1);
  expect(after.configs).toContain("in-time");
  expect(after.audit).toBe(before.audit + 1);
  expect(after.outbox).toBe(before.outbox + 1);
});

test("a flag write whose deadline has passed writes nothing", async () => {
  const before = await written();
  await withDeadline(Date.now() - 1, () => refusal(addTarget("too-late")));
  expect(await written()).toEqual(before);
});

test("a flag write that waited for the flag's row lock until past its deadline writes nothing: the statement checks last", async () => {
  const before = await written();
  const locker = postgres(url, { max: 1, onnotice: () => {} });
  const holder = await locker.reserve();
  try {
    await holder`begin`;
    await holder`select id from flags where key = 'checkout' for update`;
    // The statement is sent in time and waits for the lock; the request gives up at its deadline.
    await withDeadline(Date.now() + 800, () => refusal(addTarget("waited")));
  } finally {
    // The lock goes without a change, so the waiting update goes ahead; only its last check stops it.
    await holder`rollback`;
    holder.release();
    await locker.end();
  }
  expect(await written()).toEqual(before);
});

test("a late write in a batch of writes fails alone: the writes in time go on", async () => {
  // Enough connections for two batches held up and the reads of two more writes.
  const wide = await openDatabase({ url, dataDir: "", max: 4 });
  opened.push(wide);
  const db = wide.db;
  const wctx: FlagsContext = { ...ctx, store: new DrizzleProjectStore(db), flags: new DrizzleFlagStore(db), segments: new DrizzleSegmentStore(db), audit: new DrizzleAuditReader(db) };
  const variations = new Map<string, string>();
  for (const key of ["x", "y", "late", "timely"]) variations.set(key, (await createFlag(wctx, admin, "shop", { key, name: key })).variations[0]!._id);
  const add = (key: string) =>
    patchFlag(wctx, admin, "shop", key, { environmentKey: "production", instructions: [{ kind: "addTargets", values: [`to-${key}`], variationId: variations.get(key) }] }, "application/json; domain-model=launchdarkly.semanticpatch");
  const version = async (key: string) => Number(rowsOf<{ version: number }>(await db.execute(sql`select version from flags where key = ${key}`))[0]!.version);

  const locker = postgres(url, { max: 1, onnotice: () => {} });
  const holder = await locker.reserve();
  let held: Promise<unknown>[] = [];
  let timely: Promise<unknown> | undefined;
  try {
    await holder`begin`;
    await holder`select id from flags where key in ('x', 'y') for update`;
    // Both batches in flight wait for the lock: the next two writes queue for one batch together.
    held = [add("x"), add("y")];
    for (let i = 0; i < 200; i++) {
      const [waiting] = await holder`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`;
      if (Number(waiting?.n) >= 2) break;
      await Bun.sleep(20);
    }
    const late = withDeadline(Date.now() + 600, () => add("late"));
    timely = withDeadline(Date.now() + 30_000, () => add("timely"));
    await refusal(late);
  } finally {
    await holder`rollback`;
    holder.release();
    await locker.end();
  }
  await Promise.all([...held, timely]);
  expect(await version("x")).toBe(2);
  expect(await version("y")).toBe(2);
  expect(await version("timely")).toBe(2);
  expect(await version("late")).toBe(1);
});
