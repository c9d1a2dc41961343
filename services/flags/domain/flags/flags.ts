/**
 * Flag use cases: list, create (or clone), read, copy between environments, delete; patching is
 * `patch-flag.ts`. Every write ends in one validation of the whole document and one audit entry,
 * written with the change.
 */
import { cloneJson } from "@vexil/shared/json-clone";
import { keptJson } from "@vexil/shared/http/json-answer";
import { auditEntry } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { VexilError, invalidRequest, notFound } from "@vexil/shared/errors";
import { pageLinks } from "@vexil/shared/http/links";
import { listQuery, oneOf, plusList, text } from "@vexil/shared/http/list-query";
import { resourceId } from "@vexil/shared/ids";
import type { FlagQuery, FlagRecord, FlagSortField } from "../../storage/flag-store.ts";
import type { FlagsContext } from "../context.ts";
import { flagResource } from "./access.ts";
import { authorizeActions, changeFlag, changesOf, deletionAudit, deletionsOf, flagUpdate, requireComments, scopeOf, stamp, type Scope, type Scoped } from "./change.ts";
import type { FlagWrite } from "../../storage/flag-store.ts";
import type { Decision } from "../unit-of-work.ts";
import { defaultEnvironment, newId, type Flag, type FlagEnvironment } from "./model.ts";
import { withFlagIds } from "./ids.ts";
import { flagDocument, flagRep, flagsPath, heldAnswers, type FlagRep } from "./representation.ts";
import type { FlagCopy, FlagPost } from "./schemas.ts";
import { validateFlag } from "./validate.ts";
import { graphAround, prerequisiteKeys } from "./prerequisite-graph.ts";

export { patchFlag } from "./patch-flag.ts";

function parseEnvParam(scope: Scope, env: string | string[] | undefined): Set<string> | undefined {
  if (env === undefined || env === "") return undefined;
  const keys = (Array.isArray(env) ? env : [env]).flatMap((e) => e.split(",")).filter(Boolean);
  for (const k of keys) if (!scope.envs.some((e) => e.key === k)) throw invalidRequest(`env: no environment "${k}" in project "${scope.project.key}"`);
  return new Set(keys);
}

const LIST = listQuery({
  filters: {
    query: text,
    tags: plusList,
    state: oneOf("live", "deprecated", "archived"),
    type: oneOf("temporary", "permanent"),
    sdkAvailability: oneOf("client", "mobile", "anyClient", "server"),
    maintainerId: text,
    filterEnv: text,
  },
  sorts: ["key", "name", "creationDate", "maintainerId", "type"] satisfies FlagSortField[],
});

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
  let only = parseEnvParam(scope, params.env);
  const { page, filters, sort } = LIST.parse(params);
  const { filterEnv, ...byFlag } = filters;
  const q: FlagQuery = { ...page, ...byFlag, sort: sort ?? { field: "key", descending: false } };
  if (filterEnv !== undefined) only = parseEnvParam(scope, filterEnv);
  if (params.tag) q.tags = [...(q.tags ?? []), params.tag];
  if (params.archived !== undefined) {
    if (params.archived !== "true" && params.archived !== "false") throw invalidRequest("archived must be true or false");
    if (params.archived === "true") q.state = "archived";
  }
  if (params.summary !== undefined && !["0", "1", "true", "false"].includes(params.summary)) throw invalidRequest("summary must be 0 or 1");
  const summary = !(params.summary === "0" || params.summary === "false");
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
  const found = await ctx.flags.flagInScope(projectKey, flagKey);
  if (!found) throw notFound(`Project "${projectKey}"`);
  const scope: Scope = { project: found.project, envs: found.environments };
  const flag = found.flag;
  const only = parseEnvParam(scope, params.env);
  if (!flag) throw notFound(`Flag "${flagKey}" in project "${scope.project.key}"`);
  // A record from the cache is the same frozen object until the flag changes, and so are the
  // project's environments: its answer is built once per version, not per read.
  const memo = Object.isFrozen(flag) && Object.isFrozen(found.environments) ? heldAnswers(flag, found.environments) : undefined;
  const key = only ? [...only].join(",") : "";
  const known = memo?.get(key);
  if (known && known.projectKey === scope.project.key) return known.rep;
  const rep = flagRep(flagDocument(flag), { projectKey: scope.project.key, environments: scope.envs, only, summary: false });
  if (!memo) return rep;
  // Kept for every later read of this version: frozen, so that its JSON is made once as well.
  memo.set(key, { projectKey: scope.project.key, rep: keptJson(rep) });
  return rep;
}

