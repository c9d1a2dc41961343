/**
 * Storage of approval requests of flag and segment changes, as the flags domain sees it. Requests
 * are written only with a change of their flag (`FlagWrite.approvals`) or segment
 * (`SegmentWrite.approvals`), in the same write, and every such change raises the resource's
 * version: a review, an apply or a deletion is decided on the resource and the request as read and
 * applies only if neither moved, like any other change of it.
 */
import type { Flag } from "../domain/flags/model.ts";
import type { Segment } from "../domain/segments/model.ts";
import type { Creator } from "./schedule-store.ts";

export type ReviewKind = "approve" | "decline" | "comment";

export interface ApprovalReview {
  _id: string;
  kind: ReviewKind;
  creationDate: number;
  comment?: string;
  memberId?: string;
  serviceTokenId?: string;
}

export type ApprovalStatus = "pending" | "completed" | "scheduled" | "failed";

export interface ApprovalRequestRecord {
  id: string;
  projectId: string;
  environmentId: string;
  /** A flag's request: the flag; null for a segment's. */
  flagId: string | null;
  projectKey: string;
  environmentKey: string;
  flagKey: string | null;
  /** A segment's request: the segment (of the environment); null for a flag's. */
  segmentId: string | null;
  segmentKey: string | null;
  /** `instructions`: a semantic patch of the flag (or segment) in the environment; `copy`: another environment's targeting copied here. */
  kind: "instructions" | "copy";
  version: number;
  createdAt: number;
  requestor: Creator;
  description: string;
  comment: string | null;
  instructions: unknown[];
  source: { key: string; version: number } | null;
  copyActions: { includedActions?: string[]; excludedActions?: string[] } | null;
  notifyMemberIds: string[];
  notifyTeamKeys: string[];
  executionDate: number | null;
  /** The scheduled change (of the flag, in the environment) whose edit or deletion this requests, by scheduled-change instructions. */
  operatingOnId: string | null;
  /** Its version when the request was made. */
  operatingOnVersion: number | null;
  integrationConfig: Record<string, unknown> | null;
  reviews: ApprovalReview[];
  status: ApprovalStatus;
  appliedDate: number | null;
  appliedBy: Creator | null;
  scheduledChangeId: string | null;
  /** The flag (or segment) when the request was made. */
  baseline: Flag | Segment;
}

/** What a change of a flag does to its approval requests, written with it. */
export interface ApprovalWrite {
  /** New requests, or new versions of them (by id). */
  put?: ApprovalRequestRecord[];
  /** Requests removed, by id. */
  remove?: string[];
}

export interface ApprovalQuery {
  projectKey?: string;
  flagId?: string;
  environmentId?: string;
  /** The requestor's member id (or token id for a service token). */
  requestorId?: string;
  statuses?: ApprovalStatus[];
}

/** At most this many requests are read for one list (newest first); filters the store cannot apply run on them. */
export const APPROVAL_LIST_CAP = 5_000;

export interface ApprovalStore {
  request(id: string): Promise<ApprovalRequestRecord | undefined>;
  /** A flag's requests in one environment, newest first. */
  flagRequests(flagId: string, environmentId: string): Promise<ApprovalRequestRecord[]>;
  /** Requests matching `q`, newest first, at most APPROVAL_LIST_CAP. */
  list(q: ApprovalQuery): Promise<ApprovalRequestRecord[]>;
}

/** A request of a flag change, with the flag's fields set. */
export type FlagApprovalRecord = ApprovalRequestRecord & { flagId: string; flagKey: string; baseline: Flag };
/** A request of a segment change, with the segment's fields set. */
export type SegmentApprovalRecord = ApprovalRequestRecord & { segmentId: string; segmentKey: string; baseline: Segment };

export const isSegmentRequest = (r: ApprovalRequestRecord): r is SegmentApprovalRecord => r.segmentId !== null;
export const isFlagRequest = (r: ApprovalRequestRecord): r is FlagApprovalRecord => r.flagId !== null;
