/**
 * Expiring targets of flags: the date each individually targeted context is to be removed from a
 * flag's targeting in one environment, read and changed per flag (`…/flags/{p}/{f}/expiring-targets/
 * {e}`, and the legacy user form) or per user across flags (`/users/{p}/{userKey}/…`). A change of
 * them is a change of the flag (`changeFlag`): its audit entry is the flag's and it raises the
 * flag's `_version`, not the environments' (SDKs see nothing until a target is removed).
 */
import { auditEntry } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { VexilError, invalidRequest, notFound } from "@vexil/shared/errors";
import { parsePatchRequest } from "@vexil/shared/patch";
import type { EnvironmentRecord } from "../../storage/project-store.ts";
import type { ScheduledItem } from "../../storage/schedule-store.ts";
import type { FlagsContext } from "../context.ts";
import { environmentIn, flagItemsIn } from "../schedules/flag-items.ts";
import { newItem } from "../schedules/new-item.ts";
import { flagResource } from "../flags/access.ts";
import { changeFlag, scheduleUpdate, type Scope, type Scoped } from "../flags/change.ts";
import { flagDocument } from "../flags/representation.ts";
import { allTargets, kindOf } from "../flags/targets.ts";
import { refuse, runEach, type InstructionError, type InstructionTable } from "../semantic-patch/engine.ts";
import { isRecord } from "../validation.ts";
import { copyDraft, FLAG_CONTEXT_KINDS, FLAG_USER_KINDS, MAX_EXPIRING_INSTRUCTIONS, USER_FLAG_KINDS, type ExpiringDraft, type Where } from "./instructions.ts";
import { expiringTargets, flagExpiringPath, patchAnswer, userExpiringPath } from "./representation.ts";

/** The instructions and comment of an expiring-target PATCH, which is always a semantic patch. */
export function expiringPatch(body: unknown, contentType: string | null): { instructions: unknown[]; comment?: string } {
  const request = parsePatchRequest(body, contentType);
  if (request.format !== "semantic") throw invalidRequest("Expiring targets are changed by semantic patch: send Content-Type: application/json; domain-model=launchdarkly.semanticpatch");
  if (request.instructions.length === 0) throw invalidRequest("instructions: must be a non-empty array");
  if (request.instructions.length > MAX_EXPIRING_INSTRUCTIONS) throw invalidRequest(`instructions: at most ${MAX_EXPIRING_INSTRUCTIONS} in one request, not ${request.instructions.length}`);
  return { instructions: request.instructions, comment: request.comment };
}


const itemsIn = (ctx: FlagsContext, envKey: string) => flagItemsIn(ctx, envKey, "flagExpiry");

/** A draft of the flag's expiring targets in `env`, for the instructions to change. */
function flagDraft(caller: Caller, read: Scoped, scope: Scope, env: EnvironmentRecord, items: ScheduledItem[], now: number, userKey?: string): ExpiringDraft {
  const flag = flagDocument(read.flag);
  const config = flag.environments[env.key];
  return {
    items,
    now,
    userKey,
    checkTargeted(w: Where) {
      const variation = flag.variations.findIndex((v) => v._id === w.variationId);
      if (variation < 0) refuse(`unknown variation "${w.variationId}"`);
      const targeted = config && allTargets(config).some((t) => kindOf(t) === w.contextKind && t.variation === variation && t.values.includes(w.contextKey));
      if (!targeted) refuse(`${w.contextKind} "${w.contextKey}" is not individually targeted by variation "${w.variationId}"; target it first`);
    },
    make: (w, dueAt) =>
      newItem(
        caller,
        now,
        { kind: "flagExpiry", projectId: scope.project.id, projectKey: scope.project.key, environmentId: env.id, environmentKey: env.key, flagId: read.flag.id, resourceKey: read.flag.key, dueAt },
        { contextKind: w.contextKind, contextKey: w.contextKey, variationId: w.variationId ?? null },
      ),
  };
}

interface Applied {
  items: ScheduledItem[];
  errors: InstructionError[];
  earliest: number | undefined;
}

/**
 * Runs `instructions` on the flag's expiring targets in the environment, each on its own, as one
 * change of the flag; errors are indexed by the instructions' places in `instructions`.
 */
function changeFlagExpiring(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, envKey: string, instructions: unknown[], table: InstructionTable<ExpiringDraft>, comment: string | undefined, userKey?: string): Promise<Applied> {
  return changeFlag<Applied, ScheduledItem[]>(
    ctx,
    caller,
    projectKey,
    flagKey,
    async (read, scope, before) => {
      const env = environmentIn(scope, envKey);
      authorize(caller, "updateExpiringTargets", flagResource(scope.project, env, read.flag.doc));
      const now = ctx.now();
      const { draft, errors } = runEach(instructions, table, flagDraft(caller, read, scope, env, before, now, userKey), copyDraft);
      const put = draft.items.filter((i) => !before.includes(i));
      const remove = before.filter((i) => !draft.items.some((x) => x.id === i.id)).map((i) => i.id);
      const result = { items: draft.items, errors, earliest: put.length > 0 ? Math.min(...put.map((i) => i.dueAt)) : undefined };
      if (put.length === 0 && remove.length === 0) return { result };
      if (env.requireComments && !comment) throw invalidRequest(`The environment "${env.key}" requires a comment on every change`);
      const audit = auditEntry({
        caller,
        kind: "flag",
        spec: `proj/${scope.project.key}:env/${env.key}:flag/${read.flag.key}`,
        name: read.flag.doc.name,
        verb: "updated the expiring targets of the flag",
        actions: ["updateExpiringTargets"],
        comment,
        delta: { instructions },
        previousVersion: read.flag.version,
        currentVersion: read.flag.version + 1,
        now,
      });
      // Setting a removal date is gated where approvals are required; the removal, when due, is not.
      return { write: scheduleUpdate(read, audit, { put, remove }, { environments: [env.key] }), result };
    },
    itemsIn(ctx, envKey),
  );
}

