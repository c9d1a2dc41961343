/**
 * Postgres connections cut in the middle of transactions and the server stopped (immediately, like
 * a crash) and started again, five times, under concurrent writes through the gateway to real flags
 * and auth processes: no process dies (postgres.js throws `null is not an object (evaluating
 * 'socket.write')` from its socket callbacks here: `shared/db/driver-failures.ts`), every answer in
 * an outage is JSON (503, or 504 past the deadline), and writes succeed again after each restart
 * without restarting anything.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isAlive, launchCluster, type Cluster } from "../../infra/launcher.ts";
import postgres from "postgres";
import { makeClient, type Client } from "../support/client.ts";

const token = "database-outage-admin-0001";
let cluster: Cluster;
let client: Client;

beforeAll(async () => {
  cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 2, streaming: 0 }, adminToken: token, env: { VEXIL_SERVICE_TIMEOUT_MS: "2000" } });
  client = makeClient(cluster.gateways, token);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** Writes until it succeeds (the pools reconnect after a restart), up to `tries`. */
/** The body of the last failed write, to show in a failure. */
let lastText = "";
async function writeUntilOk(key: string, i: number, tries = 200): Promise<number> {
  let status = 0;
  for (let t = 0; t < tries && status !== 200; t++) {
    const res = await client.call("PATCH", `/api/v2/flags/outage/${key}`, { body: [{ op: "replace", path: "/description", value: `recovered ${i}` }] });
    status = res.status;
    lastText = res.text;
    if (status !== 200) await Bun.sleep(100);
  }
  return status;
}

describe("a Postgres outage", () => {
  test("stopped five times under writes: every process stays up, answers stay JSON, writes recover each time", async () => {
    expect((await client.call("POST", "/api/v2/projects", { body: { key: "outage", name: "Outage" } })).status).toBe(201);
    const keys = Array.from({ length: 8 }, (_, i) => `flag-${i}`);
    const variationIds = new Map<string, string>();
    for (const key of keys) {
      const created = await client.call("POST", "/api/v2/flags/outage", { body: { key, name: key } });
      expect(created.status).toBe(201);
      variationIds.set(key, created.body.variations[0]._id);
    }

    const statuses = new Map<number, number>();
    const notJson: string[] = [];
    let writing = true;
    const writer = async (key: string) => {
      for (let n = 0; writing; n++) {
        // Semantic patches open a transaction with several statements: the shape that cut connections break.
        const res = await client.call("PATCH", `/api/v2/flags/outage/${key}`, {
          headers: { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" },
          body: { environmentKey: "production", instructions: [{ kind: "addTargets", values: [`ctx-${n}`], variationId: variationIds.get(key) }] },
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500 && (typeof res.body !== "object" || typeof res.body?.code !== "string")) notJson.push(res.text.slice(0, 200));
        if (res.status !== 200) await Bun.sleep(20);
      }
    };
    const writers = keys.map(writer);
    try {
      for (let round = 0; round < 5; round++) {
        // Connections cut in the middle of transactions (as a pooler or a network cut does), then the server stopped.
        const killer = postgres(cluster.databaseUrl, { max: 1, onnotice: () => {} });
        for (let cut = 0; cut < 10; cut++) {
          await Bun.sleep(50);
          await killer`select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and backend_type = 'client backend' and state <> 'idle'`;
        }
        await killer.end();
        await Bun.sleep(400);
        await cluster.postgres!.stop();
        await Bun.sleep(600);
        await cluster.postgres!.start();
        const recovered = await writeUntilOk(keys[round]!, round);
        expect({ round, recovered, last: recovered === 200 ? "" : lastText }).toEqual({ round, recovered: 200, last: "" });
        expect(cluster.instances.filter((i) => !isAlive(i)).map((i) => `${i.kind}-${i.index}`)).toEqual([]);
      }
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    expect(notJson).toEqual([]);
    expect([...statuses.keys()].filter((s) => ![200, 503, 504].includes(s))).toEqual([]);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    // Every flags instance still serves writes (each is asked in turn over the bus queue group).
    for (const key of keys) expect(await writeUntilOk(key, 99)).toBe(200);
    expect(cluster.instances.every(isAlive)).toBe(true);
    // What the guard ends a process for (anything not the driver's own) never happened.
    expect(cluster.logs()).not.toMatch(/"msg":"(uncaught exception|unhandled rejection)"/);
  }, 180_000);
});
