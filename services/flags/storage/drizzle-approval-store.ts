/** Approval requests on Postgres (`approval_requests`); written by the flag store's statements (`approvalCtes`) and the segment store's transactions (`writeApprovals`). */
import { and, desc, eq, getTableColumns, inArray, sql, type SQL } from "drizzle-orm";
import type { Db, Tx } from "@vexil/shared/db/connector";
import { rowObject } from "@vexil/shared/db/rows";
import { APPROVAL_LIST_CAP, type ApprovalQuery, type ApprovalRequestRecord, type ApprovalStore, type ApprovalWrite } from "./approval-store.ts";
import { approvalRequests } from "./schema.ts";

type Row = typeof approvalRequests.$inferSelect;

const parsed = <T>(v: unknown) => (typeof v === "string" ? JSON.parse(v) : v) as T;

export function requestOf(row: Row): ApprovalRequestRecord {
  return {
    ...row,
    kind: row.kind as ApprovalRequestRecord["kind"],
    version: row.version,
    createdAt: Number(row.createdAt),
    requestor: parsed(row.requestor),
    instructions: parsed(row.instructions),
    source: row.source === null ? null : parsed(row.source),
    copyActions: row.copyActions === null ? null : parsed(row.copyActions),
    notifyMemberIds: parsed(row.notifyMemberIds),
    notifyTeamKeys: parsed(row.notifyTeamKeys),
    executionDate: row.executionDate === null ? null : Number(row.executionDate),
    integrationConfig: row.integrationConfig === null ? null : parsed(row.integrationConfig),
    reviews: parsed(row.reviews),
    status: row.status as ApprovalRequestRecord["status"],
    appliedDate: row.appliedDate === null ? null : Number(row.appliedDate),
    appliedBy: row.appliedBy === null ? null : parsed(row.appliedBy),
    baseline: parsed(row.baseline),
  };
}

/** A request as a row keyed by column name. */
export function requestRow(r: ApprovalRequestRecord): Record<string, unknown> {
  return rowObject(approvalRequests, r as unknown as typeof approvalRequests.$inferInsert);
}

const columns = Object.values(getTableColumns(approvalRequests));
const columnList = sql.join(columns.map((c) => sql.identifier(c.name)), sql`, `);
/** The same columns of the populated record, named: the table's physical order (columns added later come last) need not be the schema's. */
const recordColumns = sql.join(columns.map((c) => sql`r.${sql.identifier(c.name)}`), sql`, `);
const replaced = sql.join(
  columns.filter((c) => c.name !== "id").map((c) => sql`${sql.identifier(c.name)} = excluded.${sql.identifier(c.name)}`),
  sql`, `,
);

/**
 * The part of a flag write's statement that writes its approval requests (`ApprovalWrite`), once
 * per row of `written`, from its columns `approvals` (rows) and `remove_approvals` (ids).
 */
export const approvalCtes = (written: SQL) => sql`
  approval_rows as (
    insert into ${approvalRequests} (${columnList})
    select ${recordColumns} from ${written}, jsonb_populate_recordset(null::${approvalRequests}, ${written}.approvals) r
    on conflict (id) do update set ${replaced}),
  removed_approvals as (
    delete from ${approvalRequests} a using ${written}, jsonb_array_elements_text(${written}.remove_approvals) as r(id)
    where a.id = r.id)`;

/** Writes a segment's approval requests in the transaction of its change. */
export async function writeApprovals(tx: Tx, write: ApprovalWrite | undefined): Promise<void> {
  if (write?.put && write.put.length > 0) {
    const rows = JSON.stringify(write.put.map(requestRow));
    await tx.execute(sql`insert into ${approvalRequests} (${columnList}) select ${recordColumns} from jsonb_populate_recordset(null::${approvalRequests}, ${rows}::jsonb) r on conflict (id) do update set ${replaced}`);
  }
  if (write?.remove && write.remove.length > 0) await tx.delete(approvalRequests).where(inArray(approvalRequests.id, write.remove));
}

const newestFirst = [desc(approvalRequests.createdAt), desc(approvalRequests.id)];

export class DrizzleApprovalStore implements ApprovalStore {
  constructor(private readonly db: Db) {}

  async request(id: string) {
    const rows = await this.db.select().from(approvalRequests).where(eq(approvalRequests.id, id)).limit(1);
    return rows[0] && requestOf(rows[0]);
  }

  async flagRequests(flagId: string, environmentId: string) {
    const rows = await this.db
      .select()
      .from(approvalRequests)
      .where(and(eq(approvalRequests.flagId, flagId), eq(approvalRequests.environmentId, environmentId)))
      .orderBy(...newestFirst)
      .limit(APPROVAL_LIST_CAP);
    return rows.map(requestOf);
  }

  async list(q: ApprovalQuery) {
    const conds: SQL[] = [];
    if (q.projectKey !== undefined) conds.push(eq(approvalRequests.projectKey, q.projectKey));
    if (q.flagId !== undefined) conds.push(eq(approvalRequests.flagId, q.flagId));
    if (q.environmentId !== undefined) conds.push(eq(approvalRequests.environmentId, q.environmentId));
    if (q.requestorId !== undefined) conds.push(sql`coalesce(${approvalRequests.requestor}->>'memberId', ${approvalRequests.requestor}->>'tokenId') = ${q.requestorId}`);
    if (q.statuses !== undefined) conds.push(q.statuses.length === 0 ? sql`false` : inArray(approvalRequests.status, q.statuses));
    const rows = await this.db
      .select()
      .from(approvalRequests)
      .where(conds.length > 0 ? and(...conds) : undefined)
      .orderBy(...newestFirst)
      .limit(APPROVAL_LIST_CAP);
    return rows.map(requestOf);
  }
}
