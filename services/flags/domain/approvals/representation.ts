/**
 * LaunchDarkly's `FlagConfigApprovalRequestResponse` (and, for the generic endpoints,
 * `ApprovalRequestResponse`: the same plus `resourceId` and `approvalSettings`), and how its
 * `reviewStatus` and `status` come about.
 *
 * `reviewStatus` (undocumented by LaunchDarkly; decided here): each reviewer's latest `approve` or
 * `decline` counts (a `comment` never does); any counted decline makes it `declined`; otherwise it is
 * `approved` once the distinct approvers reach the environment's `minNumApprovals`, else `pending`.
 * It is computed from the reviews and the settings as they are now, so a change of
 * `minNumApprovals` applies to pending requests at once.
 */
import { link } from "@vexil/shared/http/links";
import type { ApprovalRequestRecord, ApprovalReview } from "../../storage/approval-store.ts";
import type { EnvironmentRecord } from "../../storage/project-store.ts";
import type { Creator } from "../../storage/schedule-store.ts";
import { approvalSettingsOf, segmentApprovalSettingsOf, type ApprovalSettings } from "./settings.ts";

export type ReviewStatus = "pending" | "approved" | "declined";

export const flagApprovalsPath = (projectKey: string, flagKey: string, envKey: string) =>
  `/api/v2/projects/${encodeURIComponent(projectKey)}/flags/${encodeURIComponent(flagKey)}/environments/${encodeURIComponent(envKey)}/approval-requests`;
export const APPROVALS_PATH = "/api/v2/approval-requests";

/** LaunchDarkly's `resourceId` of the request's flag or segment in its environment. */
export const requestResourceId = (r: Pick<ApprovalRequestRecord, "projectKey" | "environmentKey" | "flagKey" | "segmentKey">) =>
  r.segmentKey !== null ? `proj/${r.projectKey}:env/${r.environmentKey}:segment/${r.segmentKey}` : `proj/${r.projectKey}:env/${r.environmentKey}:flag/${r.flagKey}`;

/** Who made a request or a review: a member, or a service token. */
export const actorId = (who: Pick<Creator, "memberId" | "tokenId">) => who.memberId ?? who.tokenId ?? "";

/** The latest counted review of each reviewer. */
function verdicts(reviews: ApprovalReview[]): Map<string, "approve" | "decline"> {
  const latest = new Map<string, "approve" | "decline">();
  for (const r of reviews) if (r.kind !== "comment") latest.set(r.memberId ?? r.serviceTokenId ?? "", r.kind);
  return latest;
}

export function approvers(reviews: ApprovalReview[]): number {
  return [...verdicts(reviews).values()].filter((v) => v === "approve").length;
}

export function reviewStatusOf(reviews: ApprovalReview[], settings: ApprovalSettings): ReviewStatus {
  const counted = [...verdicts(reviews).values()];
  if (counted.includes("decline")) return "declined";
  return counted.filter((v) => v === "approve").length >= settings.minNumApprovals ? "approved" : "pending";
}

/** True when the request may be applied now: approved, or declined where declined changes may be applied and someone approved. */
export function applicable(reviews: ApprovalReview[], settings: ApprovalSettings): boolean {
  const status = reviewStatusOf(reviews, settings);
  return status === "approved" || (status === "declined" && settings.canApplyDeclinedChanges && approvers(reviews) > 0);
}

export interface Conflict {
  instruction: unknown;
  reason: string;
}

export interface ApprovalRep {
  _id: string;
  _version: number;
  creationDate: number;
  serviceKind: string;
  requestorId: string;
  description: string;
  reviewStatus: ReviewStatus;
  allReviews: ApprovalReview[];
  notifyMemberIds: string[];
  appliedDate?: number;
  appliedByMemberId?: string;
  appliedByServiceTokenId?: string;
  status: ApprovalRequestRecord["status"];
  instructions: unknown[];
  conflicts: Conflict[];
  _links: Record<string, { href: string; type: string }>;
  executionDate?: number;
  operatingOnId?: string;
  source?: { key: string; version: number };
  resourceId?: string;
  approvalSettings?: ApprovalSettings;
  /** The scheduled change an applied request with `executionDate` made. */
  _scheduledChangeId?: string;
}

/** The representation; `generic` for `/api/v2/approval-requests` (with `resourceId` and `approvalSettings`). */
/** The settings that govern the request: its environment's for flags, or for segments. */
export const settingsFor = (r: Pick<ApprovalRequestRecord, "segmentId">, env: Pick<EnvironmentRecord, "approvalSettings" | "segmentApprovalSettings">): ApprovalSettings =>
  r.segmentId !== null ? segmentApprovalSettingsOf(env) : approvalSettingsOf(env);

/**
 * The representation; `generic` for `/api/v2/approval-requests` (with `resourceId` and
 * `approvalSettings`). A segment's request has only the generic endpoints, so it is always generic.
 */
export function approvalRep(r: ApprovalRequestRecord, env: Pick<EnvironmentRecord, "approvalSettings" | "segmentApprovalSettings">, conflicts: Conflict[], generic: boolean): ApprovalRep {
  const settings = settingsFor(r, env);
  if (r.flagKey === null) generic = true;
  const parent = r.flagKey === null || generic ? APPROVALS_PATH : flagApprovalsPath(r.projectKey, r.flagKey, r.environmentKey);
  const self = `${parent}/${encodeURIComponent(r.id)}`;
  return {
    _id: r.id,
    _version: r.version,
    creationDate: r.createdAt,
    serviceKind: settings.serviceKind,
    requestorId: actorId(r.requestor),
    description: r.description,
    reviewStatus: reviewStatusOf(r.reviews, settings),
    allReviews: r.reviews,
    notifyMemberIds: r.notifyMemberIds,
    ...(r.appliedDate !== null ? { appliedDate: r.appliedDate } : {}),
    ...(r.appliedBy?.memberId ? { appliedByMemberId: r.appliedBy.memberId } : r.appliedBy?.tokenId ? { appliedByServiceTokenId: r.appliedBy.tokenId } : {}),
    status: r.status,
    instructions: r.instructions,
    conflicts,
    _links: { self: link(self), parent: link(parent) },
    ...(r.executionDate !== null ? { executionDate: r.executionDate } : {}),
    ...(r.operatingOnId !== null ? { operatingOnId: r.operatingOnId } : {}),
    ...(r.source ? { source: r.source } : {}),
    ...(generic ? { resourceId: requestResourceId(r), approvalSettings: settings } : {}),
    ...(r.scheduledChangeId ? { _scheduledChangeId: r.scheduledChangeId } : {}),
  };
}
