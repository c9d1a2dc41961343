/**
 * Expiring targets through the flags app (memory store, a clock the test moves): flags (context
 * and user forms), segments (environment last in the path), a user across flags; every instruction
 * kind, the `version` check, partial success, the targeting precondition, one date per context,
 * removal by hand, and the removal at the date as an ordinary change.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import type { FlagsContext } from "@vexil/flags/domain/context";
import { patchFlagExpiringTargets } from "@vexil/flags/domain/expiring/flag-expiring-targets";
import { patchSegmentExpiringTargets } from "@vexil/flags/domain/expiring/segment-expiring-targets";
import { executeItem } from "@vexil/flags/domain/schedules/execute";
import { createScheduler, type Scheduler } from "@vexil/flags/scheduler";
import type { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { silentLogger } from "@vexil/shared/logger";
import { memoryApp, reader, rejection, type Answer } from "../memory-context.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const T = 1_900_000_000_000;
const FLAG = "/api/v2/flags/shop/checkout";
const EXPIRING = `${FLAG}/expiring-targets/production`;
const EXPIRING_USERS = `${FLAG}/expiring-user-targets/production`;
const SEGMENT = "/api/v2/segments/shop/production/beta";
const SEGMENT_EXPIRING = "/api/v2/segments/shop/beta/expiring-targets/production";

let clock: number;
let call: (method: string, path: string, body?: unknown, contentType?: string) => Promise<Answer>;
let ctx: FlagsContext;
let store: MemoryFlagStore;
let scheduler: Scheduler;
let on: string;
let off: string;

beforeEach(async () => {
  clock = T;
  ({ call, ctx, store } = await memoryApp(() => clock));
  scheduler = createScheduler({ store: ctx.schedules, execute: (item) => executeItem(ctx, item), now: ctx.now, logger: silentLogger, loop: false });
  expect((await call("POST", "/api/v2/flags/shop", { key: "checkout", name: "Checkout" })).status).toBe(201);
  [on, off] = (await call("GET", FLAG)).body.variations.map((v: { _id: string }) => v._id);
  const targeted = await call("PATCH", FLAG, { environmentKey: "production", instructions: [{ kind: "addTargets", variationId: on, values: ["alice", "bob"] }, { kind: "addTargets", variationId: off, contextKind: "org", values: ["acme"] }] }, SEMANTIC);
  expect(targeted.status).toBe(200);
});

const patch = (path: string, ...instructions: unknown[]) => call("PATCH", path, { instructions }, SEMANTIC);
const add = (contextKey: string, value: number, variationId = on, contextKind = "user") => ({ kind: "addExpiringTarget", variationId, contextKey, contextKind, value });
const production = async () => (await call("GET", FLAG)).body.environments.production;

describe("a flag's expiring targets", () => {
  test("added for a targeted context: LaunchDarkly's representation, in GET and in the PATCH envelope; only the flag's version moves", async () => {
    const before = (await call("GET", FLAG)).body;
    const answer = await patch(EXPIRING, add("alice", T + 1_000), add("acme", T + 2_000, off, "org"));
    expect(answer.status).toBe(200);
    const [alice, acme] = answer.body.items;
    const resource = { environmentKey: "production", key: "checkout", kind: "flag", projectKey: "shop", flagKey: "checkout" };
    expect(answer.body).toEqual({
      items: [
        { _id: alice._id, _version: 1, expirationDate: T + 1_000, contextKind: "user", contextKey: "alice", variationId: on, _resourceId: resource },
        { _id: acme._id, _version: 1, expirationDate: T + 2_000, contextKind: "org", contextKey: "acme", variationId: off, _resourceId: resource },
      ],
      _links: { self: { href: EXPIRING, type: "application/json" } },
      totalInstructions: 2,
      successfulInstructions: 2,
      failedInstructions: 0,
      errors: [],
    });
    expect((await call("GET", EXPIRING)).body).toEqual({ items: answer.body.items, _links: answer.body._links });
    // The legacy form lists user contexts only, by user key.
    expect((await call("GET", EXPIRING_USERS)).body).toEqual({
      items: [{ _id: alice._id, _version: 1, expirationDate: T + 1_000, userKey: "alice", variationId: on, _resourceId: resource }],
      _links: { self: { href: EXPIRING_USERS, type: "application/json" } },
    });
    const after = (await call("GET", FLAG)).body;
    expect(after._version).toBe(before._version + 1);
    expect(after.environments).toEqual(before.environments);
    expect(store.audit.at(-1)).toMatchObject({ title: 'token "admin" updated the expiring targets of the flag Checkout', accesses: [{ action: "updateExpiringTargets", resource: "proj/shop:env/production:flag/checkout" }] });
  });

  test("partial success: each instruction stands or fails alone, with its index", async () => {
    const first = (await patch(EXPIRING, add("alice", T + 1_000))).body.items[0];
    const answer = await patch(
      EXPIRING,
      add("bob", T + 5_000),
      add("carol", T + 5_000),
      add("alice", T + 9_000),
      add("acme", T - 1, off, "org"),
      add("bob", T + 5_000, off),
      { kind: "updateExpiringTarget", variationId: on, contextKey: "alice", contextKind: "user", value: T + 7_000, version: 2 },
      { kind: "updateExpiringTarget", variationId: on, contextKey: "alice", contextKind: "user", value: T + 8_000, version: 1 },
      { kind: "updateExpiringTarget", variationId: off, contextKey: "bob", contextKind: "user", value: T + 8_000 },
      { kind: "removeExpiringTarget", variationId: on, contextKey: "dave", contextKind: "user" },
      { kind: "addExpiringTarget", variationId: "nope", contextKey: "alice", value: T + 1 },
      { kind: "addExpiringTarget", variationId: on, value: T + 1 },
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ totalInstructions: 11, successfulInstructions: 2, failedInstructions: 9 });
    expect(answer.body.errors).toEqual([
      { instructionIndex: 1, message: `addExpiringTarget: user "carol" is not individually targeted by variation "${on}"; target it first` },
      { instructionIndex: 2, message: `addExpiringTarget: user "alice" already has a removal date (${new Date(T + 1_000).toISOString()}); update it instead` },
      { instructionIndex: 3, message: `addExpiringTarget: value ${T - 1} is not in the future` },
      { instructionIndex: 4, message: `addExpiringTarget: user "bob" is not individually targeted by variation "${off}"; target it first` },
      { instructionIndex: 5, message: "updateExpiringTarget: version 2 is not the expiring target's version, 1" },
      { instructionIndex: 7, message: `updateExpiringTarget: user "bob" is to be removed from variation "${on}", not "${off}"` },
      { instructionIndex: 8, message: 'removeExpiringTarget: user "dave" has no removal date' },
      { instructionIndex: 9, message: 'addExpiringTarget: unknown variation "nope"' },
      { instructionIndex: 10, message: "addExpiringTarget: contextKey must be a non-empty string" },
    ]);
    expect(answer.body.items.map((i: { contextKey: string; expirationDate: number; _version: number }) => [i.contextKey, i.expirationDate, i._version])).toEqual([
      ["bob", T + 5_000, 1],
      ["alice", T + 8_000, 2],
    ]);
    expect(answer.body.items[1]._id).toBe(first._id);
    // A key too long to index is refused (the index of one date per context bounds it).
    const long = "k".repeat(1_025);
    expect((await call("PATCH", FLAG, { environmentKey: "production", instructions: [{ kind: "addTargets", variationId: on, values: [long] }] }, SEMANTIC)).status).toBe(200);
    expect((await patch(EXPIRING, add(long, T + 1))).body.errors).toEqual([{ instructionIndex: 0, message: "addExpiringTarget: the context key is over 1024 bytes" }]);
    // A request whose instructions all fail changes nothing.
    const version = (await call("GET", FLAG)).body._version;
    const failing = await patch(EXPIRING, add("carol", T + 1));
    expect(failing.status).toBe(200);
    expect(failing.body.failedInstructions).toBe(1);
    expect((await call("GET", FLAG)).body._version).toBe(version);
  });

  test("remove cancels the date and leaves the target; removing the target by hand removes its date; the legacy kinds", async () => {
    await patch(EXPIRING, add("alice", T + 1_000), add("bob", T + 1_000));
    const removed = await patch(EXPIRING, { kind: "removeExpiringTarget", variationId: on, contextKey: "alice", contextKind: "user" });
    expect(removed.body.items.map((i: { contextKey: string }) => i.contextKey)).toEqual(["bob"]);
    expect((await production()).targets[0].values).toEqual(["alice", "bob"]);
    expect((await call("PATCH", FLAG, { environmentKey: "production", instructions: [{ kind: "removeTargets", variationId: on, values: ["bob"] }] }, SEMANTIC)).status).toBe(200);
    expect((await call("GET", EXPIRING)).body.items).toEqual([]);

    const legacy = await patch(EXPIRING_USERS, { kind: "addExpireUserTargetDate", variationId: on, userKey: "alice", value: T + 3_000 });
    expect(legacy.body).toMatchObject({ successfulInstructions: 1, items: [{ userKey: "alice", expirationDate: T + 3_000, variationId: on }] });
    const updated = await patch(EXPIRING_USERS, { kind: "updateExpireUserTargetDate", variationId: on, userKey: "alice", value: T + 4_000, version: 1 });
    expect(updated.body.items).toMatchObject([{ userKey: "alice", expirationDate: T + 4_000, _version: 2 }]);
    expect((await patch(EXPIRING_USERS, { kind: "removeExpireUserTargetDate", variationId: on, userKey: "alice" })).body.items).toEqual([]);
    // A JSON Patch that drops the target takes its date along too.
    await patch(EXPIRING, add("alice", T + 1_000));
    expect((await call("PATCH", FLAG, [{ op: "replace", path: "/environments/production/targets", value: [] }])).status).toBe(200);
    expect((await call("GET", EXPIRING)).body.items).toEqual([]);
  });

  test("malformed requests are 400s that change nothing; unknown flag, environment or project are 404s", async () => {
    const version = (await call("GET", FLAG)).body._version;
    const refusals: Array<[unknown, string]> = [
      [{ instructions: [add("alice", T + 1)] }, "application/json"],
      [{ instructions: [] }, SEMANTIC],
      [{ instructions: "add" }, SEMANTIC],
      [{ instructions: [add("alice", T + 1), { kind: "addTargets", variationId: on, values: ["x"] }] }, SEMANTIC],
      [{ instructions: [add("alice", T + 1), "addExpiringTarget"] }, SEMANTIC],
      [{ instructions: Array.from({ length: 1_001 }, () => add("alice", T + 1)) }, SEMANTIC],
      [[{ op: "add", path: "/x", value: 1 }], "application/json"],
    ];
    for (const [body, type] of refusals) {
      const answer = await call("PATCH", EXPIRING, body, type);
      expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 400, code: "invalid_request" });
    }
    expect((await call("GET", EXPIRING)).body.items).toEqual([]);
    expect((await call("GET", FLAG)).body._version).toBe(version);
    for (const path of [`${FLAG}/expiring-targets/nope`, "/api/v2/flags/shop/nope/expiring-targets/production", "/api/v2/flags/nope/checkout/expiring-targets/production"]) {
      expect((await call("GET", path)).status).toBe(404);
      expect((await patch(path, add("alice", T + 1))).status).toBe(404);
    }
  });

  test("a reader may read and not change them; an environment that requires comments requires one", async () => {
    expect((await rejection(patchFlagExpiringTargets(ctx, reader, "shop", "checkout", "production", { instructions: [add("alice", T + 1)] }, SEMANTIC, false))).status).toBe(403);
    expect((await call("PATCH", "/api/v2/projects/shop/environments/production", [{ op: "replace", path: "/requireComments", value: true }])).status).toBe(200);
    expect((await patch(EXPIRING, add("alice", T + 1))).status).toBe(400);
    expect((await call("PATCH", EXPIRING, { comment: "trial ends", instructions: [add("alice", T + 1)] }, SEMANTIC)).status).toBe(200);
  });

  test("at its date the context is removed, as an ordinary change of the targeting, and the record goes", async () => {
    await patch(EXPIRING, add("alice", T + 1_000), add("acme", T + 2_000, off, "org"));
    const before = await production();
    clock = T + 1_000;
    expect(await scheduler.runDue()).toBe(1);
    const after = await production();
    expect(after.targets).toEqual([{ contextKind: "user", values: ["bob"], variation: 0 }]);
    expect(after.version).toBe(before.version + 1);
    expect(store.outbox.at(-1)).toMatchObject({ kind: "flag", key: "checkout", version: after.version });
    expect((await call("GET", EXPIRING)).body.items.map((i: { contextKey: string }) => i.contextKey)).toEqual(["acme"]);
    clock = T + 2_000;
    expect(await scheduler.runDue()).toBe(1);
    expect((await production()).contextTargets).toEqual([]);
    expect((await call("GET", EXPIRING)).body.items).toEqual([]);
  });
});

describe("a segment's expiring targets", () => {
  beforeEach(async () => {
    expect((await call("POST", "/api/v2/segments/shop/production", { key: "beta", name: "Beta" })).status).toBe(201);
    const filled = await call("PATCH", SEGMENT, { environmentKey: "production", instructions: [{ kind: "addIncludedUsers", values: ["alice"] }, { kind: "addExcludedTargets", contextKind: "org", values: ["rival"] }] }, SEMANTIC);
    expect(filled.status).toBe(200);
  });

  test("the environment last in the path; the list the context is in; removed at the date", async () => {
    const answer = await patch(
      SEGMENT_EXPIRING,
      { kind: "addExpiringTarget", targetType: "included", contextKey: "alice", contextKind: "user", value: T + 10 },
      { kind: "addExpiringTarget", targetType: "excluded", contextKey: "alice", contextKind: "user", value: T + 10 },
      { kind: "addExpiringTarget", targetType: "excluded", contextKey: "rival", contextKind: "org", value: T + 20 },
      { kind: "addExpiringTarget", targetType: "sideways", contextKey: "rival", contextKind: "org", value: T + 20 },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toEqual([
      { instructionIndex: 1, message: `addExpiringTarget: user "alice" is not in the segment's excluded list; add it first` },
      { instructionIndex: 3, message: 'addExpiringTarget: targetType must be "included" or "excluded"' },
    ]);
    const resource = { environmentKey: "production", key: "beta", kind: "segment", projectKey: "shop" };
    expect(answer.body.items).toEqual([
      { _id: expect.any(String), _version: 1, expirationDate: T + 10, contextKind: "user", contextKey: "alice", targetType: "included", _resourceId: resource },
      { _id: expect.any(String), _version: 1, expirationDate: T + 20, contextKind: "org", contextKey: "rival", targetType: "excluded", _resourceId: resource },
    ]);
    const users = await call("GET", "/api/v2/segments/shop/beta/expiring-user-targets/production");
    expect(users.body.items).toEqual([{ _id: answer.body.items[0]._id, _version: 1, expirationDate: T + 10, userKey: "alice", targetType: "included", _resourceId: resource }]);
    const legacy = await patch("/api/v2/segments/shop/beta/expiring-user-targets/production", { kind: "updateExpireUserTargetDate", targetType: "included", userKey: "alice", value: T + 15, version: 1 });
    expect(legacy.body.items).toMatchObject([{ userKey: "alice", expirationDate: T + 15, _version: 2 }]);

    const version = (await call("GET", SEGMENT)).body.version;
    clock = T + 15;
    expect(await scheduler.runDue()).toBe(1);
    const segment = (await call("GET", SEGMENT)).body;
    expect(segment.included).toEqual([]);
    expect(segment.version).toBe(version + 1);
    // Taking the other context off by hand takes its date along.
    expect((await call("PATCH", SEGMENT, { environmentKey: "production", instructions: [{ kind: "removeExcludedTargets", contextKind: "org", values: ["rival"] }] }, SEMANTIC)).status).toBe(200);
    expect((await call("GET", SEGMENT_EXPIRING)).body.items).toEqual([]);
  });

  test("refusals: a reader, unknown segment or environment, a patch that is not semantic; other methods are 405", async () => {
    expect((await rejection(patchSegmentExpiringTargets(ctx, reader, "shop", "beta", "production", { instructions: [{ kind: "removeExpiringTarget", targetType: "included", contextKey: "alice" }] }, SEMANTIC, false))).status).toBe(403);
    expect((await call("GET", "/api/v2/segments/shop/nope/expiring-targets/production")).status).toBe(404);
    expect((await call("GET", "/api/v2/segments/shop/beta/expiring-targets/nope")).status).toBe(404);
    expect((await call("PATCH", SEGMENT_EXPIRING, { instructions: [] }, "application/json")).status).toBe(400);
    expect((await call("DELETE", SEGMENT_EXPIRING)).status).toBe(405);
    // The segment routes that share the path's shape still answer as before.
    expect((await call("GET", SEGMENT)).status).toBe(200);
  });
});

describe("a user's removal dates across flags", () => {
  test("listed and changed per flag; an instruction for a flag that is not there fails alone", async () => {
    expect((await call("POST", "/api/v2/flags/shop", { key: "search", name: "Search" })).status).toBe(201);
    const searchOn = (await call("GET", "/api/v2/flags/shop/search")).body.variations[0]._id;
    await call("PATCH", "/api/v2/flags/shop/search", { environmentKey: "production", instructions: [{ kind: "addTargets", variationId: searchOn, values: ["alice"] }] }, SEMANTIC);
    const USER = "/api/v2/users/shop/alice/expiring-user-targets/production";
    const answer = await patch(
      USER,
      { kind: "addExpireUserTargetDate", flagKey: "checkout", variationId: on, value: T + 100 },
      { kind: "addExpireUserTargetDate", flagKey: "nope", variationId: on, value: T + 100 },
      { kind: "addExpireUserTargetDate", flagKey: "search", variationId: searchOn, value: T + 200 },
      { kind: "addExpireUserTargetDate", flagKey: "search", variationId: off, value: T + 200 },
      { kind: "addExpireUserTargetDate", variationId: on, value: T + 100 },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.errors.map((e: { instructionIndex: number }) => e.instructionIndex)).toEqual([1, 3, 4]);
    expect(answer.body.errors[0].message).toBe('addExpireUserTargetDate: Flag "nope" in project "shop" not found');
    expect(answer.body.items.map((i: { _resourceId: { key: string }; userKey: string }) => [i._resourceId.key, i.userKey])).toEqual([
      ["checkout", "alice"],
      ["search", "alice"],
    ]);
    expect((await call("GET", USER)).body.items).toEqual(answer.body.items);
    expect((await call("GET", `${FLAG}/expiring-targets/production`)).body.items.map((i: { contextKey: string }) => i.contextKey)).toEqual(["alice"]);
    const removed = await patch(USER, { kind: "removeExpireUserTargetDate", flagKey: "search", variationId: searchOn });
    expect(removed.body.items.map((i: { _resourceId: { key: string } }) => i._resourceId.key)).toEqual(["checkout"]);
    expect((await call("GET", "/api/v2/users/shop/alice/expiring-user-targets/nope")).status).toBe(404);
    expect((await patch(USER, { kind: "addExpiringTarget", flagKey: "checkout" })).status).toBe(400);
  });
});
