/** Storage of segments, as the flags domain sees it. */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { PendingChange } from "@vexil/shared/change-events";
import type { Segment } from "../domain/segments/model.ts";
import type { ProjectScope, ReadOptions } from "./flag-store.ts";
import type { Listed } from "./project-store.ts";
import type { ScheduleWrite } from "./schedule-store.ts";
import type { ApprovalWrite } from "./approval-store.ts";

export interface SegmentRecord {
  id: string;
  projectId: string;
  environmentId: string;
  key: string;
  doc: Segment;
  /** Equals `doc.version`. */
  version: number;
  createdAt: number;
}

export type SegmentSortField = "key" | "name" | "creationDate" | "lastModified";

export interface SegmentQuery {
  limit: number;
  offset: number;
  /** Case-insensitive substring of key or name. */
  query?: string;
  /** Any of these tags. */
  tags?: string[];
  sort: { field: SegmentSortField; descending: boolean };
}

/**
 * What a change to a segment decided; written only if the segment and its scope are as read. An
 * update may also change the segment's approval requests (`approvals`); `gate` is read by the
 * approval gate of the write path (`domain/segments/segments.ts`), not stored.
 */
export type SegmentWrite =
  | { kind: "update"; segment: SegmentRecord; audit: AuditEntry; changes: PendingChange[]; schedule?: ScheduleWrite; approvals?: ApprovalWrite; gate?: SegmentApprovalGate }
  | { kind: "delete"; audit: AuditEntry; changes: PendingChange[] };

export interface SegmentStore {
  listSegments(environmentId: string, q: SegmentQuery): Promise<Listed<SegmentRecord>>;
  segmentByKey(environmentId: string, key: string, options?: ReadOptions): Promise<SegmentRecord | undefined>;
  /** A taken key is a `conflict`. */
  insertSegment(segment: SegmentRecord, audit: AuditEntry, changes: PendingChange[]): Promise<void>;
  /**
   * Writes a change decided on `read` (the segment, or its deletion, with the audit entry and the
   * change events, all or nothing) if the segment and its project and environments are still as
   * read; false, writing nothing, when any of them moved. Its scheduled items change with it
   * (`schedule`); throws `OperationAlreadyApplied` when the audit entry's operation was recorded
   * before.
   */
  writeSegment(read: ProjectScope & { segment: SegmentRecord }, write: SegmentWrite): Promise<boolean>;
}

/** What a change of a segment tells the approval gate besides the targeting it changes. */
export interface SegmentApprovalGate {
  /** Gated although it changes no targeting now: an expiring target set. */
  gated?: boolean;
  /** It carries out this approved request, or it is the removal of an expiring target (whose setting was gated). */
  approved?: { requestId: string } | { scheduledChangeId: string };
}
