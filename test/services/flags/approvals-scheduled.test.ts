/**
 * Approvals and the scheduler on Postgres, with a clock the test moves: an approved request with an
 * `executionDate` becomes a scheduled change that applies at its time and not before; a scheduled
 * change made before approvals were required fails at its time with the gate's reason (unless the
 * environment lets pending changes through); one made by a member who may bypass approvals runs.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Caller } from "@vexil/shared/caller";
import { rowsOf } from "@vexil/shared/db/migrate";
import { applyFlagApproval, createFlagApproval, reviewFlagApproval } from "@vexil/flags/domain/approvals/requests";
import { getFlagApproval } from "@vexil/flags/domain/approvals/reads";
import { patchEnvironment } from "@vexil/flags/domain/environments";
import { createFlag, getFlag } from "@vexil/flags/domain/flags/flags";
import { createProject } from "@vexil/flags/domain/projects";
import { createScheduledChange, getScheduledChange } from "@vexil/flags/domain/schedules/scheduled-changes";
import { testDatabaseUrl } from "../../support/postgres.ts";
import { admin } from "./domain/memory-context.ts";
import { Clock, flagsInstance, type Instance } from "./flags-instance.ts";

const T = 1_800_000_000_000;
const DATA = ["proj/*", "proj/*:env/*", "proj/*:env/*:flag/*", "proj/*:env/*:segment/*"];
const writer = (n: string): Caller => ({
  kind: "token",
  tokenId: `t-${n}`,
  tokenName: `${n}'s token`,
  memberId: `m-${n}`,
  memberEmail: `${n}@example.com`,
  role: "writer",
  serviceToken: false,
  grants: [{ base: "reader", statements: [{ effect: "allow", resources: DATA, notActions: ["bypassRequiredApproval"] }] }],
});
const alice = writer("alice");
const bob = writer("bob");
const where = { projectKey: "shop", flagKey: "checkout", envKey: "production" };

let clock: Clock;
let a: Instance;

beforeEach(async () => {
  clock = new Clock(T);
  a = await flagsInstance(await testDatabaseUrl(), { now: clock.now });
  await createProject(a, admin, { key: "shop", name: "Shop", environments: [{ key: "production", name: "Production", color: "ff0000" }] });
  await createFlag(a, admin, "shop", { key: "checkout", name: "Checkout" });
});

afterEach(async () => {
  await a.close();
});

const requireApprovals = (extra: Array<Record<string, unknown>> = []) =>
  patchEnvironment(a, admin, "shop", "production", [{ op: "replace", path: "/approvalSettings/required", value: true }, ...extra], "application/json");
const isOn = async () => ((await getFlag(a, admin, "shop", "checkout", {})).environments as Record<string, { on: boolean }>).production!.on;

test("an approved request with an executionDate is scheduled when applied and applies at its time, not before", async () => {
  await requireApprovals();
  const made = await createFlagApproval(a, alice, where, { description: "Launch", instructions: [{ kind: "turnFlagOn" }], executionDate: T + 60_000 });
  expect(made.executionDate).toBe(T + 60_000);
  await reviewFlagApproval(a, bob, where, made._id, { kind: "approve" });
  const applied = await applyFlagApproval(a, alice, where, made._id, {});
  expect(applied.status).toBe("scheduled");
  const scheduled = await getScheduledChange(a, alice, "shop", "checkout", "production", applied._scheduledChangeId!);
  expect(scheduled).toMatchObject({ executionDate: T + 60_000, instructions: [{ kind: "turnFlagOn" }], _maintainerId: "m-alice" });
  expect(await isOn()).toBe(false);

  clock.ms = T + 59_999;
  expect(await a.scheduler.runDue()).toBe(0);
  expect(await isOn()).toBe(false);
  clock.ms = T + 60_000;
  expect(await a.scheduler.runDue()).toBe(1);
  expect(a.outcomes.map((o) => o.outcome)).toEqual([{ kind: "applied" }]);
  expect(await isOn()).toBe(true);
  expect((await getFlagApproval(a, alice, where, made._id)).status).toBe("scheduled");
});

test("a scheduled change made before approvals were required fails at its time with the gate's reason, unless pending changes may bypass", async () => {
  const first = await createScheduledChange(a, alice, "shop", "checkout", "production", { executionDate: T + 1_000, instructions: [{ kind: "turnFlagOn" }] }, false);
  await requireApprovals();
  clock.ms = T + 1_000;
  expect(await a.scheduler.runDue()).toBe(1);
  expect(a.outcomes.map((o) => o.outcome)).toEqual([{ kind: "failed", reason: "Flag configuration updates require approval: action 'updateOn' not allowed" }]);
  expect(await isOn()).toBe(false);
  expect((await getScheduledChange(a, alice, "shop", "checkout", "production", first._id))._failure?.reason).toContain("require approval");

  // The environment lets pending changes through: the next one made before runs.
  await patchEnvironment(a, admin, "shop", "production", [{ op: "replace", path: "/approvalSettings/required", value: false }], "application/json");
  await createScheduledChange(a, alice, "shop", "checkout", "production", { executionDate: T + 2_000, instructions: [{ kind: "turnFlagOn" }] }, false);
  await requireApprovals([{ op: "replace", path: "/approvalSettings/bypassApprovalsForPendingChanges", value: true }]);
  clock.ms = T + 2_000;
  expect(await a.scheduler.runDue()).toBe(1);
  expect(await isOn()).toBe(true);
});

test("a scheduled change made by a member who may bypass approvals runs at its time; the bypass is in the audit log", async () => {
  await requireApprovals();
  await createScheduledChange(a, admin, "shop", "checkout", "production", { executionDate: T + 1_000, instructions: [{ kind: "turnFlagOn" }] }, false);
  const accesses = rowsOf<{ accesses: unknown }>(await a.db.execute(sql`select accesses from audit_log order by date desc, id desc limit 1`))[0]!.accesses;
  expect(JSON.stringify(accesses)).toContain("bypassRequiredApproval");
  clock.ms = T + 1_000;
  expect(await a.scheduler.runDue()).toBe(1);
  expect(a.outcomes.map((o) => o.outcome)).toEqual([{ kind: "applied" }]);
  expect(await isOn()).toBe(true);
});

test("a scheduled change made before approvals were required, moved by an approved request (operatingOnId), runs at its new time as approved", async () => {
  const item = await createScheduledChange(a, alice, "shop", "checkout", "production", { executionDate: T + 1_000, instructions: [{ kind: "turnFlagOn" }] }, false);
  await requireApprovals();
  const made = await createFlagApproval(a, alice, where, { description: "Later", instructions: [{ kind: "updateScheduledChangesExecutionDate", value: T + 5_000 }], operatingOnId: item._id });
  await reviewFlagApproval(a, bob, where, made._id, { kind: "approve" });
  expect((await applyFlagApproval(a, alice, where, made._id, {})).status).toBe("completed");
  const rows = rowsOf<{ operating_on_id: string; operating_on_version: number }>(await a.db.execute(sql`select operating_on_id, operating_on_version from approval_requests`));
  expect(rows).toEqual([{ operating_on_id: item._id, operating_on_version: 1 }]);

  clock.ms = T + 1_000;
  expect(await a.scheduler.runDue()).toBe(0);
  clock.ms = T + 5_000;
  expect(await a.scheduler.runDue()).toBe(1);
  expect(a.outcomes.map((o) => o.outcome)).toEqual([{ kind: "applied" }]);
  expect(await isOn()).toBe(true);
});
