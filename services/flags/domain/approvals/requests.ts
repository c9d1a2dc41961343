/**
 * Approval requests of flag changes (LaunchDarkly's flag-scoped approval requests): made, reviewed,
 * applied and deleted. Each step is a change of the flag (`changeFlag`), like a scheduled change's:
 * its audit entry is the flag's, the request is written with it and it raises the flag's `_version`
 * (not the environments': SDKs see nothing until it is applied). The apply is one change through the
 * same path as any other — the instructions (or the copy) decided as a patch would be, the request
 * marked applied, all in one write — and passes the approval gate as the approved request it carries out.
 *
 * Decided here where LaunchDarkly does not say: a self-review (`approve` or `decline`; comments are
 * always allowed) is 403 unless `canReviewOwnRequest`; the requestor may apply their own request
 * once it is approved; an apply that is not allowed yet, or whose instructions conflict with a change
 * made since the request (`conflicts.ts`) or no longer apply, is 400 and changes nothing — the
 * request stays pending, with its conflicts, to be deleted.
 *
 * A request may edit or delete a pending scheduled change of the flag there (`operatingOnId`, with
 * the scheduled-change instructions `replaceScheduledChangesInstructions`,
 * `updateScheduledChangesExecutionDate`, `deleteScheduledChange`): checked when made as the edit
 * itself would be (`decideItemEdit`), and applied as that edit, one change of the flag; the edited
 * change then runs as approved by the request.
 */
import { auditEntry } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, forbidden, type Caller } from "@vexil/shared/caller";
import { VexilError, invalidRequest, notFound } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { parsePatchRequest } from "@vexil/shared/patch";
import { BYPASS_REQUIRED_APPROVAL } from "@vexil/shared/policy";
import type { ApprovalRequestRecord, ApprovalReview, ReviewKind } from "../../storage/approval-store.ts";
import type { FlagWrite } from "../../storage/flag-store.ts";
import type { EnvironmentRecord } from "../../storage/project-store.ts";
import type { Creator, ScheduledItem } from "../../storage/schedule-store.ts";
import type { FlagsContext } from "../context.ts";
import { flagResource } from "../flags/access.ts";
import { changeFlag, scheduleUpdate, type Scope, type Scoped } from "../flags/change.ts";
import type { Decision } from "../unit-of-work.ts";
import { copyActions, decideCopy } from "../flags/flags.ts";
import type { FlagCopy } from "../flags/schemas.ts";
import { decidePatch } from "../flags/patch-flag.ts";
import { flagDocument } from "../flags/representation.ts";
import { environmentIn } from "../schedules/flag-items.ts";
import { newItem } from "../schedules/new-item.ts";
import { executionDate as checkedDate, flagInstructions } from "../schedules/scheduled-change-patch.ts";
import { decideItemEdit, deletion, itemEditWrite } from "../schedules/scheduled-changes.ts";
import { conflictsOf } from "./conflicts.ts";
import { actorId, applicable, approvalRep, approvers, reviewStatusOf, type ApprovalRep } from "./representation.ts";
import { approvalSettingsOf, type ApprovalSettings } from "./settings.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";

/** The flag and environment a request is about. */
export interface Where {
  projectKey: string;
  flagKey: string;
  envKey: string;
}

export interface FlagApprovalPost {
  description: string;
  instructions: unknown[];
  comment?: string;
  notifyMemberIds?: string[];
  notifyTeamKeys?: string[];
  executionDate?: number;
  operatingOnId?: string;
  integrationConfig?: Record<string, unknown>;
}

export interface CopyApprovalPost {
  description: string;
  source: { key: string; version?: number };
  comment?: string;
  notifyMemberIds?: string[];
  notifyTeamKeys?: string[];
  includedActions?: string[];
  excludedActions?: string[];
}

