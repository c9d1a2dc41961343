/**
 * Scheduled flag changes (LaunchDarkly's `FeatureFlagScheduledChange`): flag semantic-patch
 * instructions to apply in one environment at a time. Each is checked when made and edited against
 * the flag as it is then (the instructions are run on it, nothing written) and again when it runs
 * (`execute.ts`). One that changes what another pending change of the flag and environment changes
 * (`conflicts.ts`) is refused unless `ignoreConflicts`, and then keeps the conflicts it has.
 *
 * Every change of a scheduled change is a change of its flag (`changeFlag`): its audit entry is the
 * flag's, and it raises the flag's `_version` (not the environments': SDKs see nothing until it runs).
 */
import { auditEntry } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, can, type Caller } from "@vexil/shared/caller";
import { BYPASS_REQUIRED_APPROVAL } from "@vexil/shared/policy";
import { VexilError, invalidRequest, notFound } from "@vexil/shared/errors";
import { link } from "@vexil/shared/http/links";
import { parsePatchRequest } from "@vexil/shared/patch";
import type { EnvironmentRecord } from "../../storage/project-store.ts";
import type { Conflict, ScheduledItem } from "../../storage/schedule-store.ts";
import type { FlagsContext } from "../context.ts";
import { environmentIn, flagItemsIn } from "./flag-items.ts";
import { newItem } from "./new-item.ts";
import { flagResource } from "../flags/access.ts";
import { changeFlag, scheduleUpdate, type Scope, type Scoped } from "../flags/change.ts";
import { decidePatch } from "../flags/patch-flag.ts";
import { conflictsOf } from "./conflicts.ts";
import { approvalRequired } from "../approvals/settings.ts";
import { applyScheduledChangeInstructions, executionDate, flagInstructions } from "./scheduled-change-patch.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";

export const scheduledChangesPath = (projectKey: string, flagKey: string, envKey: string) =>
  `/api/v2/projects/${encodeURIComponent(projectKey)}/flags/${encodeURIComponent(flagKey)}/environments/${encodeURIComponent(envKey)}/scheduled-changes`;

export interface ScheduledChangeRep {
  _id: string;
  _creationDate: number;
  _maintainerId: string;
  _version: number;
  executionDate: number;
  instructions: unknown[];
  conflicts?: Conflict[];
  /** Only when it could not be applied at its time: when, and why. It runs again only if edited. */
  _failure?: { date: number; reason: string };
  _links: Record<string, { href: string; type: string }>;
}

export function scheduledChangeRep(item: ScheduledItem): ScheduledChangeRep {
  const path = scheduledChangesPath(item.projectKey, item.resourceKey, item.environmentKey);
  return {
    _id: item.id,
    _creationDate: item.createdAt,
    _maintainerId: item.creator.memberId ?? item.creator.tokenId ?? "",
    _version: item.version,
    executionDate: item.dueAt,
    instructions: item.instructions ?? [],
    ...(item.conflicts && item.conflicts.length > 0 ? { conflicts: item.conflicts } : {}),
    ...(item.failure ? { _failure: item.failure } : {}),
    _links: { self: link(`${path}/${encodeURIComponent(item.id)}`), parent: link(path) },
  };
}

export interface ScheduledChangePost {
  executionDate: number;
  instructions: unknown[];
  comment?: string;
}

/** `ignoreConflicts` as the query gives it. */
export function ignoreConflictsParam(value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  throw invalidRequest("ignoreConflicts must be true or false");
}

const pendingIn = (ctx: FlagsContext, envKey: string) => flagItemsIn(ctx, envKey, "flagChange");

/** A refusal of the whole request, from the readers' refusals (which name no instruction here). */
function checked<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof VexilError) throw e;
    throw invalidRequest((e as Error).message);
  }
}

/**
 * What a scheduled change is checked for whenever it is made or edited: a date to come, a comment
 * where the environment wants one, instructions the flag as it is takes (and the caller may take),
 * and conflicts with the other pending changes. Returns the conflicts to keep.
 */
async function check(ctx: FlagsContext, caller: Caller, read: Scoped, scope: Scope, env: EnvironmentRecord, change: ScheduledChangePost, others: ScheduledItem[], self: string | undefined, ignoreConflicts: boolean): Promise<Conflict[]> {
  if (change.executionDate <= ctx.now()) throw invalidRequest(`executionDate: ${change.executionDate} is not in the future`);
  if (env.requireComments && !change.comment) throw invalidRequest(`The environment "${env.key}" requires a comment on every change`);
  await decidePatch(ctx, caller, read, scope, { format: "semantic", instructions: change.instructions, environmentKey: env.key, comment: change.comment }, { authorizeAlways: true, requireComments: false });
  const conflicts = conflictsOf(change.instructions, others, self);
  if (conflicts.length > 0 && !ignoreConflicts) {
    const [first] = conflicts;
    throw invalidRequest(`The instructions conflict with scheduled change ${first!._id}: ${first!.reason}. Send ignoreConflicts=true to schedule them anyway`);
  }
  return conflicts;
}

