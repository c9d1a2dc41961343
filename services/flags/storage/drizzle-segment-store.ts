import { and, asc, count, desc, eq, or, sql, type SQL } from "drizzle-orm";
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import type { PendingChange } from "@vexil/shared/change-events";
import { likePattern, isUniqueViolation, type Db } from "@vexil/shared/db/connector";
import { conflict } from "@vexil/shared/errors";
import type { Segment } from "../domain/segments/model.ts";
import { currentScope, refused, writeChanges } from "./drizzle-flag-store.ts";
import { writeSegmentSchedule } from "./drizzle-schedule-store.ts";
import { writeApprovals } from "./drizzle-approval-store.ts";
import { scopeStamp, type ProjectScope } from "./flag-store.ts";
import type { Listed } from "./project-store.ts";
import { segments } from "./schema.ts";
import type { SegmentQuery, SegmentRecord, SegmentStore, SegmentWrite } from "./segment-store.ts";

const asRecord = (r: typeof segments.$inferSelect): SegmentRecord => ({ ...r, doc: r.doc as unknown as Segment });

function ordering(q: SegmentQuery): SQL[] {
  const dir = q.sort.descending ? desc : asc;
  const byKey = dir(sql`${segments.key} collate "C"`);
  switch (q.sort.field) {
    case "name":
      return [dir(sql`(${segments.doc}->>'name') collate "C"`), byKey];
    case "creationDate":
      return [dir(segments.createdAt), byKey];
    case "lastModified":
      return [dir(sql`(${segments.doc}->>'lastModifiedDate')::bigint`), byKey];
    default:
      return [byKey];
  }
}

export class DrizzleSegmentStore implements SegmentStore {
  constructor(private readonly db: Db) {}

  async listSegments(environmentId: string, q: SegmentQuery): Promise<Listed<SegmentRecord>> {
    const conds: SQL[] = [eq(segments.environmentId, environmentId)];
    if (q.query) {
      const p = likePattern(q.query);
      conds.push(or(sql`lower(${segments.key}) like ${p}`, sql`lower(${segments.doc}->>'name') like ${p}`)!);
    }
    if (q.tags && q.tags.length > 0) conds.push(or(...q.tags.map((t) => sql`${segments.doc}->'tags' @> ${JSON.stringify([t])}::jsonb`))!);
    const where = and(...conds);
    const [rows, totals] = await Promise.all([
      this.db.select().from(segments).where(where).orderBy(...ordering(q)).limit(q.limit).offset(q.offset),
      this.db.select({ n: count() }).from(segments).where(where),
    ]);
    return { items: rows.map(asRecord), total: totals[0]?.n ?? 0 };
  }

  async segmentByKey(environmentId: string, key: string) {
    const rows = await this.db.select().from(segments).where(and(eq(segments.environmentId, environmentId), eq(segments.key, key))).limit(1);
    return rows[0] && asRecord(rows[0]);
  }

  async insertSegment(segment: SegmentRecord, audit: AuditEntry, changes: PendingChange[]) {
    await this.db
      .transaction(async (tx) => {
        await tx.insert(segments).values({ ...segment, doc: segment.doc as unknown as Record<string, unknown> });
        await tx.insert(auditLog).values(audit);
        await writeChanges(tx, segment.projectId, changes, audit.date, changes.map((c) => ({ id: segment.environmentId, key: c.environmentKey })));
      })
      .catch((e: unknown) => {
        if (isUniqueViolation(e)) throw conflict(`A segment with key "${segment.key}" already exists in this environment`);
        throw e;
      });
  }

  async writeSegment(read: ProjectScope & { segment: SegmentRecord }, write: SegmentWrite): Promise<boolean> {
    const { segment } = read;
    return this.db
      .transaction(async (tx) => {
        // The segment's row, guarded by its version and the scope's stamp, is the one conditional
        // step: when it matches nothing, nothing else is written.
        const guard = and(eq(segments.id, segment.id), eq(segments.version, segment.version), sql`${scopeStamp(read)} = ${currentScope(sql`${read.project.id}`)}`);
        const rows =
          write.kind === "update"
            ? await tx.update(segments).set({ doc: write.segment.doc as unknown as Record<string, unknown>, version: write.segment.version }).where(guard).returning({ id: segments.id })
            : await tx.delete(segments).where(guard).returning({ id: segments.id });
        if (rows.length !== 1) return false;
        await tx.insert(auditLog).values(write.audit);
        await writeChanges(tx, read.project.id, write.changes, write.audit.date, read.environments);
        if (write.kind === "update") {
          await writeSegmentSchedule(tx, segment.id, write.schedule);
          await writeApprovals(tx, write.approvals);
        }
        return true;
      })
      .catch(refused(write.audit));
  }
}