/**
 * `caller` as it decides what a request would do: what it may do is not asked (a request is how one
 * who may not change the flag asks for it; the apply needs `applyApprovalRequest` only), and it
 * never bypasses approvals. The audit entry still names `caller`.
 */
export function deciding(caller: Caller): Caller {
  const resources = ["proj/*", "proj/*:env/*", "proj/*:env/*:flag/*", "proj/*:env/*:segment/*"];
  return { ...caller, grants: [{ base: "reader", statements: [{ effect: "allow", resources, actions: ["*"] }, { effect: "deny", resources, actions: [BYPASS_REQUIRED_APPROVAL] }] }] };
}

export const creatorOf = (caller: Caller): Creator => ({ memberId: caller.memberId, memberEmail: caller.memberEmail, tokenId: caller.tokenId, tokenName: caller.tokenName, serviceToken: caller.serviceToken });

/** The copy a copy request asks for, as `decideCopy` takes it (its actions were checked by `copyActions`). */
const copyOf = (from: string, to: string, comment: string | undefined, actions: { includedActions?: string[]; excludedActions?: string[] }): FlagCopy =>
  ({ source: { key: from }, target: { key: to }, ...(comment !== undefined ? { comment } : {}), ...actions }) as FlagCopy;

/** A refusal of the whole request from the instruction readers (which name no instruction). */
function checked<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof VexilError) throw e;
    throw invalidRequest((e as Error).message);
  }
}

/** A change of the flag that writes only `approvals` (and, when given, scheduled items). */
function requestWrite(read: Scoped, audit: FlagWrite["audit"], put: ApprovalRequestRecord[], remove: string[] = []): FlagWrite {
  return { ...scheduleUpdate(read, audit, {}), approvals: { put, remove } };
}

function stepAudit(caller: Caller, scope: Scope, env: EnvironmentRecord, read: Scoped, now: number, verb: string, action: string, request: ApprovalRequestRecord, comment?: string | null) {
  return auditEntry({
    caller,
    kind: "flag",
    spec: `proj/${scope.project.key}:env/${env.key}:flag/${read.flag.key}`,
    name: read.flag.doc.name,
    verb,
    actions: [action],
    comment,
    description: `Approval request ${request.id}: ${request.description}`,
    delta: { _id: request.id, description: request.description, instructions: request.instructions, ...(request.source ? { source: request.source } : {}), ...(request.executionDate !== null ? { executionDate: request.executionDate } : {}) },
    previousVersion: read.flag.version,
    currentVersion: read.flag.version + 1,
    now,
  });
}

/** The request `id` of the flag and environment (as read after the flag), or a 404. */
function requestIn(stored: ApprovalRequestRecord | undefined, read: Scoped, env: EnvironmentRecord, id: string): ApprovalRequestRecord {
  if (!stored || stored.flagId !== read.flag.id || stored.environmentId !== env.id) throw notFound(`Approval request "${id}"`);
  return stored;
}

/**
 * A step on an existing request (a review, the apply, the deletion) as one change of its flag: the
 * request read with the flag, found in the environment named, and the step's action authorized there.
 */
function changeRequest<T>(
  ctx: FlagsContext,
  caller: Caller,
  where: Where,
  id: string,
  action: string,
  decide: (step: { read: Scoped; scope: Scope; env: EnvironmentRecord; request: ApprovalRequestRecord }) => Promise<Decision<FlagWrite, T>>,
): Promise<T> {
  authorizeRead(caller);
  return changeFlag(
    ctx,
    caller,
    where.projectKey,
    where.flagKey,
    async (read, scope, stored) => {
      const env = environmentIn(scope, where.envKey);
      const request = requestIn(stored, read, env, id);
      authorize(caller, action, flagResource(scope.project, env, read.flag.doc));
      return decide({ read, scope, env, request });
    },
    () => ctx.approvals.request(id),
  );
}

const answer = (made: { request: ApprovalRequestRecord; env: EnvironmentRecord }, generic: boolean) => approvalRep(made.request, made.env, [], generic);

