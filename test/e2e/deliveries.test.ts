/**
 * Delivery receipts across instances: two streaming instances with SDK streams of one environment
 * (two on one, one on the other) and two flags instances. A change reaches all three streams; the
 * deliveries answer, through the gateway from either flags instance, names both streaming
 * instances with their stream counts and the lag over the three streams.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import { makeClient, type Client } from "../support/client.ts";
import { openSse, type SseReader } from "../support/sse.ts";

const token = "deliveries-admin-token-0001";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
let cluster: Cluster;
let admin: Client;
const streams: SseReader[] = [];

beforeAll(async () => {
  cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 2, streaming: 2 }, adminToken: token });
  admin = makeClient(cluster.gateways, token);
}, 120_000);
afterAll(async () => {
  for (const s of streams) s.close();
  await cluster?.stop();
}, 60_000);

describe("delivery receipts in the distributed cluster", () => {
  test("a change's streams per streaming instance and its lag, from either flags instance", async () => {
    const project = await admin.call("POST", "/api/v2/projects", { body: { key: "receipts", name: "Receipts", environments: [{ key: "live", name: "Live", color: "00ff00" }] } });
    expect(project.status).toBe(201);
    const sdkKey = project.body.environments[0].apiKey as string;
    expect((await admin.call("POST", "/api/v2/flags/receipts", { body: { key: "banner", name: "Banner" } })).status).toBe(201);

    const [first, second] = cluster.instances.filter((i) => i.kind === "streaming");
    for (const url of [first!.url, first!.url, second!.url]) {
      const stream = await openSse(`${url}/all`, { headers: { authorization: sdkKey } });
      expect(stream.status).toBe(200);
      await stream.next((e) => e.event === "put");
      streams.push(stream);
    }
    const before = Date.now();
    const changed = await admin.call("PATCH", "/api/v2/flags/receipts/banner", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }] } });
    expect(changed.status).toBe(200);
    for (const stream of streams) await stream.next((e) => e.event === "patch" && JSON.parse(e.data).data.on === true);

    // Both flags instances hear every receipt: twelve answers in a row, spread over the two by the
    // queue group, must all be complete (were one instance missing receipts, about half would not be).
    const complete = (body: any) => body.items.length === 1 && body.items[0].instances.length === 2;
    const answers: any[] = [];
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && (answers.length < 12 || !answers.slice(-12).every(complete)); ) {
      answers.push((await admin.call("GET", "/api/v2/flags/receipts/banner/deliveries?env=live")).body);
      if (!complete(answers.at(-1))) await Bun.sleep(50);
    }
    const body = answers.at(-1);
    expect(complete(body)).toBe(true);
    const item = body.items[0];
    expect(item).toMatchObject({ environmentKey: "live", version: 2, streams: 3 });
    expect(item.committedAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(item.instances.map((i: { streams: number }) => i.streams).sort()).toEqual([1, 2]);
    expect(new Set(item.instances.map((i: { instance: string }) => i.instance)).size).toBe(2);
    for (const i of item.instances) {
      expect(i.deliveredAt).toBeGreaterThanOrEqual(item.committedAt);
      expect(i.lagMs).toBe(i.deliveredAt - item.committedAt);
    }
    const lags = item.instances.map((i: { lagMs: number }) => i.lagMs);
    expect(item.lagMs.max).toBe(Math.max(...lags));
    expect(item.lagMs.p50).toBeLessThanOrEqual(item.lagMs.p99);
    expect(item.lagMs.p99).toBeLessThanOrEqual(item.lagMs.max);
    // The two streams on one instance make its lag the median.
    expect(item.lagMs.p50).toBe(item.instances.find((i: { streams: number }) => i.streams === 2).lagMs);
    expect(body._links.self.href).toBe("/api/v2/flags/receipts/banner/deliveries?env=live");

    // A second change is listed first.
    expect((await admin.call("PATCH", "/api/v2/flags/receipts/banner", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOff" }] } })).status).toBe(200);
    let after = await admin.call("GET", "/api/v2/flags/receipts/banner/deliveries");
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !(after.body.items.length === 2 && after.body.items[0].streams === 3); ) {
      await Bun.sleep(50);
      after = await admin.call("GET", "/api/v2/flags/receipts/banner/deliveries");
    }
    expect(after.body.items.map((i: { version: number }) => i.version)).toEqual([3, 2]);
  }, 60_000);
});
