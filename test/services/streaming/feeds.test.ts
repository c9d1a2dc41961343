/**
 * Feeds: an environment's data loaded over the bus and kept current by change events, in sequence
 * order; a gap or a reconnect loads it again. The flags service is played by a responder on an
 * in-process bus, so each case controls exactly which events go by.
 */
import { describe, expect, test } from "bun:test";
import { encodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import type { ChangeEvent } from "@vexil/shared/change-events";
import type { EnvironmentData, SdkItem } from "@vexil/shared/environment-data";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { FeedGroups, FeedHub, type FeedUpdate } from "@vexil/streaming/feeds";

const ENV = "env-1";

/** A stand-in for the flags service: its data, and how many times it was asked. */
function flagsService(bus: MemoryBus, initial: { seq: number; flags: Record<string, SdkItem> }) {
  const state = { ...initial, loads: 0, hold: undefined as Promise<void> | undefined };
  bus.serve(subjects.flagsEnvironmentData, async (msg) => {
    state.loads++;
    const body = JSON.parse(new TextDecoder().decode(msg.data)) as { environmentId: string };
    if (state.hold) await state.hold;
    if (body.environmentId !== ENV) return { data: encodeJson({ error: { code: "not_found", message: "no such environment" } }) };
    const data: EnvironmentData = { v: 1, environmentId: ENV, projectKey: "p", environmentKey: "e", seq: state.seq, flags: structuredClone(state.flags), segments: {} };
    return { data: encodeJson({ ok: data }) };
  });
  return state;
}

const flag = (key: string, version: number, on = true): SdkItem => ({ key, version, on });
const event = (seq: number, key: string, version: number, deleted = false): ChangeEvent => ({ v: 1, environmentId: ENV, seq, kind: "flag", key, version, deleted, ...(deleted ? {} : { data: flag(key, version) }) });
const publish = async (bus: MemoryBus, e: ChangeEvent) => {
  bus.publish(subjects.changes(ENV), encodeJson(e));
  await bus.flush();
  await Bun.sleep(1);
};

async function settle(hub: FeedHub): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const feed = await hub.get(ENV);
    if (!feed.loading) return;
    await Bun.sleep(5);
  }
}

