/** One contract for both AuditReader implementations: the in-memory store and drizzle on real Postgres. */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { auditEntry, type AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import type { Caller } from "@vexil/shared/caller";
import type { Db } from "@vexil/shared/db/connector";
import type { AuditQuery, AuditReader } from "@vexil/flags/storage/audit-reader";
import { DrizzleAuditReader } from "@vexil/flags/storage/drizzle-audit-reader";
import { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { testDatabaseUrl } from "../../../support/postgres.ts";
import { seededRandom } from "../../../support/random.ts";

const T = 1_700_000_000_000;
const caller: Caller = { kind: "token", tokenId: "t1", tokenName: "ci", memberId: null, memberEmail: null, role: "admin", serviceToken: true, grants: [] };

/** 40 entries in one millisecond (ids of this process and of "others"), 5 before it, 5 after, in shuffled order. */
function entries(): AuditEntry[] {
  const random = seededRandom(7);
  const hex = (n: number) => Math.floor(random() * 16 ** n).toString(16).padStart(n, "0");
  const make = (date: number, name: string) => auditEntry({ caller, kind: "segment", spec: `proj/p:env/e:segment/${name}`, name, verb: "created the segment", actions: ["createSegment"], now: date });
  const all: AuditEntry[] = [];
  for (let i = 0; i < 5; i++) all.push(make(T - 5 + i, `older-${i}`));
  for (let i = 0; i < 40; i++) {
    const e = make(T, `same-${i}`);
    all.push(i % 2 === 0 ? { ...e, id: T.toString(16).padStart(12, "0") + hex(12) } : e);
  }
  for (let i = 0; i < 5; i++) all.push(make(T + 1 + i, `newer-${i}`));
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const newestFirst = (a: AuditEntry, b: AuditEntry) => b.date - a.date || byteOrder(b.id, a.id);

const clients: Array<{ end(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
});

/** A reader over a log holding `rows`. */
const implementations: Array<[string, (rows: AuditEntry[]) => Promise<AuditReader>]> = [
  [
    "memory",
    async (rows) => {
      const store = new MemoryFlagStore();
      store.audit.push(...structuredClone(rows));
      return store;
    },
  ],
  [
    "postgres",
    async (rows) => {
      const client = postgres(await testDatabaseUrl(), { max: 4, onnotice: () => {} });
      clients.push(client);
      const db = drizzle(client) as unknown as Db;
      await db.insert(auditLog).values(rows);
      return new DrizzleAuditReader(db);
    },
  ],
];

for (const [name, make] of implementations) {
  describe(`AuditReader contract: ${name}`, () => {
    const rows = entries();
    const sorted = [...rows].sort(newestFirst);
    let reader: AuditReader;
    beforeEach(async () => {
      reader = await make(rows);
    });

    const ids = async (q: AuditQuery) => (await reader.listAudit(q)).map((e) => e.id);

    test("changes since a date: strictly after it, oldest first (date, then id in byte order), of the kinds asked, bounded", async () => {
      const oldestFirst = [...sorted].reverse().filter((e) => e.date > T - 1);
      const heads = await reader.changesSince(T - 1, ["segment", "flag"], 100);
      expect(heads.map((e) => e.id)).toEqual(oldestFirst.map((e) => e.id));
      expect(heads[0]).toEqual({ id: oldestFirst[0]!.id, date: oldestFirst[0]!.date, kind: "segment", spec: oldestFirst[0]!.spec, currentVersion: oldestFirst[0]!.currentVersion ?? null });
      expect((await reader.changesSince(T - 1, ["segment"], 7)).map((e) => e.id)).toEqual(oldestFirst.slice(0, 7).map((e) => e.id));
      expect(await reader.changesSince(T - 100, ["flag", "project"], 100)).toEqual([]);
    });

    test("newest first: by date, then by id in byte order", async () => {
      expect(await ids({ limit: 100 })).toEqual(sorted.map((e) => e.id));
      expect(await ids({ limit: 7 })).toEqual(sorted.slice(0, 7).map((e) => e.id));
    });

    test("before is strict; after is strict", async () => {
      expect(await ids({ before: T, limit: 100 })).toEqual(sorted.filter((e) => e.date < T).map((e) => e.id));
      expect(await ids({ after: T, limit: 100 })).toEqual(sorted.filter((e) => e.date > T).map((e) => e.id));
      expect(await ids({ after: T - 1, before: T + 1, limit: 100 })).toEqual(sorted.filter((e) => e.date === T).map((e) => e.id));
    });

    test("before with beforeId: earlier dates, and the same date with a smaller id", async () => {
      const same = sorted.filter((e) => e.date === T);
      for (const pivot of [same[0]!, same[17]!, same.at(-1)!]) {
        const expected = sorted.filter((e) => e.date < T || (e.date === T && byteOrder(e.id, pivot.id) < 0));
        expect(await ids({ before: T, beforeId: pivot.id, limit: 100 })).toEqual(expected.map((e) => e.id));
      }
      expect(await ids({ before: T, beforeId: "0".repeat(24), limit: 100 })).toEqual(sorted.filter((e) => e.date < T).map((e) => e.id));
      expect(await ids({ before: T, beforeId: "f".repeat(24), after: T - 1, limit: 100 })).toEqual(sorted.filter((e) => e.date === T).map((e) => e.id));
    });

    test("paging by the last entry's date and id gives every entry exactly once", async () => {
      for (const limit of [1, 3, 7, 20]) {
        const seen: string[] = [];
        let cursor: Pick<AuditQuery, "before" | "beforeId"> = {};
        for (;;) {
          const page = await reader.listAudit({ ...cursor, limit });
          seen.push(...page.map((e) => e.id));
          if (page.length < limit) break;
          cursor = { before: page.at(-1)!.date, beforeId: page.at(-1)!.id };
        }
        expect({ limit, seen }).toEqual({ limit, seen: sorted.map((e) => e.id) });
      }
    });

    test("q and specLike narrow the same way", async () => {
      expect(await ids({ q: "NEWER", limit: 100 })).toEqual(sorted.filter((e) => e.name.startsWith("newer")).map((e) => e.id));
      expect(await ids({ specLike: "proj/p:env/e:segment/older-%", before: T, beforeId: "f".repeat(24), limit: 100 })).toEqual(sorted.filter((e) => e.name.startsWith("older")).map((e) => e.id));
    });
  });
}
