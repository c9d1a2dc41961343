/**
 * An environment's approval settings (LaunchDarkly's `approvalSettings` for flags, and
 * `resourceApprovalSettings.segment` for segments) and the one question the write path asks of
 * them: does a change to this flag's (or segment's) targeting here need an approved request?
 */
import { Type as T, type Static } from "@sinclair/typebox";
import { invalidRequest } from "@vexil/shared/errors";

/** A flag tag (as `../schemas.ts` has it; not imported from there, which imports this). */
const Tag = T.String({ pattern: "^[A-Za-z0-9._:-]+$", minLength: 1, maxLength: 64 });

export const ApprovalSettingsSchema = T.Object(
  {
    required: T.Boolean({ description: "Every flag's targeting changes in this environment need an approved request" }),
    bypassApprovalsForPendingChanges: T.Boolean({ description: "Scheduled changes made without an approval still run here once approvals are required" }),
    minNumApprovals: T.Integer({ minimum: 1, maximum: 5, description: "Approvals (by distinct members) a request needs" }),
    canReviewOwnRequest: T.Boolean({ description: "The requestor may review (and so approve) their own request" }),
    canApplyDeclinedChanges: T.Boolean({ description: "A declined request may still be applied once it has at least one approval" }),
    serviceKind: T.Literal("launchdarkly", { description: "Only native approvals: `launchdarkly`" }),
    serviceConfig: T.Record(T.String(), T.Unknown(), { maxProperties: 0, description: "`{}` for native approvals" }),
    requiredApprovalTags: T.Array(Tag, { maxItems: 50, uniqueItems: true, description: "Only flags with one of these tags need approval (instead of `required`)" }),
  },
  { additionalProperties: false },
);
export type ApprovalSettings = Static<typeof ApprovalSettingsSchema>;

export const DEFAULT_APPROVAL_SETTINGS: ApprovalSettings = {
  required: false,
  bypassApprovalsForPendingChanges: false,
  minNumApprovals: 1,
  canReviewOwnRequest: false,
  canApplyDeclinedChanges: true,
  serviceKind: "launchdarkly",
  serviceConfig: {},
  requiredApprovalTags: [],
};

/** The settings an environment has (the defaults until it is given some). */
export function approvalSettingsOf(env: { approvalSettings?: Record<string, unknown> | null }): ApprovalSettings {
  return env.approvalSettings ? { ...DEFAULT_APPROVAL_SETTINGS, ...(env.approvalSettings as Partial<ApprovalSettings>) } : DEFAULT_APPROVAL_SETTINGS;
}

/** The settings of segments (`resourceApprovalSettings.segment`): the same fields, and the kind they are for. */
export const SegmentApprovalSettingsSchema = T.Object(
  { ...ApprovalSettingsSchema.properties, resourceKind: T.Literal("segment", { description: "The kind of resource these settings are for" }) },
  { additionalProperties: false },
);
export type SegmentApprovalSettings = Static<typeof SegmentApprovalSettingsSchema>;

/** An environment's settings for segments (the defaults, approvals off, until it is given some). */
export function segmentApprovalSettingsOf(env: { segmentApprovalSettings?: Record<string, unknown> | null }): SegmentApprovalSettings {
  return { ...DEFAULT_APPROVAL_SETTINGS, ...((env.segmentApprovalSettings ?? {}) as Partial<ApprovalSettings>), resourceKind: "segment" };
}

/** True when changing this segment's targeting in the environment needs an approved request. */
export function segmentApprovalRequired(env: { segmentApprovalSettings?: Record<string, unknown> | null }, segment: { tags: readonly string[] }): boolean {
  const s = segmentApprovalSettingsOf(env);
  return s.required || s.requiredApprovalTags.some((t) => segment.tags.includes(t));
}

/** Approvals apply to every flag or to tagged flags, not both (LaunchDarkly refuses both too). */
export function checkApprovalSettings(settings: ApprovalSettings, name = "approvalSettings"): void {
  if (settings.required && settings.requiredApprovalTags.length > 0) {
    throw invalidRequest(`${name}: set required or requiredApprovalTags, not both: approvals apply either to all resources or to tagged ones`);
  }
}

/** True when changing this flag's targeting in the environment needs an approved request. */
export function approvalRequired(env: { approvalSettings?: Record<string, unknown> | null }, flag: { tags: readonly string[] }): boolean {
  const s = approvalSettingsOf(env);
  return s.required || s.requiredApprovalTags.some((t) => flag.tags.includes(t));
}
