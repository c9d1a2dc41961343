/** Scheduled items on Postgres (`scheduled_items`); the scheduler's claims are leases taken with `for update skip locked`. */
import { and, asc, eq, getTableColumns, inArray, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { Db, Executor } from "@vexil/shared/db/connector";
import { rowsOf } from "@vexil/shared/db/migrate";
import { rowFromJson, rowObject } from "@vexil/shared/db/rows";
import { withoutDeadline } from "@vexil/shared/deadline";
import { scheduledItems } from "./schema.ts";
import type { Claim, DroppedTarget, ScheduledItem, ScheduledKind, ScheduleStore, ScheduleWrite } from "./schedule-store.ts";

type Row = typeof scheduledItems.$inferSelect;

const parsed = <T>(v: unknown) => (typeof v === "string" ? JSON.parse(v) : v) as T;

export function itemOf(row: Row): ScheduledItem {
  return {
    id: row.id,
    kind: row.kind as ScheduledKind,
    projectId: row.projectId,
    environmentId: row.environmentId,
    flagId: row.flagId,
    segmentId: row.segmentId,
    projectKey: row.projectKey,
    environmentKey: row.environmentKey,
    resourceKey: row.resourceKey,
    dueAt: Number(row.dueAt),
    status: row.status as ScheduledItem["status"],
    version: row.version,
    createdAt: Number(row.createdAt),
    creator: parsed(row.creator),
    instructions: row.instructions === null ? null : parsed(row.instructions),
    comment: row.comment,
    conflicts: row.conflicts === null ? null : parsed(row.conflicts),
    contextKind: row.contextKind,
    contextKey: row.contextKey,
    variationId: row.variationId,
    targetType: row.targetType as ScheduledItem["targetType"],
    failure: row.failure === null ? null : parsed(row.failure),
    approval: row.approval === null ? null : parsed(row.approval),
  };
}

/** An item as a row keyed by column name, with no claim on it. */
export function itemRow(item: ScheduledItem): Record<string, unknown> {
  const { creator, ...rest } = item;
  return rowObject(scheduledItems, { ...rest, creator: { ...creator }, leaseToken: null, leaseUntil: null } as typeof scheduledItems.$inferInsert);
}

/** `dropped` as rows for `jsonb_to_recordset`. */
export function droppedRows(dropped: DroppedTarget[] | undefined) {
  return (dropped ?? []).map((d) => ({ environment_id: d.environmentId, context_kind: d.contextKind, context_key: d.contextKey, variation_id: d.variationId ?? null, target_type: d.targetType ?? null }));
}

const columns = Object.values(getTableColumns(scheduledItems));
const columnList = sql.join(columns.map((c) => sql.identifier(c.name)), sql`, `);
/** The populated record's columns by name, in `columnList`'s order (not the table's, which migrations decide). */
const recordColumns = sql.join(columns.map((c) => sql`r.${sql.identifier(c.name)}`), sql`, `);
const replaced = sql.join(
  columns.filter((c) => c.name !== "id").map((c) => sql`${sql.identifier(c.name)} = excluded.${sql.identifier(c.name)}`),
  sql`, `,
);

/**
 * The part of a flag write's statement that writes its items (`ScheduleWrite`), once per row of
 * `written` (the flags the statement updated), from its columns `items`, `remove_items` and
 * `dropped`. A change puts, removes or drops an item in one way only (a row changed twice by one
 * statement keeps one of the changes); removing and dropping the same item is one removal.
 */
export const scheduleCtes = (written: SQL) => sql`
  item_rows as (
    insert into ${scheduledItems} (${columnList})
    select ${recordColumns} from ${written}, jsonb_populate_recordset(null::${scheduledItems}, ${written}.items) r
    on conflict (id) do update set ${replaced}),
  removed_items as (
    delete from ${scheduledItems} s using ${written}, jsonb_array_elements_text(${written}.remove_items) as r(id)
    where s.id = r.id),
  dropped_items as (
    delete from ${scheduledItems} s
    using ${written}, jsonb_to_recordset(${written}.dropped) as d(environment_id text, context_kind text, context_key text, variation_id text, target_type text)
    where s.flag_id = ${written}.id and s.kind = 'flagExpiry' and s.environment_id = d.environment_id
      and s.context_kind = d.context_kind and s.context_key = d.context_key and s.variation_id = d.variation_id)`;

/** The items of a segment write, in its transaction. */
export async function writeSegmentSchedule(tx: Executor, segmentId: string, write: ScheduleWrite | undefined): Promise<void> {
  if (!write) return;
  for (const item of write.put ?? []) {
    const row = itemRow(item);
    await tx.execute(sql`insert into ${scheduledItems} (${columnList}) select ${recordColumns} from jsonb_populate_record(null::${scheduledItems}, ${JSON.stringify(row)}::jsonb) r on conflict (id) do update set ${replaced}`);
  }
  if (write.remove?.length) await tx.delete(scheduledItems).where(inArray(scheduledItems.id, write.remove));
  for (const d of write.dropped ?? []) {
    await tx
      .delete(scheduledItems)
      .where(
        and(
          eq(scheduledItems.segmentId, segmentId),
          eq(scheduledItems.kind, "segmentExpiry"),
          eq(scheduledItems.contextKind, d.contextKind),
          eq(scheduledItems.contextKey, d.contextKey),
          eq(scheduledItems.targetType, d.targetType ?? ""),
        ),
      );
  }
}

const byDue = [asc(scheduledItems.dueAt), asc(scheduledItems.id)];
/** Unclaimed, or claimed by a lease that ran out. */
const unclaimed = (now: number) => or(isNull(scheduledItems.leaseUntil), lt(scheduledItems.leaseUntil, now))!;

export class DrizzleScheduleStore implements ScheduleStore {
  constructor(private readonly db: Db) {}

  async flagItems(flagId: string, environmentId: string, kind: ScheduledKind) {
    const rows = await this.db
      .select()
      .from(scheduledItems)
      .where(and(eq(scheduledItems.flagId, flagId), eq(scheduledItems.environmentId, environmentId), eq(scheduledItems.kind, kind)))
      .orderBy(...byDue);
    return rows.map(itemOf);
  }

  async segmentItems(segmentId: string) {
    return (await this.db.select().from(scheduledItems).where(eq(scheduledItems.segmentId, segmentId)).orderBy(...byDue)).map(itemOf);
  }

  async contextItems(environmentId: string, contextKind: string, contextKey: string) {
    const rows = await this.db
      .select()
      .from(scheduledItems)
      .where(and(eq(scheduledItems.environmentId, environmentId), eq(scheduledItems.contextKind, contextKind), eq(scheduledItems.contextKey, contextKey), eq(scheduledItems.kind, "flagExpiry")))
      .orderBy(...byDue);
    return rows.map(itemOf);
  }

  async item(id: string) {
    const rows = await this.db.select().from(scheduledItems).where(eq(scheduledItems.id, id)).limit(1);
    return rows[0] && itemOf(rows[0]);
  }

  // The scheduler's statements run outside any request's deadline: it serves none.

  async claim(now: number, leaseMs: number, limit: number): Promise<Claim> {
    const token = crypto.randomUUID();
    const leaseUntil = now + leaseMs;
    const rows = rowsOf<Record<string, unknown>>(
      await withoutDeadline(() =>
        this.db.execute(sql`
          update ${scheduledItems} set lease_token = ${token}, lease_until = ${leaseUntil}
          where id in (
            select id from ${scheduledItems}
            where status = 'pending' and due_at <= ${now} and (lease_until is null or lease_until < ${now})
            order by due_at, id limit ${limit}
            for update skip locked)
          returning to_jsonb(${scheduledItems}) as item`),
      ),
    );
    const items = rows.map((r) => itemOf(rowFromJson(scheduledItems, parsed<Record<string, unknown>>(r.item)))).sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : 1));
    return { token, leaseUntil, items };
  }

  async nextDue(now: number): Promise<number | undefined> {
    const rows = await withoutDeadline(() =>
      this.db
        .select({ dueAt: scheduledItems.dueAt })
        .from(scheduledItems)
        .where(and(eq(scheduledItems.status, "pending"), unclaimed(now)))
        .orderBy(asc(scheduledItems.dueAt))
        .limit(1),
    );
    return rows[0] === undefined ? undefined : Number(rows[0].dueAt);
  }

  async release(id: string, token: string): Promise<void> {
    await withoutDeadline(() => this.db.update(scheduledItems).set({ leaseToken: null, leaseUntil: null }).where(and(eq(scheduledItems.id, id), eq(scheduledItems.leaseToken, token))));
  }

  async discard(id: string, token: string): Promise<void> {
    await withoutDeadline(() => this.db.delete(scheduledItems).where(and(eq(scheduledItems.id, id), eq(scheduledItems.leaseToken, token))));
  }
}