/**
 * True when approvals are required for the flag here and the caller may bypass them: the change it
 * schedules then runs at its time without one (the gate lets the scheduling itself through and
 * records the bypass).
 */
const bypassing = (caller: Caller, scope: Scope, env: EnvironmentRecord, read: Scoped) =>
  approvalRequired(env, read.flag.doc) && can(caller, BYPASS_REQUIRED_APPROVAL, flagResource(scope.project, env, read.flag.doc));

const audited = (caller: Caller, scope: Scope, env: EnvironmentRecord, read: Scoped, now: number, verb: string, action: string, item: ScheduledItem, comment?: string) =>
  auditEntry({
    caller,
    kind: "flag",
    spec: `proj/${scope.project.key}:env/${env.key}:flag/${read.flag.key}`,
    name: read.flag.doc.name,
    verb,
    actions: [action],
    comment,
    delta: scheduledChangeRep(item),
    previousVersion: read.flag.version,
    currentVersion: read.flag.version + 1,
    now,
  });

export async function listScheduledChanges(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, envKey: string) {
  authorizeRead(caller);
  const found = await ctx.flags.flagInScope(projectKey, flagKey);
  if (!found) throw notFound(`Project "${projectKey}"`);
  if (!found.flag) throw notFound(`Flag "${flagKey}" in project "${projectKey}"`);
  const env = environmentIn({ project: found.project, envs: found.environments }, envKey);
  const items = await ctx.schedules.flagItems(found.flag.id, env.id, "flagChange");
  return { items: items.map(scheduledChangeRep), _links: { self: link(scheduledChangesPath(projectKey, flagKey, envKey)) } };
}

export async function getScheduledChange(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, envKey: string, id: string): Promise<ScheduledChangeRep> {
  authorizeRead(caller);
  const found = await ctx.flags.flagInScope(projectKey, flagKey);
  if (!found) throw notFound(`Project "${projectKey}"`);
  if (!found.flag) throw notFound(`Flag "${flagKey}" in project "${projectKey}"`);
  const env = environmentIn({ project: found.project, envs: found.environments }, envKey);
  const item = await ctx.schedules.item(id);
  if (!item || item.kind !== "flagChange" || item.flagId !== found.flag.id || item.environmentId !== env.id) throw notFound(`Scheduled change "${id}"`);
  return scheduledChangeRep(item);
}

export async function createScheduledChange(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, envKey: string, post: ScheduledChangePost, ignoreConflicts: boolean): Promise<ScheduledChangeRep> {
  authorizeRead(caller);
  // The checks every semantic patch body gets (no `__proto__` keys anywhere).
  parsePatchRequest({ instructions: post.instructions }, SEMANTIC);
  const change = { ...post, executionDate: checked(() => executionDate(post.executionDate, "executionDate")), instructions: checked(() => flagInstructions(post.instructions, "instructions")) };
  const item = await changeFlag<ScheduledItem, ScheduledItem[]>(
    ctx,
    caller,
    projectKey,
    flagKey,
    async (read, scope, others) => {
      const env = environmentIn(scope, envKey);
      authorize(caller, "createScheduledChanges", flagResource(scope.project, env, read.flag.doc));
      const conflicts = await check(ctx, caller, read, scope, env, change, others, undefined, ignoreConflicts);
      const now = ctx.now();
      const item = newItem(
        caller,
        now,
        { kind: "flagChange", projectId: scope.project.id, projectKey: scope.project.key, environmentId: env.id, environmentKey: env.key, flagId: read.flag.id, resourceKey: read.flag.key, dueAt: change.executionDate },
        { instructions: change.instructions, comment: change.comment ?? null, conflicts: conflicts.length > 0 ? conflicts : null, approval: bypassing(caller, scope, env, read) ? { bypassed: true } : null },
      );
      const audit = audited(caller, scope, env, read, now, "scheduled a change to the flag", "createScheduledChanges", item, change.comment);
      return { write: scheduleUpdate(read, audit, { put: [item] }, { environments: [env.key] }), result: item };
    },
    pendingIn(ctx, envKey),
  );
  ctx.scheduled?.(item.dueAt);
  return scheduledChangeRep(item);
}

/** The write that deletes a scheduled change, audited (by `deleteScheduledChange` or the `deleteScheduledChange` instruction). */
export function deletion(caller: Caller, scope: Scope, env: EnvironmentRecord, read: Scoped, now: number, item: ScheduledItem, comment?: string) {
  return scheduleUpdate(read, audited(caller, scope, env, read, now, "deleted a scheduled change of the flag", "deleteScheduledChanges", item, comment), { remove: [item.id] }, { environments: [env.key] });
}

