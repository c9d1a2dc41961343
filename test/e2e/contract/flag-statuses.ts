/**
 * Calls every documented flag status operation, answers and refusals. An SDK report (a summary
 * event, sent as the SDKs send it) gives one flag a `lastRequested` and a `default`; the process
 * must send evaluation counts often (`VEXIL_EVALUATIONS_FLUSH_MS`) for it to show in time.
 */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

export async function exerciseFlagStatuses(api: Client): Promise<void> {
  const project = await api.call("POST", "/api/v2/projects", { body: { key: "contract-st", name: "Statuses", environments: [{ key: "live", name: "Live", color: "00ff00" }, { key: "test", name: "Test", color: "aaaaaa" }] } });
  expect(project.status).toBe(201);
  const sdkKey = project.body.environments.find((e: { key: string }) => e.key === "live").apiKey;
  for (const key of ["checkout", "banner"]) expect((await api.call("POST", "/api/v2/flags/contract-st", { body: { key, name: key } })).status).toBe(201);

  const now = Date.now();
  const summary = [{ kind: "summary", startDate: now - 1_000, endDate: now, features: { checkout: { default: false, counters: [{ variation: 1, version: 1, value: false, count: 3 }] } } }];
  expect((await api.call("POST", "/bulk", { token: sdkKey, body: summary })).status).toBe(202);
  const deadline = Date.now() + 15_000;
  let status = await api.call("GET", "/api/v2/flag-statuses/contract-st/live/checkout");
  while (status.body.lastRequested === undefined && Date.now() < deadline) {
    await Bun.sleep(50);
    status = await api.call("GET", "/api/v2/flag-statuses/contract-st/live/checkout");
  }
  expect(status.status).toBe(200);
  expect(status.body).toMatchObject({ name: "active", lastRequested: new Date(now).toISOString(), default: false });

  expect((await api.call("GET", "/api/v2/flag-statuses/contract-st/live")).body.items).toHaveLength(2);
  expect((await api.call("GET", "/api/v2/flag-statuses/contract-st/nope")).status).toBe(404);
  expect((await api.call("GET", "/api/v2/flag-statuses/nope/live")).status).toBe(404);
  expect((await api.call("GET", "/api/v2/flag-statuses/contract-st/live/nope")).status).toBe(404);
  const across = await api.call("GET", "/api/v2/flag-status/contract-st/checkout");
  expect(across.status).toBe(200);
  expect(across.body.environments).toMatchObject({ live: { name: "active", default: false }, test: { name: "new" } });
  expect((await api.call("GET", "/api/v2/flag-status/contract-st/checkout?env=test")).status).toBe(200);
  expect((await api.call("GET", "/api/v2/flag-status/contract-st/checkout?env=nope")).status).toBe(404);
  expect((await api.call("GET", "/api/v2/flag-status/contract-st/nope")).status).toBe(404);
  expect((await api.call("GET", "/api/v2/flag-status/contract-st/checkout", { token: null })).status).toBe(401);
}
