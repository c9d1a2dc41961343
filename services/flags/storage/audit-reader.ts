/** Reading the audit log (every service writes it; the flags service serves it). */
import type { AuditEntry } from "@vexil/shared/audit/audit";

export interface AuditQuery {
  /** Entries strictly before this time (unix ms), or, with `beforeId`, at it with a smaller id. */
  before?: number;
  /**
   * With `before`: the id of the last entry of the page before, so entries of the same
   * millisecond as it are neither lost nor repeated. Ids compare in byte order.
   */
  beforeId?: string;
  /** Entries strictly after this time (unix ms). */
  after?: number;
  /** Case-insensitive text in the name, title or comment. */
  q?: string;
  /** A SQL LIKE pattern over the entry's resource specifier. */
  specLike?: string;
  limit: number;
}

/** What the live feed needs of an audit entry: which resource changed, never how. */
export type ChangeHead = Pick<AuditEntry, "id" | "date" | "kind" | "spec" | "currentVersion">;

export interface AuditReader {
  /** Newest first: by date, then by id (byte order), both descending. */
  listAudit(q: AuditQuery): Promise<AuditEntry[]>;
  /** The entries of these kinds dated strictly after `after` (unix ms), oldest first (date, then id in byte order), at most `limit`. */
  changesSince(after: number, kinds: readonly string[], limit: number): Promise<ChangeHead[]>;
  auditById(id: string): Promise<AuditEntry | undefined>;
}
