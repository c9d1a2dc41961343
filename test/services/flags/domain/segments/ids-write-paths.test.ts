/**
 * Ids through the segment write paths of the app (memory store): LaunchDarkly's documented JSON
 * Patch adds a rule without ids, and it is stored with ids on the rule and its clause, which SDKs
 * get; merge and semantic patches likewise; a duplicate id is a 400 that changes nothing.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import type { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { memoryApp, type Answer } from "../memory-context.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const SEGMENT = "/api/v2/segments/shop/production/students";

/** LaunchDarkly's documented segment JSON Patch. */
const DOCUMENTED_ADD_RULE = [{ op: "add", path: "/rules/0", value: { clauses: [{ contextKind: "user", attribute: "email", op: "endsWith", values: [".edu"], negate: false }] } }];

let call: (method: string, path: string, body?: unknown, contentType?: string) => Promise<Answer>;
let store: MemoryFlagStore;

beforeEach(async () => {
  ({ call, store } = await memoryApp());
  expect((await call("POST", "/api/v2/segments/shop/production", { key: "students", name: "Students" })).status).toBe(201);
});

interface Rule {
  _id: string;
  clauses: Array<{ _id: string }>;
}

function expectIds(rules: Rule[]) {
  expect(new Set(rules.map((r) => r._id)).size).toBe(rules.length);
  for (const r of rules) {
    expect(r._id).toMatch(UUID);
    for (const c of r.clauses) expect(c._id).toMatch(UUID);
    expect(new Set(r.clauses.map((c) => c._id)).size).toBe(r.clauses.length);
  }
}

const rulesOf = async (): Promise<Rule[]> => (await call("GET", SEGMENT)).body.rules;
const sdkRules = () => (store.outbox.findLast((e) => e.kind === "segment" && e.key === "students")!.data as { rules: Array<{ id: string; [field: string]: unknown }> }).rules;

async function refused(body: unknown, contentType: string, message: string) {
  const before = { segment: (await call("GET", SEGMENT)).body, audit: store.audit.length, outbox: store.outbox.length };
  const answer = await call("PATCH", SEGMENT, body, contentType);
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({ code: "invalid_request", message });
  expect({ segment: (await call("GET", SEGMENT)).body, audit: store.audit.length, outbox: store.outbox.length }).toEqual(before);
}

describe("segment rule ids", () => {
  test("LaunchDarkly's documented JSON Patch: the rule and its clause get ids; SDKs get the rule's", async () => {
    const answer = await call("PATCH", SEGMENT, DOCUMENTED_ADD_RULE);
    expect(answer.status).toBe(200);
    const [rule] = answer.body.rules;
    expect(rule).toEqual({ _id: expect.stringMatching(UUID), clauses: [{ _id: expect.stringMatching(UUID), contextKind: "user", attribute: "email", op: "endsWith", values: [".edu"], negate: false }] });
    expect(await rulesOf()).toEqual([rule]);
    expect(sdkRules()).toEqual([{ id: rule._id, clauses: [{ contextKind: "user", attribute: "email", op: "endsWith", values: [".edu"], negate: false }] }]);
    // Another rule inserted before it leaves its id alone.
    expect((await call("PATCH", SEGMENT, DOCUMENTED_ADD_RULE)).status).toBe(200);
    const rules = await rulesOf();
    expect(rules[1]).toEqual(rule);
    expectIds(rules);
    expect(sdkRules().map((r) => r.id)).toEqual(rules.map((r) => r._id));
  });

  test("merge patch and semantic patch rules get ids too", async () => {
    const merged = await call("PATCH", SEGMENT, { rules: [{ clauses: [{ attribute: "email", op: "endsWith", values: [".edu"] }] }, { clauses: [], weight: 50_000 }] }, "application/merge-patch+json");
    expect(merged.status).toBe(200);
    expectIds(await rulesOf());
    expect((await rulesOf())[0]!.clauses[0]).toMatchObject({ negate: false });
    const added = await call("PATCH", SEGMENT, { environmentKey: "production", instructions: [{ kind: "addRule", clauses: [{ attribute: "country", op: "in", values: ["SE"] }] }] }, SEMANTIC);
    expect(added.status).toBe(200);
    const rules = await rulesOf();
    expect(rules).toHaveLength(3);
    expectIds(rules);
  });

  test("duplicates are refused with 400 naming the path and id, and change nothing", async () => {
    await call("PATCH", SEGMENT, DOCUMENTED_ADD_RULE);
    const [rule] = await rulesOf();
    await refused([{ op: "add", path: "/rules/-", value: { _id: rule!._id, clauses: [] } }], "application/json", `rules[1]._id: "${rule!._id}" is already the id of rules[0]`);
    const clause = rule!.clauses[0]!._id;
    await refused(
      [{ op: "add", path: "/rules/0/clauses/-", value: { _id: clause, attribute: "a", op: "in", values: [1] } }],
      "application/json",
      `rules[0].clauses[1]._id: "${clause}" is already the id of rules[0].clauses[0]`,
    );
  });
});
