/**
 * Patching a flag, in every format: what a PATCH decides (`decidePatch`), shared by the API call
 * and by the execution of a scheduled change, which applies its instructions the same way.
 */
import { auditEntry, patchChange } from "@vexil/shared/audit/audit";
import type { Caller } from "@vexil/shared/caller";
import { authorizeRead } from "@vexil/shared/caller";
import { VexilError, invalidRequest } from "@vexil/shared/errors";
import { keptJsonShallow } from "@vexil/shared/http/json-answer";
import { applyPatch, parsePatchRequest, type PatchRequest } from "@vexil/shared/patch";
import type { FlagRecord, FlagWrite } from "../../storage/flag-store.ts";
import type { ScheduleWrite } from "../../storage/schedule-store.ts";
import type { FlagsContext } from "../context.ts";
import type { Decision } from "../unit-of-work.ts";
import { FLAG_ENV_FIELD_ACTIONS, FLAG_FIELD_ACTIONS } from "./access.ts";
import { authorizeActions, changeFlag, changesOf, deletionAudit, deletionsOf, flagUpdate, requireComments, stamp, type Scope, type Scoped } from "./change.ts";
import { withFlagIds } from "./ids.ts";
import { newId, type Flag } from "./model.ts";
import { EMPTY_GRAPH, graphAround, prerequisiteKeys } from "./prerequisite-graph.ts";
import { flagDocument, flagRep, heldAnswers, type FlagRep } from "./representation.ts";
import { applyInstructions } from "./semantic-patch.ts";
import { validateFlag } from "./validate.ts";

/** Fields a JSON Patch or merge patch may not change. */
const READ_ONLY_FLAG = ["key", "kind", "creationDate", "_version"] as const;
const READ_ONLY_ENV = ["salt", "sel", "version", "lastModified"] as const;

function changedFields(before: object, after: object, fields: Record<string, string>): string[] {
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  return Object.keys(fields).filter((f) => !Bun.deepEquals(b[f], a[f], true));
}

/**
 * Applies a JSON Patch or merge patch to the flag document; refuses changes to read-only fields
 * and to the set of environments. Unknown fields, at any level, are left to `validateFlag`.
 */
function patchDocument(current: Flag, request: PatchRequest): { flag: Flag; actions: Set<string>; envs: string[] } {
  const patched = applyPatch(current, request);
  if (typeof patched !== "object" || patched === null || Array.isArray(patched)) throw invalidRequest("The patch must leave an object");
  const next = patched as Flag;
  for (const k of READ_ONLY_FLAG) if (!Bun.deepEquals(next[k], current[k], true)) throw invalidRequest(`"${k}" is read-only and cannot be changed`);
  if (typeof next.environments !== "object" || next.environments === null || Array.isArray(next.environments)) throw invalidRequest("environments must be an object");
  const envKeys = Object.keys(current.environments).sort();
  if (!Bun.deepEquals(Object.keys(next.environments).sort(), envKeys)) throw invalidRequest("Environments cannot be added or removed through a flag patch");
  const actions = new Set<string>(changedFields(current, next, FLAG_FIELD_ACTIONS).map((f) => FLAG_FIELD_ACTIONS[f]!));
  const envs: string[] = [];
  for (const key of envKeys) {
    const before = current.environments[key]!;
    const after = next.environments[key];
    if (typeof after !== "object" || after === null || Array.isArray(after)) throw invalidRequest(`environments.${key} must be an object`);
    for (const k of READ_ONLY_ENV) {
      if (!Bun.deepEquals(after[k], before[k], true)) throw invalidRequest(k === "salt" ? "Flag salt cannot be modified" : `"environments.${key}.${k}" is read-only and cannot be changed`);
    }
    const fields = changedFields(before, after, FLAG_ENV_FIELD_ACTIONS);
    if (fields.length > 0) envs.push(key);
    for (const f of fields) actions.add(FLAG_ENV_FIELD_ACTIONS[f]!);
  }
  return { flag: next, actions, envs };
}

