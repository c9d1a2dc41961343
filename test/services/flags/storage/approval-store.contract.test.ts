/**
 * One contract for every ApprovalStore (memory, drizzle on real Postgres, and drizzle under the
 * flag cache): requests are written with a change of their flag, all or nothing, read back by id,
 * by flag and environment and by query (newest first), replaced by a new version, removed by id,
 * and go with their flag or environment; a segment's are written with a change of the segment and
 * go with it.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import type { ApprovalRequestRecord } from "@vexil/flags/storage/approval-store";
import type { EnvironmentRecord } from "@vexil/flags/storage/project-store";
import type { FlagRecord, FlagWrite, ScopedFlag } from "@vexil/flags/storage/flag-store";
import { audit, change, closeClients, flagRecord, implementations, insertFlag, NOW, segmentRecord, shop, targetWrite, type Shop, type Stores } from "./flag-stores.ts";
import type { SegmentRecord, SegmentWrite } from "@vexil/flags/storage/segment-store";

afterAll(closeClients);

type Read = ScopedFlag & { flag: FlagRecord };
let n = 0;

function request(env: EnvironmentRecord, flag: FlagRecord, createdAt: number, over: Partial<ApprovalRequestRecord> = {}): ApprovalRequestRecord {
  return {
    id: `a${(++n).toString(16).padStart(23, "0")}`,
    projectId: flag.projectId,
    environmentId: env.id,
    flagId: flag.id,
    projectKey: "shop",
    environmentKey: env.key,
    flagKey: flag.key,
    segmentId: null,
    segmentKey: null,
    kind: "instructions",
    version: 1,
    createdAt,
    requestor: { memberId: "m-1", memberEmail: "ada@example.com", tokenId: "t-1", tokenName: "ada's", serviceToken: false },
    description: "Turn it on",
    comment: null,
    instructions: [{ kind: "turnFlagOn" }],
    source: null,
    copyActions: null,
    notifyMemberIds: ["m-2"],
    notifyTeamKeys: [],
    executionDate: null,
    operatingOnId: null,
    operatingOnVersion: null,
    integrationConfig: null,
    reviews: [],
    status: "pending",
    appliedDate: null,
    appliedBy: null,
    scheduledChangeId: null,
    baseline: { ...(flag.doc as object), environments: flag.configs } as ApprovalRequestRecord["baseline"],
    ...over,
  };
}

function approvalWrite(read: Read, approvals: { put?: ApprovalRequestRecord[]; remove?: string[] }): FlagWrite {
  const flag = structuredClone(read.flag);
  flag.version += 1;
  flag.doc._version = flag.version;
  return { kind: "update", flag, audit: audit(`flag/${flag.key}`, flag.version), changes: [], approvals };
}

for (const [name, make] of implementations) {
  describe(`ApprovalStore contract: ${name}`, () => {
    let stores: Stores;
    let s: Shop;
    let flag: FlagRecord;
    beforeEach(async () => {
      stores = await make();
      s = await shop(stores);
      flag = await insertFlag(stores, flagRecord(s.project.id, "checkout"));
    });

    const read = async (key = "checkout") => (await stores.flags.flagInScope("shop", key, { consistent: true })) as Read;
    async function write(approvals: { put?: ApprovalRequestRecord[]; remove?: string[] }) {
      const r = await read();
      expect(await stores.flags.writeFlag(r, approvalWrite(r, approvals))).toBe(true);
    }

    test("written with a change of their flag; read by id, by flag and environment, by query, newest first", async () => {
      const older = request(s.production, flag, NOW);
      const newer = request(s.production, flag, NOW + 1, { requestor: { memberId: null, memberEmail: null, tokenId: "t-svc", tokenName: "svc", serviceToken: true }, status: "completed", appliedDate: NOW + 5, appliedBy: { memberId: "m-2", memberEmail: "b@example.com", tokenId: null, tokenName: null, serviceToken: false } });
      const elsewhere = request(s.test, flag, NOW + 2, { kind: "copy", instructions: [], source: { key: "production", version: 3 }, copyActions: { includedActions: ["updateOn"] }, executionDate: NOW + 100 });
      await write({ put: [older, newer, elsewhere] });
      expect(await stores.approvals.request(older.id)).toEqual(older);
      expect(await stores.approvals.request(elsewhere.id)).toEqual(elsewhere);
      expect(await stores.approvals.request("nothing")).toBeUndefined();
      expect(await stores.approvals.flagRequests(flag.id, s.production.id)).toEqual([newer, older]);
      expect((await stores.approvals.list({})).map((r) => r.id)).toEqual([elsewhere.id, newer.id, older.id]);
      expect((await stores.approvals.list({ projectKey: "shop", requestorId: "t-svc" })).map((r) => r.id)).toEqual([newer.id]);
      expect((await stores.approvals.list({ requestorId: "m-1" })).map((r) => r.id)).toEqual([elsewhere.id, older.id]);
      expect((await stores.approvals.list({ statuses: ["pending"], environmentId: s.production.id })).map((r) => r.id)).toEqual([older.id]);
      expect(await stores.approvals.list({ projectKey: "other" })).toEqual([]);
      expect((await read()).flag.version).toBe(flag.version + 1);
    });

    test("a new version replaces a request; removal by id; a change that lost its race writes nothing", async () => {
      const r = request(s.production, flag, NOW);
      await write({ put: [r] });
      const reviewed = { ...r, version: 2, reviews: [{ _id: "rv1", kind: "approve" as const, creationDate: NOW + 1, memberId: "m-2" }] };
      await write({ put: [reviewed] });
      expect(await stores.approvals.request(r.id)).toEqual(reviewed);
      const stale = await read();
      expect(await stores.flags.writeFlag(stale, targetWrite(stale, ["bob"]))).toBe(true);
      expect(await stores.flags.writeFlag(stale, approvalWrite(stale, { remove: [r.id] }))).toBe(false);
      expect(await stores.approvals.request(r.id)).toEqual(reviewed);
      await write({ remove: [r.id] });
      expect(await stores.approvals.request(r.id)).toBeUndefined();
    });

    test("requests go with their flag and their environment", async () => {
      const other = await insertFlag(stores, flagRecord(s.project.id, "banner"));
      const ofTest = request(s.test, flag, NOW);
      const ofProduction = request(s.production, flag, NOW);
      await write({ put: [ofTest, ofProduction] });
      const r = await read("banner");
      expect(await stores.flags.writeFlag(r, approvalWrite(r, { put: [request(s.production, other, NOW)] }))).toBe(true);
      expect(await stores.projects.deleteEnvironment(s.test.id)).toBe(true);
      expect(await stores.approvals.request(ofTest.id)).toBeUndefined();
      const current = await read();
      expect(await stores.flags.writeFlag(current, { kind: "delete", audit: audit("flag/checkout"), changes: [] })).toBe(true);
      expect(await stores.approvals.request(ofProduction.id)).toBeUndefined();
      expect((await stores.approvals.list({})).map((x) => x.flagKey)).toEqual(["banner"]);
    });

    test("a segment's requests are written with a change of the segment, only if it is as read, and go with it", async () => {
      const record = segmentRecord(s.production, "beta");
      await stores.segments.insertSegment(record, audit("segment/beta"), [change("production", "segment", "beta", 1)]);
      const segmentRead = async () => {
        const scope = (await stores.flags.projectScope("shop", { consistent: true }))!;
        return { ...scope, segment: (await stores.segments.segmentByKey(s.production.id, "beta", { consistent: true }))! };
      };
      const segmentWrite = (segment: SegmentRecord, approvals: { put?: ApprovalRequestRecord[]; remove?: string[] }): SegmentWrite => ({
        kind: "update",
        segment: { ...segment, version: segment.version + 1, doc: { ...segment.doc, version: segment.version + 1 } },
        audit: audit("segment/beta", segment.version + 1),
        changes: [],
        approvals,
      });
      const r = request(s.production, flag, NOW, { flagId: null, flagKey: null, segmentId: record.id, segmentKey: "beta", baseline: record.doc as unknown as ApprovalRequestRecord["baseline"] });
      const first = await segmentRead();
      expect(await stores.segments.writeSegment(first, segmentWrite(first.segment, { put: [r] }))).toBe(true);
      expect(await stores.approvals.request(r.id)).toEqual(r);
      // A write decided on the old version writes nothing.
      expect(await stores.segments.writeSegment(first, segmentWrite(first.segment, { remove: [r.id] }))).toBe(false);
      expect(await stores.approvals.request(r.id)).toEqual(r);
      const reviewed = { ...r, version: 2, reviews: [{ _id: "rv1", kind: "approve" as const, creationDate: NOW + 1, memberId: "m-2" }] };
      const second = await segmentRead();
      expect(await stores.segments.writeSegment(second, segmentWrite(second.segment, { put: [reviewed] }))).toBe(true);
      expect(await stores.approvals.request(r.id)).toEqual(reviewed);
      expect(await stores.approvals.flagRequests(flag.id, s.production.id)).toEqual([]);
      const third = await segmentRead();
      expect(await stores.segments.writeSegment(third, { kind: "delete", audit: audit("segment/beta"), changes: [] })).toBe(true);
      expect(await stores.approvals.request(r.id)).toBeUndefined();
    });
  });
}
