/**
 * One contract for every ScheduleStore (memory, drizzle on real Postgres, and drizzle under the
 * flag cache): items are written with their flag or segment, all or nothing, and go with them;
 * claims are leases; an operation already in the audit log fails the write that names it again.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import type { FlagRecord, ScopedFlag } from "@vexil/flags/storage/flag-store";
import { OperationAlreadyApplied, type ScheduledItem } from "@vexil/flags/storage/schedule-store";
import { audit, closeClients, flagRecord, implementations, insertFlag, NOW, scheduledItem, scheduleWrite, segmentRecord, shop, targetWrite, type Shop, type Stores } from "./flag-stores.ts";

afterAll(closeClients);

type Read = ScopedFlag & { flag: FlagRecord };
const ids = (items: ScheduledItem[]) => items.map((i) => i.id);

for (const [name, make] of implementations) {
  describe(`ScheduleStore contract: ${name}`, () => {
    let stores: Stores;
    let s: Shop;
    let flag: FlagRecord;
    beforeEach(async () => {
      stores = await make();
      s = await shop(stores);
      flag = await insertFlag(stores, flagRecord(s.project.id, "checkout"));
    });

    const read = async (key = "checkout") => (await stores.flags.flagInScope("shop", key, { consistent: true })) as Read;
    /** Writes `items` with a change of the flag. */
    async function put(...items: ScheduledItem[]): Promise<void> {
      expect(await stores.flags.writeFlag(await read(items[0]?.resourceKey), scheduleWrite(await read(items[0]?.resourceKey), { put: items }))).toBe(true);
    }

    test("items are written with a change of their flag, and read back by flag, by context and by id", async () => {
      const later = scheduledItem(s.production, { flag }, NOW + 2_000);
      const sooner = scheduledItem(s.production, { flag }, NOW + 1_000, { comment: "soon", conflicts: [{ _id: later.id, reason: "both turn it on" }] });
      const expiry = scheduledItem(s.production, { flag }, NOW + 500, { kind: "flagExpiry", instructions: null, contextKind: "user", contextKey: "alice", variationId: "v0" });
      const elsewhere = scheduledItem(s.test, { flag }, NOW + 500);
      await put(later, sooner, expiry, elsewhere);
      expect(await stores.schedules.flagItems(flag.id, s.production.id, "flagChange")).toEqual([sooner, later]);
      expect(await stores.schedules.flagItems(flag.id, s.production.id, "flagExpiry")).toEqual([expiry]);
      expect(await stores.schedules.flagItems(flag.id, s.test.id, "flagChange")).toEqual([elsewhere]);
      expect(await stores.schedules.contextItems(s.production.id, "user", "alice")).toEqual([expiry]);
      expect(await stores.schedules.contextItems(s.test.id, "user", "alice")).toEqual([]);
      expect(await stores.schedules.item(sooner.id)).toEqual(sooner);
      expect(await stores.schedules.item("nothing")).toBeUndefined();
      expect((await read()).flag.version).toBe(flag.version + 1);
    });

    test("a change that lost its race writes none of its items", async () => {
      const stale = await read();
      expect(await stores.flags.writeFlag(stale, targetWrite(stale, ["bob"]))).toBe(true);
      const item = scheduledItem(s.production, { flag }, NOW);
      expect(await stores.flags.writeFlag(stale, scheduleWrite(stale, { put: [item] }))).toBe(false);
      expect(await stores.schedules.item(item.id)).toBeUndefined();
    });

    test("a new version of an item replaces it and ends any claim on it; removal by id", async () => {
      const item = scheduledItem(s.production, { flag }, NOW);
      const other = scheduledItem(s.production, { flag }, NOW);
      await put(item, other);
      expect(ids((await stores.schedules.claim(NOW, 10_000, 10)).items).sort()).toEqual([item.id, other.id].sort());
      const moved = { ...item, version: 2, dueAt: NOW + 5 };
      expect(await stores.flags.writeFlag(await read(), scheduleWrite(await read(), { put: [moved], remove: [other.id] }))).toBe(true);
      expect(await stores.schedules.flagItems(flag.id, s.production.id, "flagChange")).toEqual([moved]);
      expect(ids((await stores.schedules.claim(NOW + 5, 10_000, 10)).items)).toEqual([item.id]);
    });

    test("the expiring targets of targets a change dropped go with it, and only those", async () => {
      const expiry = (env: typeof s.production, key: string, variationId = "v0", kind = "user") => scheduledItem(env, { flag }, NOW + 1, { kind: "flagExpiry", instructions: null, contextKind: kind, contextKey: key, variationId });
      const alice = expiry(s.production, "alice");
      const bob = expiry(s.production, "bob");
      const aliceOrg = expiry(s.production, "alice", "v0", "org");
      const aliceTest = expiry(s.test, "alice");
      const otherVariation = expiry(s.production, "carol", "v1");
      await put(alice, bob, aliceOrg, aliceTest, otherVariation);
      const dropped = [
        { environmentId: s.production.id, contextKind: "user", contextKey: "alice", variationId: "v0" },
        { environmentId: s.production.id, contextKind: "user", contextKey: "carol", variationId: "v0" },
      ];
      expect(await stores.flags.writeFlag(await read(), scheduleWrite(await read(), { dropped }))).toBe(true);
      expect(ids(await stores.schedules.flagItems(flag.id, s.production.id, "flagExpiry")).sort()).toEqual([bob.id, aliceOrg.id, otherVariation.id].sort());
      expect(ids(await stores.schedules.flagItems(flag.id, s.test.id, "flagExpiry"))).toEqual([aliceTest.id]);
    });

    test("claims: due pending items no one holds, earliest first, up to the limit, held until the lease ends", async () => {
      const first = scheduledItem(s.production, { flag }, NOW - 10);
      const second = scheduledItem(s.production, { flag }, NOW);
      const third = scheduledItem(s.test, { flag }, NOW - 5);
      const notYet = scheduledItem(s.production, { flag }, NOW + 1);
      const failed = scheduledItem(s.production, { flag }, NOW - 20, { status: "failed", failure: { date: NOW, reason: "no" } });
      await put(first, second, third, notYet, failed);
      expect(await stores.schedules.nextDue(NOW)).toBe(NOW - 10);
      const claim = await stores.schedules.claim(NOW, 1_000, 2);
      expect(ids(claim.items)).toEqual([first.id, third.id]);
      expect(claim.leaseUntil).toBe(NOW + 1_000);
      expect(ids((await stores.schedules.claim(NOW, 1_000, 10)).items)).toEqual([second.id]);
      expect(await stores.schedules.nextDue(NOW)).toBe(NOW + 1);
      expect((await stores.schedules.claim(NOW, 1_000, 10)).items).toEqual([]);
      expect(ids((await stores.schedules.claim(NOW + 500, 1_000, 10)).items)).toEqual([notYet.id]);
      // A lease that ran out: the items may be claimed again, by a new claim.
      const again = await stores.schedules.claim(NOW + 1_001, 1_000, 10);
      expect(ids(again.items)).toEqual([first.id, third.id, second.id]);
      expect(again.token).not.toBe(claim.token);
      // Giving back and removing need the claim that holds the item.
      await stores.schedules.release(first.id, claim.token);
      await stores.schedules.discard(third.id, claim.token);
      expect((await stores.schedules.claim(NOW + 1_002, 1_000, 10)).items).toEqual([]);
      await stores.schedules.release(first.id, again.token);
      await stores.schedules.discard(third.id, again.token);
      expect(await stores.schedules.item(third.id)).toBeUndefined();
      expect(ids((await stores.schedules.claim(NOW + 1_002, 1_000, 10)).items)).toEqual([first.id]);
      // Everything due is held now; the first lease to run out is the one taken at NOW + 500.
      expect(await stores.schedules.nextDue(NOW + 1_002)).toBeUndefined();
      expect(await stores.schedules.nextDue(NOW + 1_501)).toBe(NOW + 1);
    });

    test("a flag's deletion, a segment's, an environment's and a project's take their items along", async () => {
      const gate = await insertFlag(stores, flagRecord(s.project.id, "gate"));
      const segment = segmentRecord(s.production, "beta");
      await stores.segments.insertSegment(segment, audit("segment/beta"), []);
      const ofFlag = scheduledItem(s.production, { flag }, NOW);
      const ofTest = scheduledItem(s.test, { flag: gate }, NOW);
      const ofGate = scheduledItem(s.production, { flag: gate }, NOW);
      const ofSegment = scheduledItem(s.production, { segment }, NOW, { contextKind: "user", contextKey: "alice", targetType: "included" });
      await put(ofFlag);
      await put(ofTest, ofGate);
      const segmentRead = { ...(await stores.flags.projectScope("shop"))!, segment: (await stores.segments.segmentByKey(s.production.id, "beta"))! };
      const bumped = { ...segmentRead.segment, version: 2, doc: { ...segmentRead.segment.doc, version: 2 } };
      expect(await stores.segments.writeSegment(segmentRead, { kind: "update", segment: bumped, audit: audit("segment/beta", 2), changes: [], schedule: { put: [ofSegment] } })).toBe(true);
      expect(await stores.schedules.segmentItems(segment.id)).toEqual([ofSegment]);

      const flagRead = await read();
      expect(await stores.flags.writeFlag(flagRead, { kind: "delete", audit: audit("flag/checkout"), changes: [] })).toBe(true);
      expect(await stores.schedules.item(ofFlag.id)).toBeUndefined();
      const segmentNow = { ...(await stores.flags.projectScope("shop"))!, segment: (await stores.segments.segmentByKey(s.production.id, "beta"))! };
      expect(await stores.segments.writeSegment(segmentNow, { kind: "delete", audit: audit("segment/beta"), changes: [] })).toBe(true);
      expect(await stores.schedules.item(ofSegment.id)).toBeUndefined();
      expect(await stores.projects.deleteEnvironment(s.test.id)).toBe(true);
      expect(await stores.schedules.item(ofTest.id)).toBeUndefined();
      expect(await stores.schedules.item(ofGate.id)).toBeDefined();
      await stores.projects.deleteProject(s.project.id);
      expect(await stores.schedules.item(ofGate.id)).toBeUndefined();
    });

    test("a write naming an operation already in the audit log fails as already applied, writing nothing", async () => {
      const item = scheduledItem(s.production, { flag }, NOW);
      await put(item);
      expect(await stores.flags.writeFlag(await read(), scheduleWrite(await read(), { remove: [item.id] }, "schedule:x:1"))).toBe(true);
      await put(item);
      const before = { version: (await read()).flag.version, audit: (await stores.auditEntries()).length };
      const again = await read();
      const error = await stores.flags.writeFlag(again, scheduleWrite(again, { remove: [item.id] }, "schedule:x:1")).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OperationAlreadyApplied);
      expect({ version: (await read()).flag.version, audit: (await stores.auditEntries()).length }).toEqual(before);
      expect(await stores.schedules.item(item.id)).toEqual(item);

      // Among writes of other flags sent at once (one group-commit batch), only that one fails.
      const others = await Promise.all(["a", "b", "c"].map((k) => insertFlag(stores, flagRecord(s.project.id, k))));
      const reads = await Promise.all(others.map((f) => read(f.key)));
      const outcomes = await Promise.allSettled([
        stores.flags.writeFlag(again, scheduleWrite(again, { remove: [item.id] }, "schedule:x:1")),
        ...reads.map((r, i) => stores.flags.writeFlag(r, scheduleWrite(r, {}, `schedule:other:${i}`))),
      ]);
      expect(outcomes[0]!.status).toBe("rejected");
      expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(OperationAlreadyApplied);
      expect(outcomes.slice(1).map((o) => (o.status === "fulfilled" ? o.value : o.reason))).toEqual([true, true, true]);

      // A segment's write likewise.
      const segment = segmentRecord(s.production, "beta");
      await stores.segments.insertSegment(segment, audit("segment/beta"), []);
      const segmentRead = { ...(await stores.flags.projectScope("shop"))!, segment: (await stores.segments.segmentByKey(s.production.id, "beta"))! };
      const bumped = { ...segmentRead.segment, version: 2, doc: { ...segmentRead.segment.doc, version: 2 } };
      const refused = await stores.segments.writeSegment(segmentRead, { kind: "update", segment: bumped, audit: { ...audit("segment/beta", 2), operationId: "schedule:x:1" }, changes: [] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OperationAlreadyApplied);
      expect((await stores.segments.segmentByKey(s.production.id, "beta"))!.version).toBe(1);
    });
  });
}
