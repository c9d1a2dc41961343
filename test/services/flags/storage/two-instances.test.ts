/**
 * Two flags instances over one Postgres database, each with its own memory of projects, flags and
 * segments (CachedStores, kept current by the database's commit notices). A change decided on an
 * instance's memory applies only if nothing it was decided on moved: what one instance changes,
 * the other never overlooks — no lost update, no check skipped — and reads catch up within the
 * propagation of one notice.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { openDatabase, type Database, type Db } from "@vexil/shared/db/connector";
import { silentLogger } from "@vexil/shared/logger";
import type { EnvironmentKeyIssuer, FlagsContext } from "@vexil/flags/domain/context";
import { createEnvironment, deleteEnvironment, patchEnvironment } from "@vexil/flags/domain/environments";
import { createFlag, getFlag, listFlags, patchFlag } from "@vexil/flags/domain/flags/flags";
import { createProject } from "@vexil/flags/domain/projects";
import { CachedStores } from "@vexil/flags/storage/cached-stores";
import { listenForChanges } from "@vexil/flags/storage/change-notices";
import { DrizzleAuditReader } from "@vexil/flags/storage/drizzle-audit-reader";
import { DrizzleFlagStore } from "@vexil/flags/storage/drizzle-flag-store";
import { DrizzleFlagUsageStore } from "@vexil/flags/storage/drizzle-flag-usage-store";
import { DrizzleProjectStore } from "@vexil/flags/storage/drizzle-project-store";
import { DrizzleSegmentStore } from "@vexil/flags/storage/drizzle-segment-store";
import { DrizzleScheduleStore } from "@vexil/flags/storage/drizzle-schedule-store";
import { DrizzleApprovalStore } from "@vexil/flags/storage/drizzle-approval-store";
import { testDatabaseUrl } from "../../../support/postgres.ts";
import { admin, rejection } from "../domain/memory-context.ts";

const keys: EnvironmentKeyIssuer = {
  issue: async (ids) => ids.map((environmentId) => ({ environmentId, sdkKey: `sdk-${environmentId}`, mobileKey: `mob-${environmentId}` })),
  forget: async () => {},
  reset: async ({ environmentId }) => `sdk-${environmentId}-reset`,
};
const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

type Instance = FlagsContext & { db: Db; cache: CachedStores };

/** One flags instance: its own connection pool, its own notice listener and cache. */
async function instance(url: string): Promise<Instance> {
  const database: Database = await openDatabase({ url, dataDir: "", max: 4 });
  const notices = await listenForChanges(database);
  const { db } = database;
  const cache = new CachedStores({ projects: new DrizzleProjectStore(db), flags: new DrizzleFlagStore(db), segments: new DrizzleSegmentStore(db) }, notices);
  closers.push(async () => {
    cache.close();
    await notices.close();
    await database.close();
  });
  return { db, cache, store: cache.projects, flags: cache.flags, segments: cache.segments, schedules: new DrizzleScheduleStore(db), approvals: new DrizzleApprovalStore(db), usage: new DrizzleFlagUsageStore(db), audit: new DrizzleAuditReader(db), keys, logger: silentLogger, now: Date.now };
}

/** Reads on `instance` until `ok` holds (at most `ms`); how long it took. */
async function until(ms: number, read: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  while (!(await read())) {
    if (performance.now() - start > ms) throw new Error(`not seen within ${ms} ms`);
    await Bun.sleep(1);
  }
  return performance.now() - start;
}

const semantic = (ctx: FlagsContext, instructions: unknown[], extra: Record<string, unknown> = {}) =>
  patchFlag(ctx, admin, "shop", "checkout", { environmentKey: "production", instructions, ...extra }, SEMANTIC);

let a: Instance;
let b: Instance;

beforeEach(async () => {
  const url = await testDatabaseUrl();
  a = await instance(url);
  b = await instance(url);
  await createProject(a, admin, { key: "shop", name: "Shop", environments: [{ key: "production", name: "Production", color: "ff0000" }, { key: "test", name: "Test", color: "00ff00" }] });
  await createFlag(a, admin, "shop", { key: "checkout", name: "Checkout", variations: [{ value: "a" }, { value: "b" }], defaults: { onVariation: 1, offVariation: 0 } });
  // Instance a now holds the flag from its first change.
  await semantic(a, [{ kind: "updateFallthroughVariationOrRollout", variationId: (await getFlag(a, admin, "shop", "checkout", {})).variations[0]!._id }]);
});

