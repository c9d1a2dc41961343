/** The webhooks, their deliveries and the delivery queue on Postgres (or PGlite). */
import { and, count, desc, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import type { Db, Executor } from "@vexil/shared/db/connector";
import { LOCK_NAMESPACE, rowsOf } from "@vexil/shared/db/migrate";
import { webhookAttempts, webhookDeliveries, webhookFeed, webhooks, webhookStreamCursor, webhookStreamDead, webhookStreamPlanned } from "./schema.ts";
import type {
  AttemptOutcome,
  ClaimShare,
  AttemptRecord,
  ClaimedDelivery,
  DeliveryLogItem,
  DeliveryQueue,
  DeliveryRecord,
  FeedItem,
  FeedRow,
  NewDelivery,
  StreamItem,
  WebhookRecord,
  WebhookStore,
} from "./webhook-store.ts";

/** The advisory lock of the feeder (namespace `LOCK_NAMESPACE`). */
const FEED_LOCK = 4;

async function writeAudit(tx: Executor, entry: AuditEntry) {
  await tx.insert(auditLog).values(entry);
}

const deliveryColumns = {
  id: webhookDeliveries.id,
  webhookId: webhookDeliveries.webhookId,
  auditId: webhookDeliveries.auditId,
  resource: webhookDeliveries.resource,
  seq: webhookDeliveries.seq,
  state: webhookDeliveries.state,
  attempts: webhookDeliveries.attempts,
  nextAttemptAt: webhookDeliveries.nextAttemptAt,
  createdAt: webhookDeliveries.createdAt,
  completedAt: webhookDeliveries.completedAt,
};

/**
 * Where deliveries come from: the feed, turned into deliveries one batch at a time in commit order;
 * or the audit stream, planned by any instance in any order, so a claim waits for the cursor.
 */
export type DeliverySource = "feed" | "stream";

type Plan = (items: FeedItem[], hooks: WebhookRecord[]) => NewDelivery[];

export class DrizzleWebhookStore implements WebhookStore, DeliveryQueue {
  constructor(
    private readonly db: Db,
    private readonly source: DeliverySource = "feed",
  ) {}

  async listWebhooks(): Promise<WebhookRecord[]> {
    return this.db.select().from(webhooks).orderBy(webhooks.createdAt, webhooks.id);
  }

  async webhookById(id: string): Promise<WebhookRecord | undefined> {
    return (await this.db.select().from(webhooks).where(eq(webhooks.id, id)).limit(1))[0];
  }

  async insertWebhook(webhook: WebhookRecord, audit: AuditEntry): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.insert(webhooks).values(webhook);
      await writeAudit(tx, audit);
    });
  }

  async updateWebhook(webhook: WebhookRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    const { id, createdAt: _createdAt, ...fields } = webhook;
    return this.db.transaction(async (tx) => {
      const updated = await tx
        .update(webhooks)
        .set(fields)
        .where(and(eq(webhooks.id, id), eq(webhooks.version, expectedVersion)))
        .returning({ id: webhooks.id });
      if (updated.length === 0) return false;
      await writeAudit(tx, audit);
      return true;
    });
  }

  async deleteWebhook(id: string, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const deleted = await tx.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id });
      if (deleted.length === 0) return false;
      await writeAudit(tx, audit);
      return true;
    });
  }

  private async withAttempts(rows: DeliveryRecord[]): Promise<DeliveryLogItem[]> {
    if (rows.length === 0) return [];
    const attempts = await this.db
      .select()
      .from(webhookAttempts)
      .where(inArray(webhookAttempts.deliveryId, rows.map((r) => r.id)))
      .orderBy(webhookAttempts.deliveryId, webhookAttempts.id);
    const byDelivery = new Map<string, AttemptRecord[]>();
    for (const { id: _id, deliveryId, ...a } of attempts) {
      let list = byDelivery.get(deliveryId);
      if (!list) byDelivery.set(deliveryId, (list = []));
      list.push(a);
    }
    return rows.map((r) => ({ ...r, attemptLog: byDelivery.get(r.id) ?? [] }));
  }

  async listDeliveries(webhookId: string, page: { limit: number; offset: number }) {
    const [rows, total] = await Promise.all([
      this.db
        .select(deliveryColumns)
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.webhookId, webhookId))
        .orderBy(desc(webhookDeliveries.seq), desc(webhookDeliveries.id))
        .limit(page.limit)
        .offset(page.offset),
      this.db.select({ n: count() }).from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhookId)),
    ]);
    return { items: await this.withAttempts(rows), total: Number(total[0]?.n ?? 0) };
  }

  async deliveryById(webhookId: string, deliveryId: string) {
    const rows = await this.db
      .select(deliveryColumns)
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.id, deliveryId)))
      .limit(1);
    return (await this.withAttempts(rows))[0];
  }

  async redeliver(webhookId: string, deliveryId: string, now: number) {
    const rows = await this.db
      .update(webhookDeliveries)
      .set({ state: "pending", attempts: 0, nextAttemptAt: now, leaseToken: null, leaseUntil: null, completedAt: null })
      .where(and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.id, deliveryId)))
      .returning(deliveryColumns);
    return rows[0];
  }

  async feed(limit: number, plan: (items: FeedItem[], hooks: WebhookRecord[]) => NewDelivery[], now: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      // The lock in a statement of its own, and waited for: a feeder that woke with another one
      // busy takes over after it and sees what that one's snapshot could not.
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${FEED_LOCK})`);
      const taken = rowsOf<{ id: number | string; audit_id: string }>(
        await tx.execute(sql`
          delete from ${webhookFeed} where id in (select id from ${webhookFeed} order by id limit ${limit})
          returning id, audit_id`),
      )
        .map((r) => ({ seq: Number(r.id), auditId: r.audit_id }))
        .sort((a, b) => a.seq - b.seq);
      if (taken.length === 0) return 0;
      await insertPlanned(tx, taken, plan, now);
      return taken.length;
    });
  }

  async relayFeed(limit: number, publish: (rows: FeedRow[]) => Promise<number[]>): Promise<number> {
    return this.db.transaction(async (tx) => {
      // Not waited for: the relaying instance is woken by the same notifications and goes again.
      const [lock] = rowsOf<{ ok: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, ${FEED_LOCK}) as ok`));
      if (!lock?.ok) return -1;
      const rows = await tx
        .select({ feedId: webhookFeed.id, auditId: webhookFeed.auditId, entry: auditLog })
        .from(webhookFeed)
        .leftJoin(auditLog, eq(auditLog.id, webhookFeed.auditId))
        .orderBy(webhookFeed.id)
        .limit(limit);
      if (rows.length === 0) return 0;
      const relayed = await publish(rows.map((r) => ({ feedId: Number(r.feedId), auditId: r.auditId, entry: (r.entry as AuditEntry | null) ?? null })));
      for (let i = 0; i < relayed.length; i += 1_000) await tx.delete(webhookFeed).where(inArray(webhookFeed.id, relayed.slice(i, i + 1_000)));
      return relayed.length;
    });
  }

  async planStream(items: StreamItem[], plan: Plan, now: number): Promise<{ waiting: boolean }> {
    return this.db.transaction(async (tx) => {
      // The deliveries before the cursor's lock (see `advanceCursor`), sent together: the
      // transaction costs three round trips to the database whatever the batch.
      await insertPlanned(tx, items, plan, now, () => lockCursor(tx));
      return advanceCursor(tx, items.map((i) => i.seq));
    });
  }

  async deadLetter(item: { seq: number; auditId: string | null }, error: string, deliveries: number, now: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.insert(webhookStreamDead).values({ seq: item.seq, auditId: item.auditId, error, deliveries, at: now }).onConflictDoNothing();
      await lockCursor(tx);
      await advanceCursor(tx, [item.seq]);
    });
  }

  async skipLost(firstSeq: number): Promise<{ lost: number; waiting: boolean }> {
    return this.db.transaction(async (tx) => {
      const through = await lockCursor(tx);
      if (firstSeq - 1 <= through) return { lost: 0, ...(await advanceCursor(tx, [])) };
      const [planned] = await tx
        .select({ n: count() })
        .from(webhookStreamPlanned)
        .where(and(gt(webhookStreamPlanned.seq, through), lte(webhookStreamPlanned.seq, firstSeq - 1)));
      await tx.update(webhookStreamCursor).set({ plannedThrough: firstSeq - 1 }).where(eq(webhookStreamCursor.id, 1));
      const lost = firstSeq - 1 - through - Number(planned?.n ?? 0);
      return { lost, ...(await advanceCursor(tx, [])) };
    });
  }

  async claim(leaseToken: string, now: number, leaseMs: number, limit: number, share: ClaimShare): Promise<ClaimedDelivery[]> {
    const skip = share.skip.length === 0 ? sql`` : sql`and h.webhook_id not in (${sql.join(share.skip.map((id) => sql`${id}`), sql`, `)})`;
    // From the stream, a head beyond the cursor may have an earlier delivery still to be planned.
    const covered = this.source === "stream" ? sql`and h.seq <= (select planned_through from ${webhookStreamCursor} where id = 1)` : sql``;
    // The oldest pending delivery of each webhook and resource is its head; a head that is due, held
    // by no one (or by a claim whose lease ran out) and whose webhook is on is leased here. The
    // state and lease are checked again on the row locked (a claim that committed meanwhile is seen),
    // and rows another claim is locking are skipped, so concurrent claimers take different heads.
    const rows = rowsOf<Record<string, unknown>>(
      await this.db.execute(sql`
        with heads as (
          select distinct on (d.webhook_id, d.resource) d.id, d.webhook_id, d.seq, d.next_attempt_at, d.lease_until
          from ${webhookDeliveries} d
          where d.state = 'pending'
          order by d.webhook_id, d.resource, d.seq),
        due as (
          select h.id, row_number() over (partition by h.webhook_id order by h.next_attempt_at, h.id) as n
          from heads h join ${webhooks} w on w.id = h.webhook_id
          where w."on" and h.next_attempt_at <= ${now} and (h.lease_until is null or h.lease_until < ${now}) ${covered} ${skip}),
        fair as (select id from due where n <= ${share.perWebhook} order by n limit ${limit}),
        locked as (
          select d.id from ${webhookDeliveries} d
          where d.id in (select id from fair) and d.state = 'pending' and (d.lease_until is null or d.lease_until < ${now})
          for update skip locked)
        update ${webhookDeliveries} d set lease_token = ${leaseToken}, lease_until = ${now + leaseMs}, attempts = d.attempts + 1
        from locked where d.id = locked.id
        returning d.id, d.webhook_id, d.audit_id, d.resource, d.seq, d.state, d.attempts, d.next_attempt_at, d.created_at, d.completed_at`),
    );
    if (rows.length === 0) return [];
    const deliveries: DeliveryRecord[] = rows.map((r) => ({
      id: String(r.id),
      webhookId: String(r.webhook_id),
      auditId: String(r.audit_id),
      resource: String(r.resource),
      seq: Number(r.seq),
      state: r.state as DeliveryRecord["state"],
      attempts: Number(r.attempts),
      nextAttemptAt: Number(r.next_attempt_at),
      createdAt: Number(r.created_at),
      completedAt: r.completed_at === null ? null : Number(r.completed_at),
    }));
    const [hooks, entries] = await Promise.all([
      this.db.select().from(webhooks).where(inArray(webhooks.id, [...new Set(deliveries.map((d) => d.webhookId))])),
      this.db.select().from(auditLog).where(inArray(auditLog.id, [...new Set(deliveries.map((d) => d.auditId))])),
    ]);
    const hookById = new Map(hooks.map((h) => [h.id, h]));
    const entryById = new Map(entries.map((e) => [e.id, e as AuditEntry]));
    const claimed: ClaimedDelivery[] = [];
    for (const delivery of deliveries) {
      const webhook = hookById.get(delivery.webhookId);
      // Deleted since the claim: its deliveries went with it.
      if (webhook) claimed.push({ delivery, leaseToken, webhook, entry: entryById.get(delivery.auditId) });
    }
    return claimed.sort((a, b) => a.delivery.seq - b.delivery.seq);
  }

  async finish(deliveryId: string, leaseToken: string, attempt: AttemptRecord, outcome: AttemptOutcome): Promise<void> {
    await this.db.transaction(async (tx) => {
      const moved = await tx
        .update(webhookDeliveries)
        .set({
          state: outcome.state,
          nextAttemptAt: outcome.nextAttemptAt,
          leaseToken: null,
          leaseUntil: null,
          completedAt: outcome.state === "pending" ? null : attempt.startedAt + attempt.latencyMs,
        })
        .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.leaseToken, leaseToken)))
        .returning({ id: webhookDeliveries.id });
      // The attempt is logged even when the claim had run out (it happened); not if the delivery is gone.
      const exists = moved.length > 0 || (await tx.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId)).limit(1)).length > 0;
      if (exists) await tx.insert(webhookAttempts).values({ deliveryId, ...attempt });
    });
  }

  async prune(before: number, limit: number): Promise<number> {
    const rows = rowsOf<{ id: string }>(
      await this.db.execute(sql`
        delete from ${webhookDeliveries} where id in (
          select id from ${webhookDeliveries} where state <> 'pending' and completed_at < ${before} limit ${limit})
        returning id`),
    );
    return rows.length;
  }

  async busy(): Promise<boolean> {
    const rows = rowsOf<{ busy: boolean }>(
      await this.db.execute(sql`select exists (select 1 from ${webhookDeliveries} where state = 'pending') or exists (select 1 from ${webhookFeed}) as busy`),
    );
    return Boolean(rows[0]?.busy);
  }
}

