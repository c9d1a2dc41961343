/**
 * Flag use cases: list, create (or clone), read, patch in every format, delete. Every write ends
 * in one validation of the whole document and one audit entry, written with the change.
 */
import { cloneJson } from "@vexil/shared/json-clone";
import { auditEntry, patchChange } from "@vexil/shared/audit/audit";
import type { PendingChange } from "@vexil/shared/change-events";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { VexilError, invalidRequest, notFound } from "@vexil/shared/errors";
import { pageLinks, parsePage } from "@vexil/shared/http/links";
import { resourceId } from "@vexil/shared/ids";
import { applyPatch, parsePatchRequest, type PatchRequest } from "@vexil/shared/patch";
import { StaleRead, type FlagOutcome, type FlagQuery, type FlagRecord, type FlagSortField, type RecentRead } from "../../storage/flag-store.ts";
import type { EnvironmentRecord, ProjectRecord } from "../../storage/project-store.ts";
import type { FlagsContext } from "../context.ts";
import { ENVIRONMENT_ACTIONS, FLAG_ENV_FIELD_ACTIONS, FLAG_FIELD_ACTIONS, flagResource } from "./access.ts";
import { defaultEnvironment, newId, type Flag, type FlagEnvironment } from "./model.ts";
import { flagDocument, flagRep, flagsPath, type FlagRep } from "./representation.ts";
import type { FlagCopy, FlagPost } from "./schemas.ts";
import { sdkFlag } from "./sdk-format.ts";
import { applyInstructions } from "./semantic-patch.ts";
import { validateFlag, type FlagLookup } from "./validate.ts";

interface Scope {
  project: ProjectRecord;
  envs: EnvironmentRecord[];
}

async function scopeOf(ctx: FlagsContext, projectKey: string): Promise<Scope> {
  const scope = await ctx.store.projectScope(projectKey);
  if (!scope) throw notFound(`Project "${projectKey}"`);
  return { project: scope.project, envs: scope.environments };
}

/** The project's scope and the flag, in one read (for a change, `recent`: perhaps from this instance's memory). */
async function flagInScope(ctx: FlagsContext, projectKey: string, flagKey: string, recent = false): Promise<{ scope: Scope; flag: FlagRecord | undefined; recent?: RecentRead }> {
  const found = await ctx.flags.flagInScope(projectKey, flagKey, { recent });
  if (!found) throw notFound(`Project "${projectKey}"`);
  return { scope: { project: found.project, envs: found.environments }, flag: found.flag, recent: found.recent };
}

async function lookupFor(ctx: FlagsContext, scope: Scope, except?: string): Promise<FlagLookup> {
  const all = new Map((await ctx.flags.projectFlags(scope.project.id)).filter((f) => f.key !== except).map((f) => [f.key, flagDocument(f)]));
  return { get: (key) => all.get(key) };
}

function parseEnvParam(scope: Scope, env: string | string[] | undefined): Set<string> | undefined {
  if (env === undefined || env === "") return undefined;
  const keys = (Array.isArray(env) ? env : [env]).flatMap((e) => e.split(",")).filter(Boolean);
  for (const k of keys) if (!scope.envs.some((e) => e.key === k)) throw invalidRequest(`env: no environment "${k}" in project "${scope.project.key}"`);
  return new Set(keys);
}

/** Checks an action on every environment it concerns (all of them for flag-wide actions). */
function authorizeActions(caller: Caller, scope: Scope, flag: Pick<Flag, "key" | "tags">, actions: Iterable<string>, envKeys: string[]): void {
  for (const action of actions) {
    const targets = ENVIRONMENT_ACTIONS.has(action) && envKeys.length > 0 ? scope.envs.filter((e) => envKeys.includes(e.key)) : scope.envs;
    if (targets.length === 0) authorize(caller, action, flagResource(scope.project, undefined, flag));
    for (const env of targets) authorize(caller, action, flagResource(scope.project, env, flag));
  }
}

