/**
 * Streaming in the distributed cluster: two streaming instances behind a plain round-robin proxy
 * (what a load balancer does), the real server-side SDK connected through it. Every SDK sees
 * changes made through the gateway; when one streaming instance dies, its SDKs reconnect to the
 * other and keep seeing changes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { basicLogger, init, type LDClient } from "@launchdarkly/node-server-sdk";
import { isAlive, launchCluster, type Cluster, type Instance } from "../../infra/launcher.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";

const TOKEN = "streaming-cluster-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
let cluster: Cluster;
let admin: Client;
let proxy: ReturnType<typeof Bun.serve>;
let streaming: Instance[];
let sdkKey: string;
const clients: LDClient[] = [];

/** Round robin over the live streaming instances; a refused connection tries the next. */
function startProxy(): ReturnType<typeof Bun.serve> {
  let turn = 0;
  return Bun.serve({
    port: freePort(),
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
      for (let i = 0; i < streaming.length; i++) {
        const backend = streaming[turn++ % streaming.length]!;
        if (!isAlive(backend)) continue;
        try {
          return await fetch(`${backend.url}${url.pathname}${url.search}`, { method: request.method, headers: request.headers, body, redirect: "manual" });
        } catch {
          // Down: the next one.
        }
      }
      return new Response("no streaming instance", { status: 503 });
    },
  });
}

beforeAll(async () => {
  cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 1, streaming: 2 }, adminToken: TOKEN, logLevel: "warn" });
  streaming = cluster.instances.filter((i) => i.kind === "streaming");
  admin = makeClient(cluster.gateways, TOKEN);
  const project = await admin.call("POST", "/api/v2/projects", { body: { key: "dist", name: "Dist", environments: [{ key: "live", name: "Live", color: "123456" }] } });
  expect(project.status).toBe(201);
  sdkKey = project.body.environments[0].apiKey;
  expect((await admin.call("POST", "/api/v2/flags/dist", { body: { key: "switch", name: "Switch" } })).status).toBe(201);
  proxy = startProxy();
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  proxy?.stop(true);
  await cluster?.stop();
}, 60_000);

const toggle = (kind: "turnFlagOn" | "turnFlagOff") => admin.call("PATCH", "/api/v2/flags/dist/switch", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind }] } });

async function allSee(value: boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = await Promise.all(clients.map((c) => c.variation("switch", { kind: "user", key: "u" }, "unknown")));
    if (seen.every((v) => v === value)) return;
    if (Date.now() > deadline) throw new Error(`not every SDK sees ${value}: ${JSON.stringify(seen)}`);
    await Bun.sleep(50);
  }
}

test("SDKs spread over two streaming instances all see a change; killing one, its SDKs reconnect to the other and keep up", async () => {
  const url = `http://127.0.0.1:${proxy.port}`;
  for (let i = 0; i < 4; i++) clients.push(init(sdkKey, { baseUri: url, streamUri: url, eventsUri: url, sendEvents: false, logger: basicLogger({ level: "none" }), streamInitialReconnectDelay: 0.2 }));
  await Promise.all(clients.map((c) => c.waitForInitialization({ timeout: 15 })));
  await allSee(false);
  expect((await toggle("turnFlagOn")).status).toBe(200);
  await allSee(true);

  await cluster.kill(streaming[0]!, "SIGKILL");
  expect((await toggle("turnFlagOff")).status).toBe(200);
  await allSee(false, 20_000);
  expect((await toggle("turnFlagOn")).status).toBe(200);
  await allSee(true);
}, 90_000);