/** Writes the deliveries `plan` makes of these entries (read from the log; gone ones plan nothing); one per webhook and entry however often planned. */
async function insertPlanned(tx: Executor, items: ReadonlyArray<{ seq: number; auditId: string }>, plan: Plan, now: number, then?: () => Promise<unknown>): Promise<void> {
  const [entries, hooks] = await Promise.all([
    tx.select().from(auditLog).where(inArray(auditLog.id, [...new Set(items.map((t) => t.auditId))])),
    tx.select().from(webhooks).where(eq(webhooks.on, true)),
  ]);
  const byId = new Map(entries.map((e) => [e.id, e as AuditEntry]));
  const feedItems = items.flatMap((t) => {
    const entry = byId.get(t.auditId);
    return entry ? [{ seq: t.seq, entry }] : [];
  });
  const deliveries = plan(feedItems, hooks);
  // Sent at once and run in order on the transaction's connection, `then` last.
  const statements: Array<Promise<unknown>> = [];
  for (let i = 0; i < deliveries.length; i += 500) {
    statements.push(
      tx
        .insert(webhookDeliveries)
        .values(deliveries.slice(i, i + 500).map((d) => ({ ...d, state: "pending" as const, attempts: 0, nextAttemptAt: now, createdAt: now })))
        .onConflictDoNothing()
        .then(() => undefined),
    );
  }
  if (then) statements.push(then());
  await Promise.all(statements);
}