/** Instruction kinds refused or checked while other flags have this one as a prerequisite. */
const DEPENDENT_KINDS = new Set(["removeVariation", "archiveFlag", "deleteFlag"]);
const kindOf = (i: unknown) => (typeof i === "object" && i !== null ? String((i as { kind?: unknown }).kind) : "");

function needsDependents(request: PatchRequest): boolean {
  return request.format === "semantic" && request.instructions.some((i) => DEPENDENT_KINDS.has(kindOf(i)));
}

/** Flags that prerequisite instructions name (read defensively: the instructions are checked later). */
function instructionPrerequisites(request: PatchRequest): string[] {
  if (request.format !== "semantic") return [];
  const keyOf = (o: unknown) => (typeof o === "object" && o !== null && typeof (o as { key?: unknown }).key === "string" ? [(o as { key: string }).key] : []);
  return request.instructions.flatMap((i) => {
    const kind = kindOf(i);
    if (kind === "addPrerequisite" || kind === "updatePrerequisite") return keyOf(i);
    const list = kind === "replacePrerequisites" ? (i as { prerequisites?: unknown }).prerequisites : undefined;
    return Array.isArray(list) ? list.flatMap(keyOf) : [];
  });
}

export interface PatchOptions {
  /** Who the audit entry names as the author, when not the caller: a schedule. */
  actor?: string;
  /** The operation the change is, when it must happen once (the execution of a scheduled item). */
  operationId?: string;
  /** Changes of the flag's scheduled items written with the change. */
  schedule?: ScheduleWrite;
  /** False for the execution of a schedule: `requireComments` asks people for a comment. */
  requireComments?: boolean;
  /** Check every action the patch takes even when it changes nothing (a schedule checked at creation). */
  authorizeAlways?: boolean;
  /** The flag's `_version` the change was made against (`If-Match`); another one is a 409. */
  expectedVersion?: number;
}

/**
 * What a patch of the flag read decides: the write (an update, or a deletion by `deleteFlag`), or
 * nothing to write and the flag as it is. Throws the refusal (400, 403, 409) otherwise.
 */
