/**
 * Calls the documented SDK connections operation, answers and refusals: an environment with one
 * server-side stream open, one without any, and unknown ones.
 */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";
import { openSse } from "../../support/sse.ts";

export async function exerciseSdkConnections(api: Client, baseUrl: string): Promise<void> {
  const project = await api.call("POST", "/api/v2/projects", { body: { key: "contract-sc", name: "Connections", environments: [{ key: "live", name: "Live", color: "00ff00" }, { key: "test", name: "Test", color: "aaaaaa" }] } });
  expect(project.status).toBe(201);
  const sdkKey = project.body.environments.find((e: { key: string }) => e.key === "live").apiKey;
  const stream = await openSse(`${baseUrl}/all`, { headers: { authorization: sdkKey, "user-agent": "ContractClient/1.0.0" } });
  try {
    await stream.next((e) => e.event === "put");
    let open = await api.call("GET", "/api/v2/projects/contract-sc/environments/live/sdk-connections");
    for (const deadline = Date.now() + 10_000; open.body.totals?.streams !== 1 && Date.now() < deadline; ) {
      await Bun.sleep(50);
      open = await api.call("GET", "/api/v2/projects/contract-sc/environments/live/sdk-connections");
    }
    expect(open.status).toBe(200);
    expect(open.body.items).toHaveLength(1);
    expect(open.body.items[0]).toMatchObject({ kind: "server-stream", sdk: { name: "ContractClient", version: "1.0.0" }, count: 1 });
  } finally {
    stream.close();
  }
  const none = await api.call("GET", "/api/v2/projects/contract-sc/environments/test/sdk-connections");
  expect(none.status).toBe(200);
  expect(none.body.items).toEqual([]);
  expect((await api.call("GET", "/api/v2/projects/contract-sc/environments/nope/sdk-connections")).status).toBe(404);
  expect((await api.call("GET", "/api/v2/projects/nope/environments/live/sdk-connections")).status).toBe(404);
  expect((await api.call("GET", "/api/v2/projects/contract-sc/environments/live/sdk-connections", { token: null })).status).toBe(401);
}
