/**
 * The outbox relay on real Postgres: committed events go out in sequence order, rolled-back ones
 * never; a commit made elsewhere wakes it through its notification.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import { rowsOf } from "@vexil/shared/db/migrate";
import { decodeJson, type Bus } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import type { ChangeEvent } from "@vexil/shared/change-events";
import { openDatabase, type Database, type Db } from "@vexil/shared/db/connector";
import { withDeadline } from "@vexil/shared/deadline";
import { silentLogger } from "@vexil/shared/logger";
import { eventJson, startOutboxRelay } from "@vexil/flags/outbox-relay";
import { writeChanges } from "@vexil/flags/storage/drizzle-flag-store";
import { environments, projects } from "@vexil/flags/storage/schema";
import { testDatabaseUrl } from "../../support/postgres.ts";

const clients: Array<{ end(): Promise<void> }> = [];
const databases: Database[] = [];
afterAll(async () => {
  await Promise.all([...clients.map((c) => c.end()), ...databases.map((d) => d.close())]);
});

/** A database with one project and environments `a` and `b`: the relay's side, and its URL. */
async function setup(): Promise<{ database: Database; db: Db; url: string }> {
  const url = await testDatabaseUrl();
  const database = await openDatabase({ url, dataDir: "/nonexistent-unused", max: 8 });
  databases.push(database);
  const { db } = database;
  await db.insert(projects).values({ id: "p".repeat(24), key: "p", name: "P", tags: [], includeInSnippetByDefault: false, csaUsingEnvironmentId: false, csaUsingMobileKey: true, createdAt: 1, version: 1 });
  for (const key of ["a", "b"]) {
    await db.insert(environments).values({
      id: key.repeat(24),
      projectId: "p".repeat(24),
      key,
      name: key,
      color: "000000",
      defaultTtl: 0,
      secureMode: false,
      defaultTrackEvents: false,
      requireComments: false,
      confirmChanges: false,
      tags: [],
      critical: false,
      sdkKeyLast4: "0000",
      mobileKeyLast4: "0000",
      createdAt: 1,
      version: 1,
    });
  }
  return { database, db, url };
}

/** What another instance would be: a connection of its own to the same database. */
function otherInstance(url: string): Db {
  const client = postgres(url, { max: 2, onnotice: () => {} });
  clients.push(client);
  return drizzle(client) as unknown as Db;
}

