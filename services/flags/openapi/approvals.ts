/** The documented bodies and answers of approval requests (`domain/approvals/` builds them). */
import { Type as T } from "@sinclair/typebox";
import { Links, Ref } from "@vexil/shared/http/openapi";
import { ApprovalSettingsSchema, SegmentApprovalSettingsSchema } from "../domain/approvals/settings.ts";
import { MAX_SCHEDULED_INSTRUCTIONS } from "../domain/schedules/scheduled-change-patch.ts";

const closed = { additionalProperties: false } as const;
const Key = T.String({ maxLength: 140 });
const Id = T.String({ maxLength: 64 });
const FlagInstruction = T.Object({ kind: T.String({ maxLength: 100, description: "A flag semantic-patch instruction kind (`turnFlagOn`, `addRule`, …), with its parameters" }) }, { additionalProperties: true });
const Ids = (description: string) => T.Array(T.String({ maxLength: 140 }), { maxItems: 50, description });
const CopyAction = T.Union(["updateOn", "updateFallthrough", "updateOffVariation", "updateRules", "updateTargets", "updatePrerequisites"].map((a) => T.Literal(a)));

const common = {
  description: T.String({ minLength: 1, maxLength: 5000, description: "The request's title" }),
  comment: T.Optional(T.String({ maxLength: 4096, description: "Kept in the audit log" })),
  notifyMemberIds: T.Optional(Ids("Members asked to review (kept; no one is notified: any member with `reviewApprovalRequest` may review)")),
  notifyTeamKeys: T.Optional(Ids("Teams asked to review (kept only)")),
};

const flagRequest = {
  ...common,
  instructions: T.Array(FlagInstruction, { minItems: 1, maxItems: MAX_SCHEDULED_INSTRUCTIONS, description: "Flag semantic-patch instructions for the environment, checked against the flag when the request is made; with `operatingOnId`, scheduled-change instructions (`replaceScheduledChangesInstructions`, `updateScheduledChangesExecutionDate`, `deleteScheduledChange`)" }),
  executionDate: T.Optional(T.Integer({ minimum: 0, description: "Makes it a request for a scheduled change: applied, it schedules the instructions for this time (epoch milliseconds, in the future)" })),
  operatingOnId: T.Optional(T.String({ maxLength: 64, description: "A pending scheduled change of the flag in this environment that the instructions edit or delete (400 if there is none); applied, the edit is made and the change runs as approved" })),
  integrationConfig: T.Optional(T.Record(T.String(), T.Unknown(), { description: "Kept only" })),
};

export const FlagApprovalPost = T.Object(flagRequest, closed);
export const ApprovalPost = T.Object(
  {
    resourceId: T.String({ maxLength: 500, description: "`proj/<project>:env/<environment>:flag/<flag>`, or `proj/<project>:env/<environment>:segment/<segment>` for a segment" }),
    ...flagRequest,
    instructions: T.Array(FlagInstruction, { minItems: 1, maxItems: MAX_SCHEDULED_INSTRUCTIONS, description: "Semantic-patch instructions of the flag (see the flag-scoped request) or of the segment (`addIncludedTargets`, `addRule`, …, without `environmentKey`: the resourceId names the environment), checked against it when the request is made" }),
  },
  closed,
);
export const CopyApprovalPost = T.Object(
  {
    ...common,
    source: T.Object({ key: Key, version: T.Optional(T.Integer({ description: "The source environment's targeting version the copy is of (409 if it is not that now)" })) }, closed),
    includedActions: T.Optional(T.Array(CopyAction, { maxItems: 6, uniqueItems: true })),
    excludedActions: T.Optional(T.Array(CopyAction, { maxItems: 6, uniqueItems: true })),
  },
  closed,
);
export const ReviewPost = T.Object(
  { kind: T.Union([T.Literal("approve"), T.Literal("decline"), T.Literal("comment")]), comment: T.Optional(T.String({ maxLength: 4096 })) },
  closed,
);
export const ApplyPost = T.Object({ comment: T.Optional(T.String({ maxLength: 4096 })) }, closed);

const Review = T.Object(
  {
    _id: T.String(),
    kind: T.Union([T.Literal("approve"), T.Literal("decline"), T.Literal("comment")]),
    creationDate: T.Integer({ description: "Epoch milliseconds" }),
    comment: T.Optional(T.String()),
    memberId: T.Optional(T.String()),
    serviceTokenId: T.Optional(T.String()),
  },
  closed,
);