const FILTERS = ["query", "tags", "state", "type", "sdkAvailability", "maintainerId", "filterEnv"];
const SORTS: FlagSortField[] = ["key", "name", "creationDate", "maintainerId", "type"];

export interface FlagListParams {
  env?: string | string[];
  tag?: string;
  limit?: string;
  offset?: string;
  archived?: string;
  summary?: string;
  filter?: string;
  sort?: string;
}

export async function listFlags(ctx: FlagsContext, caller: Caller, projectKey: string, params: FlagListParams) {
  authorizeRead(caller);
  const scope = await scopeOf(ctx, projectKey);
  const q: FlagQuery = { ...parsePage(params), sort: { field: "key", descending: false } };
  let only = parseEnvParam(scope, params.env);
  for (const part of (params.filter ?? "").split(",").filter(Boolean)) {
    const colon = part.indexOf(":");
    const name = colon < 0 ? part : part.slice(0, colon);
    const value = colon < 0 ? "" : part.slice(colon + 1);
    if (!FILTERS.includes(name)) throw invalidRequest(`Unknown filter "${name}"; filters here are ${FILTERS.join(", ")}`);
    if (!value) throw invalidRequest(`The filter "${name}" needs a value`);
    if (name === "query") q.query = value;
    else if (name === "tags") q.tags = value.split(/[+ ]/).filter(Boolean);
    else if (name === "maintainerId") q.maintainerId = value;
    else if (name === "filterEnv") only = parseEnvParam(scope, value);
    else if (name === "state") {
      if (!["live", "deprecated", "archived"].includes(value)) throw invalidRequest("state must be live, deprecated or archived");
      q.state = value as FlagQuery["state"];
    } else if (name === "type") {
      if (!["temporary", "permanent"].includes(value)) throw invalidRequest("type must be temporary or permanent");
      q.type = value as FlagQuery["type"];
    } else if (name === "sdkAvailability") {
      if (!["client", "mobile", "anyClient", "server"].includes(value)) throw invalidRequest("sdkAvailability must be client, mobile, anyClient or server");
      q.sdkAvailability = value as FlagQuery["sdkAvailability"];
    }
  }
  if (params.tag) q.tags = [...(q.tags ?? []), params.tag];
  if (params.archived !== undefined) {
    if (params.archived !== "true" && params.archived !== "false") throw invalidRequest("archived must be true or false");
    if (params.archived === "true") q.state = "archived";
  }
  if (params.summary !== undefined && !["0", "1", "true", "false"].includes(params.summary)) throw invalidRequest("summary must be 0 or 1");
  const summary = !(params.summary === "0" || params.summary === "false");
  if (params.sort) {
    const descending = params.sort.startsWith("-");
    const field = (descending ? params.sort.slice(1) : params.sort) as FlagSortField;
    if (!SORTS.includes(field)) throw invalidRequest(`Unknown sort "${params.sort}"; sort by ${SORTS.join(", ")} (prefix - for descending)`);
    q.sort = { field, descending };
  }
  const { items, total } = await ctx.flags.listFlags(scope.project.id, q);
  const query = { env: typeof params.env === "string" ? params.env : params.env?.join(","), tag: params.tag, archived: params.archived, summary: params.summary, filter: params.filter, sort: params.sort };
  return {
    items: items.map((f) => flagRep(flagDocument(f), { projectKey: scope.project.key, environments: scope.envs, only, summary })),
    totalCount: total,
    _links: pageLinks(flagsPath(scope.project.key), query, q, total),
  };
}

export async function getFlag(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, params: { env?: string | string[] }): Promise<FlagRep> {
  authorizeRead(caller);
  const { scope, flag } = await flagInScope(ctx, projectKey, flagKey);
  const only = parseEnvParam(scope, params.env);
  if (!flag) throw notFound(`Flag "${flagKey}" in project "${scope.project.key}"`);
  return flagRep(flagDocument(flag), { projectKey: scope.project.key, environments: scope.envs, only, summary: false });
}

function isBooleanPair(values: unknown[]): boolean {
  return values.length === 2 && values.includes(true) && values.includes(false);
}