/** Waits until `sessions` sessions of the database are listening on the relay's channel. */
async function untilListening(db: Db, sessions = 1): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const rows = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query = 'listen "vexil_outbox"'`));
    if (rows[0]!.n >= sessions) return;
    await Bun.sleep(20);
  }
  throw new Error("the relay never listened");
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await Bun.sleep(20);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

function collect(bus: Bus): ChangeEvent[] {
  const seen: ChangeEvent[] = [];
  bus.subscribe("vexil.changes.>", (msg) => void seen.push(decodeJson<ChangeEvent>(msg.data)));
  return seen;
}

const change = (environmentKey: string, key: string, version: number) => ({ environmentKey, kind: "flag" as const, key, version, deleted: false, data: { key, version } });

describe("outbox relay", () => {
  test("publishes committed events per environment in sequence order, and never a rolled-back one", async () => {
    const { database, db } = await setup();
    const bus = new MemoryBus();
    const seen = collect(bus);
    // Concurrent transactions on the same environments: sequence numbers follow commit order.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => db.transaction((tx) => writeChanges(tx, "p".repeat(24), [change(i % 2 ? "a" : "b", `f${i}`, i + 1)], Date.now()))),
    );
    await db
      .transaction(async (tx) => {
        await writeChanges(tx, "p".repeat(24), [change("a", "never", 99)], Date.now());
        throw new Error("roll back");
      })
      .catch(() => undefined);
    const relay = startOutboxRelay({ database, bus, logger: silentLogger, pollMs: 20 });
    for (let i = 0; i < 100 && seen.length < 20; i++) await Bun.sleep(20);
    await relay.stop();
    expect(seen.length).toBe(20);
    expect(seen.some((e) => e.key === "never")).toBe(false);
    for (const env of ["a".repeat(24), "b".repeat(24)]) {
      expect(seen.filter((e) => e.environmentId === env).map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    }
  });

  test("repeats the last sequence number it published per recently changed environment", async () => {
    const { database, db } = await setup();
    const bus = new MemoryBus();
    const tips: Array<Record<string, number>> = [];
    bus.subscribe("vexil.change-tips", (msg) => void tips.push(decodeJson<{ tips: Record<string, number> }>(msg.data).tips));
    const relay = startOutboxRelay({ database, bus, logger: silentLogger, pollMs: 20, tipMs: 20 });
    await Bun.sleep(60);
    // Nothing changed yet: nothing to repeat.
    expect(tips).toEqual([]);
    for (let i = 0; i < 3; i++) await db.transaction((tx) => writeChanges(tx, "p".repeat(24), [change("a", `t${i}`, 1)], Date.now()));
    await until(() => tips.some((t) => t["a".repeat(24)] === 3), "a tip at sequence 3");
    await relay.stop();
    expect(tips.at(-1)).toEqual({ ["a".repeat(24)]: 3 });
  });

  test("while the bus refuses, nothing is marked published; everything goes out in order when it is back", async () => {
    const { database, db } = await setup();
    const inner = new MemoryBus();
    const seen = collect(inner);
    let down = true;
    const flaky: Bus = Object.assign(Object.create(inner) as Bus, {
      flush: async () => {
        if (down) throw new Error("bus down");
      },
      publish: (subject: string, data: Uint8Array) => {
        if (!down) inner.publish(subject, data);
      },
    });
    const relay = startOutboxRelay({ database, bus: flaky, logger: silentLogger, pollMs: 20 });
    for (let i = 1; i <= 5; i++) await db.transaction((tx) => writeChanges(tx, "p".repeat(24), [change("a", "f", i)], Date.now()));
    relay.nudge();
    await untilListening(db);
    expect(seen.length).toBe(0);
    const pending = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from outbox where published_at is null`));
    expect(pending[0]!.n).toBe(5);
    down = false;
    for (let i = 0; i < 200 && seen.length < 5; i++) await Bun.sleep(20);
    await relay.stop();
    expect(seen.map((e) => [e.seq, e.version])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
  });

  test("events sent without the bus confirming them go out again under the same numbers, even when an older event commits meanwhile", async () => {
    const { database, db, url } = await setup();
    const inner = new MemoryBus();
    const seen = collect(inner);
    // A bus node that takes the events (subscribers get them) and dies before confirming.
    let confirming = false;
    const dying: Bus = Object.assign(Object.create(inner) as Bus, {
      flush: async () => {
        if (!confirming) throw new Error("bus node gone");
      },
    });
    // An older change: its outbox row exists (a lower id) but is not committed yet.
    let commitOlder!: () => void;
    const held = new Promise<void>((r) => (commitOlder = r));
    const other = otherInstance(url);
    let inserted!: () => void;
    const insertedOlder = new Promise<void>((r) => (inserted = r));
    const older = other.transaction(async (tx) => {
      await writeChanges(tx, "p".repeat(24), [change("a", "older", 1)], Date.now());
      inserted();
      await held;
    });
    await insertedOlder;
    await db.transaction((tx) => writeChanges(tx, "p".repeat(24), [change("a", "newer", 1)], Date.now()));
    const relay = startOutboxRelay({ database, bus: dying, logger: silentLogger, pollMs: 20 });
    await until(() => seen.some((e) => e.key === "newer"), "the newer event on the bus");
    commitOlder();
    await older;
    confirming = true;
    await until(() => seen.some((e) => e.key === "older"), "the older event");
    await Bun.sleep(100);
    await relay.stop();
    // One number, one event: a subscriber that took "newer" as 1 must not be sent "older" as 1.
    const byNumber = new Map<number, Set<string>>();
    for (const e of seen) byNumber.set(e.seq, (byNumber.get(e.seq) ?? new Set()).add(e.key));
    expect([...byNumber].map(([seq, keys]) => [seq, [...keys]])).toEqual([
      [1, ["newer"]],
      [2, ["older"]],
    ]);
    const pending = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from outbox where published_at is null`));
    expect(pending[0]!.n).toBe(0);
  });

  test("a nudge from a request already past its deadline still publishes: the relay's work is not the request's", async () => {
    const { database, db } = await setup();
    const bus = new MemoryBus();
    const seen = collect(bus);
    // No polling to speak of and no notifications: only the nudge can publish.
    const deaf: Pick<Database, "db" | "kind" | "listen"> = { db: database.db, kind: database.kind, listen: async () => async () => {} };
    const relay = startOutboxRelay({ database: deaf, bus, logger: silentLogger, pollMs: 600_000 });
    await Bun.sleep(100);
    await db.transaction((tx) => writeChanges(tx, "p".repeat(24), [change("a", "f", 1)], Date.now()));
    withDeadline(Date.now() - 1, () => relay.nudge());
    for (let i = 0; i < 100 && seen.length < 1; i++) await Bun.sleep(20);
    await relay.stop();
    expect(seen.map((e) => [e.seq, e.key])).toEqual([[1, "f"]]);
  });

  test("with polling off, an event committed by another instance is published on its notification", async () => {
    const { database, db, url } = await setup();
    const bus = new MemoryBus();
    const seen = collect(bus);
    const relay = startOutboxRelay({ database, bus, logger: silentLogger, pollMs: 3_600_000 });
    await untilListening(db);
    // The start-up pass has run (nothing to publish); from here only a notification wakes the relay.
    const other = otherInstance(url);
    await other.transaction((tx) => writeChanges(tx, "p".repeat(24), [change("a", "elsewhere", 1)], Date.now()));
    await until(() => seen.length === 1, "the event");
    await other.transaction((tx) => writeChanges(tx, "p".repeat(24), [change("b", "elsewhere", 2)], Date.now()));
    await until(() => seen.length === 2, "the second event");
    await relay.stop();
    expect(seen.map((e) => [e.key, e.version, e.seq])).toEqual([
      ["elsewhere", 1, 1],
      ["elsewhere", 2, 1],
    ]);
  });

  test("two relays woken by the same notifications publish every event once, in order", async () => {
    const { database, db, url } = await setup();
    const second = await openDatabase({ url, dataDir: "/nonexistent-unused", max: 4 });
    databases.push(second);
    const bus = new MemoryBus();
    const seen = collect(bus);
    const relays = [database, second].map((d) => startOutboxRelay({ database: d, bus, logger: silentLogger, pollMs: 3_600_000 }));
    await untilListening(db, 2);
    const other = otherInstance(url);
    for (let i = 1; i <= 40; i++) await other.transaction((tx) => writeChanges(tx, "p".repeat(24), [change("a", "busy", i)], Date.now()));
    await until(() => seen.length >= 40, "40 events");
    await Bun.sleep(200);
    await Promise.all(relays.map((r) => r.stop()));
    expect(seen.map((e) => [e.seq, e.version])).toEqual(Array.from({ length: 40 }, (_, i) => [i + 1, i + 1]));
  });
});

describe("an event as published", () => {
  const stored = { v: 1, environmentId: "e", kind: "flag", key: "f", version: 3, deleted: false, data: { on: true } };

  test("is the stored payload with its sequence number and commit time", () => {
    expect(JSON.parse(eventJson(JSON.stringify(stored), 7, 1234))).toEqual({ ...stored, seq: 7, committedAt: 1234 });
    expect(JSON.parse(eventJson(stored as unknown as ChangeEvent, 7, 1234))).toEqual({ ...stored, seq: 7, committedAt: 1234 });
    expect(JSON.parse(eventJson(" {} ", 1, 2))).toEqual({ seq: 1, committedAt: 2 });
  });

  test("a payload stored with a sequence number of its own gets the relay's", () => {
    expect(JSON.parse(eventJson(JSON.stringify({ ...stored, seq: 0 }), 9, 1)).seq).toBe(9);
  });
});

