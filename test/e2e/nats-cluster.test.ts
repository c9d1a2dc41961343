/**
 * The bus as a cluster of three nats-servers, the services spread over its nodes (each connects
 * to its own node first and fails over to the others). Writers change flags through the gateway
 * while one node hangs, then while one node is stopped, then another: no committed change is lost for any SDK (the real
 * server-side SDK and a raw SSE stream on every streaming instance converge to the last committed
 * state), and every acknowledged write is there.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { basicLogger, init, type LDClient } from "@launchdarkly/node-server-sdk";
import { launchCluster, waitReady, type Cluster, type Instance } from "../../infra/launcher.ts";
import type { NatsNode } from "../../infra/local/nats.ts";
import { makeClient, type Client } from "../support/client.ts";
import { openSse, type SseReader } from "../support/sse.ts";

const TOKEN = "nats-cluster-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const FLAGS = ["w0", "w1", "w2"];
let cluster: Cluster;
let admin: Client;
let sdkKey: string;
const sdks: LDClient[] = [];
const streams: SseReader[] = [];
/** Per flag: the targets of every acknowledged write. */
const acknowledged = new Map<string, string[]>(FLAGS.map((f) => [f, []]));
const refused: number[] = [];

beforeAll(async () => {
  cluster = await launchCluster({ counts: { gateway: 2, auth: 1, flags: 2, streaming: 2 }, natsNodes: 3, adminToken: TOKEN, logLevel: "warn" });
  admin = makeClient(cluster.gateways, TOKEN);
  const project = await admin.call("POST", "/api/v2/projects", { body: { key: "bus", name: "Bus", environments: [{ key: "live", name: "Live", color: "123456" }] } });
  expect(project.status).toBe(201);
  sdkKey = project.body.environments[0].apiKey;
  for (const key of FLAGS) {
    const flag = await admin.call("POST", "/api/v2/flags/bus", { body: { key, name: key } });
    expect(flag.status).toBe(201);
    const off = flag.body.variations[1]._id;
    const on = await admin.call("PATCH", `/api/v2/flags/bus/${key}`, {
      headers: SEMANTIC,
      body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }, { kind: "updateFallthroughVariationOrRollout", variationId: off }] },
    });
    expect(on.status).toBe(200);
  }
}, 240_000);

afterAll(async () => {
  for (const s of sdks) s.close();
  for (const s of streams) s.close();
  await cluster?.stop();
}, 60_000);

const streamingInstances = (): Instance[] => cluster.instances.filter((i) => i.kind === "streaming");

