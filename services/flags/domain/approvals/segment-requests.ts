/**
 * Approval requests of segment changes (LaunchDarkly's generic approval requests with a
 * `resourceId` of `proj/<p>:env/<e>:segment/<key>` and segment semantic-patch instructions): made,
 * reviewed, applied and deleted through the generic endpoints. Each step is a change of the segment
 * (`changeSegment`), as a flag's request is a change of its flag: the request is written with it and
 * it raises the segment's version (SDKs are told nothing until it is applied). The review and apply
 * rules are the flags' (`reviewed`, `checkApplicable` in `requests.ts`), under the environment's
 * segment settings (`resourceApprovalSettings.segment`); the apply is one change through the segment
 * write path (`decideSegmentPatch`), the request marked applied in the same write, passing the
 * segment's approval gate as the approved request it carries out.
 */
import { auditEntry } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { VexilError, invalidRequest, notFound } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { parsePatchRequest } from "@vexil/shared/patch";
import type { ApprovalRequestRecord, ReviewKind } from "../../storage/approval-store.ts";
import type { SegmentWrite } from "../../storage/segment-store.ts";
import type { FlagsContext } from "../context.ts";
import type { Decision } from "../unit-of-work.ts";
import { changeSegment, decideSegmentPatch, segmentResource, segmentScheduleUpdate, type SegmentRead } from "../segments/segments.ts";
import { MAX_SCHEDULED_INSTRUCTIONS } from "../schedules/scheduled-change-patch.ts";
import { isRecord } from "../validation.ts";
import { segmentConflictsOf } from "./conflicts.ts";
import { actorId, approvalRep, type ApprovalRep } from "./representation.ts";
import { appliedBy, checkApplicable, creatorOf, deciding, reviewed, type FlagApprovalPost } from "./requests.ts";
import { segmentApprovalSettingsOf } from "./settings.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";

/** The segment a request is about. */
export interface SegmentWhere {
  projectKey: string;
  envKey: string;
  segmentKey: string;
}

/** Segment instructions as a request holds them: a non-empty list of objects with a kind. */
function segmentInstructions(value: unknown): unknown[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidRequest("instructions must be a non-empty array of segment instructions");
  if (value.length > MAX_SCHEDULED_INSTRUCTIONS) throw invalidRequest(`instructions holds ${value.length} instructions; a request holds at most ${MAX_SCHEDULED_INSTRUCTIONS}`);
  value.forEach((i, n) => {
    if (!isRecord(i) || typeof i.kind !== "string") throw invalidRequest(`instructions[${n}] must be an object with a kind`);
  });
  return value;
}

/** A change of the segment that writes only its approval requests. */
function requestWrite(read: SegmentRead, audit: SegmentWrite["audit"], put: ApprovalRequestRecord[], remove: string[] = []): SegmentWrite {
  return { ...segmentScheduleUpdate(read, audit, {}), approvals: { put, remove } };
}

function stepAudit(caller: Caller, read: SegmentRead, now: number, verb: string, action: string, request: ApprovalRequestRecord, comment?: string | null) {
  return auditEntry({
    caller,
    kind: "segment",
    spec: `proj/${read.project.key}:env/${read.env.key}:segment/${read.segment.key}`,
    name: read.segment.doc.name,
    verb,
    actions: [action],
    comment,
    description: `Approval request ${request.id}: ${request.description}`,
    delta: { _id: request.id, description: request.description, instructions: request.instructions },
    previousVersion: read.segment.version,
    currentVersion: read.segment.version + 1,
    now,
  });
}

const answer = (made: { request: ApprovalRequestRecord; read: SegmentRead }) => approvalRep(made.request, made.read.env, [], true);

/** `POST /api/v2/approval-requests` for a segment: its instructions checked against the segment as it is, nothing else written. */
export async function createSegmentApproval(ctx: FlagsContext, caller: Caller, where: SegmentWhere, post: FlagApprovalPost): Promise<ApprovalRep> {
  authorizeRead(caller);
  // The checks every semantic patch body gets (no `__proto__` keys anywhere).
  parsePatchRequest({ instructions: post.instructions }, SEMANTIC);
  const instructions = segmentInstructions(post.instructions);
  if (post.description.trim() === "") throw invalidRequest("description must not be empty");
  if (post.executionDate !== undefined) throw invalidRequest("executionDate: scheduled changes of segments are not supported");
  if (post.operatingOnId !== undefined) throw invalidRequest("operatingOnId: names a scheduled change of a flag; segments have none");
  const made = await changeSegment(ctx, caller, where.projectKey, where.envKey, where.segmentKey, async (read) => {
    authorize(caller, "createApprovalRequest", segmentResource(read, read.segment.doc));
    if (read.env.requireComments && !post.comment) throw invalidRequest(`The environment "${read.env.key}" requires a comment on every change`);
    await decideSegmentPatch(ctx, deciding(caller), read, { format: "semantic", instructions, environmentKey: read.env.key, comment: post.comment }, { requireComments: false });
    const now = ctx.now();
    const request: ApprovalRequestRecord = {
      id: resourceId(),
      projectId: read.project.id,
      environmentId: read.env.id,
      flagId: null,
      projectKey: read.project.key,
      environmentKey: read.env.key,
      flagKey: null,
      segmentId: read.segment.id,
      segmentKey: read.segment.key,
      kind: "instructions",
      version: 1,
      createdAt: now,
      requestor: creatorOf(caller),
      description: post.description,
      comment: post.comment ?? null,
      instructions,
      source: null,
      copyActions: null,
      notifyMemberIds: post.notifyMemberIds ?? [],
      notifyTeamKeys: post.notifyTeamKeys ?? [],
      executionDate: null,
      operatingOnId: null,
      operatingOnVersion: null,
      integrationConfig: post.integrationConfig ?? null,
      reviews: [],
      status: "pending",
      appliedDate: null,
      appliedBy: null,
      scheduledChangeId: null,
      baseline: read.segment.doc,
    };
    return { write: requestWrite(read, stepAudit(caller, read, now, "requested approval of a change to the segment", "createApprovalRequest", request, post.comment), [request]), result: { request, read } };
  });
  return answer(made);
}

