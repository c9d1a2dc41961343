/**
 * Change events end to end: the all-in-one process on real Postgres with a real nats-server.
 * Changes reach subscribers after they commit, in order; a change committed while the
 * nats-server is down reaches them once it is back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJson, type Bus } from "@vexil/shared/bus/bus";
import { connectNatsBus } from "@vexil/shared/bus/nats-bus";
import type { ChangeEvent } from "@vexil/shared/change-events";
import { silentLogger } from "@vexil/shared/logger";
import { startNats, type NatsServer } from "../../infra/local/nats.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";
import postgres from "postgres";
import { testDatabaseUrl } from "../support/postgres.ts";

const TOKEN = "change-events-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
let nats: NatsServer;
let vexil: Running;
let client: Client;
let bus: Bus;
let databaseUrl: string;
const seen: ChangeEvent[] = [];

beforeAll(async () => {
  nats = await startNats();
  databaseUrl = await testDatabaseUrl();
  vexil = await startEntry("services/all-in-one/main.ts", freePort(), { DATABASE_URL: databaseUrl, NATS_URL: nats.url, VEXIL_ADMIN_TOKEN: TOKEN });
  client = makeClient([vexil.url], TOKEN);
  bus = await connectNatsBus(nats.url, "change-events-test", silentLogger);
  bus.subscribe("vexil.changes.>", (msg) => void seen.push(decodeJson<ChangeEvent>(msg.data)));
  await bus.flush();
}, 60_000);

afterAll(async () => {
  await bus?.drain().catch(() => undefined);
  await vexil?.stop();
  await nats?.destroy();
}, 30_000);

async function waitFor(predicate: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for change events");
    await Bun.sleep(25);
  }
}

describe("change events", () => {
  test("a flag's creation and changes are published after commit, with rising sequence numbers", async () => {
    const created = await client.call("POST", "/api/v2/flags/default", { body: { key: "evented", name: "Evented" } });
    expect(created.status).toBe(201);
    const prodId = (await client.call("GET", "/api/v2/projects/default/environments/production")).body._id;
    await waitFor(() => seen.filter((e) => e.key === "evented").length === 2);
    const turnedOn = await client.call("PATCH", "/api/v2/flags/default/evented", { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] } });
    expect(turnedOn.status).toBe(200);
    await waitFor(() => seen.filter((e) => e.environmentId === prodId).length === 2);
    const prod = seen.filter((e) => e.environmentId === prodId);
    expect(prod.map((e) => e.seq)).toEqual([1, 2]);
    expect(prod[1]).toMatchObject({ kind: "flag", key: "evented", version: 2, deleted: false });
    expect((prod[1]!.data as { on: boolean }).on).toBe(true);
    // A refused change publishes nothing.
    const refused = await client.call("PATCH", "/api/v2/flags/default/evented", { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind: "updateOffVariation", variationId: "nope" }] } });
    expect(refused.status).toBe(400);
    await Bun.sleep(300);
    expect(seen.filter((e) => e.environmentId === prodId).length).toBe(2);
  }, 30_000);

  test("changes committed while the nats-server is down reach subscribers, in order, once it is back", async () => {
    const prodId = (await client.call("GET", "/api/v2/projects/default/environments/production")).body._id;
    const before = seen.filter((e) => e.environmentId === prodId).length;
    // The verdict for the token is cached: the calls below need no bus.
    expect((await client.call("GET", "/api/v2/flags/default/evented")).status).toBe(200);
    await nats.stop();
    for (const kind of ["turnFlagOff", "turnFlagOn", "turnFlagOff"]) {
      const res = await client.call("PATCH", "/api/v2/flags/default/evented", { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind }] } });
      expect(res.status).toBe(200);
    }
    await Bun.sleep(500);
    await nats.start();
    // The relay sends the three once the server is back, numbered in commit order, and marks them sent.
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const sent = async () =>
        (await sql<{ seq: number; on: boolean }[]>`
          select seq, (payload->'data'->>'on')::boolean as on from outbox
          where environment_id = ${prodId} and seq > ${before} and published_at is not null order by seq`).map((r) => ({ seq: Number(r.seq), on: r.on }));
      for (const deadline = Date.now() + 20_000; (await sent()).length < 3 && Date.now() < deadline; ) await Bun.sleep(100);
      expect(await sent()).toEqual([
        { seq: before + 1, on: false },
        { seq: before + 2, on: true },
        { seq: before + 3, on: false },
      ]);
    } finally {
      await sql.end();
    }
    // A subscriber connected again before the relay sent them gets all three, in order. (Core NATS
    // keeps nothing: one that came back after the send learns of the gap from the next event or the
    // relay's sequence tips, and the streaming service loads the environment again — feeds.test.ts.)
    for (const deadline = Date.now() + 20_000; !(await bus.flush().then(() => true, () => false)) && Date.now() < deadline; ) await Bun.sleep(100);
    const after = () => [...new Map(seen.filter((e) => e.environmentId === prodId && e.seq > before).map((e) => [e.seq, e])).values()];
    if (after().length > 0) {
      await waitFor(() => after().length >= 3);
      expect(after().map((e) => e.seq)).toEqual([before + 1, before + 2, before + 3]);
      expect(after().map((e) => (e.data as { on: boolean }).on)).toEqual([false, true, false]);
    } else console.log("change events: the test's subscriber came back after the relay had sent the three");
  }, 40_000);

  test("concurrent changes to several flags get gapless sequence numbers, and each flag's events go out in the order of its changes", async () => {
    const prodId = (await client.call("GET", "/api/v2/projects/default/environments/production")).body._id;
    const keys = ["busy-a", "busy-b", "busy-c"];
    for (const key of keys) expect((await client.call("POST", "/api/v2/flags/default", { body: { key, name: key } })).status).toBe(201);
    await waitFor(() => keys.every((k) => seen.some((e) => e.key === k && e.environmentId === prodId)));
    const before = seen.filter((e) => e.environmentId === prodId).length;
    // 8 writers each add 6 targets, spread over the 3 flags: 48 changes that all change something.
    const variationOf = new Map<string, string>();
    for (const key of keys) variationOf.set(key, (await client.call("GET", `/api/v2/flags/default/${key}`)).body.variations[0]._id);
    await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        (async () => {
          for (let i = 0; i < 6; i++) {
            const key = keys[(w + i) % keys.length]!;
            const res = await client.call("PATCH", `/api/v2/flags/default/${key}`, { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind: "addTargets", variationId: variationOf.get(key), values: [`w${w}-${i}`] }] } });
            expect(res.status).toBe(200);
          }
        })(),
      ),
    );
    await waitFor(() => seen.filter((e) => e.environmentId === prodId).length >= before + 48);
    // Every number once, none skipped, from where this test began (earlier events may have been
    // missed by this subscriber while the server was away: see the test above).
    const prod = [...new Map(seen.filter((e) => e.environmentId === prodId).map((e) => [e.seq, e])).values()].sort((a, b) => a.seq - b.seq);
    const after = prod.slice(prod.length - 48);
    expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => after[0]!.seq + i));
    expect(after.length).toBe(48);
    for (const key of keys) {
      const versions = after.filter((e) => e.key === key).map((e) => e.version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(versions.length);
      // The last event of each flag carries every target added to it.
      const last = after.filter((e) => e.key === key).at(-1)!.data as { targets: Array<{ values: string[] }> };
      expect(last.targets.flatMap((t) => t.values).length).toBe(16);
    }
  }, 60_000);
});