function newFlag(scope: Scope, post: FlagPost, now: number, source?: Flag): Flag {
  const variations = source
    ? source.variations.map((v) => ({ ...v, _id: newId() }))
    : (post.variations ?? [{ value: true }, { value: false }]).map((v) => ({ _id: newId(), value: v.value, ...(v.name !== undefined ? { name: v.name } : {}), ...(v.description !== undefined ? { description: v.description } : {}) }));
  const usingEnvironmentId = post.clientSideAvailability?.usingEnvironmentId ?? post.includeInSnippet ?? scope.project.csaUsingEnvironmentId;
  const flag: Flag = {
    key: post.key,
    name: post.name,
    description: post.description ?? source?.description ?? "",
    kind: isBooleanPair(variations.map((v) => v.value)) ? "boolean" : "multivariate",
    variations,
    temporary: post.temporary ?? source?.temporary ?? true,
    tags: post.tags ?? source?.tags ?? [],
    clientSideAvailability: { usingEnvironmentId, usingMobileKey: post.clientSideAvailability?.usingMobileKey ?? scope.project.csaUsingMobileKey },
    ...(post.maintainerId ? { maintainerId: post.maintainerId } : {}),
    archived: false,
    deprecated: false,
    defaults: post.defaults ?? source?.defaults ?? { onVariation: 0, offVariation: variations.length - 1 },
    customProperties: post.customProperties ?? source?.customProperties ?? {},
    creationDate: now,
    _version: 1,
    environments: {},
  };
  for (const env of scope.envs) {
    const fresh = defaultEnvironment(flag, now);
    // A clone copies the source's targeting in every environment, on/off included, with its own salt.
    flag.environments[env.key] = source?.environments[env.key] ? { ...cloneJson(source.environments[env.key]!), salt: fresh.salt, sel: fresh.sel, version: 1, lastModified: now } : fresh;
  }
  return flag;
}

export async function createFlag(ctx: FlagsContext, caller: Caller, projectKey: string, post: FlagPost, cloneKey?: string): Promise<FlagRep> {
  authorizeRead(caller);
  const scope = await scopeOf(ctx, projectKey);
  const source = cloneKey ? await ctx.flags.flagByKey(scope.project.id, cloneKey) : undefined;
  if (cloneKey && !source) throw notFound(`Flag "${cloneKey}" to clone in project "${projectKey}"`);
  const now = ctx.now();
  const flag = newFlag(scope, post, now, source && flagDocument(source));
  authorizeActions(caller, scope, flag, [source ? "cloneFlag" : "createFlag"], []);
  const lookup = await lookupFor(ctx, scope);
  for (const p of post.initialPrerequisites ?? []) {
    const prereq = lookup.get(p.key);
    const index = prereq?.variations.findIndex((v) => v._id === p.variationId) ?? -1;
    if (!prereq || index < 0) throw invalidRequest(`initialPrerequisites: no flag "${p.key}" with variation "${p.variationId}"`);
    for (const env of Object.values(flag.environments)) env.prerequisites.push({ key: p.key, variation: index });
  }
  if (await ctx.flags.flagByKey(scope.project.id, flag.key)) throw new VexilError("conflict", `A flag with key "${flag.key}" already exists in project "${projectKey}"`);
  validateFlag(flag, lookup);
  const { environments, ...doc } = flag;
  const record: FlagRecord = { id: resourceId(), projectId: scope.project.id, key: flag.key, doc, configs: environments, version: 1, createdAt: now };
  const rep = flagRep(flag, { projectKey: scope.project.key, environments: scope.envs, summary: false });
  await ctx.flags.insertFlag(
    record,
    auditEntry({ caller, kind: "flag", spec: `proj/${scope.project.key}:env/*:flag/${flag.key}`, name: flag.name, verb: source ? `cloned ${source.key} as the flag` : "created the flag", actions: [source ? "cloneFlag" : "createFlag"], current: rep, currentVersion: 1, now }),
    changesOf(flag, Object.keys(flag.environments)),
  );
  ctx.committed?.();
  return rep;
}

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