/** A step on an existing request of a segment, as one change of the segment with the request read after it. */
function changeRequest<T>(ctx: FlagsContext, caller: Caller, r: ApprovalRequestRecord, action: string, decide: (read: SegmentRead, request: ApprovalRequestRecord) => Promise<Decision<SegmentWrite, T>>): Promise<T> {
  authorizeRead(caller);
  return changeSegment(
    ctx,
    caller,
    r.projectKey,
    r.environmentKey,
    r.segmentKey!,
    async (read, stored) => {
      if (!stored || stored.segmentId !== read.segment.id) throw notFound(`Approval request "${r.id}"`);
      authorize(caller, action, segmentResource(read, read.segment.doc));
      return decide(read, stored);
    },
    () => ctx.approvals.request(r.id),
  );
}

export async function reviewSegmentApproval(ctx: FlagsContext, caller: Caller, r: ApprovalRequestRecord, body: { kind: ReviewKind; comment?: string }): Promise<ApprovalRep> {
  const made = await changeRequest(ctx, caller, r, "reviewApprovalRequest", async (read, request) => {
    const now = ctx.now();
    const next = reviewed(caller, read.env, segmentApprovalSettingsOf(read.env), request, body, now);
    const verb = { approve: "approved a change to the segment", decline: "declined a change to the segment", comment: "commented on a requested change to the segment" }[body.kind];
    return { write: requestWrite(read, stepAudit(caller, read, now, verb, "reviewApprovalRequest", next, body.comment), [next]), result: { request: next, read } };
  });
  return answer(made);
}

/** Applies an approved request: its instructions decided as any segment patch, by the applier, and the request marked applied, in one write. */
export async function applySegmentApproval(ctx: FlagsContext, caller: Caller, r: ApprovalRequestRecord, body: { comment?: string }): Promise<ApprovalRep> {
  const made = await changeRequest(ctx, caller, r, "applyApprovalRequest", async (read, request) => {
    checkApplicable(request, segmentApprovalSettingsOf(read.env));
    const conflicts = segmentConflictsOf(request, read.segment.doc);
    if (conflicts.length > 0) {
      throw invalidRequest(`The approval request conflicts with changes made since it was made: ${conflicts.map((c) => c.reason).join("; ")}. Nothing was applied; delete it and make a new one`);
    }
    const now = ctx.now();
    const done = appliedBy(caller, request, now);
    const comment = body.comment ?? request.comment ?? undefined;
    const note = (audit: SegmentWrite["audit"]) => ({
      ...audit,
      accesses: [...audit.accesses, { action: "applyApprovalRequest", resource: `proj/${read.project.key}:env/${read.env.key}:segment/${read.segment.key}` }],
      description: `Applied approval request ${request.id} of ${request.requestor.memberEmail ?? request.requestor.tokenName ?? actorId(request.requestor)}: ${request.description}`,
    });
    let decided;
    try {
      decided = await decideSegmentPatch(ctx, deciding(caller), read, { format: "semantic", instructions: request.instructions, environmentKey: read.env.key, comment }, { requireComments: false });
    } catch (e) {
      if (e instanceof VexilError && e.status < 500) throw invalidRequest(`The approval request no longer applies to the segment: ${e.message}. Nothing was applied`);
      throw e;
    }
    const write: SegmentWrite =
      decided.write?.kind === "update"
        ? { ...decided.write, audit: note(decided.write.audit), approvals: { put: [done] }, gate: { approved: { requestId: request.id } } }
        : requestWrite(read, note(stepAudit(caller, read, now, "applied an approval request that changed nothing, as it already was, in the segment", "applyApprovalRequest", done, comment)), [done]);
    return { write, result: { request: done, read } };
  });
  ctx.committed?.();
  return answer(made);
}

export async function deleteSegmentApproval(ctx: FlagsContext, caller: Caller, r: ApprovalRequestRecord): Promise<void> {
  await changeRequest(ctx, caller, r, "deleteApprovalRequest", async (read, request) => ({
    write: requestWrite(read, stepAudit(caller, read, ctx.now(), "deleted an approval request of the segment", "deleteApprovalRequest", request), [], [request.id]),
    result: undefined,
  }));
}