describe("feeds", () => {
  test("loads an environment once, then applies events in order and tells listeners", async () => {
    const bus = new MemoryBus();
    const flags = flagsService(bus, { seq: 3, flags: { a: flag("a", 1) } });
    const hub = new FeedHub(bus, silentLogger, { timeoutMs: 1_000 });
    const feed = await hub.get(ENV);
    await hub.get(ENV);
    expect(flags.loads).toBe(1);
    expect(feed.seq).toBe(3);
    const updates: FeedUpdate[] = [];
    feed.listeners.add((u) => updates.push(u));
    await publish(bus, event(4, "a", 2));
    await publish(bus, event(5, "b", 1));
    await publish(bus, event(6, "a", 3, true));
    expect(updates).toEqual([
      { type: "upsert", kind: "flag", key: "a", item: flag("a", 2) },
      { type: "upsert", kind: "flag", key: "b", item: flag("b", 1) },
      { type: "delete", kind: "flag", key: "a", version: 3 },
    ]);
    expect([...feed.flags.keys()]).toEqual(["b"]);
    expect(feed.seq).toBe(6);
    hub.stop();
  });

  test("an event already applied, or one older than what is held, changes nothing", async () => {
    const bus = new MemoryBus();
    flagsService(bus, { seq: 3, flags: { a: flag("a", 5) } });
    const hub = new FeedHub(bus, silentLogger, { timeoutMs: 1_000 });
    const feed = await hub.get(ENV);
    const updates: FeedUpdate[] = [];
    feed.listeners.add((u) => updates.push(u));
    await publish(bus, event(2, "a", 9));
    await publish(bus, event(3, "a", 9));
    await publish(bus, event(4, "a", 4));
    expect(updates).toEqual([]);
    expect(feed.flags.get("a")!.version).toBe(5);
    expect(feed.seq).toBe(4);
    // A deleted flag does not come back with an older version.
    await publish(bus, event(5, "a", 6, true));
    await publish(bus, event(6, "a", 6));
    expect(feed.flags.has("a")).toBe(false);
    hub.stop();
  });

  test("a gap in the sequence loads the environment again and tells listeners the whole data changed", async () => {
    const bus = new MemoryBus();
    const flags = flagsService(bus, { seq: 1, flags: { a: flag("a", 1) } });
    const hub = new FeedHub(bus, silentLogger, { timeoutMs: 1_000 });
    const feed = await hub.get(ENV);
    const updates: FeedUpdate[] = [];
    feed.listeners.add((u) => updates.push(u));
    // Events 2 and 3 went by unseen; the flags service has them.
    flags.seq = 4;
    flags.flags = { a: flag("a", 3), c: flag("c", 1) };
    await publish(bus, event(4, "c", 1));
    await settle(hub);
    expect(flags.loads).toBe(2);
    expect(updates).toEqual([{ type: "put" }]);
    expect(feed.flags.get("a")!.version).toBe(3);
    expect(feed.seq).toBe(4);
    await publish(bus, event(5, "a", 4));
    expect(updates.at(-1)).toMatchObject({ type: "upsert", key: "a" });
    hub.stop();
  });

  test("a relay's tip naming a later sequence number loads the environment again; one it already has changes nothing", async () => {
    const bus = new MemoryBus();
    const flags = flagsService(bus, { seq: 2, flags: { a: flag("a", 1) } });
    const hub = new FeedHub(bus, silentLogger, { timeoutMs: 1_000 });
    const feed = await hub.get(ENV);
    const updates: FeedUpdate[] = [];
    feed.listeners.add((u) => updates.push(u));
    const tip = async (seq: number) => {
      bus.publish(subjects.changeTips, encodeJson({ v: 1, tips: { [ENV]: seq, "env-unknown": 9 } }));
      await bus.flush();
      await Bun.sleep(1);
    };
    await tip(2);
    await settle(hub);
    expect(flags.loads).toBe(1);
    // Event 3, the last of its burst, went by unseen.
    flags.seq = 3;
    flags.flags = { a: flag("a", 2) };
    await tip(3);
    await settle(hub);
    expect(flags.loads).toBe(2);
    expect(updates).toEqual([{ type: "put" }]);
    expect(feed.seq).toBe(3);
    expect(feed.flags.get("a")!.version).toBe(2);
    hub.stop();
  });

  test("events that arrive while the environment loads apply after it, those it already holds are skipped", async () => {
    const bus = new MemoryBus();
    let release!: () => void;
    const flags = flagsService(bus, { seq: 5, flags: { a: flag("a", 2) } });
    flags.hold = new Promise((r) => (release = r));
    const hub = new FeedHub(bus, silentLogger, { timeoutMs: 1_000 });
    const loading = hub.get(ENV);
    await Bun.sleep(5);
    await publish(bus, event(5, "a", 2));
    await publish(bus, event(6, "a", 3));
    release();
    const feed = await loading;
    expect(feed.seq).toBe(6);
    expect(feed.flags.get("a")!.version).toBe(3);
    hub.stop();
  });

  test("an environment that does not exist is refused and not kept", async () => {
    const bus = new MemoryBus();
    flagsService(bus, { seq: 0, flags: {} });
    const hub = new FeedHub(bus, silentLogger, { timeoutMs: 1_000 });
    await expect(hub.get("nope")).rejects.toMatchObject({ code: "not_found" });
    expect(hub.size()).toBe(0);
    hub.stop();
  });

  test("without the flags service the first load fails (the caller answers 503), and a later one succeeds", async () => {
    const bus = new MemoryBus();
    const hub = new FeedHub(bus, silentLogger, { timeoutMs: 200 });
    await expect(hub.get(ENV)).rejects.toMatchObject({ code: "service_unavailable" });
    flagsService(bus, { seq: 1, flags: { a: flag("a", 1) } });
    expect((await hub.get(ENV)).flags.has("a")).toBe(true);
    hub.stop();
  });

  test("a first load that the flags service does not answer in time is a 503 too, so the SDK tries again elsewhere", async () => {
    const bus = new MemoryBus();
    const flags = flagsService(bus, { seq: 1, flags: { a: flag("a", 1) } });
    const held = Promise.withResolvers<void>();
    flags.hold = held.promise;
    const hub = new FeedHub(bus, silentLogger, { timeoutMs: 100 });
    await expect(hub.get(ENV)).rejects.toMatchObject({ code: "service_unavailable", status: 503 });
    expect(hub.size()).toBe(0);
    held.resolve();
    flags.hold = undefined;
    expect((await hub.get(ENV)).flags.has("a")).toBe(true);
    hub.stop();
  });
});

describe("feed groups", () => {
  test("one listener per feed for all its members, gone with the last member", async () => {
    const bus = new MemoryBus();
    flagsService(bus, { seq: 0, flags: {} });
    const hub = new FeedHub(bus, silentLogger, { timeoutMs: 1_000 });
    const feed = await hub.get(ENV);
    const seen: Array<[string, string[]]> = [];
    const groups = new FeedGroups<string>((update, _feed, members) => void seen.push([update.type, [...members]]));
    const leaveA = groups.join(feed, "a");
    const leaveB = groups.join(feed, "b");
    expect(feed.listeners.size).toBe(1);
    await publish(bus, event(1, "x", 1));
    expect(seen).toEqual([["upsert", ["a", "b"]]]);
    leaveA();
    leaveA();
    expect(feed.listeners.size).toBe(1);
    leaveB();
    expect(feed.listeners.size).toBe(0);
    await publish(bus, event(2, "x", 2));
    expect(seen.length).toBe(1);
    hub.stop();
  });
});
