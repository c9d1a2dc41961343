/**
 * Ids through every flag write path of the app (memory store): what clients send without ids —
 * LaunchDarkly's documented JSON Patch, Terraform's whole-`rules` replace, merge patches, semantic
 * patches, a copy, a clone — is stored with an id on every variation, rule and clause, and SDKs get
 * the rule ids; a duplicate id is a 400 that changes nothing.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import type { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { memoryApp, type Answer } from "../memory-context.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const FLAG = "/api/v2/flags/shop/checkout";

/** LaunchDarkly's documented JSON Patch for adding a rule: no ids, no trackEvents, no negate. */
const DOCUMENTED_ADD_RULE = [
  { op: "add", path: "/environments/production/rules/0", value: { clauses: [{ attribute: "email", op: "endsWith", values: ["@example.com"] }], variation: 0 } },
];

/** Rules as LaunchDarkly's Terraform provider sends them: description, variation or rollout, clauses; no ids. */
const TERRAFORM_RULES = [
  { description: "Staff", variation: 0, clauses: [{ attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }] },
  {
    description: "Half of Europe",
    rollout: { variations: [{ variation: 0, weight: 50_000 }, { variation: 1, weight: 50_000 }], bucketBy: "key" },
    clauses: [
      { attribute: "country", op: "in", values: ["SE", "NO"], negate: false },
      { attribute: "plan", op: "in", values: ["pro"], negate: true },
    ],
  },
];

let call: (method: string, path: string, body?: unknown, contentType?: string) => Promise<Answer>;
let store: MemoryFlagStore;

beforeEach(async () => {
  ({ call, store } = await memoryApp());
  expect((await call("POST", "/api/v2/flags/shop", { key: "checkout", name: "Checkout" })).status).toBe(201);
});

interface Rule {
  _id: string;
  trackEvents: boolean;
  clauses: Array<{ _id: string; negate: boolean }>;
}

/** Every rule and clause of the environment has a UUID (or the given id), unique among its kind. */
function expectIds(rules: Rule[], given: string[] = []) {
  const ruleIds = rules.map((r) => r._id);
  for (const id of ruleIds) if (!given.includes(id)) expect(id).toMatch(UUID);
  expect(new Set(ruleIds).size).toBe(rules.length);
  for (const r of rules) {
    expect(typeof r.trackEvents).toBe("boolean");
    const clauseIds = r.clauses.map((c) => c._id);
    for (const id of clauseIds) if (!given.includes(id)) expect(id).toMatch(UUID);
    expect(new Set(clauseIds).size).toBe(r.clauses.length);
    for (const c of r.clauses) expect(typeof c.negate).toBe("boolean");
  }
}

const rulesOf = async (env = "production", key = "checkout"): Promise<Rule[]> => (await call("GET", `/api/v2/flags/shop/${key}`)).body.environments[env].rules;

/** The rules SDKs were last sent for the flag in the environment (the change event's SDK data). */
async function sdkRules(env = "production", key = "checkout"): Promise<Array<{ id: string; [field: string]: unknown }>> {
  const environmentId = (await call("GET", `/api/v2/projects/shop/environments/${env}`)).body._id;
  const event = store.outbox.findLast((e) => e.environmentId === environmentId && e.kind === "flag" && e.key === key);
  return (event!.data as { rules: Array<{ id: string; [field: string]: unknown }> }).rules;
}

/** What a refused write must leave alone: the flag, the audit log, the outbox. */
async function unchanged<T>(work: () => Promise<T>): Promise<T> {
  const before = { flag: (await call("GET", FLAG)).body, audit: store.audit.length, outbox: store.outbox.length };
  const result = await work();
  expect({ flag: (await call("GET", FLAG)).body, audit: store.audit.length, outbox: store.outbox.length }).toEqual(before);
  return result;
}

async function refused(body: unknown, contentType: string, message: string) {
  const answer = await unchanged(() => call("PATCH", FLAG, body, contentType));
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({ code: "invalid_request", message });
  expect(typeof answer.body.id).toBe("string");
}