type Own = Pick<ApprovalRequestRecord, "kind" | "instructions" | "source" | "copyActions" | "executionDate" | "operatingOnId" | "operatingOnVersion" | "integrationConfig">;

/** The pending scheduled change a request names in `operatingOnId`, if it is still one of the request's flag and environment. */
export async function scheduledChangeOf(ctx: FlagsContext, r: Pick<ApprovalRequestRecord, "operatingOnId" | "flagId" | "environmentId">): Promise<ScheduledItem | undefined> {
  if (r.operatingOnId === null) return undefined;
  const item = await ctx.schedules.item(r.operatingOnId);
  return item && item.kind === "flagChange" && item.flagId === r.flagId && item.environmentId === r.environmentId ? item : undefined;
}

/**
 * What a request's scheduled-change instructions do to the change it operates on, decided by `caller`
 * on the flag as read: read after the flag (a change of its items raises the flag's version).
 */
async function decideOperatingOn(ctx: FlagsContext, caller: Caller, read: Scoped, scope: Scope, env: EnvironmentRecord, item: ScheduledItem, instructions: unknown[], comment: string | undefined) {
  const others = await ctx.schedules.flagItems(read.flag.id, env.id, "flagChange");
  // Conflicts with other pending changes are kept on the edited change, as with `ignoreConflicts`.
  return decideItemEdit(ctx, deciding(caller), read, scope, env, item, others, instructions, comment, true);
}

/** Makes a request: `check` decides, without writing, what it would do to the flag as it is. */
async function create(ctx: FlagsContext, caller: Caller, where: Where, post: { description: string; comment?: string; notifyMemberIds?: string[]; notifyTeamKeys?: string[] }, own: () => Own, check: (read: Scoped, scope: Scope, env: EnvironmentRecord) => Promise<void>, generic: boolean): Promise<ApprovalRep> {
  authorizeRead(caller);
  if (post.description.trim() === "") throw invalidRequest("description must not be empty");
  const made = await changeFlag(ctx, caller, where.projectKey, where.flagKey, async (read, scope) => {
    const env = environmentIn(scope, where.envKey);
    authorize(caller, "createApprovalRequest", flagResource(scope.project, env, read.flag.doc));
    if (env.requireComments && !post.comment) throw invalidRequest(`The environment "${env.key}" requires a comment on every change`);
    await check(read, scope, env);
    const now = ctx.now();
    const request: ApprovalRequestRecord = {
      id: resourceId(),
      projectId: scope.project.id,
      environmentId: env.id,
      flagId: read.flag.id,
      projectKey: scope.project.key,
      environmentKey: env.key,
      flagKey: read.flag.key,
      segmentId: null,
      segmentKey: null,
      ...own(),
      version: 1,
      createdAt: now,
      requestor: creatorOf(caller),
      description: post.description,
      comment: post.comment ?? null,
      notifyMemberIds: post.notifyMemberIds ?? [],
      notifyTeamKeys: post.notifyTeamKeys ?? [],
      reviews: [],
      status: "pending",
      appliedDate: null,
      appliedBy: null,
      scheduledChangeId: null,
      baseline: flagDocument(read.flag),
    };
    const verb = request.kind === "copy" ? `requested approval to copy ${request.source!.key}'s targeting to ${env.key} in the flag` : "requested approval of a change to the flag";
    return { write: requestWrite(read, stepAudit(caller, scope, env, read, now, verb, "createApprovalRequest", request, post.comment), [request]), result: { request, env } };
  });
  return answer(made, generic);
}

