/** Storage of segments, as the flags domain sees it. */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { PendingChange } from "@vexil/shared/change-events";
import type { Segment } from "../domain/segments/model.ts";
import type { Listed } from "./project-store.ts";

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

export type SegmentOutcome<T> =
  | { kind: "update"; segment: SegmentRecord; audit: AuditEntry; changes: PendingChange[]; result: T }
  | { kind: "delete"; audit: AuditEntry; changes: PendingChange[]; result: T }
  | { kind: "none"; result: T };

export interface SegmentStore {
  listSegments(environmentId: string, q: SegmentQuery): Promise<Listed<SegmentRecord>>;
  segmentByKey(environmentId: string, key: string): Promise<SegmentRecord | undefined>;
  /** A taken key is a `conflict`. */
  insertSegment(segment: SegmentRecord, audit: AuditEntry, changes: PendingChange[]): Promise<void>;
  /** Locks the segment and writes what `change` decides in the same transaction (see FlagStore.modifyFlag). */
  modifySegment<T>(environmentId: string, key: string, change: (segment: SegmentRecord | undefined) => Promise<SegmentOutcome<T>>): Promise<T>;
}