/** Client names connected to a node, from its monitoring endpoint. */
async function connectedTo(node: NatsNode): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${node.monitorPort}/connz?limit=1000`);
  const body = (await res.json()) as { connections?: Array<{ name?: string }> };
  return (body.connections ?? []).map((c) => c.name ?? "").filter((n) => n.startsWith("vexil-"));
}

/** Writers: each adds a new target to its own flag, one write after another, until told to stop. */
function startWriters(): { stop(): Promise<void> } {
  let running = true;
  let n = 0;
  const writer = async (flag: string) => {
    while (running) {
      const target = `${flag}-${n++}`;
      const res = await admin.call("PATCH", `/api/v2/flags/bus/${flag}`, { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "addTargets", values: [target], variationId: variationTrue.get(flag) }] } });
      if (res.status === 200) acknowledged.get(flag)!.push(target);
      else {
        refused.push(res.status);
        // A refusal is an honest one: 503/504 with the JSON error shape.
        if (res.status !== 503 && res.status !== 504) throw new Error(`a write answered ${res.status}: ${res.text.slice(0, 300)}`);
        expect(typeof res.body.code).toBe("string");
        expect(typeof res.body.id).toBe("string");
      }
    }
  };
  const all = Promise.all(FLAGS.map(writer));
  return {
    async stop() {
      running = false;
      await all;
    },
  };
}

const variationTrue = new Map<string, string>();

/** The environment's flags as the flags service holds them: version and targets of each. */
async function committed(): Promise<Map<string, { version: number; targets: string[] }>> {
  const out = new Map<string, { version: number; targets: string[] }>();
  for (const key of FLAGS) {
    // A read that went to an instance behind a hung node times out (504): read again.
    let res = await admin.call("GET", `/api/v2/flags/bus/${key}?env=live`);
    for (let i = 0; i < 20 && (res.status === 503 || res.status === 504); i++) res = await admin.call("GET", `/api/v2/flags/bus/${key}?env=live`);
    expect(res.status).toBe(200);
    const env = res.body.environments.live;
    out.set(key, { version: env.version, targets: (env.targets ?? []).flatMap((t: { values: string[] }) => t.values) });
  }
  return out;
}

/** The flags as one SSE stream has them now: the last `put`, with the `patch` events after it applied. */
function streamState(reader: SseReader): Map<string, { version: number; targets: string[] }> {
  const flags = new Map<string, { version: number; targets: string[] }>();
  const take = (flag: { key: string; version: number; targets?: Array<{ values: string[] }> }) => {
    const known = flags.get(flag.key);
    if (!known || flag.version > known.version) flags.set(flag.key, { version: flag.version, targets: (flag.targets ?? []).flatMap((t) => t.values) });
  };
  for (const event of reader.events) {
    if (event.event === "put") {
      flags.clear();
      for (const flag of Object.values(JSON.parse(event.data).data.flags)) take(flag as never);
    } else if (event.event === "patch") {
      const patch = JSON.parse(event.data) as { path: string; data: never };
      if (patch.path.startsWith("/flags/")) take(patch.data);
    }
  }
  return flags;
}

async function converge(timeoutMs = 30_000): Promise<void> {
  const want = await committed();
  // Every acknowledged write is committed; a write refused with a 504 may have committed too (its answer was lost, not its change).
  let unacknowledged = 0;
  for (const key of FLAGS) {
    const targets = new Set(want.get(key)!.targets);
    for (const target of acknowledged.get(key)!) expect([key, target, targets.has(target)]).toEqual([key, target, true]);
    unacknowledged += targets.size - acknowledged.get(key)!.length;
  }
  expect(unacknowledged).toBeLessThanOrEqual(refused.length);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problems: string[] = [];
    for (const [i, reader] of streams.entries()) {
      const have = streamState(reader);
      for (const [key, flag] of want) if (have.get(key)?.version !== flag.version) problems.push(`stream ${i}: ${key} at ${have.get(key)?.version}, committed ${flag.version}`);
    }
    for (const [i, sdk] of sdks.entries()) {
      const state = (await sdk.allFlagsState({ kind: "user", key: "anyone" })).toJSON() as { $flagsState: Record<string, { version?: number }> };
      for (const [key, flag] of want) if (state.$flagsState[key]?.version !== flag.version) problems.push(`sdk ${i}: ${key} at ${state.$flagsState[key]?.version}, committed ${flag.version}`);
    }
    if (problems.length === 0) break;
    if (Date.now() > deadline) throw new Error(`not converged:\n${problems.join("\n")}`);
    await Bun.sleep(100);
  }
  // Every acknowledged target is served by every SDK.
  for (const sdk of sdks) {
    for (const [key, targets] of acknowledged) {
      for (const target of targets) expect([key, target, await sdk.variation(key, { kind: "user", key: target }, "missing")]).toEqual([key, target, true]);
    }
  }
}

test("the services are spread over the three nodes", async () => {
  const nodes = cluster.natsCluster!.nodes;
  expect(nodes.length).toBe(3);
  const byNode = await Promise.all(nodes.map(connectedTo));
  for (const names of byNode) expect(names.length).toBeGreaterThan(0);
  // Each kind with two instances has them on two different nodes.
  for (const kind of ["flags", "streaming", "gateway"] as const) {
    const placed = cluster.instances.filter((i) => i.kind === kind).map((i) => i.natsNode);
    expect(new Set(placed).size).toBe(2);
  }
  // And a node sees the connections the launcher gave it.
  for (const instance of cluster.instances) expect(byNode[instance.natsNode!]).toContain(`vexil-${instance.kind}`);
});

test("a node hanging, then one node stopped, then another, while writers change flags: no committed change is lost for any SDK", async () => {
  for (const key of FLAGS) {
    const flag = await admin.call("GET", `/api/v2/flags/bus/${key}`);
    variationTrue.set(key, flag.body.variations[0]._id);
  }
  // Two SDKs and one raw stream on each streaming instance, connected directly.
  for (const instance of streamingInstances()) {
    for (let i = 0; i < 2; i++) {
      sdks.push(init(sdkKey, { baseUri: instance.url, streamUri: instance.url, eventsUri: instance.url, sendEvents: false, logger: basicLogger({ level: "none" }), streamInitialReconnectDelay: 0.2 }));
    }
    const reader = await openSse(`${instance.url}/all`, { headers: { authorization: sdkKey } });
    expect(reader.status).toBe(200);
    streams.push(reader);
  }
  await Promise.all(sdks.map((s) => s.waitForInitialization({ timeout: 15 })));
  await converge();

  // A node that hangs (frozen: its connections stay open and answer nothing) while writes go on,
  // then stop: the streaming instance on it misses every event of the burst, the last included, and
  // catches up only once it has given the node up and connected to another.
  const frozen = cluster.natsCluster!.nodes[streamingInstances()[1]!.natsNode!]!;
  frozen.freeze();
  try {
    const writers = startWriters();
    await Bun.sleep(3_000);
    await writers.stop();
    await converge(60_000);
  } finally {
    frozen.thaw();
  }
  await cluster.natsCluster!.waitRouted(30_000);

  // The node a flags instance and a streaming instance are connected to, then another.
  const streamingNode = streamingInstances()[1]!.natsNode!;
  const flagsNodes = cluster.instances.filter((i) => i.kind === "flags").map((i) => i.natsNode!);
  const second = flagsNodes.find((n) => n !== streamingNode)!;
  for (const index of [streamingNode, second]) {
    const node = cluster.natsCluster!.nodes[index]!;
    const writers = startWriters();
    await Bun.sleep(1_000);
    const before = FLAGS.reduce((n, f) => n + acknowledged.get(f)!.length, 0);
    await node.stop();
    // Writes go on being acknowledged with the node down (a request that was in flight through
    // it waits for its time limit and is refused; the next ones take the other nodes).
    const deadline = Date.now() + 30_000;
    while (FLAGS.reduce((n, f) => n + acknowledged.get(f)!.length, 0) < before + 10 && Date.now() < deadline) await Bun.sleep(50);
    await writers.stop();
    expect(FLAGS.reduce((n, f) => n + acknowledged.get(f)!.length, 0)).toBeGreaterThanOrEqual(before + 10);
    await converge();
    await node.start();
    await cluster.natsCluster!.waitRouted();
  }

  // With every node back, the cluster still serves and delivers.
  for (const instance of cluster.instances) await waitReady(instance.url, 20_000);
  const writers = startWriters();
  await Bun.sleep(500);
  await writers.stop();
  await converge();
  for (const reader of streams) expect(reader.ended).toBe(false);
}, 240_000);