function isBooleanPair(values: unknown[]): boolean {
  return values.length === 2 && values.includes(true) && values.includes(false);
}

function newFlag(scope: Scope, post: FlagPost, now: number, source?: Flag): Flag {
  const variations = source
    ? source.variations.map((v) => ({ ...v, _id: newId() }))
    : (post.variations ?? [{ value: true }, { value: false }]).map((v) => ({ _id: v._id ?? "", value: v.value, ...(v.name !== undefined ? { name: v.name } : {}), ...(v.description !== undefined ? { description: v.description } : {}) }));
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

export async function createFlag(ctx: FlagsContext, caller: Caller, projectKey: string, post: FlagPost, cloneKey?: string, comment?: string): Promise<FlagRep> {
  authorizeRead(caller);
  // From the database: the new flag gets targeting in every environment there is.
  const scope = await scopeOf(ctx, projectKey, true);
  const source = cloneKey ? await ctx.flags.flagByKey(scope.project.id, cloneKey) : undefined;
  if (cloneKey && !source) throw notFound(`Flag "${cloneKey}" to clone in project "${projectKey}"`);
  const now = ctx.now();
  let flag = newFlag(scope, post, now, source && flagDocument(source));
  authorizeActions(caller, scope, flag, [source ? "cloneFlag" : "createFlag"], []);
  const { lookup } = await graphAround(ctx.flags, scope.project.id, flag.key, [...prerequisiteKeys(flag), ...(post.initialPrerequisites ?? []).map((p) => p.key)], false);
  for (const p of post.initialPrerequisites ?? []) {
    const prereq = lookup.get(p.key);
    const index = prereq?.variations.findIndex((v) => v._id === p.variationId) ?? -1;
    if (!prereq || index < 0) throw invalidRequest(`initialPrerequisites: no flag "${p.key}" with variation "${p.variationId}"`);
    for (const env of Object.values(flag.environments)) env.prerequisites.push({ key: p.key, variation: index });
  }
  if (await ctx.flags.flagByKey(scope.project.id, flag.key)) throw new VexilError("conflict", `A flag with key "${flag.key}" already exists in project "${projectKey}"`);
  flag = withFlagIds(flag);
  validateFlag(flag, lookup);
  const { environments, ...doc } = flag;
  const record: FlagRecord = { id: resourceId(), projectId: scope.project.id, key: flag.key, doc, configs: environments, version: 1, createdAt: now };
  const rep = flagRep(flag, { projectKey: scope.project.key, environments: scope.envs, summary: false });
  await ctx.flags.insertFlag(
    record,
    auditEntry({ caller, kind: "flag", spec: `proj/${scope.project.key}:env/*:flag/${flag.key}`, name: flag.name, verb: source ? `cloned ${source.key} as the flag` : "created the flag", actions: [source ? "cloneFlag" : "createFlag"], comment, current: rep, currentVersion: 1, now }),
    changesOf(flag, Object.keys(flag.environments)),
  );
  ctx.committed?.();
  return rep;
}

export async function deleteFlag(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string): Promise<void> {
  authorizeRead(caller);
  await changeFlag<void>(ctx, caller, projectKey, flagKey, async (read, scope) => {
    authorizeActions(caller, scope, read.flag.doc, ["deleteFlag"], []);
    const current = flagDocument(read.flag);
    const { dependents } = await graphAround(ctx.flags, scope.project.id, current.key, [], true);
    return { write: { kind: "delete", audit: deletionAudit(caller, scope, current, undefined, ctx.now(), dependents), changes: deletionsOf(current) }, result: undefined };
  });
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

/** The copy actions a copy takes: `includedActions`, or all but `excludedActions`. */
export function copyActions(body: Pick<FlagCopy, "includedActions" | "excludedActions">): string[] {
  if (body.includedActions && body.excludedActions) throw invalidRequest("Give includedActions or excludedActions, not both");
  return Object.keys(COPY_FIELDS).filter((a) => (body.includedActions ? body.includedActions.includes(a as never) : !body.excludedActions?.includes(a as never)));
}

/** The fields of an environment's targeting that copy actions carry. */
export const copiedFields = (actions: string[]): string[] => actions.flatMap((a) => COPY_FIELDS[a] ?? []);

export interface CopyOptions {
  /** False for the apply of an approved copy request: the applier needs `applyApprovalRequest`, checked by the caller. */
  authorize?: boolean;
  /** False for the apply of an approved request: its comment was asked for when it was made. */
  requireComments?: boolean;
}

/** What a copy of the flag read decides (`copyFlagConfig`); throws the refusal. */
export async function decideCopy(ctx: FlagsContext, caller: Caller, read: Scoped, scope: Scope, body: FlagCopy, options: CopyOptions = {}): Promise<Decision<FlagWrite, FlagRep>> {
  if (body.source.key === body.target.key) throw invalidRequest("source and target must be different environments");
  const actions = copyActions(body);
  const source = scope.envs.find((e) => e.key === body.source.key);
  const target = scope.envs.find((e) => e.key === body.target.key);
  if (!source) throw notFound(`Environment "${body.source.key}" in project "${scope.project.key}"`);
  if (!target) throw notFound(`Environment "${body.target.key}" in project "${scope.project.key}"`);
  const rep = (flag: Flag) => flagRep(flag, { projectKey: scope.project.key, environments: scope.envs, summary: false });
  const current = flagDocument(read.flag);
  const from = current.environments[source.key]!;
  const to = current.environments[target.key]!;
  for (const [side, env, want] of [["source", from, body.source.currentVersion], ["target", to, body.target.currentVersion]] as const) {
    if (want !== undefined && env.version !== want) {
      throw new VexilError("optimistic_locking_error", `The ${side} environment is at version ${env.version}, not ${want}; the flag has changed`);
    }
  }
  if (options.authorize !== false) {
    authorize(caller, "copyFlagConfigFrom", flagResource(scope.project, source, current));
    authorize(caller, "copyFlagConfigTo", flagResource(scope.project, target, current));
  }
  let next = cloneJson(current);
  const copied = next.environments[target.key]!;
  for (const action of actions) for (const field of COPY_FIELDS[action]!) (copied as unknown as Record<string, unknown>)[field] = cloneJson(from[field]);
  const now = ctx.now();
  const changedEnvs = stamp(current, next, now);
  if (changedEnvs.length === 0) return { result: rep(current) };
  next = withFlagIds(next);
  validateFlag(next, (await graphAround(ctx.flags, scope.project.id, current.key, prerequisiteKeys(next), false)).lookup);
  if (options.requireComments !== false) requireComments(scope, [target.key], body.comment);
  const after = rep(next);
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
  return { write: flagUpdate(read, scope, current, next, audit, changesOf(next, changedEnvs)), result: after };
}

/**
 * Copies one environment's targeting to another of the same flag (`POST …/{flagKey}/copy`), all
 * of it or the chosen parts; `currentVersion` on either side makes the copy conditional.
 */
export async function copyFlagConfig(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, body: FlagCopy): Promise<FlagRep> {
  authorizeRead(caller);
  copyActions(body);
  if (body.source.key === body.target.key) throw invalidRequest("source and target must be different environments");
  const result = await changeFlag<FlagRep>(ctx, caller, projectKey, flagKey, (read, scope) => decideCopy(ctx, caller, read, scope, body));
  ctx.committed?.();
  return result;
}