/** `POST …/approval-requests`: a request to apply flag semantic-patch instructions in the environment (at `executionDate`, if given). */
export async function createFlagApproval(ctx: FlagsContext, caller: Caller, where: Where, post: FlagApprovalPost, generic = false): Promise<ApprovalRep> {
  // The checks every semantic patch body gets (no `__proto__` keys anywhere).
  parsePatchRequest({ instructions: post.instructions }, SEMANTIC);
  const instructions = checked(() => flagInstructions(post.instructions, "instructions"));
  const date = post.executionDate === undefined ? null : checked(() => checkedDate(post.executionDate, "executionDate"));
  if (date !== null && date <= ctx.now()) throw invalidRequest(`executionDate: ${date} is not in the future`);
  if (post.operatingOnId !== undefined) return createOperatingOnApproval(ctx, caller, where, { ...post, operatingOnId: post.operatingOnId, instructions }, generic);
  const own: Own = { kind: "instructions", instructions, source: null, copyActions: null, executionDate: date, operatingOnId: null, operatingOnVersion: null, integrationConfig: post.integrationConfig ?? null };
  return create(ctx, caller, where, post, () => own, async (read, scope, env) => {
    const decided = await decidePatch(ctx, deciding(caller), read, scope, { format: "semantic", instructions, environmentKey: env.key, comment: post.comment }, { requireComments: false });
    if (decided.write?.kind === "delete") throw invalidRequest("instructions: deleteFlag needs no approval; delete the flag instead");
  }, generic);
}

/** A request whose scheduled-change instructions edit or delete the scheduled change `operatingOnId`. */
async function createOperatingOnApproval(ctx: FlagsContext, caller: Caller, where: Where, post: FlagApprovalPost & { operatingOnId: string }, generic: boolean): Promise<ApprovalRep> {
  if (post.executionDate !== undefined) throw invalidRequest("executionDate: a request that edits a scheduled change (operatingOnId) moves its date with updateScheduledChangesExecutionDate");
  let version: number | undefined;
  const own = (): Own => ({ kind: "instructions", instructions: post.instructions, source: null, copyActions: null, executionDate: null, operatingOnId: post.operatingOnId, operatingOnVersion: version!, integrationConfig: post.integrationConfig ?? null });
  return create(ctx, caller, where, post, own, async (read, scope, env) => {
    const item = await scheduledChangeOf(ctx, { operatingOnId: post.operatingOnId, flagId: read.flag.id, environmentId: env.id });
    if (!item) throw invalidRequest(`operatingOnId: "${post.operatingOnId}" is not a scheduled change of the flag "${read.flag.key}" in "${env.key}"`);
    await decideOperatingOn(ctx, caller, read, scope, env, item, post.instructions, post.comment);
    version = item.version;
  }, generic);
}

/** `POST …/approval-requests-flag-copy`: a request to copy another environment's targeting to this one. */
export async function createCopyApproval(ctx: FlagsContext, caller: Caller, where: Where, post: CopyApprovalPost): Promise<ApprovalRep> {
  const actions = { ...(post.includedActions ? { includedActions: post.includedActions } : {}), ...(post.excludedActions ? { excludedActions: post.excludedActions } : {}) };
  copyActions(actions);
  if (post.source.key === where.envKey) throw invalidRequest("source must be another environment than the one the request is for");
  // The source's version: the one named, checked against the flag as read; else the one read.
  let version: number | undefined;
  const own = (): Own => ({ kind: "copy", instructions: [], source: { key: post.source.key, version: version! }, copyActions: actions, executionDate: null, operatingOnId: null, operatingOnVersion: null, integrationConfig: null });
  return create(ctx, caller, where, post, own, async (read, scope, env) => {
    const source = environmentIn(scope, post.source.key);
    const at = read.flag.configs[source.key]?.version ?? 0;
    if (post.source.version !== undefined && post.source.version !== at) throw new VexilError("conflict", `The source environment "${source.key}" is at version ${at}, not ${post.source.version}`);
    version = at;
    await decideCopy(ctx, deciding(caller), read, scope, copyOf(source.key, env.key, post.comment, actions), { authorize: false, requireComments: false });
  }, false);
}

