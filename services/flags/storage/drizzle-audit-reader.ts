import { and, desc, eq, gt, lt, or, sql, type SQL } from "drizzle-orm";
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import { likePattern, type Db } from "@vexil/shared/db/connector";
import type { AuditQuery, AuditReader } from "./audit-reader.ts";


export class DrizzleAuditReader implements AuditReader {
  constructor(private readonly db: Db) {}

  async listAudit(q: AuditQuery): Promise<AuditEntry[]> {
    const conds: SQL[] = [];
    if (q.before !== undefined) conds.push(lt(auditLog.date, q.before));
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
      .orderBy(desc(auditLog.date), desc(auditLog.id))
      .limit(q.limit);
    return rows as AuditEntry[];
  }

  async auditById(id: string): Promise<AuditEntry | undefined> {
    return (await this.db.select().from(auditLog).where(eq(auditLog.id, id)).limit(1))[0] as AuditEntry | undefined;
  }
}
