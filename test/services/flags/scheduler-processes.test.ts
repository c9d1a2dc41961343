/**
 * The scheduler in real flags processes (`services/flags/main.ts` on a throwaway Postgres and
 * nats-server), through the two failures the issue names:
 *
 * - an instance killed with SIGKILL after claiming due items and before applying them all: the
 *   items it held are applied once, by the instance started after it, when their lease runs out;
 * - every instance stopped across the due time: the items are applied at the next start, once,
 *   and their lateness is logged.
 *
 * The items are made by an in-process flags context over the same database (the code the API's
 * handlers call); its scheduler never runs, so only the processes execute anything. Applied means
 * gone from `scheduled_items`, one audit entry per item (`operation_id = schedule:<id>:<version>`),
 * and one new flag version per item.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "@vexil/shared/db/migrate";
import { patchFlagExpiringTargets } from "@vexil/flags/domain/expiring/flag-expiring-targets";
import { createFlag, getFlag, patchFlag } from "@vexil/flags/domain/flags/flags";
import { flagDocument } from "@vexil/flags/domain/flags/representation";
import { createProject } from "@vexil/flags/domain/projects";
import { createScheduledChange } from "@vexil/flags/domain/schedules/scheduled-changes";
import { DEFAULT_LEASE_MS } from "@vexil/flags/scheduler";
import { startNats, type NatsServer } from "../../support/nats.ts";
import { freePort } from "../../support/ports.ts";
import { startEntry, type Running } from "../../support/process.ts";
import { testDatabaseUrl } from "../../support/postgres.ts";
import { admin } from "./domain/memory-context.ts";
import { flagsInstance, until, type Instance } from "./flags-instance.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const INTERNAL_KEY = "scheduler-processes-internal-key-0123456789";

let nats: NatsServer;
let url: string;
/** Makes the items; never executes any. */
let maker: Instance;
const running: Running[] = [];

let started = 0;

/** A flags process, whose connections Postgres shows under `application` (`pg_stat_activity`). */
async function startFlags(): Promise<Running & { application: string }> {
  const application = `vexil-flags-${++started}`;
  const flags = await startEntry("services/flags/main.ts", freePort(), { DATABASE_URL: url, NATS_URL: nats.url, VEXIL_INTERNAL_KEY: INTERNAL_KEY, PGAPPNAME: application });
  running.push(flags);
  return { ...flags, application };
}

beforeAll(async () => {
  nats = await startNats();
  url = await testDatabaseUrl();
  maker = await flagsInstance(url);
  await createProject(maker, admin, { key: "shop", name: "Shop", environments: [{ key: "production", name: "Production", color: "ff0000" }, { key: "test", name: "Test", color: "00ff00" }] });
}, 60_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => (r.proc.exitCode === null && r.proc.signalCode === null ? r.stop("SIGKILL") : undefined)));
});

afterAll(async () => {
  await maker?.close();
  await nats?.destroy();
}, 30_000);

/**
 * Once a killed process's connections are gone from the server. Until then its last statement may
 * still end: a commit sent just before the kill is carried out after it.
 */
const disconnected = (application: string) => until(30_000, async () => (await count(sql`select count(*)::int as n from pg_stat_activity where application_name = ${application}`)) === 0);
const count = async (query: ReturnType<typeof sql>) => rowsOf<{ n: number }>(await maker.db.execute(query))[0]!.n;
/** The flag as stored (not as an instance's memory has it). */
const stored = async (key: string) => flagDocument((await maker.flags.flagInScope("shop", key, { consistent: true }))!.flag!);
const production = (flag: { environments: Record<string, unknown> }) => flag.environments.production as { on: boolean; targets: Array<{ values: string[] }> };
/** The audit entries of executions of the items of a flag, per operation. */
const executions = async (flagKey: string) =>
  rowsOf<{ operation_id: string; n: number; date: number }>(
    await maker.db.execute(sql`select operation_id, count(*)::int as n, min(date)::float8 as date from audit_log where operation_id like 'schedule:%' and spec like ${`%:flag/${flagKey}`} group by operation_id`),
  );
const itemsOf = async (flagKey: string) =>
  rowsOf<{ id: string; version: number; lease_token: string | null }>(await maker.db.execute(sql`select id, version, lease_token from scheduled_items where resource_key = ${flagKey}`));

/** A flag on, targeting `users`, each of whom expires at `due`; resolves with the flag's version after. */
async function expiringUsers(flagKey: string, users: string[], due: number): Promise<number> {
  await createFlag(maker, admin, "shop", { key: flagKey, name: flagKey });
  const variationId = (await getFlag(maker, admin, "shop", flagKey, {})).variations[0]!._id;
  await patchFlag(maker, admin, "shop", flagKey, { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }, { kind: "addTargets", variationId, values: users }] }, SEMANTIC);
  const answer = await patchFlagExpiringTargets(maker, admin, "shop", flagKey, "production", { instructions: users.map((contextKey) => ({ kind: "addExpiringTarget", variationId, contextKey, contextKind: "user", value: due })) }, SEMANTIC, false);
  expect(answer.successfulInstructions).toBe(users.length);
  return (await stored(flagKey))._version;
}