export async function decidePatch(ctx: FlagsContext, caller: Caller, read: Scoped, scope: Scope, request: PatchRequest, options: PatchOptions = {}): Promise<Decision<FlagWrite, FlagRep | undefined>> {
  const rep = (flag: Flag) => flagRep(flag, { projectKey: scope.project.key, environments: scope.envs, summary: false });
  const by = { actor: options.actor, operationId: options.operationId };
  const current = flagDocument(read.flag);
  const kept = keptAnswers(read, scope);
  if (options.expectedVersion !== undefined && current._version !== options.expectedVersion) {
    throw new VexilError("optimistic_locking_error", `The flag is at version ${current._version}, not ${options.expectedVersion}: someone else changed it; review their change and apply yours again`);
  }
  // The other flags are read only when the change or the result involves prerequisites.
  const named = [...prerequisiteKeys(current), ...instructionPrerequisites(request)];
  let graph = named.length > 0 || needsDependents(request) ? await graphAround(ctx.flags, scope.project.id, current.key, named, needsDependents(request)) : EMPTY_GRAPH;
  const now = ctx.now();
  let next: Flag;
  let actions: Set<string>;
  if (request.format === "semantic") {
    const result = applyInstructions(current, request.instructions, { environmentKey: request.environmentKey, environments: scope.envs.map((e) => e.key), now, lookup: graph.lookup, newId, dependents: graph.dependents });
    if (result.deleted) {
      authorizeActions(caller, scope, current, ["deleteFlag"], []);
      return { write: { kind: "delete", audit: deletionAudit(caller, scope, current, request.comment, now, graph.dependents, by), changes: deletionsOf(current) }, result: undefined };
    }
    next = result.flag;
    actions = new Set(result.actions);
  } else {
    ({ flag: next, actions } = patchDocument(current, request));
  }
  // A patch may name prerequisites the graph has not followed yet.
  const after = prerequisiteKeys(next).filter((k) => k !== current.key && !graph.lookup.get(k));
  if (after.length > 0) graph = await graphAround(ctx.flags, scope.project.id, current.key, [...named, ...prerequisiteKeys(next)], needsDependents(request));
  // The whole result is checked before anything else reads it: a patch may leave any field misshapen.
  next = withFlagIds(next, undefined, current);
  validateFlag(next, graph.lookup, current);
  const changedEnvs = stamp(current, next, now);
  const envKeys = request.format === "semantic" && request.environmentKey ? [request.environmentKey] : changedEnvs;
  if (changedEnvs.length === 0 && Bun.deepEquals({ ...next, _version: current._version }, current, true)) {
    if (options.authorizeAlways) authorizeActions(caller, scope, current, actions, envKeys);
    return { result: kept?.answerOf(read.flag) ?? rep(current) };
  }
  authorizeActions(caller, scope, current, actions, envKeys);
  if (options.requireComments !== false) requireComments(scope, changedEnvs, request.comment);
  // Kept with the cache's records: its JSON is encoded once, for the audit entry and the HTTP
  // answer, and it is the next change's representation before. Frozen at its top only: its
  // targeting and fields are the written record's, which the cache freezes once written, and
  // nobody changes the representation's own parts.
  const before = kept?.answerOf(read.flag);
  const answer = kept ? keptJsonShallow(flagRep(next, { projectKey: scope.project.key, environments: scope.envs, summary: false }, before && { flag: current, rep: before })) : rep(next);
  const audit = auditEntry({
    caller,
    kind: "flag",
    spec: `proj/${scope.project.key}:env/${changedEnvs.length === 1 ? changedEnvs[0] : "*"}:flag/${current.key}`,
    name: next.name,
    actions: [...actions],
    ...patchChange(request, "flag", { previous: before ?? rep(current), current: answer }, { previous: current._version, current: next._version }, now),
    ...by,
  });
  const write = flagUpdate(read, scope, current, next, audit, changesOf(next, changedEnvs), options.schedule);
  kept?.keep(write.kind === "update" ? write.flag : undefined, answer);
  return { write, result: answer };
}

/**
 * The representations of a flag's versions, when the flag and its environments come from the
 * cache (frozen: the same objects until they change). A write's answer is the representation of
 * the record it writes, which the cache keeps, frozen, once written: the next change of the flag
 * finds its representation before there instead of building it again, and so do reads.
 */
function keptAnswers(read: Scoped, scope: Scope) {
  if (!Object.isFrozen(read.flag) || !Object.isFrozen(scope.envs)) return undefined;
  const projectKey = scope.project.key;
  return {
    answerOf(record: FlagRecord): FlagRep | undefined {
      const held = heldAnswers(record, scope.envs).get("");
      return held?.projectKey === projectKey ? held.rep : undefined;
    },
    keep(record: FlagRecord | undefined, rep: FlagRep): void {
      if (record) heldAnswers(record, scope.envs).set("", { projectKey, rep });
    },
  };
}

/** The `_version` an `If-Match` header names (`"12"`, `W/"12"` or `12`); `*` or none: any. */
export function expectedVersionOf(ifMatch: string | null): number | undefined {
  if (ifMatch === null || ifMatch.trim() === "*") return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(ifMatch);
  if (!m) throw invalidRequest('If-Match must name the flag\'s _version, such as "12"');
  return Number(m[1]);
}

export async function patchFlag(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, body: unknown, contentType: string | null, ifMatch: string | null = null): Promise<FlagRep | undefined> {
  const request = parsePatchRequest(body, contentType);
  const expectedVersion = expectedVersionOf(ifMatch);
  authorizeRead(caller);
  const result = await changeFlag<FlagRep | undefined>(ctx, caller, projectKey, flagKey, (read, scope) => decidePatch(ctx, caller, read, scope, request, { expectedVersion }));
  ctx.committed?.();
  return result;
}
