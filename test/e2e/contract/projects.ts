/** Calls every documented project and environment operation, answers and refusals. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

export async function exerciseProjects(api: Client): Promise<void> {
  const created = await api.call("POST", "/api/v2/projects", { body: { key: "contract-p", name: "Contract", tags: ["web"], environments: [{ key: "live", name: "Live", color: "00ff00" }] } });
  expect(created.status).toBe(201);
  expect((await api.call("POST", "/api/v2/projects", { body: { key: "contract-p", name: "Again" } })).status).toBe(409);
  expect((await api.call("POST", "/api/v2/projects", { body: { key: "", name: 5 } })).status).toBe(400);
  expect((await api.call("GET", "/api/v2/projects?limit=1&expand=environments")).status).toBe(200);
  expect((await api.call("GET", "/api/v2/projects?limit=zero")).status).toBe(400);
  expect((await api.call("GET", "/api/v2/projects/contract-p?expand=environments")).status).toBe(200);
  expect((await api.call("GET", "/api/v2/projects/nope")).status).toBe(404);
  expect((await api.call("PATCH", "/api/v2/projects/contract-p", { body: [{ op: "replace", path: "/name", value: "Contract 2" }] })).status).toBe(200);
  expect((await api.call("PATCH", "/api/v2/projects/contract-p", { body: [{ op: "test", path: "/name", value: "other" }] })).status).toBeGreaterThanOrEqual(400);
  expect((await api.call("PATCH", "/api/v2/projects/contract-p", { body: { merge: { tags: ["web", "app"] } } })).status).toBe(200);

  const envs = "/api/v2/projects/contract-p/environments";
  expect((await api.call("GET", envs)).status).toBe(200);
  expect((await api.call("POST", envs, { body: { key: "staging", name: "Staging", color: "ffaa00" } })).status).toBe(201);
  expect((await api.call("POST", envs, { body: { key: "staging", name: "Staging", color: "ffaa00" } })).status).toBe(409);
  expect((await api.call("POST", envs, { body: { key: "bad", name: "Bad", color: "nothex" } })).status).toBe(400);
  expect((await api.call("GET", `${envs}/staging`)).status).toBe(200);
  expect((await api.call("GET", `${envs}/nope`)).status).toBe(404);
  expect((await api.call("PATCH", `${envs}/staging`, { body: [{ op: "replace", path: "/requireComments", value: false }] })).status).toBe(200);
  expect((await api.call("PATCH", `${envs}/staging`, { body: [{ op: "replace", path: "/color", value: 7 }] })).status).toBeGreaterThanOrEqual(400);
  expect((await api.call("POST", `${envs}/staging/apiKey`)).status).toBe(200);
  expect((await api.call("POST", `${envs}/staging/mobileKey`)).status).toBe(200);
  expect((await api.call("POST", `${envs}/nope/mobileKey`)).status).toBe(404);
  expect((await api.call("DELETE", `${envs}/staging`)).status).toBe(204);
  expect((await api.call("DELETE", `${envs}/staging`)).status).toBe(404);

  expect((await api.call("POST", "/api/v2/projects", { body: { key: "contract-gone", name: "Gone" } })).status).toBe(201);
  expect((await api.call("DELETE", "/api/v2/projects/contract-gone")).status).toBe(204);
  expect((await api.call("DELETE", "/api/v2/projects/contract-gone")).status).toBe(404);
}