test(
  "an instance killed with SIGKILL between claiming due items and applying them: every item still applied, once",
  async () => {
    const first = await startFlags();
    // 150 expiring targets of one flag, due together: one instance claims them (a batch of 100, then
    // the rest) and applies them one after another, so its claim holds items not yet applied for a while.
    const users = Array.from({ length: 150 }, (_, i) => `user-${i}`);
    const before = await expiringUsers("crash", users, Date.now() + 1_000);
    expect((await itemsOf("crash")).length).toBe(150);

    // Killed the moment it has applied some of what it claimed and holds the rest.
    const leased = () => count(sql`select count(*)::int as n from scheduled_items where resource_key = 'crash' and lease_token is not null`);
    const applied = () => count(sql`select count(*)::int as n from audit_log where operation_id like 'schedule:%' and spec like '%:flag/crash'`);
    await until(30_000, async () => (await leased()) > 0 && (await applied()) > 0);
    first.proc.kill("SIGKILL");
    expect(await first.proc.exited).not.toBe(0);
    const killedAt = Date.now();
    await disconnected(first.application);

    // What it left: items claimed and not applied (an execution cut off in flight rolled back with its connection).
    const held = (await itemsOf("crash")).filter((i) => i.lease_token !== null);
    expect(held.length).toBeGreaterThan(0);
    const appliedBefore = await executions("crash");
    expect(appliedBefore.length).toBeGreaterThan(0);
    expect(appliedBefore.length + (await itemsOf("crash")).length).toBe(150);
    const heldOps = new Set(held.map((i) => `schedule:${i.id}:${i.version}`));
    expect(appliedBefore.filter((e) => heldOps.has(e.operation_id))).toEqual([]);

    // The next instance takes what nobody held at once, and what the dead one held once its lease ran out.
    const second = await startFlags();
    await until(DEFAULT_LEASE_MS + 30_000, async () => (await itemsOf("crash")).length === 0 && (await executions("crash")).length === 150);
    const after = await stored("crash");
    expect(after._version).toBe(before + 150);
    expect(production(after).targets).toEqual([]);
    const all = await executions("crash");
    expect(all.filter((e) => e.n !== 1)).toEqual([]);
    expect(all.length).toBe(150);
    // Each item the dead instance held was applied after its death, by the next one.
    const heldAfter = all.filter((e) => heldOps.has(e.operation_id));
    expect(heldAfter.length).toBe(heldOps.size);
    for (const e of heldAfter) expect(e.date).toBeGreaterThanOrEqual(killedAt);
    expect(await second.stop()).toBe(0);
  },
  DEFAULT_LEASE_MS + 60_000,
);

test(
  "every instance stopped across the due time: the items are applied at the next start, once, and their lateness is logged",
  async () => {
    const instances = [await startFlags(), await startFlags()];
    // Time enough to stop both instances before it.
    const due = Date.now() + 6_000;
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const expiringBefore = await expiringUsers("stopped-expiring", users, due);
    await createFlag(maker, admin, "shop", { key: "stopped-launch", name: "Launch" });
    for (const env of ["production", "test"]) await createScheduledChange(maker, admin, "shop", "stopped-launch", env, { executionDate: due, instructions: [{ kind: "turnFlagOn" }] }, false);
    const launchBefore = (await stored("stopped-launch"))._version;

    for (const instance of instances) expect(await instance.stop("SIGTERM")).toBe(0);
    const pending = async () => (await itemsOf("stopped-expiring")).length + (await itemsOf("stopped-launch")).length;
    expect(await pending()).toBe(22);

    // Past the due time with no instance running: nothing happens.
    while (Date.now() < due + 1_500) await Bun.sleep(100);
    expect(await pending()).toBe(22);
    expect([...(await executions("stopped-expiring")), ...(await executions("stopped-launch"))]).toEqual([]);

    const startedAt = Date.now();
    const next = await startFlags();
    await until(30_000, async () => (await pending()) === 0 && (await executions("stopped-expiring")).length + (await executions("stopped-launch")).length === 22);

    const expiring = await stored("stopped-expiring");
    expect(expiring._version).toBe(expiringBefore + 20);
    expect(production(expiring).targets).toEqual([]);
    const launch = await stored("stopped-launch");
    expect(launch._version).toBe(launchBefore + 2);
    expect([production(launch).on, (launch.environments.test as { on: boolean }).on]).toEqual([true, true]);
    const all = [...(await executions("stopped-expiring")), ...(await executions("stopped-launch"))];
    expect(all.length).toBe(22);
    expect(all.filter((e) => e.n !== 1)).toEqual([]);
    // Executed after the start, late by at least the time no instance ran.
    for (const e of all) expect(e.date).toBeGreaterThanOrEqual(startedAt);

    // The instance logged how late the items ran: each at least as late as the time it started past the due time.
    expect(await next.stop()).toBe(0);
    const late = (await next.stderr())
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg: string; items: number; earliestDueAt: number; maxLateMs: number })
      .filter((entry) => entry.msg === "scheduled items ran late");
    expect(late.reduce((n, entry) => n + entry.items, 0)).toBe(22);
    for (const entry of late) {
      expect(entry.earliestDueAt).toBe(due);
      expect(entry.maxLateMs).toBeGreaterThanOrEqual(startedAt - due);
    }
  },
  60_000,
);