/**
 * Raises the versions of the environments whose targeting or SDK view changed (a new variation
 * changes what SDKs see in every environment), and the flag's.
 */
function stamp(current: Flag, next: Flag, now: number): string[] {
  const changed: string[] = [];
  for (const [key, env] of Object.entries(next.environments)) {
    const before = current.environments[key];
    if (before && (!Bun.deepEquals(env, before, true) || !Bun.deepEquals(sdkFlag(next, key), sdkFlag(current, key), true))) {
      env.version = before.version + 1;
      env.lastModified = now;
      changed.push(key);
    }
  }
  next._version = current._version + 1;
  return changed;
}

export async function patchFlag(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, body: unknown, contentType: string | null): Promise<FlagRep | undefined> {
  const request = parsePatchRequest(body, contentType);
  authorizeRead(caller);
  // Decided first on what this instance remembers of the flag (no read); if that was out of date
  // nothing was written, and the change is decided again on a fresh read.
  try {
    return await patchOnce(ctx, caller, projectKey, flagKey, request, true);
  } catch (e) {
    if (!(e instanceof StaleRead)) throw e;
    return patchOnce(ctx, caller, projectKey, flagKey, request, false);
  }
}

async function patchOnce(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, request: PatchRequest, recent: boolean): Promise<FlagRep | undefined> {
  const { scope, flag: read, recent: memory } = await flagInScope(ctx, projectKey, flagKey, recent);
  const rep = (flag: Flag) => flagRep(flag, { projectKey: scope.project.key, environments: scope.envs, summary: false });
  // Under the flag's lock: every patch sees the result of the one before it, so none is lost.
  const result = await ctx.flags.modifyFlag<FlagRep | undefined>(scope.project.id, flagKey, async (record, loadOthers): Promise<FlagOutcome<FlagRep | undefined>> => {
    if (!record) throw notFound(`Flag "${flagKey}" in project "${scope.project.key}"`);
    const current = flagDocument(record);
    // The other flags are read only when the change or the result involves prerequisites.
    const graph = needsGraph(request) || hasPrerequisites(current) ? await projectGraph(current.key, loadOthers) : undefined;
    let { lookup, dependents } = graph ?? EMPTY_GRAPH;
    const now = ctx.now();
    let next: Flag;
    let actions: Set<string>;
    if (request.format === "semantic") {
      const result = applyInstructions(current, request.instructions, { environmentKey: request.environmentKey, environments: scope.envs.map((e) => e.key), now, lookup, newId, dependents });
      if (result.deleted) {
        authorizeActions(caller, scope, current, ["deleteFlag"], []);
        return { kind: "delete", audit: deletionAudit(caller, scope, current, request.comment, now, dependents), changes: deletionsOf(current), result: undefined };
      }
      next = result.flag;
      actions = new Set(result.actions);
    } else {
      ({ flag: next, actions } = patchDocument(current, request));
    }
    // The whole result is checked before anything else reads it: a patch may leave any field misshapen.
    if (!graph && hasPrerequisites(next)) ({ lookup, dependents } = await projectGraph(current.key, loadOthers));
    validateFlag(next, lookup);
    const changedEnvs = stamp(current, next, now);
    if (changedEnvs.length === 0 && Bun.deepEquals({ ...next, _version: current._version }, current, true)) return { kind: "none", result: rep(current) };
    authorizeActions(caller, scope, current, actions, request.format === "semantic" && request.environmentKey ? [request.environmentKey] : changedEnvs);
    for (const key of changedEnvs) {
      const env = scope.envs.find((e) => e.key === key);
      if (env?.requireComments && !request.comment) throw invalidRequest(`The environment "${key}" requires a comment on every change`);
    }
    const after = rep(next);
    const { environments, ...doc } = next;
    const audit = auditEntry({
      caller,
      kind: "flag",
      spec: `proj/${scope.project.key}:env/${changedEnvs.length === 1 ? changedEnvs[0] : "*"}:flag/${current.key}`,
      name: next.name,
      actions: [...actions],
      ...patchChange(request, "flag", { previous: rep(current), current: after }, { previous: current._version, current: next._version }, now),
    });
    return { kind: "update", flag: { ...record, doc, configs: environments, version: next._version }, audit, changes: changesOf(next, changedEnvs), result: after };
  }, scope.envs, { flag: read, recent: memory });
  ctx.committed?.();
  return result;
}