/** The request with `caller`'s review added: the checks every review gets, whatever the resource. */
export function reviewed(caller: Caller, env: Pick<EnvironmentRecord, "key">, settings: ApprovalSettings, request: ApprovalRequestRecord, body: { kind: ReviewKind; comment?: string }, now: number): ApprovalRequestRecord {
  if (request.status !== "pending") throw invalidRequest(`The approval request is ${request.status}; it can no longer be reviewed`);
  if (body.kind !== "comment" && !settings.canReviewOwnRequest && actorId(caller) === actorId(request.requestor)) {
    throw forbidden(`The environment "${env.key}" does not let a requestor review their own approval request (canReviewOwnRequest is false)`);
  }
  const review: ApprovalReview = {
    _id: resourceId(),
    kind: body.kind,
    creationDate: now,
    ...(body.comment !== undefined ? { comment: body.comment } : {}),
    ...(caller.memberId ? { memberId: caller.memberId } : caller.tokenId ? { serviceTokenId: caller.tokenId } : {}),
  };
  return { ...request, reviews: [...request.reviews, review], version: request.version + 1 };
}

/** Refuses an apply that was done, or that the request's reviews (under the settings as they are now) do not allow yet. */
export function checkApplicable(request: ApprovalRequestRecord, settings: ApprovalSettings): void {
  if (request.status !== "pending") throw invalidRequest(`The approval request is already ${request.status}`);
  if (applicable(request.reviews, settings)) return;
  const status = reviewStatusOf(request.reviews, settings);
  throw invalidRequest(
    status === "declined"
      ? `The approval request was declined${settings.canApplyDeclinedChanges ? " and has no approval" : ", and the environment does not allow applying declined changes"}`
      : `The approval request needs ${settings.minNumApprovals} approval(s) before it can be applied; it has ${approvers(request.reviews)}`,
  );
}

/** The request as applied by `caller`. */
export const appliedBy = (caller: Caller, request: ApprovalRequestRecord, now: number): ApprovalRequestRecord => ({ ...request, version: request.version + 1, status: "completed", appliedDate: now, appliedBy: creatorOf(caller) });

/** `POST …/reviews`: `approve`, `decline` or `comment`. */
export async function reviewFlagApproval(ctx: FlagsContext, caller: Caller, where: Where, id: string, body: { kind: ReviewKind; comment?: string }, generic = false): Promise<ApprovalRep> {
  const made = await changeRequest(ctx, caller, where, id, "reviewApprovalRequest", async ({ read, scope, env, request }) => {
    const now = ctx.now();
    const next = reviewed(caller, env, approvalSettingsOf(env), request, body, now);
    const verb = { approve: "approved a change to the flag", decline: "declined a change to the flag", comment: "commented on a requested change to the flag" }[body.kind];
    return { write: requestWrite(read, stepAudit(caller, scope, env, read, now, verb, "reviewApprovalRequest", next, body.comment), [next]), result: { request: next, env } };
  });
  return answer(made, generic);
}

