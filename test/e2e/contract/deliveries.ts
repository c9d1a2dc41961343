/**
 * Calls the documented delivery receipts operation, answers and refusals: a stream of the
 * environment gets a change, and the flag's deliveries then show it reached that stream.
 */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";
import { openSse } from "../../support/sse.ts";

export async function exerciseDeliveries(api: Client, baseUrl: string): Promise<void> {
  const project = await api.call("POST", "/api/v2/projects", { body: { key: "contract-dl", name: "Deliveries", environments: [{ key: "live", name: "Live", color: "00ff00" }, { key: "test", name: "Test", color: "aaaaaa" }] } });
  expect(project.status).toBe(201);
  const sdkKey = project.body.environments.find((e: { key: string }) => e.key === "live").apiKey;
  expect((await api.call("POST", "/api/v2/flags/contract-dl", { body: { key: "banner", name: "Banner" } })).status).toBe(201);
  const none = await api.call("GET", "/api/v2/flags/contract-dl/banner/deliveries");
  expect(none.status).toBe(200);
  expect(none.body.items).toEqual([]);

  const stream = await openSse(`${baseUrl}/all`, { headers: { authorization: sdkKey } });
  try {
    await stream.next((e) => e.event === "put");
    const changed = await api.call("PATCH", "/api/v2/flags/contract-dl/banner", { headers: { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" }, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }] } });
    expect(changed.status).toBe(200);
    await stream.next((e) => e.event === "patch");
  } finally {
    stream.close();
  }
  let deliveries = await api.call("GET", "/api/v2/flags/contract-dl/banner/deliveries?env=live");
  for (const deadline = Date.now() + 10_000; deliveries.body.items.length === 0 && Date.now() < deadline; ) {
    await Bun.sleep(50);
    deliveries = await api.call("GET", "/api/v2/flags/contract-dl/banner/deliveries?env=live");
  }
  expect(deliveries.status).toBe(200);
  expect(deliveries.body.items).toHaveLength(1);
  expect(deliveries.body.items[0]).toMatchObject({ environmentKey: "live", version: 2, streams: 1 });
  expect(deliveries.body.items[0].instances).toHaveLength(1);
  expect((await api.call("GET", "/api/v2/flags/contract-dl/banner/deliveries?env=test")).body.items).toEqual([]);
  expect((await api.call("GET", "/api/v2/flags/contract-dl/banner/deliveries?env=nope")).status).toBe(404);
  expect((await api.call("GET", "/api/v2/flags/contract-dl/nope/deliveries")).status).toBe(404);
  expect((await api.call("GET", "/api/v2/flags/nope/banner/deliveries")).status).toBe(404);
  expect((await api.call("GET", "/api/v2/flags/contract-dl/banner/deliveries", { token: null })).status).toBe(401);
}
