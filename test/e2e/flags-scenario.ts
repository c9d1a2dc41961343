/** The flags scenario every mode must pass: create, read, list, patch in every format, conflicts, audit, delete. */
import { expect } from "bun:test";
import type { Client } from "../support/client.ts";

const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };

export async function runFlagsScenario(client: Client, project: string): Promise<void> {
  expect((await client.call("POST", "/api/v2/projects", { body: { key: project, name: project } })).status).toBe(201);
  const base = `/api/v2/flags/${project}`;

  const created = await client.call("POST", base, { body: { key: "checkout", name: "New checkout", tags: ["web"] } });
  expect(created.status).toBe(201);
  const flag = created.body;
  expect(flag).toMatchObject({ key: "checkout", kind: "boolean", temporary: true, _version: 1, archived: false, deprecated: false });
  expect(flag.variations.map((v: any) => v.value)).toEqual([true, false]);
  expect(flag._links.self).toEqual({ href: `${base}/checkout`, type: "application/json" });
  expect(Object.keys(flag.environments).sort()).toEqual(["production", "test"]);
  const prod = flag.environments.production;
  expect(prod).toMatchObject({ on: false, version: 1, offVariation: 1, fallthrough: { variation: 0 }, targets: [], rules: [], _environmentName: "Production" });
  expect(prod.salt).toMatch(/^[0-9a-f]{32}$/);
  expect(prod._site.href).toBe(`/${project}/production/features/checkout`);
  expect(prod._summary.variations["1"].isOff).toBe(true);

  expect((await client.call("POST", base, { body: { key: "checkout", name: "again" } })).status).toBe(409);
  const multi = await client.call("POST", base, { body: { key: "color", name: "Color", variations: [{ value: "red" }, { value: "green" }, { value: "blue", name: "Blue" }], defaults: { onVariation: 1, offVariation: 0 } } });
  expect(multi.status).toBe(201);
  expect(multi.body.kind).toBe("multivariate");
  expect(multi.body.environments.test.fallthrough).toEqual({ variation: 1 });
  for (const bad of [
    { key: "bad", name: "x", variations: [{ value: "a" }, { value: "a" }] },
    { key: "bad", name: "x", variations: [{ value: "a" }, { value: 1 }] },
    { key: "bad", name: "x", defaults: { onVariation: 5, offVariation: 0 } },
    { key: "bad key", name: "x" },
    { key: "bad", name: "x", nope: true },
  ]) {
    const res = await client.call("POST", base, { body: bad });
    expect([JSON.stringify(bad), res.status]).toEqual([JSON.stringify(bad), 400]);
    expect(res.body.code).toBe("invalid_request");
  }

  // Lists give summaries: counts, not targets and rules.
  const list = await client.call("GET", `${base}?env=production`);
  expect(list.status).toBe(200);
  expect(list.body.totalCount).toBe(2);
  expect(list.body.items.map((f: any) => f.key)).toEqual(["checkout", "color"]);
  expect(list.body.items[0].environments.production.rules).toBeUndefined();
  expect(list.body.items[0].environments.production._summary).toBeDefined();
  expect(Object.keys(list.body.items[0].environments)).toEqual(["production"]);
  const detail = await client.call("GET", `${base}?env=production&summary=0`);
  expect(detail.body.items[0].environments.production.rules).toEqual([]);
  expect((await client.call("GET", `${base}?filter=tags:web`)).body.items.map((f: any) => f.key)).toEqual(["checkout"]);
  expect((await client.call("GET", `${base}?filter=query:colo`)).body.items.map((f: any) => f.key)).toEqual(["color"]);
  expect((await client.call("GET", `${base}?limit=1`)).body._links.next.href).toContain("offset=1");
  expect((await client.call("GET", `${base}?env=nowhere`)).status).toBe(400);
  expect((await client.call("GET", `${base}?sort=color`)).status).toBe(400);

  // JSON Patch, with a version test for optimistic concurrency.
  const path = `${base}/checkout`;
  let res = await client.call("PATCH", path, { body: { comment: "launch in test", patch: [{ op: "test", path: "/_version", value: 1 }, { op: "replace", path: "/environments/test/on", value: true }] } });
  expect(res.status).toBe(200);
  expect(res.body._version).toBe(2);
  expect(res.body.environments.test).toMatchObject({ on: true, version: 2 });
  expect(res.body.environments.production).toMatchObject({ on: false, version: 1 });
  res = await client.call("PATCH", path, { body: [{ op: "test", path: "/_version", value: 1 }, { op: "replace", path: "/description", value: "stale" }] });
  expect(res.status).toBe(409);
  expect(res.body.code).toBe("optimistic_locking_error");
  res = await client.call("PATCH", path, { body: [{ op: "replace", path: "/environments/test/salt", value: "mine" }] });
  expect(res.status).toBe(400);
  expect(res.body.message).toBe("Flag salt cannot be modified");
  res = await client.call("PATCH", path, { body: [{ op: "replace", path: "/environments/test/fallthrough", value: { rollout: { variations: [{ variation: 0, weight: 60000 }, { variation: 1, weight: 30000 }] } } }] });
  expect(res.status).toBe(400);
  expect(res.body.message).toContain("100000");
  res = await client.call("PATCH", path, { body: [{ op: "replace", path: "/environments/test/offVariation", value: 7 }] });
  expect(res.status).toBe(400);
  // A patch that leaves a misshapen document is refused for it, whatever would read it first.
  for (const patch of [[{ op: "add", path: "/variations/-", value: null }], [{ op: "replace", path: "/variations", value: false }], [{ op: "replace", path: "/environments/test/prerequisites", value: null }]]) {
    res = await client.call("PATCH", path, { body: patch });
    expect({ patch, status: res.status, code: res.body.code }).toEqual({ patch, status: 400, code: "invalid_request" });
  }

  // Merge patch.
  res = await client.call("PATCH", path, { body: { comment: "rename", merge: { name: "Checkout v2", tags: ["web", "beta"] } } });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ name: "Checkout v2", tags: ["web", "beta"], _version: 3 });
  const beforeSemantic = res.body;

  // Semantic patch.
  res = await client.call("PATCH", path, {
    headers: SEMANTIC,
    body: { environmentKey: "production", comment: "go", instructions: [{ kind: "turnFlagOn" }, { kind: "addTargets", values: ["alice", "bob"], variationId: flag.variations[1]._id }] },
  });
  expect(res.status).toBe(200);
  expect(res.body.environments.production).toMatchObject({ on: true, version: 2, targets: [{ contextKind: "user", values: ["alice", "bob"], variation: 1 }] });
  res = await client.call("PATCH", path, { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind: "turnFlagOff" }, { kind: "removeRule", ruleId: "nope" }, { kind: "updateOffVariation", variationId: "missing" }] } });
  expect(res.status).toBe(400);
  expect(res.body.message).toContain("instruction 2");
  expect((await client.call("GET", path)).body.environments.production.on).toBe(true);
  res = await client.call("PATCH", path, { body: { environmentKey: "production", instructions: [{ kind: "turnFlagOff" }] } });
  expect(res.status).toBe(400);

  // Copy production's targeting to test: a stale currentVersion is refused, then the targets and on/off go over.
  // (With several flags instances, a read on another instance than the writer's shows the write once
  // its commit notice arrives: the versions the copy names are read once they are the latest.)
  const written = beforeSemantic._version + 1;
  let beforeCopy = (await client.call("GET", path)).body;
  for (const until = Date.now() + 5_000; beforeCopy._version < written && Date.now() < until; await Bun.sleep(20)) beforeCopy = (await client.call("GET", path)).body;
  expect(beforeCopy._version).toBe(written);
  res = await client.call("POST", `${path}/copy`, { body: { source: { key: "production", currentVersion: 1 }, target: { key: "test" } } });
  expect(res.status).toBe(409);
  expect(res.body.code).toBe("optimistic_locking_error");
  res = await client.call("POST", `${path}/copy`, { body: { source: { key: "production", currentVersion: beforeCopy.environments.production.version }, target: { key: "test", currentVersion: beforeCopy.environments.test.version }, includedActions: ["updateTargets"] } });
  expect(res.status).toBe(201);
  expect(res.body.environments.test.targets).toEqual(beforeCopy.environments.production.targets);
  expect(res.body.environments.test.on).toBe(beforeCopy.environments.test.on);
  expect(res.body.environments.test.salt).toBe(beforeCopy.environments.test.salt);
  expect((await client.call("POST", `${path}/copy`, { body: { source: { key: "production" }, target: { key: "production" } } })).status).toBe(400);
  expect((await client.call("POST", `${path}/copy`, { body: { source: { key: "production" }, target: { key: "nowhere" } } })).status).toBe(404);

  // The audit log has one entry per change, newest first, with the patch and the comment.
  const audit = await client.call("GET", `/api/v2/auditlog?spec=${encodeURIComponent(`proj/${project}:env/*:flag/checkout`)}&limit=20`);
  expect(audit.status).toBe(200);
  const titles = audit.body.items.map((e: any) => e.accesses.map((a: any) => a.action).join(","));
  expect(titles).toEqual(["copyFlagConfigFrom,copyFlagConfigTo", "updateOn,updateTargets", "updateName,updateTags", "updateOn", "createFlag"]);
  expect(audit.body.items[1].comment).toBe("go");
  const entry = await client.call("GET", `/api/v2/auditlog/${audit.body.items[1]._id}`);
  expect(entry.body.delta.instructions[0].kind).toBe("turnFlagOn");
  expect(entry.body.previousVersion.environments.production.on).toBe(false);
  expect(entry.body.currentVersion.environments.production.on).toBe(true);
  // The whole representation before the change, as the merge patch above answered it.
  expect(entry.body.previousVersion).toEqual(beforeSemantic);
  const page = await client.call("GET", `/api/v2/auditlog?spec=${encodeURIComponent(`proj/${project}:env/*:flag/checkout`)}&limit=2`);
  expect(page.body.items.length).toBe(2);
  expect(page.body._links.next.href).toContain("before=");

  // A new environment gives every flag its defaults.
  expect((await client.call("POST", `/api/v2/projects/${project}/environments`, { body: { key: "staging", name: "Staging", color: "000000" } })).status).toBe(201);
  const withStaging = await client.call("GET", `${base}/color`);
  expect(withStaging.body.environments.staging).toMatchObject({ on: false, fallthrough: { variation: 1 }, offVariation: 0, version: 1 });
  expect((await client.call("DELETE", `/api/v2/projects/${project}/environments/staging`)).status).toBe(204);
  expect(Object.keys((await client.call("GET", `${base}/color`)).body.environments).sort()).toEqual(["production", "test"]);

  // Clone, then delete.
  const clone = await client.call("POST", `${base}?clone=checkout`, { body: { key: "checkout-copy", name: "Copy" } });
  expect(clone.status).toBe(201);
  expect(clone.body.environments.production).toMatchObject({ on: true, targets: [{ values: ["alice", "bob"] }] });
  expect(clone.body.environments.production.salt).not.toBe(res.body?.environments?.production?.salt ?? "");
  expect((await client.call("DELETE", `${base}/checkout-copy`)).status).toBe(204);
  expect((await client.call("GET", `${base}/checkout-copy`)).status).toBe(404);
  res = await client.call("PATCH", `${base}/color`, { headers: SEMANTIC, body: { instructions: [{ kind: "deleteFlag" }] } });
  expect(res.status).toBe(204);
  expect((await client.call("GET", `${base}/color`)).status).toBe(404);
  expect((await client.call("GET", `/api/v2/flags/missing-project`)).status).toBe(404);

  // Segments, per environment.
  const segs = `/api/v2/segments/${project}/production`;
  res = await client.call("POST", segs, { body: { key: "beta-users", name: "Beta users", tags: ["beta"] } });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ key: "beta-users", version: 1, included: [], rules: [], deleted: false });
  expect((await client.call("POST", segs, { body: { key: "beta-users", name: "again" } })).status).toBe(409);
  expect((await client.call("POST", segs, { body: { key: "big", name: "Big", unbounded: true } })).status).toBe(400);
  res = await client.call("PATCH", `${segs}/beta-users`, {
    headers: SEMANTIC,
    body: { environmentKey: "production", comment: "invite", instructions: [{ kind: "addIncludedUsers", values: ["carol", "dave"] }, { kind: "addRule", clauses: [{ attribute: "email", op: "endsWith", values: ["@example.com"] }], weight: 50000 }] },
  });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ version: 2, included: ["carol", "dave"] });
  expect(res.body.rules[0]).toMatchObject({ weight: 50000, clauses: [{ attribute: "email", op: "endsWith", contextKind: "user" }] });
  res = await client.call("PATCH", `${segs}/beta-users`, { headers: SEMANTIC, body: { instructions: [{ kind: "addIncludedUsers", values: ["eve"] }] } });
  expect(res.status).toBe(400);
  res = await client.call("PATCH", `${segs}/beta-users`, { body: [{ op: "add", path: "/excluded/-", value: "carol" }] });
  expect(res.status).toBe(400);
  res = await client.call("PATCH", `${segs}/beta-users`, { body: [{ op: "replace", path: "/salt", value: "x" }] });
  expect(res.status).toBe(400);
  res = await client.call("PATCH", `${segs}/beta-users`, { body: { comment: "rename", merge: { name: "Beta testers" } } });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ name: "Beta testers", version: 3 });
  const segList = await client.call("GET", `${segs}?filter=${encodeURIComponent('tags anyOf ["beta"]')}`);
  expect(segList.body.items.map((x: any) => x.key)).toEqual(["beta-users"]);
  expect((await client.call("GET", `/api/v2/segments/${project}/test/beta-users`)).status).toBe(404);
  const segAudit = await client.call("GET", `/api/v2/auditlog?spec=${encodeURIComponent(`proj/${project}:env/production:segment/beta-users`)}`);
  expect(segAudit.body.items.map((e: any) => e.accesses.map((a: any) => a.action).join(","))).toEqual(["updateName", "updateIncluded,updateRules", "createSegment"]);
  expect((await client.call("DELETE", `${segs}/beta-users`)).status).toBe(204);
  expect((await client.call("GET", `${segs}/beta-users`)).status).toBe(404);
}
