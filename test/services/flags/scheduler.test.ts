/**
 * The scheduler on Postgres, with a clock the test moves: items run at their time and not before,
 * once each however often they are claimed, after a claimer's crash, after a lost removal, by two
 * instances at once; an item that can no longer apply fails with its reason; the loop wakes for
 * items made on its instance, and on others through the database's notices, and finds those due
 * while it was not running.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { auditEntry } from "@vexil/shared/audit/audit";
import { rowsOf } from "@vexil/shared/db/migrate";
import type { FlagsContext } from "@vexil/flags/domain/context";
import { changeFlag, scheduleUpdate } from "@vexil/flags/domain/flags/change";
import { createFlag, deleteFlag, getFlag, patchFlag } from "@vexil/flags/domain/flags/flags";
import { createProject } from "@vexil/flags/domain/projects";
import { executeItem, operationOf } from "@vexil/flags/domain/schedules/execute";
import { changeSegment, createSegment, patchSegment, segmentScheduleUpdate } from "@vexil/flags/domain/segments/segments";
import { deleteEnvironment } from "@vexil/flags/domain/environments";
import { itemRow } from "@vexil/flags/storage/drizzle-schedule-store";
import type { ScheduledItem } from "@vexil/flags/storage/schedule-store";
import { scheduledItems } from "@vexil/flags/storage/schema";
import { testDatabaseUrl } from "../../support/postgres.ts";
import { admin } from "./domain/memory-context.ts";
import { Clock, flagsInstance, until, type Instance } from "./flags-instance.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const T = 1_800_000_000_000;

let url: string;
let clock: Clock;
let a: Instance;
const open: Instance[] = [];
async function instance(options: Parameters<typeof flagsInstance>[1] = {}) {
  const made = await flagsInstance(url, { now: clock.now, ...options });
  open.push(made);
  return made;
}

beforeEach(async () => {
  url = await testDatabaseUrl();
  clock = new Clock(T);
  a = await instance();
  await createProject(a, admin, { key: "shop", name: "Shop", environments: [{ key: "production", name: "Production", color: "ff0000" }, { key: "test", name: "Test", color: "00ff00" }] });
  await createFlag(a, admin, "shop", { key: "checkout", name: "Checkout" });
}, 30_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()));
});

/** An item of a flag (a scheduled change unless `over` says otherwise). */
async function itemOf(ctx: FlagsContext, flagKey: string, dueAt: number, over: Partial<ScheduledItem> = {}, envKey = "production"): Promise<ScheduledItem> {
  const found = (await ctx.flags.flagInScope("shop", flagKey, { consistent: true }))!;
  const env = found.environments.find((e) => e.key === envKey)!;
  return {
    id: crypto.randomUUID().replaceAll("-", "").slice(0, 24),
    kind: "flagChange",
    projectId: found.project.id,
    environmentId: env.id,
    flagId: found.flag!.id,
    segmentId: null,
    projectKey: "shop",
    environmentKey: envKey,
    resourceKey: flagKey,
    dueAt,
    status: "pending",
    version: 1,
    createdAt: clock.ms,
    creator: { memberId: "m-1", memberEmail: "ada@example.com", tokenId: "t-1", tokenName: "ada's token", serviceToken: false },
    instructions: [{ kind: "turnFlagOn" }],
    comment: "launch",
    conflicts: null,
    contextKind: null,
    contextKey: null,
    variationId: null,
    targetType: null,
    failure: null,
    approval: null,
    ...over,
  };
}

/** Writes an item of a flag, as the API does, with a change of the flag. */
async function schedule(ctx: FlagsContext, flagKey: string, dueAt: number, over: Partial<ScheduledItem> = {}, envKey = "production"): Promise<ScheduledItem> {
  const item = await itemOf(ctx, flagKey, dueAt, over, envKey);
  await changeFlag(ctx, admin, "shop", flagKey, async (read) => ({
    write: scheduleUpdate(read, auditEntry({ caller: admin, kind: "flag", spec: `proj/shop:env/${envKey}:flag/${flagKey}`, name: flagKey, verb: "scheduled a change to", actions: [], now: clock.ms }), { put: [item] }),
    result: undefined,
  }));
  return item;
}

const flag = (ctx: FlagsContext, key = "checkout") => getFlag(ctx, admin, "shop", key, {});
const production = (f: { environments: Record<string, unknown> }) => f.environments.production as { on: boolean; version: number; targets: Array<{ values: string[]; variation: number }> };
const entries = async (operationId: string) => rowsOf<{ title: string; description: string; member_id: string | null; token_id: string | null }>(await a.db.execute(sql`select title, description, member_id, token_id from audit_log where operation_id = ${operationId}`));
const items = async () => rowsOf<{ id: string; status: string }>(await a.db.execute(sql`select id, status from scheduled_items order by id`));

