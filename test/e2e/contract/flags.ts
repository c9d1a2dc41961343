/** Calls every documented flag operation, answers and refusals. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const BETA = { "ld-api-version": "beta" };

export async function exerciseFlags(api: Client): Promise<void> {
  const project = await api.call("POST", "/api/v2/projects", {
    body: { key: "contract-f", name: "Flags", environments: [{ key: "test", name: "Test", color: "aaaaaa" }, { key: "live", name: "Live", color: "00ff00" }] },
  });
  expect(project.status).toBe(201);
  const flags = "/api/v2/flags/contract-f";
  const created = await api.call("POST", flags, {
    body: { key: "checkout", name: "Checkout", variations: [{ value: "old", name: "Old" }, { value: "new" }, { value: "grid" }], defaults: { onVariation: 1, offVariation: 0 }, tags: ["shop"], temporary: true },
  });
  expect(created.status).toBe(201);
  const [, newId, gridId] = created.body.variations.map((v: { _id: string }) => v._id);
  expect((await api.call("POST", flags, { body: { key: "checkout", name: "Again" } })).status).toBe(409);
  expect((await api.call("POST", flags, { body: { key: "bad key", name: 1 } })).status).toBe(400);
  expect((await api.call("POST", "/api/v2/flags/nope", { body: { key: "x", name: "X" } })).status).toBe(404);
  expect((await api.call("POST", `${flags}?clone=checkout`, { body: { key: "checkout-copy", name: "Checkout copy" } })).status).toBe(201);
  expect((await api.call("POST", flags, { body: { key: "gate", name: "Gate" } })).status).toBe(201);

  const targeting = await api.call("PATCH", `${flags}/checkout`, {
    headers: SEMANTIC,
    body: {
      environmentKey: "test",
      comment: "Targeting",
      instructions: [
        { kind: "turnFlagOn" },
        { kind: "addTargets", variationId: gridId, values: ["alice"] },
        { kind: "addRule", variationId: newId, description: "Staff", clauses: [{ contextKind: "user", attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }] },
        { kind: "addRule", rolloutWeights: { [newId]: 60_000, [gridId]: 40_000 }, rolloutBucketBy: "key", clauses: [{ attribute: "country", op: "in", values: ["NZ"], negate: false }] },
      ],
    },
  });
  expect(targeting.status).toBe(200);
  const gateTrue = (await api.call("GET", `${flags}/gate`)).body.variations[0]._id;
  expect((await api.call("PATCH", `${flags}/checkout`, { headers: SEMANTIC, body: { environmentKey: "test", instructions: [{ kind: "addPrerequisite", key: "gate", variationId: gateTrue }] } })).status).toBe(200);
  expect((await api.call("PATCH", `${flags}/checkout`, { headers: SEMANTIC, body: { environmentKey: "test", instructions: [{ kind: "removeTargets", variationId: "no-such-variation", values: ["x"] }] } })).status).toBe(400);
  expect((await api.call("PATCH", `${flags}/checkout`, { headers: SEMANTIC, body: { instructions: [{ kind: "noSuchKind" }] } })).status).toBe(400);

  expect((await api.call("GET", flags)).status).toBe(200);
  expect((await api.call("GET", `${flags}?summary=0&env=test&limit=2&sort=-name&filter=tags:shop,state:live`)).status).toBe(200);
  expect((await api.call("GET", `${flags}?filter=colour:blue`)).status).toBe(400);
  expect((await api.call("GET", "/api/v2/flags/nope")).status).toBe(404);
  expect((await api.call("GET", `${flags}/checkout`)).status).toBe(200);
  expect((await api.call("GET", `${flags}/checkout?env=live`)).status).toBe(200);
  expect((await api.call("GET", `${flags}/nope`)).status).toBe(404);

  const version = (await api.call("GET", `${flags}/checkout`)).body._version;
  expect((await api.call("PATCH", `${flags}/checkout`, { body: { comment: "Rename", patch: [{ op: "test", path: "/_version", value: version }, { op: "replace", path: "/name", value: "Checkout flow" }] } })).status).toBe(200);
  expect((await api.call("PATCH", `${flags}/checkout`, { body: [{ op: "test", path: "/_version", value: version }, { op: "replace", path: "/name", value: "Lost" }] })).status).toBe(409);
  expect((await api.call("PATCH", `${flags}/checkout`, { body: [{ op: "replace", path: "/_version", value: 100 }] })).status).toBeGreaterThanOrEqual(400);
  expect((await api.call("PATCH", `${flags}/checkout`, { body: [{ op: "replace", path: "/environments/test/fallthrough/variation", value: 9 }] })).status).toBeGreaterThanOrEqual(400);
  // A field the flag does not have, at any level: refused, naming it; nothing changes.
  const unchanged = (await api.call("GET", `${flags}/checkout`)).body;
  const unknownFields: Array<[string, string]> = [
    ["/environments/test/rules/0/foo", "environments.test.rules[0].foo"],
    ["/variations/0/extra", "variations[0].extra"],
    ["/environments/test/targets/0/x", "environments.test.targets[0].x"],
    ["/environments/test/rules/1/clauses/0/bar", "environments.test.rules[1].clauses[0].bar"],
    ["/environments/test/rules/1/rollout/variations/0/y", "environments.test.rules[1].rollout.variations[0].y"],
  ];
  for (const [path, field] of unknownFields) {
    const answer = await api.call("PATCH", `${flags}/checkout`, { body: [{ op: "add", path, value: 1 }] });
    expect({ field, status: answer.status, code: answer.body.code, message: answer.body.message }).toEqual({ field, status: 400, code: "invalid_request", message: `${field}: unknown field` });
  }
  expect((await api.call("GET", `${flags}/checkout`)).body).toEqual(unchanged);
  expect((await api.call("PATCH", `${flags}/checkout`, { body: { merge: { description: "The checkout page" } } })).status).toBe(200);
  expect((await api.call("PATCH", `${flags}/checkout`, { raw: JSON.stringify({ tags: ["shop", "web"] }), headers: { "content-type": "application/merge-patch+json" } })).status).toBe(200);
  expect((await api.call("PATCH", `${flags}/nope`, { body: [] })).status).toBe(404);

  expect((await api.call("GET", `${flags}/gate/dependent-flags`, { headers: BETA })).status).toBe(200);
  expect((await api.call("GET", `${flags}/gate/dependent-flags`)).status).toBe(403);
  expect((await api.call("GET", `${flags}/nope/dependent-flags`, { headers: BETA })).status).toBe(404);
  expect((await api.call("GET", `${flags}/gate/dependent-flags/test`, { headers: BETA })).status).toBe(200);
  expect((await api.call("GET", `${flags}/gate/dependent-flags/nope`, { headers: BETA })).status).toBe(404);

  const copied = await api.call("POST", `${flags}/checkout/copy`, { body: { source: { key: "test" }, target: { key: "live" }, comment: "Promote" } });
  expect(copied.status).toBe(201);
  expect((await api.call("POST", `${flags}/checkout/copy`, { body: { source: { key: "test" }, target: { key: "live", currentVersion: 999 } } })).status).toBe(409);
  expect((await api.call("POST", `${flags}/checkout/copy`, { body: { source: { key: "test" }, target: { key: "nope" } } })).status).toBe(404);

  expect((await api.call("PATCH", `${flags}/checkout-copy`, { headers: SEMANTIC, body: { instructions: [{ kind: "deleteFlag" }] } })).status).toBe(204);
  expect((await api.call("DELETE", `${flags}/checkout`)).status).toBe(204);
  expect((await api.call("DELETE", `${flags}/checkout`)).status).toBe(404);
}
