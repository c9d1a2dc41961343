/** Calls every documented expiring-target operation (flags, segments, a user's), answers and refusals. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };

export async function exerciseExpiringTargets(api: Client): Promise<void> {
  expect((await api.call("POST", "/api/v2/projects", { body: { key: "contract-exp", name: "Expiring", environments: [{ key: "live", name: "Live", color: "00ff00" }] } })).status).toBe(201);
  const flag = await api.call("POST", "/api/v2/flags/contract-exp", { body: { key: "trial", name: "Trial" } });
  expect(flag.status).toBe(201);
  const variationId = flag.body.variations[0]._id;
  const later = Date.now() + 3_600_000;
  expect((await api.call("PATCH", "/api/v2/flags/contract-exp/trial", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "addTargets", variationId, values: ["alice", "bob"] }] } })).status).toBe(200);

  const flagPath = "/api/v2/flags/contract-exp/trial/expiring-targets/live";
  const flagUsers = "/api/v2/flags/contract-exp/trial/expiring-user-targets/live";
  expect((await api.call("GET", flagPath)).status).toBe(200);
  expect((await api.call("GET", "/api/v2/flags/contract-exp/nope/expiring-targets/live")).status).toBe(404);
  const added = await api.call("PATCH", flagPath, { headers: SEMANTIC, body: { instructions: [{ kind: "addExpiringTarget", variationId, contextKey: "alice", contextKind: "user", value: later }, { kind: "addExpiringTarget", variationId, contextKey: "carol", contextKind: "user", value: later }] } });
  expect(added.status).toBe(200);
  expect(added.body).toMatchObject({ successfulInstructions: 1, failedInstructions: 1 });
  expect((await api.call("PATCH", flagPath, { body: { instructions: [] } })).status).toBe(400);
  expect((await api.call("PATCH", "/api/v2/flags/contract-exp/trial/expiring-targets/nope", { headers: SEMANTIC, body: { instructions: [{ kind: "removeExpiringTarget", variationId, contextKey: "alice" }] } })).status).toBe(404);
  expect((await api.call("GET", flagUsers)).status).toBe(200);
  expect((await api.call("PATCH", flagUsers, { headers: SEMANTIC, body: { instructions: [{ kind: "updateExpireUserTargetDate", variationId, userKey: "alice", value: later + 1, version: 1 }] } })).status).toBe(200);
  expect((await api.call("PATCH", flagUsers, { headers: SEMANTIC, body: { instructions: [{ kind: "addExpiringTarget" }] } })).status).toBe(400);

  const users = "/api/v2/users/contract-exp/bob/expiring-user-targets/live";
  expect((await api.call("PATCH", users, { headers: SEMANTIC, body: { instructions: [{ kind: "addExpireUserTargetDate", flagKey: "trial", variationId, value: later }] } })).status).toBe(200);
  expect((await api.call("GET", users)).body.items.length).toBe(1);
  expect((await api.call("GET", "/api/v2/users/contract-exp/bob/expiring-user-targets/nope")).status).toBe(404);
  expect((await api.call("PATCH", users, { body: { instructions: [] } })).status).toBe(400);

  expect((await api.call("POST", "/api/v2/segments/contract-exp/live", { body: { key: "beta", name: "Beta" } })).status).toBe(201);
  expect((await api.call("PATCH", "/api/v2/segments/contract-exp/live/beta", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "addIncludedUsers", values: ["alice"] }] } })).status).toBe(200);
  const segmentPath = "/api/v2/segments/contract-exp/beta/expiring-targets/live";
  const segmentUsers = "/api/v2/segments/contract-exp/beta/expiring-user-targets/live";
  expect((await api.call("PATCH", segmentPath, { headers: SEMANTIC, body: { instructions: [{ kind: "addExpiringTarget", targetType: "included", contextKey: "alice", contextKind: "user", value: later }] } })).status).toBe(200);
  expect((await api.call("PATCH", segmentPath, { body: [{ op: "add", path: "/x", value: 1 }] })).status).toBe(400);
  expect((await api.call("GET", segmentPath)).body.items.length).toBe(1);
  expect((await api.call("GET", "/api/v2/segments/contract-exp/nope/expiring-targets/live")).status).toBe(404);
  expect((await api.call("GET", segmentUsers)).status).toBe(200);
  expect((await api.call("PATCH", segmentUsers, { headers: SEMANTIC, body: { instructions: [{ kind: "removeExpireUserTargetDate", targetType: "included", userKey: "alice" }] } })).status).toBe(200);
  expect((await api.call("PATCH", "/api/v2/segments/contract-exp/nope/expiring-user-targets/live", { headers: SEMANTIC, body: { instructions: [{ kind: "removeExpireUserTargetDate", targetType: "included", userKey: "alice" }] } })).status).toBe(404);

  const reader = await api.call("POST", "/api/v2/tokens", { body: { name: "contract-exp reader", role: "reader" } });
  const asReader = api.as(reader.body.token);
  expect((await asReader.call("GET", flagPath)).status).toBe(200);
  expect((await asReader.call("PATCH", flagPath, { headers: SEMANTIC, body: { instructions: [{ kind: "removeExpiringTarget", variationId, contextKey: "alice" }] } })).status).toBe(403);
  expect((await asReader.call("PATCH", segmentPath, { headers: SEMANTIC, body: { instructions: [{ kind: "removeExpiringTarget", targetType: "included", contextKey: "alice" }] } })).status).toBe(403);
}
