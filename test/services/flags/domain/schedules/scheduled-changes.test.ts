/**
 * Scheduled flag changes through the flags app (memory store, a clock the test moves): the
 * representation, checks at creation and edit against the flag as it is, conflicts and
 * `ignoreConflicts`, the semantic patch of a change, permissions, and what the execution does to
 * the change (gone when applied, `_failure` when it could not apply).
 */
import { beforeEach, describe, expect, test } from "bun:test";
import type { Caller } from "@vexil/shared/caller";
import type { FlagsContext } from "@vexil/flags/domain/context";
import { executeItem } from "@vexil/flags/domain/schedules/execute";
import { createScheduledChange, deleteScheduledChange, patchScheduledChange } from "@vexil/flags/domain/schedules/scheduled-changes";
import { createScheduler, type Scheduler } from "@vexil/flags/scheduler";
import type { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { silentLogger } from "@vexil/shared/logger";
import { admin, memoryApp, reader, rejection, type Answer } from "../memory-context.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const T = 1_900_000_000_000;
const FLAG = "/api/v2/flags/shop/checkout";
const CHANGES = "/api/v2/projects/shop/flags/checkout/environments/production/scheduled-changes";

let clock: number;
let call: (method: string, path: string, body?: unknown, contentType?: string) => Promise<Answer>;
let ctx: FlagsContext;
let store: MemoryFlagStore;
let scheduler: Scheduler;
let variations: string[];

beforeEach(async () => {
  clock = T;
  ({ call, ctx, store } = await memoryApp(() => clock));
  scheduler = createScheduler({ store: ctx.schedules, execute: (item) => executeItem(ctx, item), now: ctx.now, logger: silentLogger, loop: false });
  expect((await call("POST", "/api/v2/flags/shop", { key: "checkout", name: "Checkout" })).status).toBe(201);
  variations = (await call("GET", FLAG)).body.variations.map((v: { _id: string }) => v._id);
});

const schedule = (body: unknown, query = "") => call("POST", `${CHANGES}${query}`, body);
const production = async () => (await call("GET", FLAG)).body.environments.production;

describe("creating and reading", () => {
  test("a scheduled change as LaunchDarkly represents it; the flag's version moves, its environments' do not", async () => {
    const before = (await call("GET", FLAG)).body;
    const created = await schedule({ comment: "launch", executionDate: T + 60_000, instructions: [{ kind: "turnFlagOn" }] });
    expect(created.status).toBe(201);
    const id = created.body._id;
    expect(created.body).toEqual({
      _id: id,
      _creationDate: T,
      _maintainerId: "t-admin",
      _version: 1,
      executionDate: T + 60_000,
      instructions: [{ kind: "turnFlagOn" }],
      _links: { self: { href: `${CHANGES}/${id}`, type: "application/json" }, parent: { href: CHANGES, type: "application/json" } },
    });
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect((await call("GET", `${CHANGES}/${id}`)).body).toEqual(created.body);
    expect((await call("GET", CHANGES)).body).toEqual({ items: [created.body], _links: { self: { href: CHANGES, type: "application/json" } } });
    const after = (await call("GET", FLAG)).body;
    expect(after._version).toBe(before._version + 1);
    expect(after.environments.production).toEqual(before.environments.production);
    expect(store.outbox.length).toBe(2);
    const entry = store.audit.at(-1)!;
    expect(entry).toMatchObject({ title: 'token "admin" scheduled a change to the flag Checkout', comment: "launch", accesses: [{ action: "createScheduledChanges", resource: "proj/shop:env/production:flag/checkout" }] });
  });

  test("not found: the project, flag, environment or change; another environment's change", async () => {
    const id = (await schedule({ executionDate: T + 1, instructions: [{ kind: "turnFlagOn" }] })).body._id;
    for (const path of [
      "/api/v2/projects/nope/flags/checkout/environments/production/scheduled-changes",
      "/api/v2/projects/shop/flags/nope/environments/production/scheduled-changes",
      "/api/v2/projects/shop/flags/checkout/environments/nope/scheduled-changes",
      `${CHANGES}/nope`,
      `/api/v2/projects/shop/flags/checkout/environments/test/scheduled-changes/${id}`,
    ]) {
      expect({ path, status: (await call("GET", path)).status }).toEqual({ path, status: 404 });
    }
    expect((await call("POST", "/api/v2/projects/shop/flags/checkout/environments/nope/scheduled-changes", { executionDate: T + 1, instructions: [{ kind: "turnFlagOn" }] })).status).toBe(404);
  });

  test("bad input: a clear 400 and nothing stored", async () => {
    const many = (n: number) => Array.from({ length: n }, () => ({ kind: "turnFlagOn" }));
    const cases: Array<[unknown, string]> = [
      [{ executionDate: T, instructions: [{ kind: "turnFlagOn" }] }, "is not in the future"],
      [{ executionDate: T - 1, instructions: [{ kind: "turnFlagOn" }] }, "is not in the future"],
      [{ executionDate: T + 1, instructions: [{ kind: "addTargets", variationId: "no-such-variation", values: ["a"] }] }, 'instruction 0 (addTargets): unknown variation "no-such-variation"'],
      [{ executionDate: T + 1, instructions: [{ kind: "turnFlagOn" }, { kind: "explodeFlag" }] }, "instruction 1 (explodeFlag): unknown instruction kind"],
      [{ executionDate: T + 1, instructions: [{ kind: "removeRule" }] }, "instruction 0 (removeRule): ruleId must be a non-empty string"],
      [{ executionDate: T + 1, instructions: many(101) }, "instructions"],
      [{ executionDate: T + 1, instructions: many(10_000) }, "instructions"],
      [{ executionDate: T + 1, instructions: [] }, "instructions"],
      [{ executionDate: T + 1.5, instructions: [{ kind: "turnFlagOn" }] }, "executionDate"],
      [{ executionDate: "tomorrow", instructions: [{ kind: "turnFlagOn" }] }, "executionDate"],
      [{ instructions: [{ kind: "turnFlagOn" }] }, "executionDate"],
      [{ executionDate: T + 1, instructions: [{ kind: "turnFlagOn" }], extra: 1 }, "extra"],
      [{ executionDate: T + 1, instructions: ["turnFlagOn"] }, "instructions"],
    ];
    const proto = await call("POST", CHANGES, JSON.parse(`{"executionDate": ${T + 1}, "instructions": [{"kind": "turnFlagOn", "__proto__": {"x": 1}}]}`));
    expect({ status: proto.status, code: proto.body.code }).toEqual({ status: 400, code: "invalid_request" });
    const flagBefore = (await call("GET", FLAG)).body;
    for (const [body, says] of cases) {
      const answer = await schedule(body);
      expect({ body: JSON.stringify(body).slice(0, 80), status: answer.status, code: answer.body.code }).toEqual({ body: JSON.stringify(body).slice(0, 80), status: 400, code: "invalid_request" });
      expect(answer.body.message).toContain(says);
    }
    expect((await schedule({ executionDate: T + 1, instructions: [{ kind: "turnFlagOn" }] }, "?ignoreConflicts=maybe")).status).toBe(400);
    expect((await call("GET", CHANGES)).body.items).toEqual([]);
    expect((await call("GET", FLAG)).body).toEqual(flagBefore);
  });

  test("an environment that requires comments requires one on a scheduled change", async () => {
    expect((await call("PATCH", "/api/v2/projects/shop/environments/production", [{ op: "replace", path: "/requireComments", value: true }])).status).toBe(200);
    const refused = await schedule({ executionDate: T + 1, instructions: [{ kind: "turnFlagOn" }] });
    expect({ status: refused.status, message: refused.body.message }).toEqual({ status: 400, message: 'The environment "production" requires a comment on every change' });
    expect((await schedule({ executionDate: T + 1, instructions: [{ kind: "turnFlagOn" }], comment: "go" })).status).toBe(201);
  });
});

describe("conflicts", () => {
  test("the same kind on the same thing is refused, naming the other change, unless ignoreConflicts; other things are not conflicts", async () => {
    const first = (await schedule({ executionDate: T + 10, instructions: [{ kind: "turnFlagOn" }, { kind: "addTargets", variationId: variations[0], values: ["alice", "bob"] }] })).body;
    expect((await schedule({ executionDate: T + 20, instructions: [{ kind: "turnFlagOff" }] })).status).toBe(201);
    expect((await schedule({ executionDate: T + 20, instructions: [{ kind: "addTargets", variationId: variations[0], values: ["carol"] }] })).status).toBe(201);
    expect((await call("POST", "/api/v2/projects/shop/flags/checkout/environments/test/scheduled-changes", { executionDate: T + 20, instructions: [{ kind: "turnFlagOn" }] })).status).toBe(201);

    const refused = await schedule({ executionDate: T + 30, instructions: [{ kind: "updateOffVariation", variationId: variations[0] }, { kind: "addTargets", variationId: variations[0], values: ["bob"] }] });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("invalid_request");
    expect(refused.body.message).toContain(`scheduled change ${first._id}: instruction 1 (addTargets) changes what its instruction 1 changes`);
    expect(refused.body.message).toContain("ignoreConflicts=true");
    expect((await call("GET", CHANGES)).body.items.length).toBe(3);

    const kept = await schedule({ executionDate: T + 30, instructions: [{ kind: "turnFlagOn" }] }, "?ignoreConflicts=true");
    expect(kept.status).toBe(201);
    expect(kept.body.conflicts).toEqual([{ _id: first._id, reason: `instruction 0 (turnFlagOn) changes what its instruction 0 changes, at ${new Date(T + 10).toISOString()}` }]);
    expect((await call("GET", `${CHANGES}/${kept.body._id}`)).body.conflicts).toEqual(kept.body.conflicts);
  });
});

describe("editing and deleting", () => {
  test("a new date and new instructions make a new version; a delete instruction or DELETE removes it", async () => {
    const id = (await schedule({ executionDate: T + 10, instructions: [{ kind: "turnFlagOn" }] })).body._id;
    const edited = await call("PATCH", `${CHANGES}/${id}`, { instructions: [{ kind: "updateScheduledChangesExecutionDate", value: T + 500 }, { kind: "replaceScheduledChangesInstructions", value: [{ kind: "turnFlagOff" }] }] }, SEMANTIC);
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ _id: id, _version: 2, executionDate: T + 500, instructions: [{ kind: "turnFlagOff" }] });
    expect(store.audit.at(-1)!.accesses).toEqual([{ action: "updateScheduledChanges", resource: "proj/shop:env/production:flag/checkout" }]);

    const refusals: Array<[unknown, string | null]> = [
      [{ instructions: [{ kind: "updateScheduledChangesExecutionDate", value: T - 1 }] }, SEMANTIC],
      [{ instructions: [{ kind: "replaceScheduledChangesInstructions", value: [{ kind: "removeVariation", variationId: "nope" }] }] }, SEMANTIC],
      [{ instructions: [{ kind: "replaceScheduledChangesInstructions", value: [] }] }, SEMANTIC],
      [{ instructions: [{ kind: "updateScheduledChangesExecutionDate", value: "soon" }] }, SEMANTIC],
      [{ instructions: [{ kind: "reticulateSplines" }] }, SEMANTIC],
      [{ instructions: [] }, SEMANTIC],
      [{ instructions: [{ kind: "deleteScheduledChange" }] }, "application/json"],
    ];
    for (const [body, type] of refusals) {
      const answer = await call("PATCH", `${CHANGES}/${id}`, body, type ?? undefined);
      expect({ body, status: answer.status, code: answer.body.code }).toEqual({ body, status: 400, code: "invalid_request" });
    }
    expect((await call("GET", `${CHANGES}/${id}`)).body).toEqual(edited.body);
    expect((await call("PATCH", `${CHANGES}/nope`, { instructions: [{ kind: "deleteScheduledChange" }] }, SEMANTIC)).status).toBe(404);

    const deleted = await call("PATCH", `${CHANGES}/${id}`, { instructions: [{ kind: "deleteScheduledChange" }] }, SEMANTIC);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual(edited.body);
    expect((await call("GET", `${CHANGES}/${id}`)).status).toBe(404);

    const other = (await schedule({ executionDate: T + 10, instructions: [{ kind: "turnFlagOn" }] })).body._id;
    expect((await call("DELETE", `${CHANGES}/${other}`)).status).toBe(204);
    expect((await call("DELETE", `${CHANGES}/${other}`)).status).toBe(404);
    expect((await call("GET", CHANGES)).body.items).toEqual([]);
  });

  test("an edit is checked for conflicts too, not against itself", async () => {
    const a = (await schedule({ executionDate: T + 10, instructions: [{ kind: "turnFlagOn" }] })).body._id;
    const b = (await schedule({ executionDate: T + 20, instructions: [{ kind: "turnFlagOff" }] })).body._id;
    expect((await call("PATCH", `${CHANGES}/${a}`, { instructions: [{ kind: "updateScheduledChangesExecutionDate", value: T + 15 }] }, SEMANTIC)).status).toBe(200);
    const turnOff = { instructions: [{ kind: "replaceScheduledChangesInstructions", value: [{ kind: "turnFlagOff" }] }] };
    const refused = await call("PATCH", `${CHANGES}/${a}`, turnOff, SEMANTIC);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toContain(`scheduled change ${b}`);
    const kept = await call("PATCH", `/api/v2/projects/shop/flags/checkout/environments/production/scheduled-changes/${a}?ignoreConflicts=true`, turnOff, SEMANTIC);
    expect(kept.status).toBe(200);
    expect(kept.body.conflicts.map((c: { _id: string }) => c._id)).toEqual([b]);
  });
});

