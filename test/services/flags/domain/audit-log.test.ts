/**
 * The audit log list: paging by `_links.next` gives every entry exactly once, newest first, even
 * when many entries share the millisecond at a page boundary; `beforeId` is checked.
 */
import { describe, expect, test } from "bun:test";
import { auditEntry, type AuditEntry } from "@vexil/shared/audit/audit";
import { listAuditLog, type AuditListParams } from "@vexil/flags/domain/audit-log";
import { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { admin, rejection } from "./memory-context.ts";
import { seededRandom } from "./flags/flag-fixtures.ts";

const T = 1_700_000_000_000;

function entry(date: number, name: string): AuditEntry {
  return auditEntry({ caller: admin, kind: "segment", spec: `proj/shop:env/production:segment/${name}`, name, verb: "created the segment", actions: ["createSegment"], now: date });
}

/** An id as another process would give it for the same millisecond: same date prefix, other counter and random bits. */
function foreignId(date: number, random: () => number): string {
  const hex = (n: number) => Math.floor(random() * 16 ** n).toString(16).padStart(n, "0");
  return date.toString(16).padStart(12, "0") + hex(4) + hex(8);
}

/** Newest first: by date, then id in byte order, both descending. */
const newestFirst = (a: AuditEntry, b: AuditEntry) => b.date - a.date || Buffer.compare(Buffer.from(b.id), Buffer.from(a.id));

/** 35 entries sharing one millisecond (some with ids from "other processes"), around 10 others, stored shuffled. */
function crowdedLog(): { store: MemoryFlagStore; all: AuditEntry[] } {
  const random = seededRandom(20240415);
  const all: AuditEntry[] = [];
  for (let i = 0; i < 5; i++) all.push(entry(T - 10 + i, `older-${i}`));
  for (let i = 0; i < 35; i++) {
    const e = entry(T, `same-${i}`);
    all.push(i % 3 === 0 ? { ...e, id: foreignId(T, random) } : e);
  }
  for (let i = 0; i < 5; i++) all.push(entry(T + 1 + i, `newer-${i}`));
  const store = new MemoryFlagStore();
  const shuffled = [...all];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  store.audit.push(...shuffled);
  return { store, all: all.sort(newestFirst) };
}

/** Follows `_links.next` from the first page to the last; returns the ids in the order served. */
async function pageThrough(store: MemoryFlagStore, first: AuditListParams): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let params: AuditListParams | undefined = first;
  let pages = 0;
  while (params) {
    const page = await listAuditLog(store, admin, params);
    pages++;
    ids.push(...page.items.map((e) => e._id));
    const next = page._links.next?.href;
    params = next ? (Object.fromEntries(new URL(next, "http://vexil.local").searchParams) as AuditListParams) : undefined;
    if (pages > 100) throw new Error("the next links do not end");
  }
  return { ids, pages };
}

describe("paging by _links.next", () => {
  test("every entry exactly once, newest first, whatever the page size", async () => {
    const { store, all } = crowdedLog();
    for (const limit of [1, 2, 7, 10, 20]) {
      const { ids, pages } = await pageThrough(store, { limit: String(limit) });
      expect({ limit, ids }).toEqual({ limit, ids: all.map((e) => e.id) });
      expect(pages).toBe(Math.ceil(all.length / limit));
    }
  });

  test("with q, spec and after kept across pages", async () => {
    const { store, all } = crowdedLog();
    const wanted = all.filter((e) => e.name.startsWith("same-") && e.date > T - 5);
    const { ids } = await pageThrough(store, { limit: "7", q: "same", spec: "proj/shop:env/*:segment/*", after: String(T - 5) });
    expect(ids).toEqual(wanted.map((e) => e.id));
    expect(ids.length).toBe(35);
  });

  test("the next link carries the last entry's date and id", async () => {
    const { store, all } = crowdedLog();
    const page = await listAuditLog(store, admin, { limit: "7" });
    const last = all[6]!;
    expect(page._links.next!.href).toBe(`/api/v2/auditlog?before=${last.date}&beforeId=${last.id}&limit=7`);
  });

  test("before alone is still strict", async () => {
    const { store, all } = crowdedLog();
    const page = await listAuditLog(store, admin, { before: String(T + 1), limit: "20" });
    expect(page.items.map((e) => e._id)).toEqual(all.filter((e) => e.date < T + 1).slice(0, 20).map((e) => e.id));
  });
});

describe("beforeId", () => {
  test("lets through the entries of the before millisecond with a smaller id", async () => {
    const { store, all } = crowdedLog();
    const pivot = all.filter((e) => e.date === T)[10]!;
    const page = await listAuditLog(store, admin, { before: String(T), beforeId: pivot.id, limit: "20" });
    const expected = all.filter((e) => e.date < T || (e.date === T && Buffer.compare(Buffer.from(e.id), Buffer.from(pivot.id)) < 0)).slice(0, 20);
    expect(page.items.map((e) => e._id)).toEqual(expected.map((e) => e.id));
    expect(page.items[0]!.date).toBe(T);
  });

  test("must be an entry id, and comes with before", async () => {
    const { store } = crowdedLog();
    for (const params of [{ before: String(T), beforeId: "nope" }, { before: String(T), beforeId: "0".repeat(23) }, { before: String(T), beforeId: "A".repeat(24) }, { beforeId: "0".repeat(24) }]) {
      const error = await rejection(listAuditLog(store, admin, params));
      expect({ params, code: error.code, status: error.status }).toEqual({ params, code: "invalid_request", status: 400 });
      expect(error.message).toStartWith("beforeId");
    }
  });
});