describe("create", () => {
  test("variations without _id, with an empty one, or with one given: ids assigned, the given one kept", async () => {
    const created = await call("POST", "/api/v2/flags/shop", { key: "colours", name: "Colours", variations: [{ value: "red" }, { _id: "", value: "green" }, { _id: "blue-id", value: "blue" }] });
    expect(created.status).toBe(201);
    const [red, green, blue] = created.body.variations.map((v: { _id: string }) => v._id);
    expect(red).toMatch(UUID);
    expect(green).toMatch(UUID);
    expect(red).not.toBe(green);
    expect(blue).toBe("blue-id");
    expect((await call("GET", "/api/v2/flags/shop/colours")).body.variations).toEqual(created.body.variations);
    // The default boolean variations too.
    for (const v of (await call("GET", FLAG)).body.variations) expect(v._id).toMatch(UUID);
  });

  test("two variations with the same id: 400 naming it, nothing created", async () => {
    const audit = store.audit.length;
    const answer = await call("POST", "/api/v2/flags/shop", { key: "twins", name: "Twins", variations: [{ _id: "same", value: 1 }, { _id: "same", value: 2 }] });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: "invalid_request", message: 'variations[1]._id: "same" is already the id of variations[0]' });
    expect((await call("GET", "/api/v2/flags/shop/twins")).status).toBe(404);
    expect(store.audit.length).toBe(audit);
  });

  test("a clone keeps the source's rules and their ids", async () => {
    expect((await call("PATCH", FLAG, DOCUMENTED_ADD_RULE)).status).toBe(200);
    const cloned = await call("POST", "/api/v2/flags/shop?clone=checkout", { key: "checkout-2", name: "Checkout 2" });
    expect(cloned.status).toBe(201);
    expect(await rulesOf("production", "checkout-2")).toEqual(await rulesOf());
  });
});

describe("JSON Patch", () => {
  test("LaunchDarkly's documented add of a rule: ids on the rule and clause, trackEvents and negate false; SDKs get the id", async () => {
    const answer = await call("PATCH", FLAG, DOCUMENTED_ADD_RULE);
    expect(answer.status).toBe(200);
    const [rule] = answer.body.environments.production.rules;
    expect(rule).toEqual({ _id: expect.stringMatching(UUID), clauses: [{ _id: expect.stringMatching(UUID), attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }], variation: 0, trackEvents: false });
    expect(await rulesOf()).toEqual([rule]);
    expect(await sdkRules()).toEqual([{ id: rule._id, clauses: [{ contextKind: "user", attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }], trackEvents: false, variation: 0 }]);
  });

  test("a rule inserted before another leaves its id alone, in the API and for SDKs", async () => {
    await call("PATCH", FLAG, DOCUMENTED_ADD_RULE);
    const [first] = await rulesOf();
    const again = await call("PATCH", FLAG, [{ op: "add", path: "/environments/production/rules/0", value: { clauses: [{ attribute: "country", op: "in", values: ["SE"] }], variation: 1 } }]);
    expect(again.status).toBe(200);
    const rules = await rulesOf();
    expect(rules[1]).toEqual(first!);
    expect(rules[0]!._id).not.toBe(first!._id);
    expectIds(rules);
    expect((await sdkRules()).map((r) => r.id)).toEqual(rules.map((r) => r._id));
  });

  test("Terraform's whole-rules replace without ids, with a rollout and several clauses", async () => {
    const answer = await call("PATCH", FLAG, [{ op: "replace", path: "/environments/production/rules", value: TERRAFORM_RULES }]);
    expect(answer.status).toBe(200);
    const rules = await rulesOf();
    expect(rules).toHaveLength(2);
    expectIds(rules);
    expect(rules[1]).toMatchObject({ description: "Half of Europe", trackEvents: false, rollout: { bucketBy: "key" }, clauses: [{ attribute: "country" }, { attribute: "plan", negate: true }] });
    expect((await sdkRules()).map((r) => r.id)).toEqual(rules.map((r) => r._id));
    // Replacing them again gives new ids: nothing ties the new rules to the old.
    expect((await call("PATCH", FLAG, [{ op: "replace", path: "/environments/production/rules", value: TERRAFORM_RULES }])).status).toBe(200);
    const replaced = await rulesOf();
    expectIds(replaced);
    expect(replaced.map((r) => r._id)).not.toEqual(rules.map((r) => r._id));
  });

  test("given ids are kept; an empty one is replaced", async () => {
    const answer = await call("PATCH", FLAG, [
      { op: "add", path: "/environments/production/rules/-", value: { _id: "mine", clauses: [{ _id: "my-clause", attribute: "a", op: "in", values: [1], negate: false }], trackEvents: true, variation: 0 } },
      { op: "add", path: "/environments/production/rules/-", value: { _id: "", clauses: [{ _id: "", attribute: "b", op: "in", values: [2] }], variation: 1 } },
    ]);
    expect(answer.status).toBe(200);
    const rules = await rulesOf();
    expect(rules[0]).toMatchObject({ _id: "mine", trackEvents: true, clauses: [{ _id: "my-clause" }] });
    expectIds(rules, ["mine", "my-clause"]);
  });

  test("changing an existing rule's _id is taken as its new id", async () => {
    await call("PATCH", FLAG, DOCUMENTED_ADD_RULE);
    const answer = await call("PATCH", FLAG, [{ op: "replace", path: "/environments/production/rules/0/_id", value: "renamed" }]);
    expect(answer.status).toBe(200);
    expect((await rulesOf())[0]!._id).toBe("renamed");
    expect((await sdkRules())[0]!.id).toBe("renamed");
  });

  test("a variation added without _id gets one", async () => {
    const colours = await call("POST", "/api/v2/flags/shop", { key: "colours", name: "Colours", variations: [{ value: "red" }, { value: "green" }] });
    const added = await call("PATCH", "/api/v2/flags/shop/colours", [{ op: "add", path: "/variations/-", value: { value: "blue" } }]);
    expect(added.status).toBe(200);
    expect(added.body.variations.slice(0, 2)).toEqual(colours.body.variations);
    expect(added.body.variations[2]._id).toMatch(UUID);
  });

  test("duplicates are refused with 400 naming the path and id, and change nothing", async () => {
    await call("PATCH", FLAG, [{ op: "replace", path: "/environments/production/rules", value: TERRAFORM_RULES }]);
    const [first, second] = await rulesOf();
    await refused(
      [{ op: "add", path: "/environments/production/rules/0", value: { _id: second!._id, clauses: [], variation: 0 } }],
      "application/json",
      `environments.production.rules[2]._id: "${second!._id}" is already the id of environments.production.rules[0]`,
    );
    // JSON Patch `copy` of a rule copies its id too.
    await refused(
      [{ op: "copy", from: "/environments/production/rules/0", path: "/environments/production/rules/-" }],
      "application/json",
      `environments.production.rules[2]._id: "${first!._id}" is already the id of environments.production.rules[0]`,
    );
    const clause = second!.clauses[0]!._id;
    await refused(
      [{ op: "replace", path: "/environments/production/rules/1/clauses/1/_id", value: clause }],
      "application/json",
      `environments.production.rules[1].clauses[1]._id: "${clause}" is already the id of environments.production.rules[1].clauses[0]`,
    );
    const variation = (await call("GET", FLAG)).body.variations[0]._id;
    await refused([{ op: "replace", path: "/variations/1/_id", value: variation }], "application/json", `variations[1]._id: "${variation}" is already the id of variations[0]`);
  });
});