describe("permissions", () => {
  const only = (actions: string[]): Caller => ({ ...admin, tokenId: "t-limited", tokenName: "limited", grants: [{ base: "reader", statements: [{ effect: "allow", resources: ["proj/*:env/production:flag/*"], actions }] }] });
  const post = { executionDate: T + 10, instructions: [{ kind: "turnFlagOn" }] };

  test("a reader reads and cannot schedule, edit or delete; scheduling takes its action and the instructions' actions", async () => {
    const id = (await schedule(post)).body._id;
    for (const work of [
      createScheduledChange(ctx, reader, "shop", "checkout", "production", post, true),
      patchScheduledChange(ctx, reader, "shop", "checkout", "production", id, { instructions: [{ kind: "deleteScheduledChange" }] }, SEMANTIC, false),
      deleteScheduledChange(ctx, reader, "shop", "checkout", "production", id),
      createScheduledChange(ctx, only(["createScheduledChanges"]), "shop", "checkout", "production", post, true),
      createScheduledChange(ctx, only(["updateOn"]), "shop", "checkout", "production", post, true),
      patchScheduledChange(ctx, only(["updateScheduledChanges"]), "shop", "checkout", "production", id, { instructions: [{ kind: "deleteScheduledChange" }] }, SEMANTIC, false),
    ]) {
      expect((await rejection(work)).status).toBe(403);
    }
    const created = await createScheduledChange(ctx, only(["createScheduledChanges", "updateOn"]), "shop", "checkout", "production", post, true);
    expect(created._maintainerId).toBe("t-limited");
    await patchScheduledChange(ctx, only(["deleteScheduledChanges"]), "shop", "checkout", "production", id, { instructions: [{ kind: "deleteScheduledChange" }] }, SEMANTIC, false);
    await deleteScheduledChange(ctx, only(["deleteScheduledChanges"]), "shop", "checkout", "production", created._id);
    expect((await call("GET", CHANGES)).body.items).toEqual([]);
  });
});