/** Change events for SDKs: the flag as each changed environment now serves it. */
function changesOf(flag: Flag, envKeys: string[]): PendingChange[] {
  return envKeys.map((environmentKey) => ({
    environmentKey,
    kind: "flag" as const,
    key: flag.key,
    version: flag.environments[environmentKey]!.version,
    deleted: false,
    data: sdkFlag(flag, environmentKey),
  }));
}

/** A deletion is one event per environment, with a version above the last one SDKs saw. */
function deletionsOf(flag: Flag): PendingChange[] {
  return Object.entries(flag.environments).map(([environmentKey, env]) => ({ environmentKey, kind: "flag" as const, key: flag.key, version: env.version + 1, deleted: true }));
}

/** Instruction kinds that read other flags: prerequisites, and changes refused while others depend on this flag. */
const GRAPH_KINDS = new Set(["addPrerequisite", "updatePrerequisite", "replacePrerequisites", "removeVariation", "archiveFlag", "deleteFlag"]);

function needsGraph(request: PatchRequest): boolean {
  if (request.format !== "semantic") return true;
  return request.instructions.some((i) => typeof i !== "object" || i === null || GRAPH_KINDS.has(String((i as { kind?: unknown }).kind)));
}

/** Read before validation too, so it takes the document as it may be. */
const hasPrerequisites = (flag: Flag) => Object.values(flag.environments ?? {}).some((e) => Array.isArray(e?.prerequisites) && e.prerequisites.length > 0);

interface Graph {
  lookup: FlagLookup;
  /** Keys of the flags that have this one as a prerequisite. */
  dependents: string[];
}

const EMPTY_GRAPH: Graph = { lookup: { get: () => undefined }, dependents: [] };

async function projectGraph(key: string, loadOthers: () => Promise<FlagRecord[]>): Promise<Graph> {
  const others = await loadOthers();
  const byKey = new Map(others.map((f) => [f.key, f]));
  return {
    lookup: { get: (k) => (byKey.has(k) ? flagDocument(byKey.get(k)!) : undefined) },
    dependents: others.filter((f) => Object.values(f.configs).some((c: FlagEnvironment) => c.prerequisites.some((p) => p.key === key))).map((f) => f.key),
  };
}

function deletionAudit(caller: Caller, scope: Scope, flag: Flag, comment: string | undefined, now: number, dependents: string[]) {
  if (dependents.length > 0) throw invalidRequest(`The flag is a prerequisite of ${dependents.map((k) => `"${k}"`).join(", ")}; remove those prerequisites first`);
  return auditEntry({
    caller,
    kind: "flag",
    spec: `proj/${scope.project.key}:env/*:flag/${flag.key}`,
    name: flag.name,
    verb: "deleted the flag",
    actions: ["deleteFlag"],
    comment,
    previous: flagRep(flag, { projectKey: scope.project.key, environments: scope.envs, summary: false }),
    previousVersion: flag._version,
    now,
  });
}

export async function deleteFlag(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string): Promise<void> {
  authorizeRead(caller);
  const scope = await scopeOf(ctx, projectKey);
  await ctx.flags.modifyFlag<void>(scope.project.id, flagKey, async (record, loadOthers) => {
    if (!record) throw notFound(`Flag "${flagKey}" in project "${scope.project.key}"`);
    authorizeActions(caller, scope, record.doc, ["deleteFlag"], []);
    const { dependents } = await projectGraph(record.key, loadOthers);
    return { kind: "delete", audit: deletionAudit(caller, scope, flagDocument(record), undefined, ctx.now(), dependents), changes: deletionsOf(flagDocument(record)), result: undefined };
  }, scope.envs);
  ctx.committed?.();
}