interface Config {
  on: boolean;
  targets: Array<{ contextKind?: string; values: string[]; variation: number }>;
}
/** One environment's targeting in a flag's answer. */
const config = (flag: { environments: Record<string, unknown> } | undefined, env = "production") => flag!.environments[env] as Config;

const versions = async (db: Db) => (await db.execute(sql`select version from flags where key = 'checkout'`)) as unknown as Array<{ version: number }>;

describe("a change decided on an instance's memory", () => {
  test("sees what another instance changed meanwhile: nothing of either change is lost", async () => {
    const added = await patchFlag(b, admin, "shop", "checkout", { instructions: [{ kind: "addVariation", value: "c" }] }, SEMANTIC);
    const newId = added!.variations[2]!._id;
    // a's memory has two variations; the instruction names the third, which only the database has.
    const changed = await semantic(a, [{ kind: "addTargets", variationId: newId, values: ["alice"] }, { kind: "turnFlagOn" }]);
    expect(changed!.variations.map((v) => v.value)).toEqual(["a", "b", "c"]);
    expect(config(changed).targets).toEqual([{ contextKind: "user", values: ["alice"], variation: 2 }]);
    expect(config(changed).on).toBe(true);
    // b serves its memory until the notice of a's change arrives.
    await until(5_000, async () => (await getFlag(b, admin, "shop", "checkout", {}))._version === changed!._version);
    const stored = await getFlag(b, admin, "shop", "checkout", {});
    expect(config(stored).targets).toEqual([{ contextKind: "user", values: ["alice"], variation: 2 }]);
  });

  test("a change that would change nothing on memory is decided on the database", async () => {
    await semantic(b, [{ kind: "turnFlagOn" }]);
    // a remembers the flag off: turning it off looks like nothing to do, but it is on.
    const off = await semantic(a, [{ kind: "turnFlagOff" }]);
    expect(config(off).on).toBe(false);
    await until(5_000, async () => config(await getFlag(b, admin, "shop", "checkout", {})).on === false);
    const on = await semantic(a, [{ kind: "turnFlagOn" }]);
    expect(config(on).on).toBe(true);
  });

  test("an environment that now requires comments refuses a change without one", async () => {
    await patchEnvironment(b, admin, "shop", "production", [{ op: "replace", path: "/requireComments", value: true }], "application/json");
    const before = await versions(a.db);
    const error = await rejection(semantic(a, [{ kind: "turnFlagOn" }]));
    expect(error.status).toBe(400);
    expect(error.message).toContain("requires a comment");
    expect(await versions(a.db)).toEqual(before);
    const withComment = await semantic(a, [{ kind: "turnFlagOn" }], { comment: "go" });
    expect(config(withComment).on).toBe(true);
  });

  test("an environment deleted elsewhere is not written to, and one added elsewhere is in the answer", async () => {
    await deleteEnvironment(b, admin, "shop", "test");
    await createEnvironment(b, admin, "shop", { key: "staging", name: "Staging", color: "0000ff" });
    const error = await rejection(patchFlag(a, admin, "shop", "checkout", { environmentKey: "test", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC));
    expect(error.status).toBeGreaterThanOrEqual(400);
    expect(error.status).toBeLessThan(500);
    const changed = await semantic(a, [{ kind: "turnFlagOn" }]);
    expect(Object.keys(changed!.environments).sort()).toEqual(["production", "staging"]);
    const configs = (await a.db.execute(sql`select count(*)::int as n from flag_configs c left join environments e on e.id = c.environment_id where e.id is null`)) as unknown as Array<{ n: number }>;
    expect(configs[0]!.n).toBe(0);
  });

  test("a flag deleted and made again elsewhere is the new one", async () => {
    await patchFlag(b, admin, "shop", "checkout", { instructions: [{ kind: "deleteFlag" }] }, SEMANTIC);
    const error = await rejection(semantic(a, [{ kind: "turnFlagOn" }]));
    expect(error.status).toBe(404);
    await createFlag(b, admin, "shop", { key: "checkout", name: "Checkout again", variations: [{ value: 1 }, { value: 2 }] });
    const changed = await semantic(a, [{ kind: "turnFlagOn" }]);
    expect(changed!.name).toBe("Checkout again");
    expect(changed!.variations.map((v) => v.value)).toEqual([1, 2]);
  });

  test("two instances changing one flag in turns and at once lose nothing", async () => {
    const values = Array.from({ length: 24 }, (_, i) => `user-${i}`);
    const before = await getFlag(a, admin, "shop", "checkout", {});
    const variationId = before.variations[0]!._id;
    await Promise.all(values.map((v, i) => semantic(i % 2 === 0 ? a : b, [{ kind: "addTargets", variationId, values: [v] }])));
    // The last change may be b's: a serves it once its notice has arrived. One version per change.
    await until(5_000, async () => (await getFlag(a, admin, "shop", "checkout", {}))._version >= before._version + values.length);
    const stored = await getFlag(a, admin, "shop", "checkout", {});
    expect(stored._version).toBe(before._version + values.length);
    expect([...config(stored).targets[0]!.values].sort()).toEqual([...values].sort());
    const audit = (await a.db.execute(sql`select count(*)::int as n from audit_log where kind = 'flag'`)) as unknown as Array<{ n: number }>;
    // creation, the first change, and one entry per target added
    expect(audit[0]!.n).toBe(2 + values.length);
  });
});

describe("reads from memory", () => {
  test("read-your-writes: 200 alternating changes and reads on one instance never read the old version", async () => {
    let version = (await getFlag(a, admin, "shop", "checkout", {}))._version;
    for (let i = 0; i < 200; i++) {
      const changed = await semantic(a, [{ kind: i % 2 === 0 ? "turnFlagOn" : "turnFlagOff" }]);
      expect(changed!._version).toBe(version + 1);
      version = changed!._version;
      const read = await getFlag(a, admin, "shop", "checkout", {});
      expect(read._version).toBe(version);
      expect(config(read).on).toBe(i % 2 === 0);
      const listed = await listFlags(a, admin, "shop", {});
      expect((listed.items.find((f) => f.key === "checkout") as { _version: number })._version).toBe(version);
    }
    expect(a.cache.size.flags).toBeGreaterThan(0);
  });

  test("a change written on one instance is served by a read on the other once its notice arrives", async () => {
    // b holds the flag and a list page in memory before a changes it.
    const before = await getFlag(b, admin, "shop", "checkout", {});
    // (A load is kept only if nothing about it changed meanwhile: the setup's notices may still be arriving.)
    await until(5_000, async () => (await getFlag(b, admin, "shop", "checkout", {}), await listFlags(b, admin, "shop", {}), b.cache.size.flags === 1 && b.cache.size.keyIndexes === 1));
    for (let i = 0; i < 20; i++) {
      const changed = await semantic(a, [{ kind: i % 2 === 0 ? "turnFlagOn" : "turnFlagOff" }]);
      await until(5_000, async () => (await getFlag(b, admin, "shop", "checkout", {}))._version === changed!._version);
      await until(5_000, async () => ((await listFlags(b, admin, "shop", {})).items[0] as { _version: number })._version === changed!._version);
    }
    expect((await getFlag(b, admin, "shop", "checkout", {}))._version).toBe(before._version + 20);
  });

  test("project and environment changes made on one instance reach the other's reads", async () => {
    await getFlag(b, admin, "shop", "checkout", {});
    await createEnvironment(a, admin, "shop", { key: "staging", name: "Staging", color: "0000ff" });
    await until(5_000, async () => Object.keys((await getFlag(b, admin, "shop", "checkout", {})).environments).includes("staging"));
    await patchEnvironment(a, admin, "shop", "staging", [{ op: "replace", path: "/name", value: "Pre-production" }], "application/json");
    await until(5_000, async () => ((await getFlag(b, admin, "shop", "checkout", {})).environments as Record<string, { _environmentName?: string }>).staging?._environmentName === "Pre-production");
  });
});