/** What edit instructions do to a scheduled change: delete it, or its next version (not yet given its `approval`). */
export type ItemEdit = { deleted: true; actions: string[] } | { deleted: false; actions: string[]; next: ScheduledItem };

/**
 * Runs scheduled-change instructions on `item` and checks the result as a new change is checked
 * (`check`): by `patchScheduledChange`, and by an approval request that names the item in
 * `operatingOnId`, when it is made and when it is applied.
 */
export async function decideItemEdit(ctx: FlagsContext, caller: Caller, read: Scoped, scope: Scope, env: EnvironmentRecord, item: ScheduledItem, others: ScheduledItem[], instructions: unknown, comment: string | undefined, ignoreConflicts: boolean): Promise<ItemEdit> {
  const { draft, actions } = applyScheduledChangeInstructions({ executionDate: item.dueAt, instructions: item.instructions ?? [] }, instructions);
  if (draft.deleted) return { deleted: true, actions };
  const change = { executionDate: draft.executionDate, instructions: draft.instructions, comment: comment ?? item.comment ?? undefined };
  const conflicts = await check(ctx, caller, read, scope, env, change, others, item.id, ignoreConflicts);
  const next: ScheduledItem = { ...item, dueAt: change.executionDate, instructions: change.instructions, version: item.version + 1, status: "pending", failure: null, conflicts: conflicts.length > 0 ? conflicts : null };
  return { deleted: false, actions, next };
}

/** The write that edits a scheduled change, audited. */
export function itemEditWrite(caller: Caller, scope: Scope, env: EnvironmentRecord, read: Scoped, now: number, next: ScheduledItem, comment?: string) {
  return scheduleUpdate(read, audited(caller, scope, env, read, now, "updated a scheduled change of the flag", "updateScheduledChanges", next, comment), { put: [next] }, { environments: [env.key] });
}

/**
 * Edits a scheduled change by semantic patch (`replaceScheduledChangesInstructions`,
 * `updateScheduledChangesExecutionDate`, `deleteScheduledChange`). An edited change is checked
 * as a new one is; a failed one edited is pending again. After `deleteScheduledChange` the answer
 * is the change as it was.
 */
export async function patchScheduledChange(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, envKey: string, id: string, body: unknown, contentType: string | null, ignoreConflicts: boolean): Promise<ScheduledChangeRep> {
  const request = parsePatchRequest(body, contentType);
  if (request.format !== "semantic") throw invalidRequest("A scheduled change is edited by semantic patch: send Content-Type: application/json; domain-model=launchdarkly.semanticpatch");
  authorizeRead(caller);
  const item = await changeFlag<ScheduledItem, ScheduledItem[]>(
    ctx,
    caller,
    projectKey,
    flagKey,
    async (read, scope, others) => {
      const env = environmentIn(scope, envKey);
      const item = others.find((i) => i.id === id);
      if (!item) throw notFound(`Scheduled change "${id}"`);
      // The actions are authorized before the edited instructions are checked against the flag.
      authorize(caller, applyScheduledChangeInstructions({ executionDate: item.dueAt, instructions: item.instructions ?? [] }, request.instructions).actions, flagResource(scope.project, env, read.flag.doc));
      const now = ctx.now();
      const comment = request.comment;
      const edit = await decideItemEdit(ctx, caller, read, scope, env, item, others, request.instructions, comment, ignoreConflicts);
      if (edit.deleted) return { write: deletion(caller, scope, env, read, now, item, comment), result: item };
      const next: ScheduledItem = { ...edit.next, approval: bypassing(caller, scope, env, read) ? { bypassed: true as const } : item.approval };
      return { write: itemEditWrite(caller, scope, env, read, now, next, comment), result: next };
    },
    pendingIn(ctx, envKey),
  );
  ctx.scheduled?.(item.dueAt);
  return scheduledChangeRep(item);
}

export async function deleteScheduledChange(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, envKey: string, id: string): Promise<void> {
  authorizeRead(caller);
  await changeFlag<void, ScheduledItem[]>(
    ctx,
    caller,
    projectKey,
    flagKey,
    async (read, scope, others) => {
      const env = environmentIn(scope, envKey);
      const item = others.find((i) => i.id === id);
      if (!item) throw notFound(`Scheduled change "${id}"`);
      authorize(caller, "deleteScheduledChanges", flagResource(scope.project, env, read.flag.doc));
      return { write: deletion(caller, scope, env, read, ctx.now(), item), result: undefined };
    },
    pendingIn(ctx, envKey),
  );
}