/** Which fields each copy action carries from the source environment to the target. */
const COPY_FIELDS: Record<string, Array<keyof FlagEnvironment>> = {
  updateOn: ["on"],
  updateRules: ["rules"],
  updateFallthrough: ["fallthrough"],
  updateOffVariation: ["offVariation"],
  updatePrerequisites: ["prerequisites"],
  updateTargets: ["targets", "contextTargets"],
  updateFlagConfigMigrationSettings: [],
};

/**
 * Copies one environment's targeting to another of the same flag (`POST …/{flagKey}/copy`), all
 * of it or the chosen parts; `currentVersion` on either side makes the copy conditional.
 */
export async function copyFlagConfig(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, body: FlagCopy): Promise<FlagRep> {
  authorizeRead(caller);
  if (body.includedActions && body.excludedActions) throw invalidRequest("Give includedActions or excludedActions, not both");
  if (body.source.key === body.target.key) throw invalidRequest("source and target must be different environments");
  const scope = await scopeOf(ctx, projectKey);
  const source = scope.envs.find((e) => e.key === body.source.key);
  const target = scope.envs.find((e) => e.key === body.target.key);
  if (!source) throw notFound(`Environment "${body.source.key}" in project "${projectKey}"`);
  if (!target) throw notFound(`Environment "${body.target.key}" in project "${projectKey}"`);
  const actions = Object.keys(COPY_FIELDS).filter((a) => (body.includedActions ? body.includedActions.includes(a as never) : !body.excludedActions?.includes(a as never)));
  const rep = (flag: Flag) => flagRep(flag, { projectKey: scope.project.key, environments: scope.envs, summary: false });
  const result = await ctx.flags.modifyFlag<FlagRep>(scope.project.id, flagKey, async (record, loadOthers): Promise<FlagOutcome<FlagRep>> => {
    if (!record) throw notFound(`Flag "${flagKey}" in project "${scope.project.key}"`);
    const current = flagDocument(record);
    const from = current.environments[source.key]!;
    const to = current.environments[target.key]!;
    for (const [side, env, want] of [["source", from, body.source.currentVersion], ["target", to, body.target.currentVersion]] as const) {
      if (want !== undefined && env.version !== want) {
        throw new VexilError("optimistic_locking_error", `The ${side} environment is at version ${env.version}, not ${want}; the flag has changed`);
      }
    }
    authorize(caller, "copyFlagConfigFrom", flagResource(scope.project, source, current));
    authorize(caller, "copyFlagConfigTo", flagResource(scope.project, target, current));
    const next = cloneJson(current);
    const copied = next.environments[target.key]!;
    for (const action of actions) for (const field of COPY_FIELDS[action]!) (copied as unknown as Record<string, unknown>)[field] = cloneJson(from[field]);
    const now = ctx.now();
    const changedEnvs = stamp(current, next, now);
    if (changedEnvs.length === 0) return { kind: "none", result: rep(current) };
    validateFlag(next, hasPrerequisites(next) ? (await projectGraph(current.key, loadOthers)).lookup : EMPTY_GRAPH.lookup);
    if (target.requireComments && !body.comment) throw invalidRequest(`The environment "${target.key}" requires a comment on every change`);
    const after = rep(next);
    const { environments, ...doc } = next;
    const audit = auditEntry({
      caller,
      kind: "flag",
      spec: `proj/${scope.project.key}:env/${target.key}:flag/${current.key}`,
      name: next.name,
      verb: `copied the targeting of ${source.key} to ${target.key} in the flag`,
      actions: ["copyFlagConfigFrom", "copyFlagConfigTo"],
      comment: body.comment,
      delta: body,
      previous: rep(current),
      current: after,
      previousVersion: current._version,
      currentVersion: next._version,
      now,
    });
    return { kind: "update", flag: { ...record, doc, configs: environments, version: next._version }, audit, changes: changesOf(next, changedEnvs), result: after };
  }, scope.envs);
  ctx.committed?.();
  return result;
}
