/** Calls every documented segments operation, answers and refusals. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };

export async function exerciseSegments(api: Client): Promise<void> {
  const project = await api.call("POST", "/api/v2/projects", {
    body: {
      key: "contract-seg",
      name: "Contract segments",
      environments: [
        { key: "live", name: "Live", color: "00ff00" },
        { key: "strict", name: "Strict", color: "ff0000", requireComments: true },
      ],
    },
  });
  expect(project.status).toBe(201);
  const segs = "/api/v2/segments/contract-seg/live";

  // Create.
  const created = await api.call("POST", segs, { body: { key: "beta", name: "Beta testers", description: "First to try", tags: ["beta"] } });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ key: "beta", version: 1, included: [], rules: [], deleted: false, unbounded: false });
  expect((await api.call("POST", segs, { body: { key: "plain", name: "Plain" } })).status).toBe(201);
  expect((await api.call("POST", segs, { body: { key: "beta", name: "Again" } })).status).toBe(409);
  expect((await api.call("POST", segs, { body: { key: "", name: 5 } })).status).toBe(400);
  expect((await api.call("POST", segs, { body: { key: "big", name: "Big", unbounded: true } })).status).toBe(400);
  // The context kind of a big segment is refused, not stored and dropped.
  const kind = await api.call("POST", segs, { body: { key: "big", name: "Big", unbounded: false, unboundedContextKind: "user" } });
  expect({ status: kind.status, code: kind.body.code }).toEqual({ status: 400, code: "invalid_request" });
  expect(kind.body.message).toStartWith("unboundedContextKind: ");
  expect((await api.call("GET", `${segs}/big`)).status).toBe(404);
  expect((await api.call("POST", segs, { body: { key: "extra", name: "Extra", rules: [] } })).status).toBe(400);
  expect((await api.call("POST", "/api/v2/segments/contract-seg/nope", { body: { key: "x", name: "X" } })).status).toBe(404);
  expect((await api.call("POST", "/api/v2/segments/contract-seg-nope/live", { body: { key: "x", name: "X" } })).status).toBe(404);

  // A reader may read segments, not change them.
  const reader = await api.call("POST", "/api/v2/tokens", { body: { name: "contract-seg reader", role: "reader" } });
  expect(reader.status).toBe(201);
  const asReader = api.as(reader.body.token);
  expect((await asReader.call("GET", `${segs}/beta`)).status).toBe(200);
  expect((await asReader.call("POST", segs, { body: { key: "denied", name: "Denied" } })).status).toBe(403);
  expect((await asReader.call("PATCH", `${segs}/beta`, { body: [{ op: "replace", path: "/name", value: "Denied" }] })).status).toBe(403);
  expect((await asReader.call("DELETE", `${segs}/beta`)).status).toBe(403);

  // List.
  const listed = await api.call("GET", segs);
  expect(listed.status).toBe(200);
  expect(listed.body.totalCount).toBe(2);
  const page = await api.call("GET", `${segs}?limit=1&offset=1&sort=-creationDate`);
  expect(page.status).toBe(200);
  expect(page.body.items.length).toBe(1);
  expect(page.body._links.prev).toBeDefined();
  expect((await api.call("GET", `${segs}?limit=1`)).body._links.next).toBeDefined();
  const filtered = await api.call("GET", `${segs}?filter=${encodeURIComponent('query equals "bet",tags anyOf ["beta"]')}&sort=name`);
  expect(filtered.status).toBe(200);
  expect(filtered.body.items.map((s: { key: string }) => s.key)).toEqual(["beta"]);
  expect((await api.call("GET", `${segs}?sort=color`)).status).toBe(400);
  expect((await api.call("GET", `${segs}?filter=${encodeURIComponent("unbounded equals true")}`)).status).toBe(400);
  expect((await api.call("GET", `${segs}?filter=nonsense`)).status).toBe(400);
  expect((await api.call("GET", `${segs}?limit=0`)).status).toBe(400);
  expect((await api.call("GET", "/api/v2/segments/contract-seg/nope")).status).toBe(404);

  // Read.
  expect((await api.call("GET", `${segs}/beta`)).status).toBe(200);
  expect((await api.call("GET", `${segs}/nope`)).status).toBe(404);
  expect((await api.call("GET", "/api/v2/segments/contract-seg/nope/beta")).status).toBe(404);

  // JSON Patch, with and without a comment, and its refusals.
  const patched = await api.call("PATCH", `${segs}/beta`, {
    body: [
      { op: "test", path: "/version", value: 1 },
      { op: "add", path: "/included/-", value: "user-1" },
      { op: "add", path: "/excludedContexts/-", value: { contextKind: "org", values: ["acme"] } },
    ],
  });
  expect(patched.status).toBe(200);
  expect(patched.body.version).toBe(2);
  expect((await api.call("PATCH", `${segs}/beta`, { body: { comment: "rename", patch: [{ op: "replace", path: "/name", value: "Beta" }] } })).status).toBe(200);
  expect((await api.call("PATCH", `${segs}/beta`, { body: [{ op: "test", path: "/version", value: 1 }, { op: "replace", path: "/name", value: "Late" }] })).status).toBe(409);
  expect((await api.call("PATCH", `${segs}/beta`, { body: [{ op: "replace", path: "/key", value: "other" }] })).status).toBe(400);
  expect((await api.call("PATCH", `${segs}/beta`, { body: [{ op: "add", path: "/color", value: "red" }] })).status).toBe(400);
  expect((await api.call("PATCH", `${segs}/beta`, { body: [{ op: "add", path: "/excluded/-", value: "user-1" }] })).status).toBe(400);
  expect((await api.call("PATCH", `${segs}/beta`, { body: [{ op: "jump", path: "/name" }] })).status).toBe(400);
  expect((await api.call("PATCH", `${segs}/beta`, { body: "rename" })).status).toBe(400);
  expect((await api.call("PATCH", `${segs}/nope`, { body: [{ op: "replace", path: "/name", value: "X" }] })).status).toBe(404);
  // Nothing changed: the segment as it is.
  const same = await api.call("PATCH", `${segs}/beta`, { body: [{ op: "replace", path: "/name", value: "Beta" }] });
  expect(same.status).toBe(200);
  expect(same.body.version).toBe(3);

  // Merge patch: by content type, and as `{comment, merge}`.
  expect((await api.call("PATCH", `${segs}/beta`, { body: { tags: ["beta", "web"] }, headers: { "content-type": "application/merge-patch+json" } })).status).toBe(200);
  expect((await api.call("PATCH", `${segs}/beta`, { body: { comment: "describe", merge: { description: "Early access" } } })).status).toBe(200);
  expect((await api.call("PATCH", `${segs}/beta`, { body: { merge: { salt: "pepper" } } })).status).toBe(400);

  // Semantic patch.
  const semantic = await api.call("PATCH", `${segs}/beta`, {
    headers: SEMANTIC,
    body: {
      environmentKey: "live",
      comment: "targets and rules",
      instructions: [
        { kind: "addIncludedUsers", values: ["user-2"] },
        { kind: "addIncludedTargets", contextKind: "device", values: ["d-1", "d-2"] },
        { kind: "addExcludedUsers", values: ["user-9"] },
        {
          kind: "addRule",
          description: "EU customers",
          clauses: [{ contextKind: "user", attribute: "country", op: "in", values: ["de", "fr"], negate: false }],
          weight: 50_000,
          rolloutContextKind: "user",
          bucketBy: "key",
        },
        { kind: "addRule", clauses: [{ attribute: "email", op: "endsWith", values: ["@example.com"] }] },
      ],
    },
  });
  expect(semantic.status).toBe(200);
  const [first, second] = semantic.body.rules as Array<{ _id: string; clauses: Array<{ _id: string }> }>;
  expect(second).toBeDefined();
  const edited = await api.call("PATCH", `${segs}/beta`, {
    headers: SEMANTIC,
    body: {
      environmentKey: "live",
      instructions: [
        { kind: "updateRuleDescription", ruleId: second!._id, description: "Staff" },
        { kind: "addValuesToClause", ruleId: first!._id, clauseId: first!.clauses[0]!._id, values: ["it"] },
        { kind: "updateRuleRolloutAndContextKind", ruleId: second!._id, weight: 25_000, contextKind: "user" },
        { kind: "reorderRules", ruleIds: [second!._id, first!._id] },
        { kind: "removeIncludedTargets", contextKind: "device", values: ["d-2"] },
        { kind: "addTags", values: ["rules"] },
        { kind: "updateName", value: "Beta group" },
      ],
    },
  });
  expect(edited.status).toBe(200);
  expect(edited.body.rules[0].description).toBe("Staff");
  const semanticRefusals: unknown[] = [
    { instructions: [{ kind: "updateName", value: "No environment" }] },
    { environmentKey: "strict", instructions: [{ kind: "updateName", value: "Wrong environment" }] },
    { environmentKey: "live", instructions: [] },
    { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }] },
    { environmentKey: "live", instructions: [{ kind: "addBigSegmentIncludedTargets", values: ["u"] }] },
    { environmentKey: "live", instructions: [{ kind: "addIncludedUsers", values: ["user-9"] }] },
    { environmentKey: "live", instructions: [{ kind: "removeRule", ruleId: "nope" }, { kind: "updateRuleDescription", ruleId: "nope", description: "x" }] },
    { environmentKey: "live", instructions: [{ kind: "addRule", clauses: [{ attribute: "a", op: "isIn", values: [] }] }] },
  ];
  for (const body of semanticRefusals) expect((await api.call("PATCH", `${segs}/beta`, { headers: SEMANTIC, body })).status).toBe(400);
  expect((await api.call("PATCH", `${segs}/beta`, { body: { environmentKey: "live", instructions: [{ kind: "updateName", value: "Wrong type" }] } })).status).toBe(400);
  expect((await api.call("PATCH", `${segs}/nope`, { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "updateName", value: "X" }] } })).status).toBe(404);
  // A field the segment does not have, at any level, by any kind of patch: refused, naming it; nothing changes.
  const unchanged = (await api.call("GET", `${segs}/beta`)).body;
  const unknownFields: Array<[unknown, Record<string, string>, string]> = [
    [[{ op: "add", path: "/rules/0/foo", value: 1 }], {}, "rules[0].foo"],
    [[{ op: "add", path: "/includedContexts/0/extra", value: 1 }], {}, "includedContexts[0].extra"],
    [[{ op: "add", path: "/rules/0/clauses/0/bar", value: 1 }], {}, "rules[0].clauses[0].bar"],
    [[{ op: "add", path: "/excludedContexts/0/x", value: 1 }], {}, "excludedContexts[0].x"],
    [{ comment: "sneaky", patch: [{ op: "add", path: "/rules/1/weight", value: 1 }, { op: "add", path: "/rules/1/extra", value: 1 }] }, {}, "rules[1].extra"],
    [{ rules: [{ ...unchanged.rules[0], foo: 1 }, unchanged.rules[1]] }, { "content-type": "application/merge-patch+json" }, "rules[0].foo"],
  ];
  for (const [body, headers, field] of unknownFields) {
    const answer = await api.call("PATCH", `${segs}/beta`, { body, headers });
    expect({ field, status: answer.status, code: answer.body.code, message: answer.body.message }).toEqual({ field, status: 400, code: "invalid_request", message: `${field}: unknown field` });
  }
  expect((await api.call("GET", `${segs}/beta`)).body).toEqual(unchanged);

  const full = await api.call("GET", `${segs}/beta`);
  expect(full.status).toBe(200);
  expect(full.body.includedContexts).toEqual([{ contextKind: "device", values: ["d-1"] }]);

  // An environment that requires comments.
  const strict = "/api/v2/segments/contract-seg/strict";
  expect((await api.call("POST", strict, { body: { key: "careful", name: "Careful" } })).status).toBe(201);
  expect((await api.call("PATCH", `${strict}/careful`, { body: [{ op: "replace", path: "/name", value: "Uncommented" }] })).status).toBe(400);
  expect((await api.call("PATCH", `${strict}/careful`, { body: { comment: "why", patch: [{ op: "replace", path: "/name", value: "Commented" }] } })).status).toBe(200);
  expect((await api.call("PATCH", `${strict}/careful`, { headers: SEMANTIC, body: { environmentKey: "strict", comment: "why", instructions: [{ kind: "addExcludedTargets", contextKind: "org", values: ["rival"] }] } })).status).toBe(200);

  // Delete.
  expect((await api.call("DELETE", `${segs}/plain`)).status).toBe(204);
  expect((await api.call("DELETE", `${segs}/plain`)).status).toBe(404);
  expect((await api.call("DELETE", "/api/v2/segments/contract-seg/nope/beta")).status).toBe(404);
  expect((await api.call("GET", `${segs}/plain`)).status).toBe(404);
}
