/**
 * What the per-instance cache (`CachedStores`) adds to the contract it shares with the stores: it
 * serves its own writes at once, drops what a commit notice makes out of date, keeps a load that a
 * notice overtook out of memory, forgets everything on a reset, and holds no more than its limits.
 * "Another instance" here writes to the drizzle stores underneath, and its notices are sent by hand.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import type { FlagRecord, ScopedFlag } from "@vexil/flags/storage/flag-store";
import type { CacheLimits } from "@vexil/flags/storage/cached-stores";
import type { SegmentRecord } from "@vexil/flags/storage/segment-store";
import { audit, cachedStores, change, closeClients, flagRecord, insertFlag, postgresStores, segmentRecord, shop, targetWrite, type Shop, type Stores } from "./flag-stores.ts";

afterAll(closeClients);

type Read = ScopedFlag & { flag: FlagRecord };
const q = { limit: 20, offset: 0, sort: { field: "key" as const, descending: false } };
/** A list that is not the default one (which pages through the live keys). */
const filtered = { ...q, query: "e" };

/** Stores whose next call of one method, once it has its answer, waits until the test releases it. */
function pausing(base: Stores) {
  let next: { method: string; reached: () => void; released: Promise<void> } | undefined;
  const wrap = <T extends object>(store: T): T =>
    new Proxy(store, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          const answer = await value.apply(target, args);
          const pause = next;
          if (pause?.method === property) {
            next = undefined;
            pause.reached();
            await pause.released;
          }
          return answer;
        };
      },
    });
  const pauseNext = (method: string) => {
    const reached = Promise.withResolvers<void>();
    const released = Promise.withResolvers<void>();
    next = { method, reached: reached.resolve, released: released.promise };
    return { reached: reached.promise, release: released.resolve };
  };
  return { stores: { ...base, flags: wrap(base.flags), segments: wrap(base.segments) }, pauseNext };
}