const fields = {
  _id: T.String(),
  _version: T.Integer({ description: "Raised by every review" }),
  creationDate: T.Integer({ description: "Epoch milliseconds" }),
  serviceKind: T.String({ description: "`launchdarkly`" }),
  requestorId: T.String({ description: "The member who asked (a service token's id for one made by a service token)" }),
  description: T.String(),
  reviewStatus: T.Union([T.Literal("pending"), T.Literal("approved"), T.Literal("declined")], {
    description: "Each reviewer's latest approve or decline counts: any decline is `declined`; else `approved` once distinct approvers reach `minNumApprovals`",
  }),
  allReviews: T.Array(Review),
  notifyMemberIds: T.Array(T.String()),
  appliedDate: T.Optional(T.Integer()),
  appliedByMemberId: T.Optional(T.String()),
  appliedByServiceTokenId: T.Optional(T.String()),
  status: T.Union([T.Literal("pending"), T.Literal("completed"), T.Literal("failed"), T.Literal("scheduled")], { description: "`completed`: applied; `scheduled`: applied as a scheduled change" }),
  instructions: T.Array(T.Record(T.String(), T.Unknown())),
  conflicts: T.Array(T.Object({ instruction: T.Unknown(), reason: T.String() }, closed), { description: "What the request changes that has changed since it was made (pending requests); such a request is not applied" }),
  _links: Links,
  executionDate: T.Optional(T.Integer()),
  operatingOnId: T.Optional(T.String({ description: "The scheduled change the request edits or deletes" })),
  source: T.Optional(T.Object({ key: T.String(), version: T.Integer() }, closed)),
  _scheduledChangeId: T.Optional(T.String({ description: "The scheduled change an applied request with `executionDate` made" })),
};

export const approvalComponents = {
  FlagConfigApprovalRequestResponse: T.Object(fields, closed),
  FlagConfigApprovalRequestsResponse: T.Object({ items: T.Array(Ref("FlagConfigApprovalRequestResponse"), { description: "Newest first" }), _links: Links }, closed),
  ApprovalRequestResponse: T.Object({ ...fields, resourceId: T.String(), approvalSettings: T.Union([ApprovalSettingsSchema, SegmentApprovalSettingsSchema], { description: "The settings that govern the request: the environment's for flags, or its `resourceApprovalSettings.segment`" }) }, closed),
  ExpandableApprovalRequestResponse: T.Object(
    {
      ...fields,
      resourceId: T.String(),
      approvalSettings: T.Union([ApprovalSettingsSchema, SegmentApprovalSettingsSchema]),
      flag: T.Optional(T.Unknown()),
      resource: T.Optional(T.Unknown()),
      project: T.Optional(T.Unknown()),
      environments: T.Optional(T.Array(T.Unknown())),
    },
    closed,
  ),
  ExpandableApprovalRequestsResponse: T.Object({ items: T.Array(Ref("ExpandableApprovalRequestResponse")), totalCount: T.Integer(), _links: Links }, closed),
};

export const APPROVAL_DOCS = {
  create: [
    "Asks for flag semantic-patch instructions to be applied in the environment once approved. The instructions are checked against the flag as it is now (400 naming the one it does not take); the requestor needs `createApprovalRequest` only, not the actions of the instructions.",
    "With `executionDate` the request, applied, makes a scheduled change for that time, which runs as an approved change.",
  ].join(" "),
  copy: "Asks for the source environment's targeting (all of it, or `includedActions`/`excludedActions`) to be copied to the path's environment once approved. The answer has `source: {key, version}`.",
  review: "Adds a review (`reviewApprovalRequest`). A requestor's own `approve` or `decline` is 403 unless the environment's `canReviewOwnRequest`; a `comment` never counts. A request already applied is 400.",
  apply: [
    "Applies an approved request (`applyApprovalRequest`): approved, or declined with at least one approval where `canApplyDeclinedChanges`; 400 otherwise. The change is made as any other change of the flag, by the applier, in one write with the request marked `completed` (or `scheduled`), and passes the approval gate as the approved request.",
    "A request whose flag changed since it was made in what it changes (`conflicts`), or whose instructions no longer apply, is 400 and nothing changes.",
  ].join(" "),
  delete: "Deletes the request (`deleteApprovalRequest`).",
  generic: [
    "A `resourceId` of a segment (`proj/<p>:env/<e>:segment/<s>`) makes a request of segment semantic-patch instructions, governed by the environment's `resourceApprovalSettings.segment`;",
    "reviewed, applied (one change of the segment, audited) and deleted through these endpoints only. `executionDate` and `operatingOnId` are for flags.",
  ].join(" "),
  list: "`filter`: `requestorId equals <id>`, `resourceId equals proj/<p>:env/<e>:flag/<f>` (or `…:segment/<s>`), `resourceKind equals flag|segment|aiConfig`, `projectKey equals <key>`, `status anyOf [\"pending\",…]`, `reviewStatus anyOf [\"approved\",…]`, `notifyMemberIds anyOf [\"<id>\"]`, joined by commas. `expand`: `flag`, `project`, `environments` (`resource` on one request: the flag or segment). `limit` 20 by default, at most 200. Newest first.",
};