describe("executing due items", () => {
  test("an item runs at its time and not before, once, attributed to the item and its creator", async () => {
    const item = await schedule(a, "checkout", T + 1_000);
    const version = (await flag(a))._version;
    clock.ms = T + 999;
    expect(await a.scheduler.runDue()).toBe(0);
    expect(production(await flag(a)).on).toBe(false);

    clock.ms = T + 1_000;
    expect(await a.scheduler.runDue()).toBe(1);
    const after = await flag(a);
    expect(production(after).on).toBe(true);
    expect(after._version).toBe(version + 1);
    expect(await items()).toEqual([]);
    const [entry] = await entries(operationOf(item));
    expect(entry!.title).toBe(`Scheduled change ${item.id} of ada@example.com updated the flag Checkout`);
    expect({ member: entry!.member_id, token: entry!.token_id }).toEqual({ member: "m-1", token: "t-1" });
    expect(a.outcomes.map((o) => o.outcome)).toEqual([{ kind: "applied" }]);

    clock.ms = T + 60_000;
    expect(await a.scheduler.runDue()).toBe(0);
    expect((await flag(a))._version).toBe(version + 1);
  });

  test("a claimer that crashed after claiming: the items run once, by another, after the lease", async () => {
    await Promise.all(Array.from({ length: 5 }, (_, i) => schedule(a, "checkout", T + 10, { instructions: [{ kind: "addTargets", variationId: "", values: [`user-${i}`] }] })));
    // The instructions need the real variation id.
    const variationId = (await flag(a)).variations[0]!._id;
    await a.db.execute(sql`update scheduled_items set instructions = jsonb_set(instructions, '{0,variationId}', to_jsonb(${variationId}::text))`);
    const version = (await flag(a))._version;
    clock.ms = T + 10;
    const crashed = await a.schedules.claim(clock.ms, 10_000, 100);
    expect(crashed.items.length).toBe(5);
    const b = await instance();
    expect(await b.scheduler.runDue()).toBe(0);
    clock.ms = T + 10 + 10_001;
    expect(await b.scheduler.runDue()).toBe(5);
    const after = await flag(b);
    expect(after._version).toBe(version + 5);
    expect([...production(after).targets[0]!.values].sort()).toEqual(["user-0", "user-1", "user-2", "user-3", "user-4"]);
    expect(rowsOf<{ n: number }>(await a.db.execute(sql`select count(*)::int as n from audit_log where operation_id is not null`))[0]!.n).toBe(5);
    expect(await items()).toEqual([]);
    expect(await a.scheduler.runDue()).toBe(0);
  });

  test("an item applied whose removal was lost is not applied again, and is dropped", async () => {
    const variationId = (await flag(a)).variations[0]!._id;
    const item = await schedule(a, "checkout", T, { instructions: [{ kind: "addTargets", variationId, values: ["alice"] }] });
    const fresh = await schedule(a, "checkout", T, { instructions: [{ kind: "addTargets", variationId, values: ["bob"] }] }, "test");
    expect(await a.scheduler.runDue()).toBe(2);
    const applied = await flag(a);
    // The removal of `item` "lost": it is back as it was when it was claimed.
    await a.db.execute(sql`insert into ${scheduledItems} select * from jsonb_populate_record(null::${scheduledItems}, ${JSON.stringify(itemRow(item))}::jsonb)`);
    expect(await a.scheduler.runDue()).toBe(1);
    expect(a.outcomes.map((o) => [o.item.id, o.outcome.kind]).sort()).toEqual([
      [fresh.id, "applied"],
      [item.id, "alreadyApplied"],
      [item.id, "applied"],
    ].sort() as never);
    expect(await flag(a)).toEqual(applied);
    expect(await entries(operationOf(item))).toHaveLength(1);
    expect(await items()).toEqual([]);
  });

  test("an item that can no longer apply fails with its reason, seen on the item and in the audit log, and never runs again", async () => {
    const variationId = (await flag(a)).variations[0]!._id;
    const added = await patchFlag(a, admin, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "addRule", variationId, clauses: [{ attribute: "country", op: "in", values: ["NZ"] }] }] }, SEMANTIC);
    const ruleId = (production(added!) as unknown as { rules: Array<{ _id: string }> }).rules[0]!._id;
    const item = await schedule(a, "checkout", T, { instructions: [{ kind: "updateRuleDescription", ruleId, description: "Kiwis" }] });
    // The rule goes before the change is due.
    await patchFlag(a, admin, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "removeRule", ruleId }] }, SEMANTIC);
    const before = await flag(a);
    expect(await a.scheduler.runDue()).toBe(1);
    const [outcome] = a.outcomes;
    expect(outcome!.outcome.kind).toBe("failed");
    const reason = (outcome!.outcome as { reason: string }).reason;
    expect(reason).toBe(`instruction 0 (updateRuleDescription): unknown rule "${ruleId}"`);
    const stored = (await a.schedules.item(item.id))!;
    expect({ status: stored.status, failure: stored.failure }).toEqual({ status: "failed", failure: { date: T, reason } });
    const [entry] = await entries(operationOf(item));
    expect(entry!.title).toBe(`Scheduled change ${item.id} of ada@example.com could not be applied to the flag Checkout`);
    expect(entry!.description).toBe(reason);
    // Nothing of the flag changed but its version.
    const after = await flag(a);
    expect({ ...after, _version: 0 }).toEqual({ ...before, _version: 0 });
    clock.ms = T + 100_000;
    expect(await a.scheduler.runDue()).toBe(0);
  });

  test("an expiring target removes its target as an ordinary change; one whose target went by hand went with it", async () => {
    const variationId = (await flag(a)).variations[0]!._id;
    await patchFlag(a, admin, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "addTargets", variationId, values: ["alice", "bob"] }] }, SEMANTIC);
    const expiry = (key: string) => ({ kind: "flagExpiry" as const, instructions: null, contextKind: "user", contextKey: key, variationId });
    const alice = await schedule(a, "checkout", T + 5, expiry("alice"));
    await schedule(a, "checkout", T + 5, expiry("bob"));
    await patchFlag(a, admin, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "removeTargets", variationId, values: ["bob"] }] }, SEMANTIC);
    expect((await items()).map((i) => i.id)).toEqual([alice.id]);
    const before = production(await flag(a)).version;
    clock.ms = T + 5;
    expect(await a.scheduler.runDue()).toBe(1);
    const after = production(await flag(a));
    expect(after.targets).toEqual([]);
    expect(after.version).toBe(before + 1);
    expect((await entries(operationOf(alice)))[0]!.title).toBe(`Expiring target ${alice.id} of ada@example.com updated the flag Checkout`);
    expect(await items()).toEqual([]);
  });

  test("a segment's expiring target; a flag's, a segment's and an environment's deletion take their items", async () => {
    await createSegment(a, admin, "shop", "production", { key: "beta", name: "Beta" });
    await patchSegment(a, admin, "shop", "production", "beta", { environmentKey: "production", instructions: [{ kind: "addIncludedUsers", values: ["alice"] }] }, SEMANTIC);
    const scope = (await a.flags.projectScope("shop", { consistent: true }))!;
    const env = scope.environments.find((e) => e.key === "production")!;
    const segment = (await a.segments.segmentByKey(env.id, "beta", { consistent: true }))!;
    const item: ScheduledItem = { ...(await itemOf(a, "checkout", T + 1)), kind: "segmentExpiry", flagId: null, segmentId: segment.id, resourceKey: "beta", instructions: null, contextKind: "user", contextKey: "alice", targetType: "included" };
    await changeSegment(a, admin, "shop", "production", "beta", async (read) => ({ write: segmentScheduleUpdate(read, auditEntry({ caller: admin, kind: "segment", spec: "s", name: "beta", verb: "scheduled", actions: [] }), { put: [item] }), result: undefined }));
    clock.ms = T + 1;
    expect(await a.scheduler.runDue()).toBe(1);
    expect(a.outcomes.map((o) => o.outcome)).toEqual([{ kind: "applied" }]);
    const after = (await a.segments.segmentByKey(env.id, "beta", { consistent: true }))!;
    expect(after.doc.included).toEqual([]);
    expect(after.version).toBe(segment.version + 2);

    await schedule(a, "checkout", T + 100);
    await schedule(a, "checkout", T + 100, {}, "test");
    await createFlag(a, admin, "shop", { key: "other", name: "Other" });
    await schedule(a, "other", T + 100, {}, "test");
    await deleteEnvironment(a, admin, "shop", "test");
    expect((await items()).length).toBe(1);
    await deleteFlag(a, admin, "shop", "checkout");
    expect(await items()).toEqual([]);
  });

  test("two executions of one item at once (its lease ran out mid-execution) apply it once", async () => {
    const variationId = (await flag(a)).variations[0]!._id;
    const item = await schedule(a, "checkout", T, { instructions: [{ kind: "addTargets", variationId, values: ["alice"] }, { kind: "turnFlagOn" }] });
    const version = (await flag(a))._version;
    const b = await instance();
    const [claimed] = (await a.schedules.claim(T, 10_000, 10)).items;
    clock.ms = T + 10_001;
    const [mine] = await Promise.all([executeItem(a, claimed!), b.scheduler.runDue()]);
    const outcomes = [mine.kind, ...b.outcomes.map((o) => o.outcome.kind)].sort();
    expect(outcomes.filter((k) => k === "applied")).toEqual(["applied"]);
    expect((await flag(a))._version).toBe(version + 1);
    expect(await entries(operationOf(item))).toHaveLength(1);
    expect(await items()).toEqual([]);
  });

  test("two instances running the same due items at once apply each exactly once", async () => {
    a = await instance({ batch: 3 });
    const b = await instance({ batch: 3 });
    const keys = Array.from({ length: 10 }, (_, i) => `flag-${i}`);
    for (const key of keys) await createFlag(a, admin, "shop", { key, name: key });
    const variations = new Map<string, string>();
    for (const key of keys) variations.set(key, (await flag(a, key)).variations[0]!._id);
    const versions = new Map<string, number>();
    for (const key of keys) versions.set(key, (await flag(a, key))._version);
    const made: ScheduledItem[] = [];
    for (const key of keys) {
      for (let i = 0; i < 5; i++) made.push(await schedule(i % 2 ? a : b, key, T + 1, { instructions: [{ kind: "addTargets", variationId: variations.get(key), values: [`${key}-user-${i}`] }] }));
    }
    clock.ms = T + 1;
    // Small batches, so each instance claims several times while the other is executing.
    const runAll = async (i: Instance) => {
      let claimed = 0;
      for (let n = await i.scheduler.runDue(); n > 0; n = await i.scheduler.runDue()) claimed += n;
      return claimed;
    };
    const [byA, byB] = await Promise.all([runAll(a), runAll(b)]);
    expect(byA + byB).toBe(made.length);
    for (const key of keys) {
      const f = await flag(a, key);
      expect(f._version).toBe(versions.get(key)! + 5 + 5);
      expect([...production(f).targets[0]!.values].sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${key}-user-${i}`));
    }
    for (const item of made) expect(await entries(operationOf(item))).toHaveLength(1);
    expect(await items()).toEqual([]);
  });
});

describe("the scheduler's loop", () => {
  test("finds an item that came due while no scheduler ran, and wakes at once for one made on its instance", async () => {
    clock.ms = Date.now();
    const late = await schedule(a, "checkout", clock.ms - 60_000);
    // A real clock from here on; a poll far longer than the test may take.
    const running = await instance({ now: Date.now, loop: true, pollMs: 120_000 });
    // Done once its outcome is in (the database has it a moment before the instance's own memory).
    await until(10_000, () => running.outcomes.length === 1);
    expect(await items()).toEqual([]);
    expect(production(await flag(running)).on).toBe(true);
    expect(running.outcomes.map((o) => o.item.id)).toEqual([late.id]);

    const soon = await schedule(running, "checkout", Date.now() + 200, { instructions: [{ kind: "turnFlagOff" }] });
    running.scheduled!(soon.dueAt);
    await until(10_000, () => running.outcomes.length === 2);
    expect(await items()).toEqual([]);
    expect(production(await flag(running)).on).toBe(false);
  });

  test("wakes for items made or moved earlier on another instance, through the database's notice, not its poll", async () => {
    clock.ms = Date.now();
    // Its own next look is two minutes away; `a` runs no scheduler and cannot nudge it.
    const running = await instance({ now: Date.now, loop: true, pollMs: 120_000 });
    const first = await schedule(a, "checkout", Date.now() + 100);
    await until(10_000, () => running.outcomes.length === 1);
    expect(running.outcomes.map((o) => o.item.id)).toEqual([first.id]);
    // Asleep now, with nothing due.
    await Bun.sleep(200);

    // Made for in an hour: no reason to wake. Moved to now: the notice of the move wakes it.
    clock.ms = Date.now();
    const later = await schedule(a, "checkout", Date.now() + 3_600_000, { instructions: [{ kind: "turnFlagOff" }] });
    await schedule(a, "checkout", Date.now() + 100, { ...later, dueAt: Date.now() + 100, version: 2 });
    await until(10_000, () => running.outcomes.length === 2);
    expect(running.outcomes.map((o) => [o.item.id, o.item.version, o.outcome.kind])).toEqual([
      [first.id, 1, "applied"],
      [later.id, 2, "applied"],
    ]);
    expect(await items()).toEqual([]);
    expect(production(await flag(running)).on).toBe(false);
  }, 30_000);
});