describe("merge patch", () => {
  test("rules without ids get them", async () => {
    const answer = await call("PATCH", FLAG, { merge: { environments: { production: { rules: TERRAFORM_RULES } } } });
    expect(answer.status).toBe(200);
    const rules = await rulesOf();
    expect(rules).toHaveLength(2);
    expectIds(rules);
    expect(await call("PATCH", FLAG, { environments: { test: { rules: [{ clauses: [], variation: 1 }] } } }, "application/merge-patch+json")).toMatchObject({ status: 200 });
    expectIds(await rulesOf("test"));
  });

  test("two rules with one id: 400, nothing changed", async () => {
    await refused(
      { merge: { environments: { production: { rules: [{ _id: "x", clauses: [], variation: 0 }, { _id: "x", clauses: [], variation: 1 }] } } } },
      "application/json",
      'environments.production.rules[1]._id: "x" is already the id of environments.production.rules[0]',
    );
  });
});

describe("semantic patch", () => {
  test("addRule: the rule and its clauses get ids, and removeRule finds the rule by its id", async () => {
    const variations = (await call("GET", FLAG)).body.variations;
    const answer = await call(
      "PATCH",
      FLAG,
      { environmentKey: "production", instructions: [{ kind: "addRule", variationId: variations[0]._id, clauses: [{ attribute: "email", op: "endsWith", values: ["@example.com"] }] }] },
      SEMANTIC,
    );
    expect(answer.status).toBe(200);
    const rules = await rulesOf();
    expectIds(rules);
    expect(rules[0]!.clauses[0]).toMatchObject({ contextKind: "user", negate: false });
    expect((await sdkRules())[0]!.id).toBe(rules[0]!._id);
    const removed = await call("PATCH", FLAG, { environmentKey: "production", instructions: [{ kind: "removeRule", ruleId: rules[0]!._id }] }, SEMANTIC);
    expect(removed.status).toBe(200);
    expect(await rulesOf()).toEqual([]);
  });
});

describe("copy of an environment's targeting", () => {
  test("the rules arrive with their ids; the target's SDKs get them", async () => {
    await call("PATCH", FLAG, [{ op: "replace", path: "/environments/production/rules", value: TERRAFORM_RULES }]);
    const copied = await call("POST", `${FLAG}/copy`, { source: { key: "production" }, target: { key: "test" }, includedActions: ["updateRules"] });
    expect(copied.status).toBe(201);
    const rules = await rulesOf("test");
    expectIds(rules);
    expect(rules).toEqual(await rulesOf("production"));
    expect((await sdkRules("test")).map((r) => r.id)).toEqual(rules.map((r) => r._id));
  });
});
