/**
 * A flags instance decides a change on its memory of the flag, project and environments when it has
 * one; the write applies only if none of them moved. Two instances over one Postgres database: what
 * one changes, the other never overlooks — no lost update, no check skipped, no stale answer.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { sql } from "drizzle-orm";
import type { Db } from "@vexil/shared/db/connector";
import { silentLogger } from "@vexil/shared/logger";
import type { EnvironmentKeyIssuer, FlagsContext } from "@vexil/flags/domain/context";
import { createEnvironment, deleteEnvironment, patchEnvironment } from "@vexil/flags/domain/environments";
import { createFlag, getFlag, patchFlag } from "@vexil/flags/domain/flags/flags";
import { createProject } from "@vexil/flags/domain/projects";
import { DrizzleAuditReader } from "@vexil/flags/storage/drizzle-audit-reader";
import { DrizzleFlagStore } from "@vexil/flags/storage/drizzle-flag-store";
import { DrizzleProjectStore } from "@vexil/flags/storage/drizzle-project-store";
import { DrizzleSegmentStore } from "@vexil/flags/storage/drizzle-segment-store";
import { testDatabaseUrl } from "../../../support/postgres.ts";
import { admin, rejection } from "../domain/memory-context.ts";

const keys: EnvironmentKeyIssuer = {
  issue: async (ids) => ids.map((environmentId) => ({ environmentId, sdkKey: `sdk-${environmentId}`, mobileKey: `mob-${environmentId}` })),
  forget: async () => {},
  reset: async ({ environmentId }) => `sdk-${environmentId}-reset`,
};
const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";

const clients: Array<{ end(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
});

/** One flags instance: its own connection pool and stores (and so its own memory of flags). */
function instance(url: string): FlagsContext & { db: Db } {
  const client = postgres(url, { max: 2, onnotice: () => {} });
  clients.push(client);
  const db = drizzle(client) as unknown as Db;
  return {
    db,
    store: new DrizzleProjectStore(db),
    flags: new DrizzleFlagStore(db),
    segments: new DrizzleSegmentStore(db),
    audit: new DrizzleAuditReader(db),
    keys,
    logger: silentLogger,
    now: Date.now,
  };
}

const semantic = (ctx: FlagsContext, instructions: unknown[], extra: Record<string, unknown> = {}) =>
  patchFlag(ctx, admin, "shop", "checkout", { environmentKey: "production", instructions, ...extra }, SEMANTIC);

let a: FlagsContext & { db: Db };
let b: FlagsContext & { db: Db };

beforeEach(async () => {
  const url = await testDatabaseUrl();
  a = instance(url);
  b = instance(url);
  await createProject(a, admin, { key: "shop", name: "Shop", environments: [{ key: "production", name: "Production", color: "ff0000" }, { key: "test", name: "Test", color: "00ff00" }] });
  await createFlag(a, admin, "shop", { key: "checkout", name: "Checkout", variations: [{ value: "a" }, { value: "b" }], defaults: { onVariation: 1, offVariation: 0 } });
  // Instance a now remembers the flag from its first change.
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
    const stored = await getFlag(b, admin, "shop", "checkout", {});
    expect(stored._version).toBe(changed!._version);
    expect(config(stored).targets).toEqual([{ contextKind: "user", values: ["alice"], variation: 2 }]);
  });

  test("a change that would change nothing on memory is decided on the database", async () => {
    await semantic(b, [{ kind: "turnFlagOn" }]);
    // a remembers the flag off: turning it off looks like nothing to do, but it is on.
    const off = await semantic(a, [{ kind: "turnFlagOff" }]);
    expect(config(off).on).toBe(false);
    expect(config(await getFlag(b, admin, "shop", "checkout", {})).on).toBe(false);
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
    const variationId = (await getFlag(a, admin, "shop", "checkout", {})).variations[0]!._id;
    await Promise.all(values.map((v, i) => semantic(i % 2 === 0 ? a : b, [{ kind: "addTargets", variationId, values: [v] }])));
    const stored = await getFlag(a, admin, "shop", "checkout", {});
    expect([...config(stored).targets[0]!.values].sort()).toEqual([...values].sort());
    const audit = (await a.db.execute(sql`select count(*)::int as n from audit_log where kind = 'flag'`)) as unknown as Array<{ n: number }>;
    // creation, the first change, and one entry per target added
    expect(audit[0]!.n).toBe(2 + values.length);
  });
});
