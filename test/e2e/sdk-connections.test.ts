/**
 * An environment's SDK connections, with real SDKs connected: the LaunchDarkly Node server SDK
 * streaming and polling, a client-side stream and a mobile poll over raw HTTP. In the all-in-one
 * process on the embedded default (in-process bus) and in a cluster with two streaming and two flags
 * instances, where the answer gathers every streaming instance's connections. Bad input, refusals,
 * an empty environment, a change moving the streams' sequence number, closed streams leaving.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basicLogger, init, type LDClient } from "@launchdarkly/node-server-sdk";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";
import { openSse, type SseReader } from "../support/sse.ts";

const TOKEN = "sdk-connections-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const quiet = basicLogger({ level: "none" });
const context = Buffer.from(JSON.stringify({ kind: "user", key: "ada" })).toString("base64url");

interface Group {
  instance: string;
  kind: string;
  sdk: { name: string; version: string | null };
  wrapper: { name: string; version: string | null } | null;
  count: number;
  connectedSince: number;
  lastEventSeq: number;
  lastSeen: number;
}

/** Asks until `ok` holds for the answer (connections register as SDKs connect), then answers it. */
async function connectionsUntil(admin: Client, path: string, ok: (body: any) => boolean, what: string): Promise<any> {
  let last: any;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const res = await admin.call("GET", path);
    expect(res.status).toBe(200);
    last = res.body;
    if (ok(last)) return last;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
}

const groupOf = (body: any, kind: string, name: string): Group | undefined => body.items.find((g: Group) => g.kind === kind && g.sdk.name === name);

async function newProject(admin: Client, key: string) {
  const project = await admin.call("POST", "/api/v2/projects", {
    body: { key, name: key, environments: [{ key: "live", name: "Live", color: "00ff00" }, { key: "quiet", name: "Quiet", color: "aaaaaa" }] },
  });
  expect(project.status).toBe(201);
  expect((await admin.call("POST", `/api/v2/flags/${key}`, { body: { key: "banner", name: "Banner" } })).status).toBe(201);
  const live = project.body.environments.find((e: { key: string }) => e.key === "live");
  return { sdkKey: live.apiKey as string, mobileKey: live.mobileKey as string, clientSideId: live._id as string };
}

