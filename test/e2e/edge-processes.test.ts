/**
 * The edge as two HAProxy processes on one port (`edgeProcesses: 2`, as for more streams than one
 * process's file limit allows): the kernel spreads new connections over both, each serves REST and
 * SDK streams, a reload reaches both, and when one dies the other goes on serving while the launcher
 * starts the dead one again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Edge, EdgeProcess } from "../../infra/edge/haproxy.ts";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import { makeClient, type Client } from "../support/client.ts";
import { rawRequest } from "../support/raw-http.ts";
import { openSse, type SseReader } from "../support/sse.ts";

const TOKEN = "edge-processes-admin-token-0123456789";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
/** New connections tried before concluding the kernel never sends one to a process (each has an even chance). */
const ATTEMPTS = 200;

let cluster: Cluster;
let edge: Edge;
let admin: Client;
let sdkKey: string;
const streams: SseReader[] = [];

beforeAll(async () => {
  cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 1, streaming: 2 }, adminToken: TOKEN, logLevel: "warn", edge: true, edgeProcesses: 2, env: { VEXIL_STREAM_HEARTBEAT_MS: "1000" } });
  edge = cluster.edge!;
  admin = makeClient([edge.url], TOKEN);
  const project = await admin.call("POST", "/api/v2/projects", { body: { key: "twoedge", name: "Two edges", environments: [{ key: "live", name: "Live", color: "123456" }] } });
  expect(project.status).toBe(201);
  sdkKey = project.body.environments[0].apiKey;
  expect((await admin.call("POST", "/api/v2/flags/twoedge", { body: { key: "switch", name: "Switch" } })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  for (const s of streams) s.close();
  await cluster?.stop();
}, 60_000);

const toggle = (kind: "turnFlagOn" | "turnFlagOff") => admin.call("PATCH", "/api/v2/flags/twoedge/switch", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind }] } });

/** One REST call on a connection of its own (closed after the answer), so the kernel chooses a process for it. */
async function restOnNewConnection(): Promise<number> {
  const res = await rawRequest(edge.port, `GET /api/v2/projects/twoedge HTTP/1.1\r\nHost: edge\r\nAuthorization: ${TOKEN}\r\nConnection: close\r\n\r\n`);
  return res.status;
}

const restServed = (p: EdgeProcess) => p.requests().filter((e) => e.path === "/api/v2/projects/twoedge" && e.status === 200).length;

/** Makes REST calls on new connections until the process has served one more (or gives up after ATTEMPTS). */
async function untilServedBy(p: EdgeProcess): Promise<number[]> {
  const before = restServed(p);
  const statuses: number[] = [];
  for (let i = 0; i < ATTEMPTS && restServed(p) === before; i++) {
    statuses.push(await restOnNewConnection());
    await waitLogged(p, before);
  }
  return statuses;
}

/** A request is logged as its answer starts; give the log a moment to show the last one. */
async function waitLogged(p: EdgeProcess, before: number): Promise<void> {
  for (let i = 0; i < 200 && restServed(p) === before; i++) await Bun.sleep(10);
}

/** Streams each process holds to the streaming instances now. */
async function streamsHeld(): Promise<number[]> {
  return Promise.all(edge.processes.map(async (p) => (await p.servers()).filter((s) => s.backend === "streaming").reduce((n, s) => n + s.current, 0)));
}

async function openStream(): Promise<SseReader> {
  const s = await openSse(`${edge.url}/all`, { headers: { authorization: sdkKey } });
  expect(s.status).toBe(200);
  await s.next((e) => e.event === "put");
  streams.push(s);
  return s;
}

describe("two edge processes on one port", () => {
  test("both listen on the port and the kernel gives each new connections: each serves REST", async () => {
    expect(edge.processes).toHaveLength(2);
    const pids = new Set(edge.processes.map((p) => p.process.pid));
    expect(pids.size).toBe(2);
    for (const p of edge.processes) {
      const statuses = await untilServedBy(p);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(restServed(p)).toBeGreaterThan(0);
    }
  }, 60_000);

  test("SDK streams through the one port are held by both processes, and every stream receives a change", async () => {
    for (let i = 0; i < ATTEMPTS / 10; i++) {
      await openStream();
      if (streams.length >= 8 && (await streamsHeld()).every((n) => n > 0)) break;
    }
    const held = await streamsHeld();
    expect(held.every((n) => n > 0)).toBe(true);
    expect(held.reduce((a, b) => a + b, 0)).toBe(streams.length);
    const from = streams.map((s) => s.events.length);
    expect((await toggle("turnFlagOn")).status).toBe(200);
    await Promise.all(streams.map((s, i) => s.next((e) => e.event === "patch" && e.data.includes('"on":true'), 15_000, from[i])));
  }, 60_000);

  test("one process killed: its streams end, the other's go on, REST and new streams are served by the other; the launcher starts it again", async () => {
    const [survivor, victim] = edge.processes as [EdgeProcess, EdgeProcess];
    const victimHeld = (await streamsHeld())[1]!;
    expect(victimHeld).toBeGreaterThan(0);
    victim.process.kill("SIGKILL");
    await victim.process.exited;

    // The victim's streams were cut (their SDKs would reconnect); the survivor's stay open.
    const deadline = Date.now() + 15_000;
    while (streams.filter((s) => s.ended).length < victimHeld && Date.now() < deadline) await Bun.sleep(50);
    const open = streams.filter((s) => !s.ended);
    expect(streams.length - open.length).toBe(victimHeld);
    expect(open.length).toBeGreaterThan(0);

    // Every new connection goes to the survivor while the victim is down.
    const beforeSurvivor = restServed(survivor);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push(await restOnNewConnection());
    expect(statuses).toEqual(Array(10).fill(200));
    // Each answer is logged as it starts; on a busy machine the last lines reach the file a little later.
    for (let i = 0; i < 500 && restServed(survivor) < beforeSurvivor + 10; i++) await Bun.sleep(20);
    expect(restServed(survivor) - beforeSurvivor).toBe(10);
    const reconnected = [await openStream(), await openStream()];

    const from = new Map([...open, ...reconnected].map((s) => [s, s.events.length]));
    expect((await toggle("turnFlagOff")).status).toBe(200);
    await Promise.all([...from].map(([s, n]) => s.next((e) => e.event === "patch" && e.data.includes('"on":false'), 15_000, n)));

    // The launcher starts it again on the same port, and the kernel gives it new connections again.
    await edge.restarted(1);
    expect(victim.restarts).toBe(1);
    const again = await untilServedBy(victim);
    expect(again.every((s) => s === 200)).toBe(true);
    expect(restServed(victim)).toBeGreaterThan(0);
  }, 90_000);

  test("adding a streaming instance reloads both processes: each sends streams to it", async () => {
    const added = await cluster.add("streaming");
    for (const p of edge.processes) {
      const names = (await p.servers()).filter((s) => s.backend === "streaming" && s.status === "UP").map((s) => s.server);
      expect(names).toContain(`streaming-${added.index}`);
    }
    // The streams opened before the reload (held by the previous workers) are still served: they see the next change.
    const open = streams.filter((s) => !s.ended);
    expect(open.length).toBeGreaterThan(0);
    const from = open.map((s) => s.events.length);
    expect((await toggle("turnFlagOn")).status).toBe(200);
    await Promise.all(open.map((s, i) => s.next((e) => e.event === "patch" && e.data.includes('"on":true'), 15_000, from[i])));
  }, 60_000);
});
