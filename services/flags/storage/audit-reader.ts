/** Reading the audit log (every service writes it; the flags service serves it). */
import type { AuditEntry } from "@vexil/shared/audit/audit";

export interface AuditQuery {
  /** Entries strictly before this time (unix ms). */
  before?: number;
  /** Entries strictly after this time (unix ms). */
  after?: number;
  /** Case-insensitive text in the name, title or comment. */
  q?: string;
  /** A SQL LIKE pattern over the entry's resource specifier. */
  specLike?: string;
  limit: number;
}

export interface AuditReader {
  /** Newest first. */
  listAudit(q: AuditQuery): Promise<AuditEntry[]>;
  auditById(id: string): Promise<AuditEntry | undefined>;
}
