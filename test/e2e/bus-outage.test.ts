/**
 * The nats-server stopped under a distributed cluster: once a process knows the bus is down, it
 * says so at once — `/readyz` 503, and requests a JSON 503 with `Retry-After` rather than a 504 after
 * the service timeout — and everything works again when the server is back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { launchCluster, waitReady, type Cluster } from "../../infra/launcher.ts";
import { issueCredential } from "@vexil/shared/secrets";
import { makeClient, type Client } from "../support/client.ts";

const token = "bus-outage-admin-token-0001";
let cluster: Cluster;
let client: Client;

beforeAll(async () => {
  // A service timeout far beyond what the test waits for: a 504 could only come from waiting it out.
  cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 1, streaming: 1 }, adminToken: token, env: { VEXIL_SERVICE_TIMEOUT_MS: "30000" } });
  client = makeClient(cluster.gateways, token);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

describe("a bus outage", () => {
  test("requests get a JSON 503 with Retry-After while /readyz says 503, and succeed once the bus is back", async () => {
    expect((await client.call("GET", "/api/v2/projects")).status).toBe(200);
    const gateway = cluster.gateways[0]!;
    await cluster.nats!.stop();
    try {
      await until("the gateway to report the bus down", async () => (await fetch(`${gateway}/readyz`)).status === 503);
      const ready = (await (await fetch(`${gateway}/readyz`)).json()) as { checks: { bus: string } };
      expect(ready.checks.bus).not.toBe("ok");

      // A token whose verdict is cached goes on to flags over the bus; a new one must be checked by auth over it.
      for (const call of [() => client.call("GET", "/api/v2/projects"), () => client.call("GET", "/api/v2/projects", { token: "a-token-not-seen-before-0001" })]) {
        const res = await call();
        expect({ status: res.status, code: res.body?.code }).toEqual({ status: 503, code: "service_unavailable" });
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        expect(typeof res.body.id).toBe("string");
      }
      // The streaming port: an SDK key it has not checked yet cannot be checked now.
      const streaming = cluster.instances.find((i) => i.kind === "streaming")!;
      await until("the streaming instance to report the bus down", async () => (await fetch(`${streaming.url}/readyz`)).status === 503);
      const sdk = await fetch(`${streaming.url}/sdk/latest-all`, { headers: { authorization: issueCredential("sdk").value } });
      expect({ status: sdk.status, code: ((await sdk.json()) as { code: string }).code }).toEqual({ status: 503, code: "service_unavailable" });
      expect(sdk.headers.get("retry-after")).toBe("1");
      // A write too: refused before anything was sent, so nothing changed.
      const write = await client.call("POST", "/api/v2/projects", { body: { key: "during-outage", name: "During" } });
      expect(write.status).toBe(503);
      expect(write.headers.get("retry-after")).not.toBeNull();
    } finally {
      await cluster.nats!.start();
    }
    await waitReady(gateway, 20_000);
    for (const i of cluster.instances) await waitReady(i.url, 20_000);
    expect((await client.call("GET", "/api/v2/projects")).status).toBe(200);
    expect((await client.call("GET", "/api/v2/projects/during-outage")).status).toBe(404);
    expect((await client.call("POST", "/api/v2/projects", { body: { key: "after-outage", name: "After" } })).status).toBe(201);
  }, 90_000);
});