describe("execution", () => {
  test("at its time the change is made and the scheduled change is gone; one that no longer applies stays with _failure", async () => {
    const on = (await schedule({ executionDate: T + 10, instructions: [{ kind: "turnFlagOn" }] })).body;
    const added = await call("PATCH", FLAG, { environmentKey: "production", instructions: [{ kind: "addRule", variationId: variations[0], clauses: [{ attribute: "country", op: "in", values: ["NZ"] }] }] }, SEMANTIC);
    const ruleId = added.body.environments.production.rules[0]._id;
    const describe = (await schedule({ executionDate: T + 20, instructions: [{ kind: "updateRuleDescription", ruleId, description: "Kiwis" }] })).body;
    expect((await call("PATCH", FLAG, { environmentKey: "production", instructions: [{ kind: "removeRule", ruleId }] }, SEMANTIC)).status).toBe(200);

    clock = T + 10;
    expect(await scheduler.runDue()).toBe(1);
    expect((await production()).on).toBe(true);
    expect((await call("GET", `${CHANGES}/${on._id}`)).status).toBe(404);

    clock = T + 25;
    expect(await scheduler.runDue()).toBe(1);
    const failed = (await call("GET", `${CHANGES}/${describe._id}`)).body;
    expect(failed._failure).toEqual({ date: T + 25, reason: `instruction 0 (updateRuleDescription): unknown rule "${ruleId}"` });
    expect((await call("GET", CHANGES)).body.items).toEqual([failed]);
    const entry = store.audit.at(-1)!;
    expect(entry.title).toBe(`Scheduled change ${describe._id} of token "admin" could not be applied to the flag Checkout`);
    expect(entry.description).toBe(failed._failure.reason);

    // Edited with a new date and instructions the flag takes, it is pending again and runs.
    const fixed = await call("PATCH", `${CHANGES}/${describe._id}`, { instructions: [{ kind: "updateScheduledChangesExecutionDate", value: T + 100 }, { kind: "replaceScheduledChangesInstructions", value: [{ kind: "turnFlagOff" }] }] }, SEMANTIC);
    expect(fixed.status).toBe(200);
    expect(fixed.body._failure).toBeUndefined();
    clock = T + 100;
    expect(await scheduler.runDue()).toBe(1);
    expect((await production()).on).toBe(false);
    expect((await call("GET", CHANGES)).body.items).toEqual([]);
  });
});