/** `POST …/apply`: applies an approved request, as one change of the flag through the write path. */
export async function applyFlagApproval(ctx: FlagsContext, caller: Caller, where: Where, id: string, body: { comment?: string }, generic = false): Promise<ApprovalRep> {
  const made = await changeRequest(ctx, caller, where, id, "applyApprovalRequest", async ({ read, scope, env, request }) => {
    checkApplicable(request, approvalSettingsOf(env));
    const now = ctx.now();
    const current = flagDocument(read.flag);
    const operatingOn = await scheduledChangeOf(ctx, request);
    const conflicts = conflictsOf(request, current, scope.envs.map((e) => e.key), now, operatingOn);
    if (conflicts.length > 0) {
      throw invalidRequest(`The approval request conflicts with changes made since it was made: ${conflicts.map((c) => c.reason).join("; ")}. Nothing was applied; delete it and make a new one`);
    }
    const done = appliedBy(caller, request, now);
    const approved = { approved: { requestId: request.id } };
    const comment = body.comment ?? request.comment;
    const note = (audit: FlagWrite["audit"]) => ({
      ...audit,
      accesses: [...audit.accesses, { action: "applyApprovalRequest", resource: `proj/${scope.project.key}:env/${env.key}:flag/${read.flag.key}` }],
      description: `Applied approval request ${request.id} of ${request.requestor.memberEmail ?? request.requestor.tokenName ?? actorId(request.requestor)}: ${request.description}`,
    });
    if (operatingOn) {
      // The edit or deletion of the scheduled change, which then runs as approved by this request.
      const edit = await decideOperatingOn(ctx, caller, read, scope, env, operatingOn, request.instructions, comment ?? undefined);
      const made = edit.deleted
        ? deletion(caller, scope, env, read, now, operatingOn, comment ?? undefined)
        : itemEditWrite(caller, scope, env, read, now, { ...edit.next, approval: { requestId: request.id } }, comment ?? undefined);
      const write: FlagWrite = { ...made, audit: note(made.audit), approvals: { put: [done] }, gate: { ...made.gate, ...approved } };
      return { write, result: { request: done, env, dueAt: edit.deleted ? undefined : edit.next.dueAt } };
    }
    if (request.executionDate !== null) {
      // An approved request for a scheduled change makes the scheduled change, which runs as it.
      const item = newItem(
        caller,
        now,
        { kind: "flagChange", projectId: scope.project.id, projectKey: scope.project.key, environmentId: env.id, environmentKey: env.key, flagId: read.flag.id, resourceKey: read.flag.key, dueAt: request.executionDate },
        { instructions: request.instructions, comment: comment ?? null, approval: { requestId: request.id } },
      );
      const scheduled: ApprovalRequestRecord = { ...done, status: "scheduled", scheduledChangeId: item.id };
      const audit = note(stepAudit(caller, scope, env, read, now, "applied an approval request, scheduling a change to the flag", "createScheduledChanges", scheduled, comment));
      return { write: { ...scheduleUpdate(read, audit, { put: [item] }, approved), approvals: { put: [scheduled] } }, result: { request: scheduled, env, dueAt: item.dueAt } };
    }
    const decided =
      request.kind === "copy"
        ? await decideCopy(ctx, deciding(caller), read, scope, copyOf(request.source!.key, env.key, comment ?? undefined, request.copyActions ?? {}), { authorize: false, requireComments: false })
        : await decidePatch(ctx, deciding(caller), read, scope, { format: "semantic", instructions: request.instructions, environmentKey: env.key, comment: comment ?? undefined }, { requireComments: false });
    if (decided.write?.kind === "delete") throw invalidRequest("The approval request would delete the flag");
    const write: FlagWrite = decided.write
      ? { ...decided.write, audit: note(decided.write.audit), approvals: { put: [done] }, gate: approved }
      : requestWrite(read, note(stepAudit(caller, scope, env, read, now, "applied an approval request that changed nothing, as it already was, in the flag", "applyApprovalRequest", done, comment)), [done]);
    return { write, result: { request: done, env, dueAt: undefined as number | undefined } };
  });
  ctx.committed?.();
  if (made.dueAt !== undefined) ctx.scheduled?.(made.dueAt);
  return answer(made, generic);
}

/** `DELETE …/approval-requests/{id}`. */
export async function deleteFlagApproval(ctx: FlagsContext, caller: Caller, where: Where, id: string): Promise<void> {
  await changeRequest(ctx, caller, where, id, "deleteApprovalRequest", async ({ read, scope, env, request }) => ({
    write: requestWrite(read, stepAudit(caller, scope, env, read, ctx.now(), "deleted an approval request of the flag", "deleteApprovalRequest", request), [], [request.id]),
    result: undefined,
  }));
}
