import { and, asc, desc, eq, gt, inArray, lt, lte, or, sql, type SQL } from "drizzle-orm";
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import { likePattern, type Db } from "@vexil/shared/db/connector";
import type { AuditQuery, AuditReader, ChangeHead } from "./audit-reader.ts";

/** The audit log on Postgres; ids sort in byte order (`collate "C"`), as in the memory store. */
export class DrizzleAuditReader implements AuditReader {
  constructor(private readonly db: Db) {}

  async listAudit(q: AuditQuery): Promise<AuditEntry[]> {
    const conds: SQL[] = [];
    if (q.before !== undefined && q.beforeId === undefined) conds.push(lt(auditLog.date, q.before));
    if (q.before !== undefined && q.beforeId !== undefined) {
      // A range on the date index, then the tie-break within its last millisecond.
      conds.push(lte(auditLog.date, q.before), or(lt(auditLog.date, q.before), sql`${auditLog.id} collate "C" < ${q.beforeId}`)!);
    }
    if (q.after !== undefined) conds.push(gt(auditLog.date, q.after));
    if (q.q) {
      const p = likePattern(q.q);
      conds.push(or(sql`lower(${auditLog.name}) like ${p}`, sql`lower(${auditLog.title}) like ${p}`, sql`lower(coalesce(${auditLog.comment}, '')) like ${p}`)!);
    }
    if (q.specLike) conds.push(sql`${auditLog.spec} like ${q.specLike}`);
    const rows = await this.db
      .select()
      .from(auditLog)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(auditLog.date), desc(sql`${auditLog.id} collate "C"`))
      .limit(q.limit);
    return rows as AuditEntry[];
  }

  async changesSince(after: number, kinds: readonly string[], limit: number): Promise<ChangeHead[]> {
    return this.db
      .select({ id: auditLog.id, date: auditLog.date, kind: auditLog.kind, spec: auditLog.spec, currentVersion: auditLog.currentVersion })
      .from(auditLog)
      .where(and(gt(auditLog.date, after), inArray(auditLog.kind, [...kinds])))
      .orderBy(asc(auditLog.date), asc(sql`${auditLog.id} collate "C"`))
      .limit(limit);
  }

  async auditById(id: string): Promise<AuditEntry | undefined> {
    return (await this.db.select().from(auditLog).where(eq(auditLog.id, id)).limit(1))[0] as AuditEntry | undefined;
  }
}
