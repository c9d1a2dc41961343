/**
 * The edge (HAProxy, `infra/edge/`) in front of the distributed cluster the launcher starts: one
 * address for the REST API, the docs and every SDK endpoint. Through it the generated LaunchDarkly API
 * client works, the real server-side SDK receives its flags and their changes, and when a streaming
 * instance drains on SIGTERM or dies on SIGKILL its SDKs move to the other one and see the next change,
 * never answered 401 or 404 on the way. The launcher starts an instance that exited unasked again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { basicLogger, init, type LDClient } from "@launchdarkly/node-server-sdk";
import { Configuration, FeatureFlagsApi, ProjectsApi } from "launchdarkly-api-typescript";
import type { Edge, EdgeLogEntry } from "../../infra/edge/haproxy.ts";
import { readFileSync } from "node:fs";
import { isAlive, launchCluster, restartDelay, type Cluster, type Instance } from "../../infra/launcher.ts";
import { STREAMING_PATHS } from "../../services/streaming/paths.ts";
import { makeClient, type Client } from "../support/client.ts";

const TOKEN = "edge-test-admin-token-0123456789";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const CONTEXT = { kind: "user", key: "edge-user" };
const encodedContext = Buffer.from(JSON.stringify(CONTEXT)).toString("base64url");

let cluster: Cluster;
let edge: Edge;
let admin: Client;
let sdkKey: string;
let mobileKey: string;
let clientSideId: string;
const sdks: LDClient[] = [];
/** What the SDKs logged at warn and above. */
const sdkLog: string[] = [];

beforeAll(async () => {
  // HAProxy notices an SDK that went away when it next writes to it: a heartbeat every second makes that soon.
  cluster = await launchCluster({ counts: { gateway: 2, auth: 1, flags: 1, streaming: 2 }, adminToken: TOKEN, logLevel: "warn", edge: true, env: { VEXIL_STREAM_HEARTBEAT_MS: "1000" } });
  edge = cluster.edge!;
  admin = makeClient([edge.url], TOKEN);
  const project = await admin.call("POST", "/api/v2/projects", { body: { key: "edge", name: "Edge", environments: [{ key: "live", name: "Live", color: "123456" }] } });
  expect(project.status).toBe(201);
  ({ apiKey: sdkKey, mobileKey, _id: clientSideId } = project.body.environments[0]);
  const flag = await admin.call("POST", "/api/v2/flags/edge", { body: { key: "switch", name: "Switch", clientSideAvailability: { usingEnvironmentId: true, usingMobileKey: true } } });
  expect(flag.status).toBe(201);
}, 120_000);

afterAll(async () => {
  for (const c of sdks) c.close();
  await cluster?.stop();
}, 60_000);

const toggle = (kind: "turnFlagOn" | "turnFlagOff") => admin.call("PATCH", "/api/v2/flags/edge/switch", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind }] } });

async function allSee(value: boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = await Promise.all(sdks.map((c) => c.variation("switch", CONTEXT, "unknown")));
    if (seen.every((v) => v === value)) return;
    if (Date.now() > deadline) throw new Error(`not every SDK sees ${value}: ${JSON.stringify(seen)}`);
    await Bun.sleep(50);
  }
}

async function waitFor(what: string, probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

async function logged(match: (e: EdgeLogEntry) => boolean, what: string, ms = 10_000): Promise<EdgeLogEntry[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = edge.requests().filter(match);
    if (found.length > 0) return found;
    if (Date.now() > deadline) throw new Error(`the edge logged no ${what}`);
    await Bun.sleep(50);
  }
}

/** SDK requests the edge answered with an error: a stream is either served or the edge finds another instance. */
const refusals = () => edge.requests().filter((e) => STREAMING_PATHS.test(e.path) && e.status >= 400);
/** HTTP errors the SDKs saw (a stream cut off is an I/O error, which they retry at once). */
const sdkErrors = () => sdkLog.filter((l) => /Received error|\b(401|404)\b/.test(l));

