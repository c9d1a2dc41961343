/**
 * One contract for every SegmentStore: the memory store, drizzle on real Postgres, and the
 * per-instance cache around drizzle (`flag-stores.ts`). A change is written only while the segment,
 * its project and its environments are as read, all of it or nothing.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import { decideAndWrite } from "@vexil/flags/domain/unit-of-work";
import type { ProjectScope } from "@vexil/flags/storage/flag-store";
import type { SegmentQuery, SegmentRecord, SegmentWrite } from "@vexil/flags/storage/segment-store";
import { audit, change, closeClients, environment, implementations, NOW, segmentRecord, shop, type Shop, type Stores } from "./flag-stores.ts";

afterAll(closeClients);

type Read = ProjectScope & { segment: SegmentRecord };
const q = (over: Partial<SegmentQuery> = {}): SegmentQuery => ({ limit: 20, offset: 0, sort: { field: "key", descending: false }, ...over });
const keys = (listed: { items: SegmentRecord[] }) => listed.items.map((x) => x.key);

/** The segment read, at its next version with `values` included. */
function includeWrite(read: Read, values: string[]): SegmentWrite & { kind: "update" } {
  const segment = structuredClone(read.segment);
  segment.doc.included.push(...values);
  segment.version += 1;
  segment.doc.version = segment.version;
  const env = read.environments.find((e) => e.id === segment.environmentId)!;
  return { kind: "update", segment, audit: audit(`segment/${segment.key}`, segment.version), changes: [change(env.key, "segment", segment.key, segment.version)] };
}

const deletion = (key: string, version: number): SegmentWrite => ({ kind: "delete", audit: audit(`segment/${key}`), changes: [change("production", "segment", key, version, true)] });

async function insert(stores: Stores, record: SegmentRecord, envKey = "production"): Promise<SegmentRecord> {
  await stores.segments.insertSegment(record, audit(`segment/${record.key}`), [change(envKey, "segment", record.key, record.version)]);
  return record;
}