describe("the flag cache", () => {
  let inner: Stores;
  let cached: Awaited<ReturnType<typeof cachedStores>>;
  let pauseNext: (method: string) => { reached: Promise<void>; release: () => void };
  let s: Shop;

  async function make(limits?: CacheLimits) {
    const paused = pausing(await postgresStores());
    inner = paused.stores;
    pauseNext = paused.pauseNext;
    cached = await cachedStores(limits, inner);
    s = await shop(cached);
  }
  beforeEach(() => make());

  /** Another instance's change: written underneath, with no notice. */
  async function elsewhere(key: string, value: string): Promise<FlagRecord> {
    const found = (await inner.flags.flagInScope("shop", key)) as Read;
    const write = targetWrite(found, [value]);
    expect(await inner.flags.writeFlag(found, write)).toBe(true);
    return write.flag;
  }
  const cachedFlag = async (key: string) => (await cached.flags.flagInScope("shop", key))?.flag;

  test("serves its own write at once, keeps it past the notice of that write, and drops it for a newer version", async () => {
    await insertFlag(cached, flagRecord(s.project.id, "checkout"));
    const read = (await cached.flags.flagInScope("shop", "checkout")) as Read;
    const mine = targetWrite(read, ["mine"]);
    expect(await cached.flags.writeFlag(read, mine)).toBe(true);
    const theirs = await elsewhere("checkout", "theirs");
    // Memory, not the database: the newer version written elsewhere is not seen without a notice.
    expect(await cachedFlag("checkout")).toEqual(mine.flag);
    cached.notices.send({ kind: "flag", projectId: s.project.id, key: "checkout", version: mine.flag.version });
    expect(await cachedFlag("checkout")).toEqual(mine.flag);
    cached.notices.send({ kind: "flag", projectId: s.project.id, key: "checkout", version: theirs.version });
    expect(await cachedFlag("checkout")).toEqual(theirs);
    expect(cached.cache.size.flags).toBe(1);

    // A list is memory too, until a notice about one of its flags.
    expect((await cached.flags.listFlags(s.project.id, q)).items).toEqual([theirs]);
    const later = await elsewhere("checkout", "later");
    expect((await cached.flags.listFlags(s.project.id, q)).items).toEqual([theirs]);
    cached.notices.send({ kind: "flag", projectId: s.project.id, key: "checkout", version: later.version });
    expect((await cached.flags.listFlags(s.project.id, q)).items).toEqual([later]);

    // A consistent read goes to the database and refreshes memory.
    expect(await cachedFlag("checkout")).toEqual(later);
    const latest = await elsewhere("checkout", "latest");
    expect(await cachedFlag("checkout")).toEqual(later);
    expect((await cached.flags.flagInScope("shop", "checkout", { consistent: true }))!.flag).toEqual(latest);
    expect(await cachedFlag("checkout")).toEqual(latest);

    // A deletion elsewhere: its notice carries version -1.
    const found = (await inner.flags.flagInScope("shop", "checkout")) as Read;
    expect(await inner.flags.writeFlag(found, { kind: "delete", audit: audit("flag/checkout"), changes: [] })).toBe(true);
    expect(await cachedFlag("checkout")).toEqual(latest);
    cached.notices.send({ kind: "flag", projectId: s.project.id, key: "checkout", version: -1 });
    expect(await cachedFlag("checkout")).toBeUndefined();
  });

  test("a project notice drops the project's scope, flags and segments, held scope or not", async () => {
    await insertFlag(cached, flagRecord(s.project.id, "checkout"));
    const segment = segmentRecord(s.production, "beta");
    await cached.segments.insertSegment(segment, audit("segment/beta"), []);
    await cached.flags.flagInScope("shop", "checkout");
    expect(await cachedFlag("checkout")).toBeDefined();
    expect(await inner.projects.updateEnvironment({ ...s.test, color: "000000", version: 2 }, 1)).toBe(true);
    expect((await cached.flags.projectScope("shop"))!.environments[1]!.color).toBe("FFFFFF");
    cached.notices.send({ kind: "project", projectId: s.project.id });
    expect((await cached.flags.projectScope("shop"))!.environments[1]!.color).toBe("000000");

    // Held without the scope that would name its environment, a segment still goes with it.
    cached.notices.send({ kind: "project", projectId: s.project.id });
    expect(await cached.segments.segmentByKey(s.production.id, "beta")).toEqual(segment);
    expect((await cached.segments.listSegments(s.production.id, q)).items).toEqual([segment]);
    expect(cached.cache.size).toMatchObject({ projects: 0, segments: 1, lists: 1 });
    expect(await inner.projects.deleteEnvironment(s.production.id)).toBe(true);
    cached.notices.send({ kind: "project", projectId: s.project.id });
    expect(await cached.segments.segmentByKey(s.production.id, "beta")).toBeUndefined();
    expect((await cached.segments.listSegments(s.production.id, q)).items).toEqual([]);
    expect((await cached.flags.projectScope("shop"))!.environments.map((e) => e.key)).toEqual(["test"]);
    expect(Object.keys((await cachedFlag("checkout"))!.configs)).toEqual(["test"]);
  });

  test("serves its own segment writes and drops a segment for a newer version's notice", async () => {
    await cached.segments.insertSegment(segmentRecord(s.production, "beta"), audit("segment/beta"), []);
    const scope = (await cached.flags.projectScope("shop"))!;
    const next = (segment: SegmentRecord, value: string): SegmentRecord => {
      const copy = structuredClone(segment);
      copy.doc.included.push(value);
      copy.version = copy.doc.version = segment.version + 1;
      return copy;
    };
    const read = (await cached.segments.segmentByKey(s.production.id, "beta"))!;
    const mine = next(read, "mine");
    expect(await cached.segments.writeSegment({ ...scope, segment: read }, { kind: "update", segment: mine, audit: audit("segment/beta"), changes: [] })).toBe(true);
    expect((await cached.segments.listSegments(s.production.id, q)).items).toEqual([mine]);
    const theirs = next(mine, "theirs");
    expect(await inner.segments.writeSegment({ ...scope, segment: mine }, { kind: "update", segment: theirs, audit: audit("segment/beta"), changes: [change("production", "segment", "beta", 3)] })).toBe(true);
    expect(await cached.segments.segmentByKey(s.production.id, "beta")).toEqual(mine);
    expect((await cached.segments.listSegments(s.production.id, q)).items).toEqual([mine]);
    cached.notices.send({ kind: "segment", environmentId: s.production.id, key: "beta", version: mine.version });
    expect(await cached.segments.segmentByKey(s.production.id, "beta")).toEqual(mine);
    cached.notices.send({ kind: "segment", environmentId: s.production.id, key: "beta", version: theirs.version });
    expect(await cached.segments.segmentByKey(s.production.id, "beta")).toEqual(theirs);
    expect((await cached.segments.listSegments(s.production.id, q)).items).toEqual([theirs]);
  });

  test("a load that a notice overtook answers its caller but stays out of memory", async () => {
    await insertFlag(cached, flagRecord(s.project.id, "checkout"));
    await cached.flags.projectScope("shop");
    for (const [method, load, current] of [
      ["flagInScope", () => cachedFlag("checkout"), () => cachedFlag("checkout")],
      ["listFlags", async () => (await cached.flags.listFlags(s.project.id, filtered)).items[0], async () => (await cached.flags.listFlags(s.project.id, filtered)).items[0]],
    ] as const) {
      const before = (await inner.flags.flagByKey(s.project.id, "checkout"))!;
      const pause = pauseNext(method);
      const loading = load();
      await pause.reached;
      const newer = await elsewhere("checkout", method);
      cached.notices.send({ kind: "flag", projectId: s.project.id, key: "checkout", version: newer.version });
      pause.release();
      expect(await loading).toEqual(before);
      expect(await current()).toEqual(newer);
    }
    const segment = segmentRecord(s.production, "beta");
    await cached.segments.insertSegment(segment, audit("segment/beta"), []);
    const pause = pauseNext("segmentByKey");
    const loading = cached.segments.segmentByKey(s.production.id, "beta");
    await pause.reached;
    const scope = (await inner.flags.projectScope("shop"))!;
    const newer = { ...segment, version: 2, doc: { ...segment.doc, version: 2, name: "Newer" } };
    expect(await inner.segments.writeSegment({ ...scope, segment }, { kind: "update", segment: newer, audit: audit("segment/beta"), changes: [] })).toBe(true);
    cached.notices.send({ kind: "segment", environmentId: s.production.id, key: "beta", version: 2 });
    pause.release();
    expect(await loading).toEqual(segment);
    expect(await cached.segments.segmentByKey(s.production.id, "beta")).toEqual(newer);
  });

  test("its own write that a newer change's notice overtook stays out of memory", async () => {
    // Another instance may commit the next change, and its notice be handled here, between this
    // instance's commit and the moment its own write comes back to it (a busy process reads its
    // sockets in no set order).
    await insertFlag(cached, flagRecord(s.project.id, "checkout"));
    const read = (await cached.flags.flagInScope("shop", "checkout")) as Read;
    const mine = targetWrite(read, ["mine"]);
    const pause = pauseNext("writeFlag");
    const writing = cached.flags.writeFlag(read, mine);
    await pause.reached;
    const theirs = await elsewhere("checkout", "theirs");
    cached.notices.send({ kind: "flag", projectId: s.project.id, key: "checkout", version: theirs.version });
    cached.notices.send({ kind: "flag", projectId: s.project.id, key: "checkout", version: mine.flag.version });
    pause.release();
    expect(await writing).toBe(true);
    expect(await cachedFlag("checkout")).toEqual(theirs);

    // The same with a deletion elsewhere: the flag is gone here too.
    const again = (await cached.flags.flagInScope("shop", "checkout")) as Read;
    const next = targetWrite(again, ["next"]);
    const paused = pauseNext("writeFlag");
    const writingNext = cached.flags.writeFlag(again, next);
    await paused.reached;
    const found = (await inner.flags.flagInScope("shop", "checkout")) as Read;
    expect(await inner.flags.writeFlag(found, { kind: "delete", audit: audit("flag/checkout"), changes: [] })).toBe(true);
    cached.notices.send({ kind: "flag", projectId: s.project.id, key: "checkout", version: -1 });
    paused.release();
    expect(await writingNext).toBe(true);
    expect(await cachedFlag("checkout")).toBeUndefined();
    // Made again elsewhere, it is read and held afresh.
    await insertFlag(inner, flagRecord(s.project.id, "checkout"));
    cached.notices.send({ kind: "flag", projectId: s.project.id, key: "checkout", version: 1 });
    expect((await cachedFlag("checkout"))?.version).toBe(1);
    expect(cached.cache.size.flags).toBe(1);

    // Notices lost while the write was under way (the newer change's missed): not kept either.
    const current = (await cached.flags.flagInScope("shop", "checkout")) as Read;
    const lastMine = targetWrite(current, ["last"]);
    const pausedLast = pauseNext("writeFlag");
    const writingLast = cached.flags.writeFlag(current, lastMine);
    await pausedLast.reached;
    cached.notices.lose();
    const missed = await elsewhere("checkout", "missed");
    cached.notices.reset();
    pausedLast.release();
    expect(await writingLast).toBe(true);
    expect(await cachedFlag("checkout")).toEqual(missed);

    // Segments likewise.
    const segment = segmentRecord(s.production, "beta");
    await cached.segments.insertSegment(segment, audit("segment/beta"), []);
    const scope = (await cached.flags.projectScope("shop"))!;
    const held = (await cached.segments.segmentByKey(s.production.id, "beta"))!;
    const mySegment = { ...held, version: 2, doc: { ...held.doc, version: 2, name: "Mine" } };
    const theirSegment = { ...held, version: 3, doc: { ...held.doc, version: 3, name: "Theirs" } };
    const segmentPause = pauseNext("writeSegment");
    const writingSegment = cached.segments.writeSegment({ ...scope, segment: held }, { kind: "update", segment: mySegment, audit: audit("segment/beta"), changes: [] });
    await segmentPause.reached;
    expect(await inner.segments.writeSegment({ ...scope, segment: mySegment }, { kind: "update", segment: theirSegment, audit: audit("segment/beta"), changes: [] })).toBe(true);
    cached.notices.send({ kind: "segment", environmentId: s.production.id, key: "beta", version: 3 });
    segmentPause.release();
    expect(await writingSegment).toBe(true);
    expect(await cached.segments.segmentByKey(s.production.id, "beta")).toEqual(theirSegment);
  });

  test("a reset forgets everything", async () => {
    await insertFlag(cached, flagRecord(s.project.id, "checkout"));
    await cached.segments.insertSegment(segmentRecord(s.production, "beta"), audit("segment/beta"), []);
    await cached.flags.flagInScope("shop", "checkout");
    await cached.flags.flagInScope("shop", "checkout");
    await cached.flags.listFlags(s.project.id, q);
    await cached.flags.listFlags(s.project.id, filtered);
    await cached.segments.segmentByKey(s.production.id, "beta");
    expect(cached.cache.size).toEqual({ projects: 1, flags: 1, segments: 1, lists: 1, keyIndexes: 1 });
    const newer = await elsewhere("checkout", "missed");
    cached.notices.reset();
    expect(cached.cache.size).toEqual({ projects: 0, flags: 0, segments: 0, lists: 0, keyIndexes: 0 });
    expect(await cachedFlag("checkout")).toEqual(newer);
  });

  test("while notices are not heard it forgets everything and keeps nothing, until they are heard again", async () => {
    await insertFlag(cached, flagRecord(s.project.id, "checkout"));
    await cached.flags.flagInScope("shop", "checkout");
    await cached.flags.flagInScope("shop", "checkout");
    expect(cached.cache.size.flags).toBe(1);
    cached.notices.lose();
    expect(cached.cache.size).toEqual({ projects: 0, flags: 0, segments: 0, lists: 0, keyIndexes: 0 });
    // Changes made elsewhere now would go unheard: every read goes to the store, nothing is kept.
    const newer = await elsewhere("checkout", "unheard");
    expect(await cachedFlag("checkout")).toEqual(newer);
    await cached.flags.listFlags(s.project.id, q);
    await cached.flags.listFlags(s.project.id, filtered);
    expect(cached.cache.size).toEqual({ projects: 0, flags: 0, segments: 0, lists: 0, keyIndexes: 0 });
    const newest = await elsewhere("checkout", "still unheard");
    expect(await cachedFlag("checkout")).toEqual(newest);
    cached.notices.reset();
    await cached.flags.flagInScope("shop", "checkout");
    await cached.flags.flagInScope("shop", "checkout");
    expect(cached.cache.size.flags).toBe(1);
  });

  test("the default list pages through the live keys it holds: flag changes keep them, creations, deletions and archiving anywhere drop them", async () => {
    const keys = ["a", "b", "c", "d", "e"];
    for (const key of keys) await insertFlag(cached, flagRecord(s.project.id, key));
    const page = async (over: Partial<typeof q>) => (await cached.flags.listFlags(s.project.id, { ...q, ...over })).items.map((f) => f.key);
    expect(await page({ limit: 2, offset: 3 })).toEqual(["d", "e"]);
    expect(await page({ limit: 2, offset: 0, sort: { field: "key", descending: true } })).toEqual(["e", "d"]);
    expect(await page({ limit: 2, offset: 4, sort: { field: "key", descending: true } })).toEqual(["a"]);
    expect((await cached.flags.listFlags(s.project.id, q)).total).toBe(5);
    expect(cached.cache.size.keyIndexes).toBe(1);

    // A change to a flag elsewhere, heard: the keys stay, the page shows the flag as it now is.
    const changed = await elsewhere("c", "changed");
    cached.notices.send({ kind: "flag", projectId: s.project.id, key: "c", version: changed.version });
    expect(cached.cache.size.keyIndexes).toBe(1);
    expect((await cached.flags.listFlags(s.project.id, q)).items[2]).toEqual(changed);

    // A flag created elsewhere: unseen until its notice.
    await inner.flags.insertFlag(flagRecord(s.project.id, "bb"), audit("flag/bb"), []);
    expect(await page({})).toEqual(keys);
    cached.notices.send({ kind: "flags", projectId: s.project.id });
    expect(await page({})).toEqual(["a", "b", "bb", "c", "d", "e"]);

    // This instance's own creations, archiving and deletions show at once.
    await insertFlag(cached, flagRecord(s.project.id, "aa"));
    expect(await page({ limit: 3 })).toEqual(["a", "aa", "b"]);
    const read = (await cached.flags.flagInScope("shop", "aa")) as Read;
    const archived = { ...read.flag, version: read.flag.version + 1, doc: { ...read.flag.doc, archived: true, version: read.flag.version + 1 } };
    expect(await cached.flags.writeFlag(read, { kind: "update", flag: archived, audit: audit("flag/aa"), changes: [] })).toBe(true);
    expect(await page({ limit: 3 })).toEqual(["a", "b", "bb"]);
    const b = (await cached.flags.flagInScope("shop", "b")) as Read;
    expect(await cached.flags.writeFlag(b, { kind: "delete", audit: audit("flag/b"), changes: [] })).toBe(true);
    expect(await page({ limit: 3 })).toEqual(["a", "bb", "c"]);
    expect((await cached.flags.listFlags(s.project.id, q)).total).toBe(5);
    // The same pages as the store's own list.
    for (const over of [{}, { offset: 2, limit: 2 }, { sort: { field: "key" as const, descending: true }, offset: 1, limit: 3 }]) {
      expect(await cached.flags.listFlags(s.project.id, { ...q, ...over })).toEqual(await inner.flags.listFlags(s.project.id, { ...q, ...over }));
    }
  });

  test("live keys whose load a creation overtook answer their caller but stay out of memory", async () => {
    await insertFlag(cached, flagRecord(s.project.id, "a"));
    const pause = pauseNext("liveKeys");
    const loading = cached.flags.listFlags(s.project.id, q);
    await pause.reached;
    await inner.flags.insertFlag(flagRecord(s.project.id, "b"), audit("flag/b"), []);
    cached.notices.send({ kind: "flags", projectId: s.project.id });
    pause.release();
    expect((await loading).items.map((f) => f.key)).toEqual(["a"]);
    expect(cached.cache.size.keyIndexes).toBe(0);
    expect((await cached.flags.listFlags(s.project.id, q)).items.map((f) => f.key)).toEqual(["a", "b"]);
  });

  test("holds no more than its limits, the least recently used going first", async () => {
    await make({ flags: 2, segments: 3, lists: 2, keyIndexes: 1 });
    const keys = ["f0", "f1", "f2", "f3", "f4"];
    for (const key of keys) await insertFlag(cached, flagRecord(s.project.id, key));
    for (const key of keys) await cached.segments.insertSegment(segmentRecord(s.production, key), audit(`segment/${key}`), []);
    await cached.flags.projectScope("shop");
    for (const key of keys) {
      await cachedFlag(key);
      await cached.segments.segmentByKey(s.production.id, key);
      await cached.flags.listFlags(s.project.id, { ...q, query: key });
    }
    expect(cached.cache.size).toEqual({ projects: 1, flags: 2, segments: 3, lists: 2, keyIndexes: 0 });
    // f4 is held (an older answer), f0 is not (the database's).
    const f4 = await cachedFlag("f4");
    await elsewhere("f4", "unseen");
    const f0 = await elsewhere("f0", "seen");
    expect(await cachedFlag("f4")).toEqual(f4);
    expect(await cachedFlag("f0")).toEqual(f0);
    expect(cached.cache.size.flags).toBe(2);
  });
});
