/**
 * Two flags instances over one Postgres database, each running its scheduler on the real clock:
 * 200 expiring targets and 50 scheduled changes due in the same second are each applied exactly
 * once — counted by the flags' versions, their targeting and the audit entries of the executions.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "@vexil/shared/db/migrate";
import { patchFlagExpiringTargets } from "@vexil/flags/domain/expiring/flag-expiring-targets";
import { createFlag, getFlag, patchFlag } from "@vexil/flags/domain/flags/flags";
import { createProject } from "@vexil/flags/domain/projects";
import { createScheduledChange } from "@vexil/flags/domain/schedules/scheduled-changes";
import { flagDocument } from "@vexil/flags/domain/flags/representation";
import { testDatabaseUrl } from "../../support/postgres.ts";
import { admin } from "./domain/memory-context.ts";
import { flagsInstance, until, type Instance } from "./flags-instance.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const EXPIRING_FLAGS = 20;
const USERS_PER_FLAG = 10;
const SCHEDULED_FLAGS = 25;

let a: Instance;
let b: Instance;

beforeAll(async () => {
  const url = await testDatabaseUrl();
  a = await flagsInstance(url, { loop: true });
  b = await flagsInstance(url, { loop: true });
}, 30_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

interface Env {
  on: boolean;
  version: number;
  targets: Array<{ values: string[] }>;
}
const envOf = (flag: { environments: Record<string, unknown> }, key: string) => flag.environments[key] as unknown as Env;

test("200 expiring targets and 50 scheduled changes due in one second, two instances: each applied exactly once", async () => {
  await createProject(a, admin, { key: "shop", name: "Shop", environments: [{ key: "production", name: "Production", color: "ff0000" }, { key: "test", name: "Test", color: "00ff00" }] });
  const expiring = Array.from({ length: EXPIRING_FLAGS }, (_, i) => `expiring-${i}`);
  const scheduled = Array.from({ length: SCHEDULED_FLAGS }, (_, i) => `scheduled-${i}`);
  const users = Array.from({ length: USERS_PER_FLAG }, (_, i) => `user-${i}`);
  for (const key of [...expiring, ...scheduled]) await createFlag(a, admin, "shop", { key, name: key });
  const due = Date.now() + 3_000;
  const before = new Map<string, number>();
  // Made on both instances; each instance's scheduler is woken only for what it made itself.
  for (const [n, key] of expiring.entries()) {
    const on = (await getFlag(a, admin, "shop", key, {})).variations[0]!._id;
    const made = n % 2 === 0 ? a : b;
    await patchFlag(made, admin, "shop", key, { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }, { kind: "addTargets", variationId: on, values: users }] }, SEMANTIC);
    const answer = await patchFlagExpiringTargets(made, admin, "shop", key, "production", { instructions: users.map((contextKey) => ({ kind: "addExpiringTarget", variationId: on, contextKey, contextKind: "user", value: due })) }, SEMANTIC, false);
    expect(answer.successfulInstructions).toBe(USERS_PER_FLAG);
  }
  for (const [n, key] of scheduled.entries()) {
    for (const env of ["production", "test"]) await createScheduledChange(n % 2 === 0 ? b : a, admin, "shop", key, env, { executionDate: due, instructions: [{ kind: "turnFlagOn" }] }, false);
  }
  // Read from the database (not an instance's memory, which may be a notice behind the other's writes).
  const stored = async (key: string) => flagDocument((await a.flags.flagInScope("shop", key, { consistent: true }))!.flag!);
  for (const key of [...expiring, ...scheduled]) before.set(key, (await stored(key))._version);
  const pending = async () => rowsOf<{ n: number }>(await a.db.execute(sql`select count(*)::int as n from scheduled_items`))[0]!.n;
  expect(await pending()).toBe(EXPIRING_FLAGS * USERS_PER_FLAG + SCHEDULED_FLAGS * 2);

  // An item leaves the table when its change commits; its instance records the outcome just after.
  const applied = () => [...a.outcomes, ...b.outcomes].filter((o) => o.outcome.kind === "applied").length;
  await until(30_000, async () => (await pending()) === 0 && applied() >= 250);
  const outcomes = [...a.outcomes, ...b.outcomes];
  expect(outcomes.filter((o) => o.outcome.kind === "applied").length).toBe(250);
  expect(outcomes.filter((o) => o.outcome.kind === "failed")).toEqual([]);
  // How the two shared the work depends on which woke first (either may claim a whole batch): shown,
  // not asserted; that each item ran once is.
  console.log(`changes in time: instance a applied ${a.outcomes.length}, b ${b.outcomes.length}`);

  for (const key of expiring) {
    const flag = await stored(key);
    expect({ key, version: flag._version, targets: envOf(flag, "production").targets }).toEqual({ key, version: before.get(key)! + USERS_PER_FLAG, targets: [] });
  }
  for (const key of scheduled) {
    const flag = await stored(key);
    expect({ key, version: flag._version, on: [envOf(flag, "production").on, envOf(flag, "test").on] }).toEqual({ key, version: before.get(key)! + 2, on: [true, true] });
  }
  const executions = rowsOf<{ n: number; distinct: number }>(await a.db.execute(sql`select count(*)::int as n, count(distinct operation_id)::int as distinct from audit_log where operation_id is not null`))[0]!;
  expect(executions).toEqual({ n: 250, distinct: 250 });
  const changes = rowsOf<{ n: number }>(await a.db.execute(sql`select count(*)::int as n from audit_log where operation_id is not null and title like '%updated the flag%'`))[0]!;
  expect(changes.n).toBe(250);
}, 60_000);