for (const [name, make] of implementations) {
  describe(`SegmentStore contract: ${name}`, () => {
    let stores: Stores;
    let s: Shop;
    beforeEach(async () => {
      stores = await make();
      s = await shop(stores);
    });

    /** The segment of `production` as the store now has it, with its scope. */
    async function read(key: string, consistent = false): Promise<Read> {
      const scope = await stores.flags.projectScope("shop", { consistent });
      const segment = await stores.segments.segmentByKey(s.production.id, key, { consistent });
      expect(segment).toBeDefined();
      return { ...scope!, segment: segment! };
    }

    const written = async () => ({ audit: (await stores.auditEntries()).length, events: (await stores.events()).length });

    test("inserts a segment and reads it back; a key is per environment", async () => {
      const beta = await insert(stores, segmentRecord(s.production, "beta", { doc: { included: ["u1"], tags: ["x"] } }));
      const inTest = await insert(stores, segmentRecord(s.test, "beta"), "test");
      expect(await stores.segments.segmentByKey(s.production.id, "beta")).toEqual(beta);
      expect(await stores.segments.segmentByKey(s.production.id, "beta", { consistent: true })).toEqual(beta);
      expect(await stores.segments.segmentByKey(s.test.id, "beta")).toEqual(inTest);
      expect((await stores.auditEntries()).map((e) => e.spec)).toEqual(["segment/beta", "segment/beta"]);
      expect(await stores.events()).toEqual([
        { environmentId: s.production.id, kind: "segment", key: "beta", version: 1, deleted: false },
        { environmentId: s.test.id, kind: "segment", key: "beta", version: 1, deleted: false },
      ]);
    });

    test("lists with filters, sorting and pages", async () => {
      const alpha = await insert(stores, segmentRecord(s.production, "alpha", { doc: { name: "Zulu", tags: ["red"], lastModifiedDate: NOW + 3 }, createdAt: NOW + 2 }));
      const beta = await insert(stores, segmentRecord(s.production, "beta", { doc: { name: "Yankee", tags: ["blue"], lastModifiedDate: NOW + 1 }, createdAt: NOW + 1 }));
      const gamma = await insert(stores, segmentRecord(s.production, "gamma_1", { doc: { name: "100%", lastModifiedDate: NOW + 2 }, createdAt: NOW + 3 }));
      await insert(stores, segmentRecord(s.test, "alpha"), "test");
      const list = (over: Partial<SegmentQuery>) => stores.segments.listSegments(s.production.id, q(over));
      expect(await list({})).toEqual({ items: [alpha, beta, gamma], total: 3 });
      expect(keys(await list({ query: "ALP" }))).toEqual(["alpha"]);
      expect(keys(await list({ query: "yank" }))).toEqual(["beta"]);
      expect(keys(await list({ query: "%" }))).toEqual(["gamma_1"]);
      expect(keys(await list({ query: "_" }))).toEqual(["gamma_1"]);
      expect(keys(await list({ tags: ["red", "blue"] }))).toEqual(["alpha", "beta"]);
      expect(keys(await list({ tags: ["green"] }))).toEqual([]);
      expect(keys(await list({ sort: { field: "name", descending: false } }))).toEqual(["gamma_1", "beta", "alpha"]);
      expect(keys(await list({ sort: { field: "creationDate", descending: true } }))).toEqual(["gamma_1", "alpha", "beta"]);
      expect(keys(await list({ sort: { field: "lastModified", descending: false } }))).toEqual(["beta", "gamma_1", "alpha"]);
      expect(keys(await list({ sort: { field: "key", descending: true } }))).toEqual(["gamma_1", "beta", "alpha"]);
      expect(await list({ limit: 2, offset: 2 })).toEqual({ items: [gamma], total: 3 });
      expect(await list({ offset: 5 })).toEqual({ items: [], total: 3 });
      expect(await stores.segments.listSegments("no-such-environment", q())).toEqual({ items: [], total: 0 });
    });

    test("a taken key is a conflict and writes nothing", async () => {
      const first = await insert(stores, segmentRecord(s.production, "beta"));
      const before = await written();
      const error = await insert(stores, segmentRecord(s.production, "beta", { doc: { name: "Second" } })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VexilError);
      expect((error as VexilError).code).toBe("conflict");
      expect(await written()).toEqual(before);
      expect(await stores.segments.segmentByKey(s.production.id, "beta")).toEqual(first);
      expect((await stores.segments.listSegments(s.production.id, q())).total).toBe(1);
    });

    test("a change decided on the segment and its scope as they are is written whole", async () => {
      await insert(stores, segmentRecord(s.production, "beta"));
      const before = await read("beta");
      const write = includeWrite(before, ["u1"]);
      const events = (await stores.events()).length;
      expect(await stores.segments.writeSegment(before, write)).toBe(true);
      expect(await stores.segments.segmentByKey(s.production.id, "beta")).toEqual(write.segment);
      expect(await stores.segments.segmentByKey(s.production.id, "beta", { consistent: true })).toEqual(write.segment);
      expect((await stores.segments.listSegments(s.production.id, q())).items).toEqual([write.segment]);
      expect((await stores.auditEntries()).map((e) => e.id).at(-1)).toBe(write.audit.id);
      expect((await stores.events()).slice(events)).toEqual([{ environmentId: s.production.id, kind: "segment", key: "beta", version: 2, deleted: false }]);
    });

    test("a deletion removes the segment and nothing else; one decided on an outdated read loses", async () => {
      await insert(stores, segmentRecord(s.production, "beta"));
      const other = await insert(stores, segmentRecord(s.production, "other"));
      const inTest = await insert(stores, segmentRecord(s.test, "beta"), "test");
      const gone = await read("beta");
      const events = (await stores.events()).length;
      expect(await stores.segments.writeSegment(gone, deletion("beta", 2))).toBe(true);
      expect(await stores.segments.segmentByKey(s.production.id, "beta")).toBeUndefined();
      expect(await stores.segments.segmentByKey(s.production.id, "beta", { consistent: true })).toBeUndefined();
      expect(keys(await stores.segments.listSegments(s.production.id, q()))).toEqual(["other"]);
      expect(await stores.segments.segmentByKey(s.test.id, "beta")).toEqual(inTest);
      expect((await stores.events()).slice(events)).toEqual([{ environmentId: s.production.id, kind: "segment", key: "beta", version: 2, deleted: true }]);

      const stale = await read("other");
      expect(await stores.segments.writeSegment(stale, includeWrite(stale, ["u1"]))).toBe(true);
      const before = await written();
      expect(await stores.segments.writeSegment(stale, deletion("other", 2))).toBe(false);
      expect(await written()).toEqual(before);
      expect((await stores.segments.segmentByKey(s.production.id, "other"))!.version).toBe(other.version + 1);
    });

    test("a second change decided on the same read loses and writes nothing", async () => {
      await insert(stores, segmentRecord(s.production, "beta"));
      const both = await read("beta");
      const first = includeWrite(both, ["first"]);
      expect(await stores.segments.writeSegment(both, first)).toBe(true);
      const before = await written();
      expect(await stores.segments.writeSegment(both, includeWrite(both, ["second"]))).toBe(false);
      expect(await written()).toEqual(before);
      expect(await stores.segments.segmentByKey(s.production.id, "beta")).toEqual(first.segment);
    });

    test("a change decided before its project or an environment moved loses", async () => {
      await insert(stores, segmentRecord(s.production, "beta"));
      const moves: Array<[string, () => Promise<unknown>]> = [
        ["its environment updated", () => stores.projects.updateEnvironment({ ...s.production, requireComments: true, version: 2 }, 1)],
        ["another environment updated", () => stores.projects.updateEnvironment({ ...s.test, color: "000000", version: 2 }, 1)],
        ["the project updated", () => stores.projects.updateProject({ ...s.project, name: "Renamed", version: 2 }, 1)],
        ["an environment added", () => stores.projects.insertEnvironment(environment(s.project.id, "staging"), () => ({}) as never)],
        ["an environment deleted", () => stores.projects.deleteEnvironment(s.test.id)],
      ];
      for (const [move, run] of moves) {
        const stale = await read("beta");
        await run();
        const before = await written();
        expect({ move, written: await stores.segments.writeSegment(stale, includeWrite(stale, [move])) }).toEqual({ move, written: false });
        expect(await written()).toEqual(before);
        expect((await read("beta")).segment.version).toBe(1);
      }
      const now = await read("beta");
      expect(now.environments.map((e) => e.key)).toEqual(["production", "staging"]);
      expect(await stores.segments.writeSegment(now, includeWrite(now, ["at last"]))).toBe(true);
    });

    test("deleting an environment deletes its segments", async () => {
      await insert(stores, segmentRecord(s.test, "beta"), "test");
      const kept = await insert(stores, segmentRecord(s.production, "beta"));
      // Read first, so that any memory of them is what gets tested.
      expect(await stores.segments.segmentByKey(s.test.id, "beta")).toBeDefined();
      expect((await stores.segments.listSegments(s.test.id, q())).total).toBe(1);
      expect(await stores.projects.deleteEnvironment(s.test.id)).toBe(true);
      expect(await stores.segments.segmentByKey(s.test.id, "beta")).toBeUndefined();
      expect(await stores.segments.listSegments(s.test.id, q())).toEqual({ items: [], total: 0 });
      expect(await stores.segments.segmentByKey(s.production.id, "beta")).toEqual(kept);
    });

    test("20 concurrent read-decide-write loops on one segment all land, each version once", async () => {
      const N = 20;
      await insert(stores, segmentRecord(s.production, "busy"));
      const entries = (await stores.auditEntries()).length;
      const events = (await stores.events()).length;
      const values = Array.from({ length: N }, (_, i) => `user-${i}`);
      await Promise.all(
        values.map((value) =>
          decideAndWrite<Read | undefined, SegmentWrite, void>(`segment-contract\u0000${name}\u0000busy`, {
            read: async (consistent) => {
              const scope = await stores.flags.projectScope("shop", { consistent });
              const segment = await stores.segments.segmentByKey(s.production.id, "busy", { consistent });
              return scope && segment && { ...scope, segment };
            },
            decide: async (found) => ({ write: includeWrite(found!, [value]), result: undefined }),
            write: (found, write) => stores.segments.writeSegment(found!, write),
          }),
        ),
      );
      const final = (await read("busy", true)).segment;
      expect(final.version).toBe(N + 1);
      expect([...final.doc.included].sort()).toEqual([...values].sort());
      expect(await stores.segments.segmentByKey(s.production.id, "busy")).toEqual(final);
      const versions = Array.from({ length: N }, (_, i) => i + 2);
      const byNumber = (a: number, b: number) => a - b;
      expect((await stores.auditEntries()).slice(entries).map((e) => e.currentVersion!).sort(byNumber)).toEqual(versions);
      expect((await stores.events()).slice(events).map((e) => e.version).sort(byNumber)).toEqual(versions);
    });

    test("unknown environments and segments", async () => {
      expect(await stores.segments.segmentByKey(s.production.id, "nope")).toBeUndefined();
      expect(await stores.segments.segmentByKey("no-such-environment", "beta", { consistent: true })).toBeUndefined();
      const ghost: Read = { ...(await stores.flags.projectScope("shop"))!, segment: segmentRecord(s.production, "ghost") };
      const before = await written();
      expect(await stores.segments.writeSegment(ghost, includeWrite(ghost, ["u1"]))).toBe(false);
      expect(await stores.segments.writeSegment(ghost, deletion("ghost", 2))).toBe(false);
      expect(await written()).toEqual(before);
      expect(await stores.segments.segmentByKey(s.production.id, "ghost")).toBeUndefined();
    });
  });
}