describe("SDK connections in the all-in-one process (embedded, in-process bus)", () => {
  let vexil: Running;
  let admin: Client;
  let dataDir: string;
  let keys: Awaited<ReturnType<typeof newProject>>;
  const clients: LDClient[] = [];
  const streams: SseReader[] = [];
  const path = "/api/v2/projects/conn/environments/live/sdk-connections";

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "vexil-connections-"));
    vexil = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: dataDir });
    admin = makeClient([vexil.url], TOKEN);
    keys = await newProject(admin, "conn");
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of streams) s.close();
    await vexil?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  test("an environment nobody connects to answers an empty list, the one instance counted", async () => {
    const res = await admin.call("GET", "/api/v2/projects/conn/environments/quiet/sdk-connections");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ items: [], totals: { streams: 0, serverStreams: 0, clientStreams: 0, mobileStreams: 0, pollingRequests: 0, sdks: 0 }, instancesAnswered: 1 });
    expect(res.body.instances).toHaveLength(1);
    expect(res.body._links.self.href).toBe("/api/v2/projects/conn/environments/quiet/sdk-connections");
    expect(res.body._links.parent.href).toBe("/api/v2/projects/conn/environments/quiet");
  });

  test("streams and polling SDKs of every kind, per SDK, with no key or address in the answer", async () => {
    const streaming = init(keys.sdkKey, { baseUri: vexil.url, streamUri: vexil.url, eventsUri: vexil.url, sendEvents: false, logger: quiet });
    const polling = init(keys.sdkKey, { baseUri: vexil.url, streamUri: vexil.url, eventsUri: vexil.url, sendEvents: false, stream: false, logger: quiet });
    clients.push(streaming, polling);
    await Promise.all([streaming.waitForInitialization({ timeout: 10 }), polling.waitForInitialization({ timeout: 10 })]);
    const browser = await openSse(`${vexil.url}/eval/${keys.clientSideId}/${context}`, { headers: { "x-launchdarkly-user-agent": "JSClient/3.4.0", "x-launchdarkly-wrapper": "react-client-sdk/3.0.1" } });
    expect(browser.status).toBe(200);
    streams.push(browser);
    await browser.next((e) => e.event === "put");
    const mobile = await fetch(`${vexil.url}/msdk/evalx/contexts/${context}`, { headers: { authorization: keys.mobileKey, "user-agent": "AndroidClient/5.0.0" } });
    expect(mobile.status).toBe(200);

    const body = await connectionsUntil(admin, path, (b) => b.totals.streams === 2 && b.totals.pollingRequests >= 2, "two streams and two polling SDKs");
    const node = groupOf(body, "server-stream", "NodeJSClient")!;
    expect(node).toMatchObject({ count: 1, wrapper: null });
    expect(node.sdk.version).toMatch(/^\d+\.\d+/);
    expect(node.connectedSince).toBeLessThanOrEqual(Date.now());
    expect(groupOf(body, "server-polling", "NodeJSClient")!.count).toBeGreaterThanOrEqual(1);
    expect(groupOf(body, "client-stream", "JSClient")).toMatchObject({ count: 1, sdk: { version: "3.4.0" }, wrapper: { name: "react-client-sdk", version: "3.0.1" } });
    expect(groupOf(body, "mobile-polling", "AndroidClient")).toMatchObject({ count: 1, sdk: { version: "5.0.0" } });
    expect(body.totals).toMatchObject({ streams: 2, serverStreams: 1, clientStreams: 1, mobileStreams: 0, sdks: 3 });
    // Streams come first, server before client; polling after.
    expect(body.items.map((g: Group) => g.kind).slice(0, 2)).toEqual(["server-stream", "client-stream"]);
    expect(body.instancesAnswered).toBe(1);
    expect(new Set(body.items.map((g: Group) => g.instance))).toEqual(new Set([body.instances[0].instance]));
    expect(body.pollingWindowMs).toBe(300_000);
    const text = JSON.stringify(body);
    for (const secret of [keys.sdkKey, keys.mobileKey, keys.sdkKey.slice(-12)]) expect(text).not.toContain(secret);
    expect(text).not.toContain("127.0.0.1");

    // A change: every stream's sequence number moves up to the instance's.
    const before = body.instances[0].environmentSeq as number;
    expect(node.lastEventSeq).toBe(before);
    const updated = new Promise<void>((resolve) => streaming.once("update:banner", () => resolve()));
    expect((await admin.call("PATCH", "/api/v2/flags/conn/banner", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(200);
    await updated;
    const after = await connectionsUntil(admin, path, (b) => groupOf(b, "server-stream", "NodeJSClient")?.lastEventSeq === before + 1 && groupOf(b, "client-stream", "JSClient")?.lastEventSeq === before + 1, "the streams up to the change");
    expect(after.instances[0].environmentSeq).toBe(before + 1);

    // Streams that close leave the list; the polling SDKs stay for their window.
    streaming.close();
    browser.close();
    const closed = await connectionsUntil(admin, path, (b) => b.totals.streams === 0, "the streams gone");
    expect(groupOf(closed, "server-polling", "NodeJSClient")).toBeDefined();
    expect(groupOf(closed, "mobile-polling", "AndroidClient")).toBeDefined();
  }, 60_000);

  test("unknown project or environment: 404 JSON; no token: 401; a token that may read nothing: 403", async () => {
    for (const bad of ["/api/v2/projects/nope/environments/live/sdk-connections", "/api/v2/projects/conn/environments/nope/sdk-connections"]) {
      const res = await admin.call("GET", bad);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: "not_found" });
      expect(typeof res.body.message).toBe("string");
      expect(typeof res.body.id).toBe("string");
    }
    expect((await admin.call("GET", `/api/v2/projects/conn/environments/${"x".repeat(200)}/sdk-connections`)).status).toBe(400);
    expect((await admin.call("GET", path, { token: null })).status).toBe(401);
    const role = await admin.call("POST", "/api/v2/roles", {
      body: { key: "renamer", name: "Renamer", basePermissions: "no_access", policy: [{ effect: "allow", resources: ["proj/other:env/*"], actions: ["updateName"] }] },
    });
    expect(role.status).toBe(201);
    const token = await admin.call("POST", "/api/v2/tokens", { body: { name: "renamer", serviceToken: true, customRoleIds: ["renamer"] } });
    expect(token.status).toBe(201);
    const refused = await admin.call("GET", path, { token: token.body.token });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "forbidden" });
    // A reader may look.
    const reader = await admin.call("POST", "/api/v2/tokens", { body: { name: "reader", serviceToken: true, role: "reader" } });
    expect(reader.status).toBe(201);
    expect((await admin.call("GET", path, { token: reader.body.token })).status).toBe(200);
  }, 30_000);
});

