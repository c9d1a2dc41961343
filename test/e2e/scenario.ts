/**
 * The projects-and-environments scenario every mode must pass: create, list with pagination,
 * patch in every format, conflicts, bad input that changes nothing, delete. It runs in-process,
 * against the all-in-one process, and against a distributed cluster.
 */
import { expect } from "bun:test";
import { CREDENTIAL_SHAPE } from "@vexil/shared/secrets";
import type { Client } from "../support/client.ts";

const isErrorBody = (body: any, code: string) => {
  expect(body?.code).toBe(code);
  expect(typeof body?.message).toBe("string");
  expect(body.message.length).toBeGreaterThan(0);
  expect(typeof body?.id).toBe("string");
};

export async function runScenario(client: Client, prefix = "s"): Promise<void> {
  // Authentication at the edge.
  const anonymous = await client.call("GET", "/api/v2/projects", { token: null });
  expect(anonymous.status).toBe(401);
  isErrorBody(anonymous.body, "unauthorized");
  expect(anonymous.headers.get("www-authenticate")).toContain("Bearer");
  const wrong = await client.call("GET", "/api/v2/projects", { token: "not-a-real-token-at-all" });
  expect(wrong.status).toBe(401);
  isErrorBody(wrong.body, "unauthorized");
  const bearer = await client.call("GET", "/api/v2/projects?limit=1");
  expect(bearer.status).toBe(200);

  // The default project exists from the start, with test and production.
  const defaults = await client.call("GET", "/api/v2/projects/default?expand=environments");
  expect(defaults.status).toBe(200);
  expect(defaults.body.environments.items.map((e: any) => e.key).sort()).toEqual(["production", "test"]);

  const before = (await client.call("GET", "/api/v2/projects")).body.totalCount as number;

  // Create 23 projects; each gets test and production with keys shown this once.
  const keys = Array.from({ length: 23 }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
  const created = await Promise.all(keys.map((key) => client.call("POST", "/api/v2/projects", { body: { key, name: `Project ${key}`, tags: ["e2e"] } })));
  for (const res of created) {
    expect(res.status).toBe(201);
    expect(res.body._id).toMatch(/^[0-9a-f]{24}$/);
    expect(res.body._links.self).toEqual({ href: `/api/v2/projects/${res.body.key}`, type: "application/json" });
    expect(res.body.environments.map((e: any) => e.key).sort()).toEqual(["production", "test"]);
    for (const env of res.body.environments) {
      expect(env.apiKey).toMatch(CREDENTIAL_SHAPE);
      expect(env.apiKey.startsWith("sdk-")).toBe(true);
      expect(env.mobileKey.startsWith("mob-")).toBe(true);
      expect(env._id).toMatch(/^[0-9a-f]{24}$/);
    }
  }
  const first = created[0]!.body;
  const firstProd = first.environments.find((e: any) => e.key === "production");
  const shown = await client.call("GET", `/api/v2/projects/${first.key}/environments/production`);
  expect(shown.status).toBe(200);
  expect(shown.body.apiKey).not.toBe(firstProd.apiKey);
  expect(shown.body.apiKey).toBe(`sdk-****${firstProd.apiKey.slice(-4)}`);
  expect(shown.body.mobileKey).toBe(`mob-****${firstProd.mobileKey.slice(-4)}`);
  expect(shown.body._id).toBe(firstProd._id);

  // Pagination over every page, by following `next`.
  const total = before + keys.length;
  const seen: string[] = [];
  let page = await client.call("GET", "/api/v2/projects?limit=10");
  expect(page.status).toBe(200);
  expect(page.body.totalCount).toBe(total);
  expect(page.body._links.first).toBeUndefined();
  expect(page.body._links.prev).toBeUndefined();
  for (;;) {
    seen.push(...page.body.items.map((p: any) => p.key));
    const next = page.body._links.next?.href;
    if (!next) break;
    page = await client.call("GET", next);
    expect(page.status).toBe(200);
    expect(page.body._links.prev).toBeDefined();
  }
  expect(seen.length).toBe(total);
  expect(new Set(seen).size).toBe(total);
  for (const key of keys) expect(seen).toContain(key);

  const filtered = await client.call("GET", `/api/v2/projects?filter=${encodeURIComponent(`query:${prefix}-1`)}&sort=-name`);
  expect(filtered.body.items.map((p: any) => p.key)).toEqual(keys.filter((k) => k.startsWith(`${prefix}-1`)).reverse());
  const byKeys = await client.call("GET", `/api/v2/projects?filter=${encodeURIComponent(`keys:${keys[3]}|${keys[5]}`)}`);
  expect(byKeys.body.items.map((p: any) => p.key)).toEqual([keys[3], keys[5]]);
  expect((await client.call("GET", "/api/v2/projects?sort=color")).status).toBe(400);
  expect((await client.call("GET", "/api/v2/projects?limit=101")).status).toBe(400);
  expect((await client.call("GET", "/api/v2/projects?filter=owner:me")).status).toBe(400);

  // Duplicates and bad input: a clear JSON error, and nothing changes.
  const dup = await client.call("POST", "/api/v2/projects", { body: { key: keys[0], name: "again" } });
  expect(dup.status).toBe(409);
  isErrorBody(dup.body, "conflict");
  const badInputs: Array<{ raw?: string; body?: unknown; field?: string }> = [
    { body: { key: `${prefix}-new` }, field: "name" },
    { body: { key: "has space", name: "x" }, field: "key" },
    { body: { key: `${prefix}-new`, name: 5 }, field: "name" },
    { body: { key: `${prefix}-new`, name: "x", color: "red" }, field: "color" },
    { body: { key: `${prefix}-new`, name: "x", environments: [{ key: "a", name: "A" }] }, field: "color" },
    { body: { key: `${prefix}-new`, name: "x", environments: [{ key: "a", name: "A", color: "FFFFFF" }, { key: "a", name: "B", color: "000000" }] } },
    { raw: '{"key": "broken", ' },
    { body: [1, 2, 3] },
  ];
  for (const input of badInputs) {
    const res = await client.call("POST", "/api/v2/projects", { ...input, headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    isErrorBody(res.body, "invalid_request");
    if (input.field) expect(res.body.message).toContain(input.field);
  }
  expect((await client.call("GET", "/api/v2/projects")).body.totalCount).toBe(total);
  expect((await client.call("GET", `/api/v2/projects/${prefix}-new`)).status).toBe(404);

  // PATCH: JSON Patch (raw and wrapped, with test), merge patch (plain and wrapped).
  const path = `/api/v2/projects/${first.key}`;
  let res = await client.call("PATCH", path, { body: [{ op: "replace", path: "/name", value: "Renamed" }] });
  expect(res.status).toBe(200);
  expect(res.body.name).toBe("Renamed");
  res = await client.call("PATCH", path, { body: { comment: "why", patch: [{ op: "test", path: "/name", value: "Renamed" }, { op: "add", path: "/tags/-", value: "more" }] } });
  expect(res.status).toBe(200);
  expect(res.body.tags).toEqual(["e2e", "more"]);
  res = await client.call("PATCH", path, { body: { patch: [{ op: "test", path: "/name", value: "Stale" }, { op: "replace", path: "/name", value: "Lost" }] } });
  expect(res.status).toBe(409);
  isErrorBody(res.body, "optimistic_locking_error");
  res = await client.call("PATCH", path, { body: { name: "Merged" } });
  expect(res.status).toBe(200);
  expect(res.body.name).toBe("Merged");
  res = await client.call("PATCH", path, { body: { comment: "c", merge: { defaultClientSideAvailability: { usingEnvironmentId: true } } } });
  expect(res.status).toBe(200);
  expect(res.body.defaultClientSideAvailability).toEqual({ usingEnvironmentId: true, usingMobileKey: true });
  res = await client.call("PATCH", path, { raw: JSON.stringify({ tags: null }), headers: { "content-type": "application/merge-patch+json" } });
  expect(res.status).toBe(400);
  for (const bad of [
    [{ op: "replace", path: "/key", value: "other" }],
    [{ op: "replace", path: "/_id", value: "000000000000000000000000" }],
    [{ op: "add", path: "/owner", value: "me" }],
    [{ op: "replace", path: "/name", value: 42 }],
    [{ op: "remove", path: "/name" }],
    [{ op: "replace", path: "/nothing/here", value: 1 }],
    [{ op: "jump", path: "/name" }],
    { patch: "not an array" },
    "just a string",
  ]) {
    const r = await client.call("PATCH", path, { body: bad });
    expect(r.status).toBe(400);
    isErrorBody(r.body, "invalid_request");
  }
  const after = await client.call("GET", path);
  expect(after.body).toMatchObject({ name: "Merged", tags: ["e2e", "more"], key: first.key });
  // Each change is in the audit log, once, with its comment; refused patches left nothing.
  const audit = await client.call("GET", `/api/v2/auditlog?spec=${encodeURIComponent(`proj/${first.key}`)}&limit=20`);
  expect(audit.status).toBe(200);
  expect(audit.body.items.map((e: any) => e.accesses.map((a: any) => a.action).join(","))).toEqual([
    "updateDefaultClientSideAvailability",
    "updateProjectName",
    "updateTags",
    "updateProjectName",
    "createProject",
  ]);
  expect(audit.body.items[2].comment).toBe("why");
  expect((await client.call("PATCH", "/api/v2/projects/missing-project", { body: { name: "x" } })).status).toBe(404);

  // Environments.
  const envs = `${path}/environments`;
  res = await client.call("POST", envs, { body: { key: "staging", name: "Staging", color: "00ff00", tags: ["pre"] } });
  expect(res.status).toBe(201);
  expect(res.body.apiKey).toMatch(CREDENTIAL_SHAPE);
  expect(res.body.color).toBe("00FF00");
  expect((await client.call("POST", envs, { body: { key: "staging", name: "Again", color: "000000" } })).status).toBe(409);
  expect((await client.call("POST", envs, { body: { key: "x", name: "No colour" } })).status).toBe(400);
  expect((await client.call("POST", "/api/v2/projects/missing-project/environments", { body: { key: "x", name: "X", color: "000000" } })).status).toBe(404);
  const envList = await client.call("GET", `${envs}?sort=name`);
  expect(envList.body.items.map((e: any) => e.key)).toEqual(["production", "staging", "test"]);
  expect(envList.body.totalCount).toBe(3);
  res = await client.call("PATCH", `${envs}/staging`, { body: [{ op: "replace", path: "/requireComments", value: true }, { op: "replace", path: "/color", value: "abcdef" }] });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ requireComments: true, color: "ABCDEF" });
  res = await client.call("PATCH", `${envs}/staging`, { body: [{ op: "replace", path: "/apiKey", value: "sdk-mine" }] });
  expect(res.status).toBe(400);
  res = await client.call("PATCH", `${envs}/staging`, { body: { defaultTtl: -1 } });
  expect(res.status).toBe(400);
  expect(res.body.message).toContain("defaultTtl");
  expect((await client.call("DELETE", `${envs}/staging`)).status).toBe(204);
  expect((await client.call("GET", `${envs}/staging`)).status).toBe(404);
  expect((await client.call("DELETE", `${envs}/staging`)).status).toBe(404);

  // Delete.
  for (const key of keys) expect((await client.call("DELETE", `/api/v2/projects/${key}`)).status).toBe(204);
  const gone = await client.call("GET", path);
  expect(gone.status).toBe(404);
  isErrorBody(gone.body, "not_found");
  expect((await client.call("DELETE", path)).status).toBe(404);
  expect((await client.call("GET", "/api/v2/projects")).body.totalCount).toBe(before);
  const unknown = await client.call("GET", "/api/v2/nothing-here");
  expect(unknown.status).toBe(404);
  isErrorBody(unknown.body, "not_found");
}