async function flagScope(ctx: FlagsContext, projectKey: string, flagKey: string, envKey: string) {
  const found = await ctx.flags.flagInScope(projectKey, flagKey);
  if (!found) throw notFound(`Project "${projectKey}"`);
  if (!found.flag) throw notFound(`Flag "${flagKey}" in project "${projectKey}"`);
  return { flag: found.flag, env: environmentIn({ project: found.project, envs: found.environments }, envKey) };
}

export async function getFlagExpiringTargets(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, envKey: string, users: boolean) {
  authorizeRead(caller);
  const { flag, env } = await flagScope(ctx, projectKey, flagKey, envKey);
  return expiringTargets(await ctx.schedules.flagItems(flag.id, env.id, "flagExpiry"), users, flagExpiringPath(projectKey, flagKey, envKey, users));
}

export async function patchFlagExpiringTargets(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, envKey: string, body: unknown, contentType: string | null, users: boolean) {
  const { instructions, comment } = expiringPatch(body, contentType);
  authorizeRead(caller);
  const applied = await changeFlagExpiring(ctx, caller, projectKey, flagKey, envKey, instructions, users ? FLAG_USER_KINDS : FLAG_CONTEXT_KINDS, comment);
  if (applied.earliest !== undefined) ctx.scheduled?.(applied.earliest);
  return patchAnswer(applied.items, users, flagExpiringPath(projectKey, flagKey, envKey, users), instructions.length, applied.errors);
}

// A user's removal dates across flags.

async function userItems(ctx: FlagsContext, projectKey: string, userKey: string, envKey: string): Promise<ScheduledItem[]> {
  const scope = await ctx.flags.projectScope(projectKey);
  if (!scope) throw notFound(`Project "${projectKey}"`);
  const env = environmentIn({ project: scope.project, envs: scope.environments }, envKey);
  return ctx.schedules.contextItems(env.id, "user", userKey);
}

export async function getUserExpiringTargets(ctx: FlagsContext, caller: Caller, projectKey: string, userKey: string, envKey: string) {
  authorizeRead(caller);
  return expiringTargets(await userItems(ctx, projectKey, userKey, envKey), true, userExpiringPath(projectKey, userKey, envKey));
}

/**
 * A user's removal dates on the flags the instructions name (`flagKey`): one change per flag, in
 * the order the flags are first named. An instruction whose flag cannot be changed (none by that
 * key, or not by this caller) fails alone, like any other.
 */
export async function patchUserExpiringTargets(ctx: FlagsContext, caller: Caller, projectKey: string, userKey: string, envKey: string, body: unknown, contentType: string | null) {
  const { instructions, comment } = expiringPatch(body, contentType);
  authorizeRead(caller);
  await userItems(ctx, projectKey, userKey, envKey);
  const errors: InstructionError[] = [];
  const byFlag = new Map<string, number[]>();
  instructions.forEach((instruction, i) => {
    if (!isRecord(instruction) || typeof instruction.kind !== "string" || !Object.hasOwn(USER_FLAG_KINDS, instruction.kind)) {
      throw invalidRequest(`instruction ${i}: must be an object with a kind of ${Object.keys(USER_FLAG_KINDS).join(", ")}`);
    }
    const flagKey = instruction.flagKey;
    if (typeof flagKey !== "string" || flagKey === "") errors.push({ instructionIndex: i, message: `${instruction.kind}: flagKey must be a non-empty string` });
    else byFlag.set(flagKey, [...(byFlag.get(flagKey) ?? []), i]);
  });
  let earliest: number | undefined;
  for (const [flagKey, indexes] of byFlag) {
    try {
      const applied = await changeFlagExpiring(ctx, caller, projectKey, flagKey, envKey, indexes.map((i) => instructions[i]), USER_FLAG_KINDS, comment, userKey);
      for (const e of applied.errors) errors.push({ ...e, instructionIndex: indexes[e.instructionIndex]! });
      if (applied.earliest !== undefined) earliest = Math.min(earliest ?? Infinity, applied.earliest);
    } catch (e) {
      if (!(e instanceof VexilError) || e.status >= 500) throw e;
      for (const i of indexes) errors.push({ instructionIndex: i, message: `${(instructions[i] as { kind: string }).kind}: ${e.message}` });
    }
  }
  if (earliest !== undefined) ctx.scheduled?.(earliest);
  errors.sort((a, b) => a.instructionIndex - b.instructionIndex);
  return patchAnswer(await userItems(ctx, projectKey, userKey, envKey), true, userExpiringPath(projectKey, userKey, envKey), instructions.length, errors);
}
