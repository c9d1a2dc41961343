/** Calls every documented flags-as-code operation: export, plan and apply, answers and refusals. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

export async function exerciseFlagsAsCode(api: Client): Promise<void> {
  expect((await api.call("POST", "/api/v2/projects", { body: { key: "contract-fac", name: "Contract flags as code", environments: [{ key: "live", name: "Live", color: "00ff00" }] } })).status).toBe(201);
  expect((await api.call("POST", "/api/v2/flags/contract-fac", { body: { key: "banner", name: "Banner" } })).status).toBe(201);
  expect((await api.call("POST", "/api/v2/segments/contract-fac/live", { body: { key: "staff", name: "Staff" } })).status).toBe(201);
  const base = "/api/v2/projects/contract-fac";

  const exported = await api.call("GET", `${base}/export?format=json`);
  expect(exported.status).toBe(200);
  expect(exported.body.flags.map((f: { key: string }) => f.key)).toEqual(["banner"]);
  expect((await api.call("GET", `${base}/export?format=toml`)).status).toBe(400);
  expect((await api.call("GET", "/api/v2/projects/contract-fac-nope/export?format=json")).status).toBe(404);

  const file = { ...exported.body, flags: [{ ...exported.body.flags[0], name: "Banner, renamed" }] };
  const plan = await api.call("POST", `${base}/plan`, { body: { file } });
  expect(plan.status).toBe(200);
  expect(plan.body.items.length).toBe(1);
  expect((await api.call("POST", `${base}/plan`, { body: { file: { ...file, extra: 1 } } })).status).toBe(400);
  expect((await api.call("POST", `${base}/plan`, { body: { fromEnv: "live" } })).status).toBe(400);
  expect((await api.call("POST", "/api/v2/projects/contract-fac-nope/plan", { body: { file } })).status).toBe(404);

  const applied = await api.call("POST", `${base}/apply`, { body: { plan: plan.body, comment: "contract" } });
  expect(applied.status).toBe(200);
  expect(applied.body.applied.length).toBe(1);
  const again = await api.call("POST", `${base}/apply`, { body: { plan: plan.body } });
  expect(again.status).toBe(200);
  expect(again.body.conflicts.length).toBe(1);
  expect((await api.call("POST", `${base}/apply`, { body: { plan: plan.body, file } })).status).toBe(400);
  expect((await api.call("POST", `${base}/apply`, { body: { file, prune: true, comment: "prune" } })).status).toBe(200);
}