describe("through the edge", () => {
  test("REST, the docs and the OpenAPI document reach the gateways, both of them in turn", async () => {
    const docs = await fetch(`${edge.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toContain("text/html");
    const openapi = await fetch(`${edge.url}/api/v2/openapi.json`);
    expect(openapi.status).toBe(200);
    expect(((await openapi.json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
    for (let i = 0; i < 4; i++) expect((await admin.call("GET", "/api/v2/projects/edge")).status).toBe(200);
    const rest = await logged((e) => e.path === "/api/v2/projects/edge", "REST call");
    expect(new Set(rest.map((e) => e.backend))).toEqual(new Set(["gateway"]));
    expect(new Set(rest.map((e) => e.server))).toEqual(new Set(["gateway-0", "gateway-1"]));
    // The edge's own readiness: at least one gateway in the rotation.
    expect((await fetch(`${edge.url}/edge/healthz`)).status).toBe(200);
    // Metrics are scraped from each process, never served on the public address.
    const metrics = await fetch(`${edge.url}/metrics`);
    expect(metrics.status).toBe(404);
    expect(((await metrics.json()) as { code: string }).code).toBe("not_found");
  }, 30_000);

  test("every SDK endpoint reaches the streaming instances and answers there", async () => {
    const sdkAuth = { authorization: sdkKey };
    const mobileAuth = { authorization: `api_key ${mobileKey}` };
    const json = { "content-type": "application/json" };
    const calls: Array<{ method: string; path: string; headers?: Record<string, string>; body?: string; status: number; stream?: boolean }> = [
      { method: "GET", path: "/all", headers: sdkAuth, status: 200, stream: true },
      { method: "GET", path: "/sdk/latest-all", headers: sdkAuth, status: 200 },
      { method: "GET", path: "/sdk/latest-flags/switch", headers: sdkAuth, status: 200 },
      { method: "GET", path: `/sdk/evalx/${clientSideId}/contexts/${encodedContext}`, status: 200 },
      { method: "REPORT", path: `/sdk/evalx/${clientSideId}/context`, headers: json, body: JSON.stringify(CONTEXT), status: 200 },
      { method: "GET", path: `/sdk/goals/${clientSideId}`, status: 200 },
      { method: "GET", path: `/eval/${clientSideId}/${encodedContext}`, status: 200, stream: true },
      { method: "GET", path: `/msdk/evalx/contexts/${encodedContext}`, headers: mobileAuth, status: 200 },
      { method: "GET", path: `/meval/${encodedContext}`, headers: mobileAuth, status: 200, stream: true },
      { method: "POST", path: "/bulk", headers: { ...sdkAuth, ...json }, body: "[]", status: 202 },
      { method: "POST", path: "/diagnostic", headers: { ...sdkAuth, ...json }, body: "{}", status: 202 },
      { method: "POST", path: `/events/bulk/${clientSideId}`, headers: json, body: "[]", status: 202 },
      { method: "POST", path: "/mobile", headers: { ...mobileAuth, ...json }, body: "[]", status: 202 },
      { method: "POST", path: "/ofrep/v1/evaluate/flags", headers: { ...sdkAuth, ...json }, body: JSON.stringify({ context: { targetingKey: "edge-user" } }), status: 200 },
    ];
    for (const call of calls) {
      const abort = new AbortController();
      const res = await fetch(`${edge.url}${call.path}`, { method: call.method, headers: call.headers, body: call.body, signal: abort.signal });
      expect({ path: call.path, status: res.status }).toEqual({ path: call.path, status: call.status });
      if (call.stream) {
        // The first event arrives through the edge as the instance writes it, not when the stream ends.
        expect(res.headers.get("content-type")).toContain("text/event-stream");
        const reader = res.body!.getReader();
        const first = new TextDecoder().decode((await reader.read()).value);
        expect(first).toMatch(/^(:.*\n)*event: (put|ping)/m);
        abort.abort();
      } else {
        await res.arrayBuffer();
      }
    }
    // The streams closed by the client are closed on the instances too (at the next heartbeat): none is left open.
    await waitFor("the edge to hold no stream", async () => (await edge.servers()).filter((s) => s.backend === "streaming").every((s) => s.current === 0));
    for (const call of calls) {
      const [entry] = await logged((e) => e.path === call.path && e.method === call.method, `${call.method} ${call.path}`);
      expect({ path: call.path, backend: entry!.backend }).toEqual({ path: call.path, backend: "streaming" });
    }
  }, 30_000);

  test("the generated LaunchDarkly API client works through the edge", async () => {
    const config = new Configuration({ apiKey: TOKEN, basePath: edge.url });
    const projects = new ProjectsApi(config);
    const flags = new FeatureFlagsApi(config);
    const project = await projects.getProject("edge", "environments");
    expect(project.status).toBe(200);
    expect(project.data.environments?.items.map((e) => e.key)).toEqual(["live"]);
    const created = await flags.postFeatureFlag("edge", { key: "through-edge", name: "Through the edge" });
    expect(created.status).toBe(201);
    const patched = await flags.patchFeatureFlag("edge", "through-edge", {
      comment: "via the edge",
      patch: [
        { op: "test", path: "/_version", value: created.data._version },
        { op: "replace", path: "/description", value: "changed through the edge" },
      ],
    });
    expect(patched.status).toBe(200);
    expect(patched.data.description).toBe("changed through the edge");
    expect((await flags.getFeatureFlag("edge", "through-edge")).data._version).toBeGreaterThan(created.data._version);
    try {
      await flags.getFeatureFlag("edge", "no-such-flag");
      throw new Error("a missing flag was found");
    } catch (e) {
      const err = e as { response?: { status: number; data: { code: string } } };
      expect(err.response?.status).toBe(404);
      expect(err.response?.data.code).toBe("not_found");
    }
  }, 30_000);

  test("server-side SDKs spread over both streaming instances receive the flags and a change", async () => {
    // The edge sends a stream to the instance holding fewest: with both in the rotation, SDKs started
    // one after another alternate (started at once, or while one instance's check is late on a busy
    // machine, they may all land on one).
    await edge.waitServer("streaming-0", "UP");
    await edge.waitServer("streaming-1", "UP");
    for (let i = 0; i < 4; i++) {
      const sdk = init(sdkKey, {
        baseUri: edge.url,
        streamUri: edge.url,
        eventsUri: edge.url,
        logger: basicLogger({ level: "warn", destination: (line: string) => sdkLog.push(line) }),
        streamInitialReconnectDelay: 0.2,
        flushInterval: 0.5,
      });
      sdks.push(sdk);
      await sdk.waitForInitialization({ timeout: 15 });
    }
    await allSee(false);
    expect((await toggle("turnFlagOn")).status).toBe(200);
    await allSee(true);
    // The streams are spread: each instance holds some.
    const streams = (await edge.servers()).filter((s) => s.backend === "streaming");
    expect(streams.map((s) => s.server).sort()).toEqual(["streaming-0", "streaming-1"]);
    for (const s of streams) expect(s.current).toBeGreaterThan(0);
    // Their analytics events go through the edge too.
    await Promise.all(sdks.map((c) => c.flush()));
    const bulk = await logged((e) => e.path === "/bulk" && e.status === 202 && e.backend === "streaming", "analytics events");
    expect(bulk.length).toBeGreaterThan(0);
    expect(refusals()).toEqual([]);
  }, 60_000);

  test("a streaming instance drained with SIGTERM sends its SDKs to the other one; the launcher starts it again", async () => {
    const [first] = cluster.instances.filter((i) => i.kind === "streaming") as [Instance];
    // Not through cluster.kill: an exit nobody asked the launcher for, as a node's orchestrator sees it.
    first.process.kill("SIGTERM");
    expect(await first.process.exited).toBe(0);
    expect((await toggle("turnFlagOff")).status).toBe(200);
    await allSee(false);

    await cluster.restarted(first);
    expect(first.restarts).toBe(1);
    expect(isAlive(first)).toBe(true);
    await edge.waitServer("streaming-0", "UP");
    expect(refusals()).toEqual([]);
    expect(sdkErrors()).toEqual([]);
  }, 60_000);

  test("a streaming instance killed with SIGKILL: its SDKs move to the other one and see the next change", async () => {
    const second = cluster.instances.find((i) => i.kind === "streaming" && i.index === 1)!;
    expect((await edge.servers()).find((s) => s.server === "streaming-1")!.current).toBeGreaterThan(0);
    await cluster.kill(second, "SIGKILL");
    expect((await toggle("turnFlagOn")).status).toBe(200);
    await allSee(true);
    // Every stream is now on the instance that is left.
    await edge.waitServer("streaming-1", "DOWN");
    expect((await edge.servers()).find((s) => s.server === "streaming-0")!.current).toBeGreaterThanOrEqual(sdks.length);
    expect((await toggle("turnFlagOff")).status).toBe(200);
    await allSee(false);
    // Asked for through cluster.kill: it stays down.
    expect(isAlive(second)).toBe(false);
    expect(second.restarts).toBe(0);
    expect(refusals()).toEqual([]);
    expect(sdkErrors()).toEqual([]);
  }, 60_000);

  test("a gateway that dies is started again, after longer pauses while it keeps dying; the edge answers REST from the other one meanwhile", async () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(restartDelay)).toEqual([250, 500, 1000, 2000, 4000, 8000, 15000, 15000]);
    const gateway = cluster.instances.find((i) => i.kind === "gateway" && i.index === 0)!;
    for (let n = 1; n <= 2; n++) {
      gateway.process.kill("SIGKILL");
      for (let i = 0; i < 10; i++) expect((await admin.call("GET", "/api/v2/projects/edge")).status).toBe(200);
      await cluster.restarted(gateway, n);
      await edge.waitServer("gateway-0", "UP");
    }
    expect(gateway.restarts).toBe(2);
    // The second exit came soon after the restart: a longer pause.
    expect(readFileSync(`${gateway.logFile}.err`, "utf8").match(/exited \(signal SIGKILL\); starting it again in \d+ ms/g)).toEqual([
      "exited (signal SIGKILL); starting it again in 250 ms",
      "exited (signal SIGKILL); starting it again in 500 ms",
    ]);
    const served = edge.requests().filter((e) => e.path === "/api/v2/projects/edge");
    expect(served.filter((e) => e.status !== 200)).toEqual([]);
  }, 60_000);

  test("adding a streaming instance reloads the edge without dropping the open streams; a new SDK is served too", async () => {
    const linesBefore = sdkLog.length;
    const added = await cluster.add("streaming");
    // The edge's configuration now names the new instance and not the one stopped for good.
    const streamingServers = (await edge.servers()).filter((s) => s.backend === "streaming").map((s) => s.server);
    expect(streamingServers.sort()).toEqual(["streaming-0", `streaming-${added.index}`]);
    // The SDKs connected before the reload keep their streams (served by the previous worker) and see the next change.
    expect((await toggle("turnFlagOn")).status).toBe(200);
    await allSee(true);
    // No SDK lost its stream: none logged an error since the reload.
    expect(sdkLog.slice(linesBefore)).toEqual([]);
    const late = init(sdkKey, { baseUri: edge.url, streamUri: edge.url, eventsUri: edge.url, sendEvents: false, logger: basicLogger({ level: "warn", destination: (line: string) => sdkLog.push(line) }) });
    sdks.push(late);
    await late.waitForInitialization({ timeout: 15 });
    expect((await toggle("turnFlagOff")).status).toBe(200);
    await allSee(false);
    expect(refusals()).toEqual([]);
    expect(sdkErrors()).toEqual([]);
  }, 60_000);
});