/** The cursor, locked until the transaction ends (planners meet here, one after another). */
async function lockCursor(tx: Executor): Promise<number> {
  const rows = rowsOf<{ through: number | string }>(
    await tx.execute(sql`
      insert into ${webhookStreamCursor} (id, planned_through) values (1, 0)
      on conflict (id) do update set planned_through = ${webhookStreamCursor.plannedThrough}
      returning planned_through as through`),
  );
  return Number(rows[0]!.through);
}

/**
 * Marks `seqs` planned and moves the cursor over the planned messages that follow it without a gap,
 * in one statement run after the cursor's lock was taken (so its snapshot holds every mark committed
 * before): whichever planner of two adjacent batches takes the lock second sees the other's marks
 * and closes the gap. A run without a gap from the cursor is the marks whose sequence minus their
 * rank equals the cursor.
 */
async function advanceCursor(tx: Executor, seqs: number[]): Promise<{ waiting: boolean }> {
  const marks = seqs.length === 0 ? sql`select null::bigint as seq where false` : sql`select unnest(${sql.raw(`'{${seqs.map(Math.trunc).join(",")}}'::bigint[]`)}) as seq`;
  const rows = rowsOf<{ waiting: boolean }>(
    await tx.execute(sql`
      with c as (select planned_through as t from ${webhookStreamCursor} where id = 1),
      added as (
        insert into ${webhookStreamPlanned} (seq) select m.seq from (${marks}) m, c where m.seq > c.t
        on conflict do nothing returning seq),
      beyond as (
        select distinct p.seq from (select seq from ${webhookStreamPlanned} union select seq from added) p, c where p.seq > c.t),
      ranked as (select seq, seq - row_number() over (order by seq) as k from beyond),
      moved as (select coalesce(max(r.seq), c.t) as t from c left join ranked r on r.k = c.t group by c.t),
      updated as (update ${webhookStreamCursor} set planned_through = (select t from moved) where id = 1 and planned_through < (select t from moved)),
      -- Marks this statement added under the new cursor go with the next one.
      pruned as (delete from ${webhookStreamPlanned} where seq <= (select t from moved))
      select exists (select 1 from beyond where seq > (select t from moved)) as waiting`),
  );
  return { waiting: Boolean(rows[0]?.waiting) };
}
