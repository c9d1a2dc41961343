/**
 * The delivery queue on Postgres, with the clock in the test's hands: the feed taken only with its
 * deliveries, heads per webhook and resource, concurrent claimers taking different heads, leases that
 * run out, outcomes written only under the claim that holds the delivery, off webhooks skipped, a
 * webhook's share of a claim; from the audit stream, messages planned in any order by concurrent
 * planners, claims that wait for the cursor, dead letters and messages lost from the stream.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { auditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import type { Caller } from "@vexil/shared/caller";
import { openDatabase, type Database } from "@vexil/shared/db/connector";
import { rowsOf } from "@vexil/shared/db/migrate";
import { planDeliveries } from "@vexil/webhooks/domain/deliveries";
import { DrizzleWebhookStore } from "@vexil/webhooks/storage/drizzle-webhook-store";
import type { AttemptRecord, WebhookRecord } from "@vexil/webhooks/storage/webhook-store";
import { testDatabaseUrl } from "../../../support/postgres.ts";

const caller: Caller = { kind: "token", tokenId: "t", tokenName: "t", memberId: null, memberEmail: null, role: "admin", serviceToken: true, grants: [] };
const share = { perWebhook: 100, skip: [] as string[] };
const LEASE = 10_000;

let database: Database;
let store: DrizzleWebhookStore;
let hookSeq = 0;

function webhook(fields: Partial<WebhookRecord> = {}): WebhookRecord {
  const id = (++hookSeq).toString(16).padStart(24, "0");
  return { id, name: null, url: "http://127.0.0.1:1/", secretCipher: null, on: true, statements: null, tags: [], createdAt: 1, version: 1, ...fields };
}

async function addWebhook(fields: Partial<WebhookRecord> = {}) {
  const w = webhook(fields);
  await store.insertWebhook(w, auditEntry({ caller, kind: "webhook", spec: `webhook/${w.id}`, name: w.id, verb: "created", actions: ["createWebhook"] }));
  return w;
}

async function change(spec: string) {
  const entry = auditEntry({ caller, kind: "flag", spec, name: spec, verb: "updated", actions: ["updateOn"] });
  await database.db.insert(auditLog).values(entry);
  return entry;
}

const attempt = (n: number, at: number): AttemptRecord => ({ attempt: n, startedAt: at, latencyMs: 1, statusCode: 200, error: null, response: null, worker: "test" });
const feedAll = async (now = 0) => {
  while ((await store.feed(100, planDeliveries, now)) > 0);
};

beforeAll(async () => {
  database = await openDatabase({ url: await testDatabaseUrl(), dataDir: "" });
  store = new DrizzleWebhookStore(database.db);
}, 60_000);

beforeEach(async () => {
  await database.db.execute(sql`delete from webhooks`);
  await database.db.execute(sql`delete from webhook_feed`);
  await database.db.execute(sql`delete from webhook_stream_cursor`);
  await database.db.execute(sql`delete from webhook_stream_planned`);
  await database.db.execute(sql`delete from webhook_stream_dead`);
});

afterAll(async () => {
  await database.close();
});

describe("the feed", () => {
  test("holds entries committed while a webhook is on, and none of a rolled-back transaction", async () => {
    await change("proj/p:env/e:flag/before");
    expect(await store.busy()).toBe(false);
    const w = await addWebhook();
    const kept = await change("proj/p:env/e:flag/a");
    await database.db
      .transaction(async (tx) => {
        await tx.insert(auditLog).values(auditEntry({ caller, kind: "flag", spec: "proj/p:env/e:flag/rolled-back", name: "x", verb: "updated", actions: ["updateOn"] }));
        throw new Error("roll back");
      })
      .catch(() => {});
    await feedAll();
    const { items } = await store.listDeliveries(w.id, { limit: 50, offset: 0 });
    // The webhook's own creation, and the flag change; nothing from before it or from the rollback.
    expect(items.map((d) => d.resource).sort()).toEqual(["proj/p:env/e:flag/a", `webhook/${w.id}`]);
    expect(items.find((d) => d.resource.includes("flag/a"))!.auditId).toBe(kept.id);
    expect(await store.feed(100, planDeliveries, 0)).toBe(0);
  });

  test("a plan that fails takes nothing off the feed", async () => {
    await addWebhook();
    await change("proj/p:env/e:flag/a");
    await expect(store.feed(100, () => { throw new Error("plan failed"); }, 0)).rejects.toThrow("plan failed");
    expect(await store.busy()).toBe(true);
    expect(await store.feed(100, planDeliveries, 0)).toBe(2);
  });

  test("two feeders at once feed each entry once", async () => {
    const w = await addWebhook();
    for (let i = 0; i < 40; i++) await change(`proj/p:env/e:flag/f${i % 4}`);
    await Promise.all([feedAll(), feedAll(), feedAll()]);
    expect((await store.listDeliveries(w.id, { limit: 100, offset: 0 })).total).toBe(41);
  });
});

describe("claims", () => {
  test("one head per webhook and resource, in commit order; the next once the head is delivered", async () => {
    const w = await addWebhook();
    await feedAll();
    const [created] = await store.claim("c0", 0, LEASE, 10, share);
    await store.finish(created!.delivery.id, "c0", attempt(1, 0), { state: "delivered", nextAttemptAt: 0 });
    const a = [await change("proj/p:env/e:flag/a"), await change("proj/p:env/e:flag/a"), await change("proj/p:env/e:flag/a")];
    const b = await change("proj/p:env/e:flag/b");
    await feedAll();
    const first = await store.claim("c1", 1, LEASE, 10, share);
    expect(first.map((c) => c.entry!.id).sort()).toEqual([a[0]!.id, b.id].sort());
    expect(await store.claim("c2", 1, LEASE, 10, share)).toEqual([]);
    const headA = first.find((c) => c.entry!.id === a[0]!.id)!;
    await store.finish(headA.delivery.id, "c1", attempt(1, 1), { state: "delivered", nextAttemptAt: 1 });
    const second = await store.claim("c2", 2, LEASE, 10, share);
    expect(second.map((c) => c.entry!.id)).toEqual([a[1]!.id]);
    expect(second[0]!.webhook.id).toBe(w.id);
    expect(second[0]!.delivery.attempts).toBe(1);
  });

  test("a retry waits for its time and keeps the resource's later deliveries behind it; a failed one no longer does", async () => {
    await addWebhook();
    await feedAll();
    for (const c of await store.claim("c0", 0, LEASE, 10, share)) await store.finish(c.delivery.id, "c0", attempt(1, 0), { state: "delivered", nextAttemptAt: 0 });
    const [x, y] = [await change("proj/p:env/e:flag/x"), await change("proj/p:env/e:flag/x")];
    await feedAll();
    const [head] = await store.claim("c1", 10, LEASE, 10, share);
    expect(head!.entry!.id).toBe(x.id);
    await store.finish(head!.delivery.id, "c1", { ...attempt(1, 10), statusCode: 503 }, { state: "pending", nextAttemptAt: 500 });
    expect(await store.claim("c2", 499, LEASE, 10, share)).toEqual([]);
    const [again] = await store.claim("c3", 500, LEASE, 10, share);
    expect(again!.delivery.id).toBe(head!.delivery.id);
    expect(again!.delivery.attempts).toBe(2);
    await store.finish(again!.delivery.id, "c3", { ...attempt(2, 500), statusCode: 503 }, { state: "failed", nextAttemptAt: 500 });
    const [next] = await store.claim("c4", 501, LEASE, 10, share);
    expect(next!.entry!.id).toBe(y.id);
  });

  test("a lease that runs out is claimed again under the same delivery id; the first claim's outcome is then only logged", async () => {
    await addWebhook();
    await feedAll();
    const [held] = await store.claim("dead", 0, LEASE, 10, share);
    expect(await store.claim("other", LEASE - 1, LEASE, 10, share)).toEqual([]);
    const [taken] = await store.claim("other", LEASE + 1, LEASE, 10, share);
    expect(taken!.delivery.id).toBe(held!.delivery.id);
    // The crashed claim comes back late: its outcome does not move the delivery.
    await store.finish(held!.delivery.id, "dead", { ...attempt(1, 0), statusCode: 500 }, { state: "failed", nextAttemptAt: 0 });
    let d = await store.deliveryById(held!.delivery.webhookId, held!.delivery.id);
    expect(d!.state).toBe("pending");
    expect(d!.attemptLog.map((a) => a.statusCode)).toEqual([500]);
    await store.finish(taken!.delivery.id, "other", attempt(2, LEASE + 1), { state: "delivered", nextAttemptAt: 0 });
    d = await store.deliveryById(held!.delivery.webhookId, held!.delivery.id);
    expect(d!.state).toBe("delivered");
    expect(d!.attemptLog.map((a) => a.statusCode)).toEqual([500, 200]);
  });

  test("concurrent claimers take different heads", async () => {
    await addWebhook();
    for (let i = 0; i < 30; i++) await change(`proj/p:env/e:flag/k${i}`);
    await feedAll();
    const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => store.claim(`c${i}`, 0, LEASE, 4, share)));
    const ids = claims.flat().map((c) => c.delivery.id);
    expect(new Set(ids).size).toBe(ids.length);
    const rest = await store.claim("last", 0, LEASE, 100, share);
    expect(ids.length + rest.length).toBe(31);
  });

  test("an off webhook's deliveries wait; a webhook's share and the skipped webhooks", async () => {
    const off = await addWebhook();
    const on = await addWebhook();
    for (let i = 0; i < 6; i++) await change(`proj/p:env/e:flag/s${i}`);
    await feedAll();
    await store.updateWebhook({ ...off, on: false, version: 2 }, 1, auditEntry({ caller, kind: "webhook", spec: `webhook/${off.id}`, name: "off", verb: "updated", actions: ["updateOn"] }));
    const shared = await store.claim("c", 0, LEASE, 100, { perWebhook: 2, skip: [] });
    expect(shared.map((c) => c.webhook.id)).toEqual([on.id, on.id]);
    expect(await store.claim("d", 0, LEASE, 100, { perWebhook: 2, skip: [on.id] })).toEqual([]);
  });

  test("pruning takes delivered and failed deliveries completed before a time, with their attempts, and nothing pending", async () => {
    const w = await addWebhook();
    for (let i = 0; i < 3; i++) await change(`proj/p:env/e:flag/p${i}`);
    await feedAll();
    const claimed = await store.claim("c", 0, LEASE, 10, share);
    expect(claimed).toHaveLength(4);
    await store.finish(claimed[0]!.delivery.id, "c", attempt(1, 100), { state: "delivered", nextAttemptAt: 0 });
    await store.finish(claimed[1]!.delivery.id, "c", attempt(1, 100), { state: "failed", nextAttemptAt: 0 });
    await store.finish(claimed[2]!.delivery.id, "c", attempt(1, 5_000), { state: "delivered", nextAttemptAt: 0 });
    expect(await store.prune(1_000, 100)).toBe(2);
    const left = (await store.listDeliveries(w.id, { limit: 10, offset: 0 })).items.map((d) => d.id).sort();
    expect(left).toEqual([claimed[2]!.delivery.id, claimed[3]!.delivery.id].sort());
    const attempts = await database.db.execute(sql`select count(*)::int as n from webhook_attempts where delivery_id in (${claimed[0]!.delivery.id}, ${claimed[1]!.delivery.id})`);
    expect(JSON.stringify(attempts)).toContain('"n":0');
  });

  test("redelivery makes a delivered one pending and due, with a fresh count", async () => {
    const w = await addWebhook();
    await feedAll();
    const [c] = await store.claim("c", 0, LEASE, 10, share);
    await store.finish(c!.delivery.id, "c", attempt(1, 0), { state: "delivered", nextAttemptAt: 0 });
    const again = await store.redeliver(w.id, c!.delivery.id, 5);
    expect(again).toMatchObject({ state: "pending", attempts: 0, nextAttemptAt: 5 });
    expect((await store.claim("d", 5, LEASE, 10, share))[0]!.delivery.id).toBe(c!.delivery.id);
    expect(await store.redeliver(w.id, "nope", 5)).toBeUndefined();
  });
});

describe("from the audit stream", () => {
  let streamed: DrizzleWebhookStore;
  const through = async () => Number(rowsOf<{ planned_through: string }>(await database.db.execute(sql`select planned_through from webhook_stream_cursor`))[0]?.planned_through ?? 0);
  const claimAll = async (token: string, now = 0) => (await streamed.claim(token, now, LEASE, 100, share)).map((c) => c.entry!.id).sort();
  beforeAll(() => {
    streamed = new DrizzleWebhookStore(database.db, "stream");
  });

  test("messages planned out of order wait for the cursor; a message planned again adds nothing", async () => {
    const w = await addWebhook();
    await database.db.execute(sql`delete from webhook_feed`);
    const [a1, b1, a2] = [await change("proj/p:env/e:flag/a"), await change("proj/p:env/e:flag/b"), await change("proj/p:env/e:flag/a")];
    expect(await streamed.planStream([{ seq: 3, auditId: a2!.id }], planDeliveries, 0)).toEqual({ waiting: true });
    expect(await claimAll("c1")).toEqual([]);
    expect(await streamed.planStream([{ seq: 2, auditId: b1!.id }], planDeliveries, 0)).toEqual({ waiting: true });
    expect(await claimAll("c2")).toEqual([]);
    expect(await streamed.planStream([{ seq: 1, auditId: a1!.id }], planDeliveries, 0)).toEqual({ waiting: false });
    expect(await through()).toBe(3);
    // a2 stays behind a1, its resource's head.
    expect(await claimAll("c3")).toEqual([a1!.id, b1!.id].sort());
    await streamed.planStream([{ seq: 3, auditId: a2!.id }], planDeliveries, 0);
    expect((await streamed.listDeliveries(w.id, { limit: 50, offset: 0 })).total).toBe(3);
  });

  test("a dead letter lets the cursor pass; messages gone from the stream are skipped and counted", async () => {
    await addWebhook();
    await database.db.execute(sql`delete from webhook_feed`);
    const [x, y] = [await change("proj/p:env/e:flag/x"), await change("proj/p:env/e:flag/y")];
    await streamed.planStream([{ seq: 2, auditId: x!.id }], planDeliveries, 0);
    expect(await claimAll("c1")).toEqual([]);
    await streamed.deadLetter({ seq: 1, auditId: "gone" }, "cannot be planned", 25, 0);
    expect(await claimAll("c2")).toEqual([x!.id]);
    const dead = rowsOf<{ seq: string; audit_id: string; deliveries: number }>(await database.db.execute(sql`select seq, audit_id, deliveries from webhook_stream_dead`));
    expect(dead.map((r) => [Number(r.seq), r.audit_id, r.deliveries])).toEqual([[1, "gone", 25]]);
    await streamed.planStream([{ seq: 5, auditId: y!.id }], planDeliveries, 0);
    expect(await streamed.skipLost(2)).toEqual({ lost: 0, waiting: true });
    expect(await streamed.skipLost(5)).toEqual({ lost: 2, waiting: false });
    expect(await through()).toBe(5);
    expect(await claimAll("c3")).toEqual([y!.id]);
  });

  test("planners of adjacent batches at once, in any order, leave the cursor at the end", async () => {
    await addWebhook();
    await database.db.execute(sql`delete from webhook_feed`);
    const entries: Array<{ id: string }> = [];
    for (let i = 0; i < 120; i++) entries.push(await change(`proj/p:env/e:flag/f${i % 6}`));
    const batches = [3, 0, 5, 1, 4, 2].map((k) => entries.slice(k * 20, k * 20 + 20).map((e, j) => ({ seq: k * 20 + j + 1, auditId: e.id })));
    await Promise.all(batches.map((b) => streamed.planStream(b, planDeliveries, 0)));
    expect(await through()).toBe(120);
    expect(await claimAll("c1")).toEqual(entries.slice(0, 6).map((e) => e.id).sort());
  });
});