describe("SDK connections in the distributed cluster", () => {
  let cluster: Cluster;
  let admin: Client;
  const streams: SseReader[] = [];
  const clients: LDClient[] = [];

  beforeAll(async () => {
    cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 2, streaming: 2 }, adminToken: TOKEN });
    admin = makeClient(cluster.gateways, TOKEN);
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of streams) s.close();
    await cluster?.stop();
  }, 60_000);

  test("every streaming instance's connections, through the flags instances, with the instances that answered", async () => {
    const keys = await newProject(admin, "spread");
    const [first, second] = cluster.instances.filter((i) => i.kind === "streaming");
    for (const [url, agent] of [[first!.url, "GoClient/7.1.0"], [first!.url, "GoClient/7.1.0"], [second!.url, "PythonClient/9.2.0"]] as const) {
      const stream = await openSse(`${url}/all`, { headers: { authorization: keys.sdkKey, "user-agent": agent } });
      expect(stream.status).toBe(200);
      await stream.next((e) => e.event === "put");
      streams.push(stream);
    }
    const node = init(keys.sdkKey, { baseUri: second!.url, streamUri: second!.url, eventsUri: second!.url, sendEvents: false, logger: quiet });
    clients.push(node);
    await node.waitForInitialization({ timeout: 10 });

    const path = "/api/v2/projects/spread/environments/live/sdk-connections";
    const complete = (b: any) => b.instancesAnswered === 2 && b.totals.streams === 4;
    // Asked six times, through whichever flags instance the queue group picks: each time both
    // instances' streams come back (an instance slower than the gather's quiet window may miss one
    // answer on a loaded machine and is then asked again; the count of instances says so).
    let body: any;
    for (let i = 0; i < 6; i++) body = await connectionsUntil(admin, path, complete, "both instances' four streams");
    expect(body.totals).toMatchObject({ streams: 4, serverStreams: 4, clientStreams: 0, mobileStreams: 0, sdks: 3 });
    const byInstance = new Map<string, number>(body.instances.map((i: { instance: string; streams: number }) => [i.instance, i.streams]));
    expect([...byInstance.values()].sort()).toEqual([2, 2]);
    const go = groupOf(body, "server-stream", "GoClient")!;
    const python = groupOf(body, "server-stream", "PythonClient")!;
    const nodeGroup = groupOf(body, "server-stream", "NodeJSClient")!;
    expect(go).toMatchObject({ count: 2, sdk: { version: "7.1.0" } });
    expect(python).toMatchObject({ count: 1, instance: nodeGroup.instance });
    expect(go.instance).not.toBe(python.instance);
    expect(new Set(body.instances.map((i: { instance: string }) => i.instance))).toEqual(new Set([go.instance, python.instance]));
    expect(JSON.stringify(body)).not.toContain(keys.sdkKey);

    // A change reaches every stream on both instances; each group is then up to date with it.
    const seq = Math.max(...body.instances.map((i: { environmentSeq: number }) => i.environmentSeq));
    expect((await admin.call("PATCH", "/api/v2/flags/spread/banner", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(200);
    for (const s of streams) await s.next((e) => e.event === "patch");
    const after = await connectionsUntil(admin, path, (b) => complete(b) && b.items.every((g: Group) => g.lastEventSeq === seq + 1), "every group up to the change");
    expect(after.instances.map((i: { environmentSeq: number }) => i.environmentSeq)).toEqual([seq + 1, seq + 1]);

    // The quiet environment: both instances answer, nothing is connected.
    const none = await connectionsUntil(admin, "/api/v2/projects/spread/environments/quiet/sdk-connections", (b) => b.instancesAnswered === 2, "both instances");
    expect(none.items).toEqual([]);
    expect((await admin.call("GET", "/api/v2/projects/spread/environments/nope/sdk-connections")).status).toBe(404);
  }, 90_000);
});
