/** Environment use cases: list, create (with keys from auth), read, patch, delete. */
import { auditEntry, patchChange } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { VexilError, invalidRequest, notFound } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { pageLinks } from "@vexil/shared/http/links";
import type { EnvironmentRecord, ProjectRecord } from "../storage/project-store.ts";
import { defaultEnvironment } from "./flags/model.ts";
import { checkApprovalSettings } from "./approvals/settings.ts";
import { ENVIRONMENT_FIELD_ACTIONS, changedActions, environmentResource } from "./access.ts";
import type { FlagsContext } from "./context.ts";
import { linkQuery, listQuery, plusList, text, type ListParams } from "@vexil/shared/http/list-query";
import { applyPatch, checkPatchedDocument, parsePatchRequest, untilWritten } from "@vexil/shared/patch";
import { environmentRep, projectPath, type Collection, type EnvironmentRep } from "./representations.ts";
import { EnvironmentEditable, type EnvironmentPost } from "./schemas.ts";

export const DEFAULT_ENVIRONMENTS: EnvironmentPost[] = [
  { key: "test", name: "Test", color: "F5A623" },
  { key: "production", name: "Production", color: "417505" },
];

const LIST = listQuery({ filters: { query: text, tags: plusList }, sorts: ["key", "name", "createdOn", "critical"], expands: [] });

/** A new environment's record; its key hints are filled in once auth has issued the keys. */
export function newEnvironment(projectId: string, post: EnvironmentPost, now: number): EnvironmentRecord {
  return {
    id: resourceId(),
    projectId,
    key: post.key,
    name: post.name,
    color: post.color.toUpperCase(),
    defaultTtl: post.defaultTtl ?? 0,
    secureMode: post.secureMode ?? false,
    defaultTrackEvents: post.defaultTrackEvents ?? false,
    requireComments: post.requireComments ?? false,
    confirmChanges: post.confirmChanges ?? false,
    tags: post.tags ?? [],
    critical: post.critical ?? false,
    approvalSettings: null,
    segmentApprovalSettings: null,
    sdkKeyLast4: "",
    mobileKeyLast4: "",
    createdAt: now,
    version: 1,
  };
}

/** Asks auth for the environments' keys and records their last four characters. */
export async function issueKeys(ctx: FlagsContext, envs: EnvironmentRecord[]) {
  if (envs.length === 0) return new Map<string, { sdkKey: string; mobileKey: string }>();
  const issued = await ctx.keys.issue(envs.map((e) => e.id));
  const byId = new Map(issued.map((k) => [k.environmentId, { sdkKey: k.sdkKey, mobileKey: k.mobileKey }]));
  for (const env of envs) {
    const keys = byId.get(env.id);
    if (!keys) throw new VexilError("service_unavailable", "The auth service did not issue every environment key");
    env.sdkKeyLast4 = keys.sdkKey.slice(-4);
    env.mobileKeyLast4 = keys.mobileKey.slice(-4);
  }
  return byId;
}

/** Best effort: keys of environments that were never stored, or are gone, are forgotten. */
export async function forgetKeys(ctx: FlagsContext, environmentIds: string[]): Promise<void> {
  if (environmentIds.length === 0) return;
  await ctx.keys.forget(environmentIds).catch((e: unknown) => ctx.logger.warn("could not forget environment keys", { error: e, environmentIds }));
}

async function projectOrThrow(ctx: FlagsContext, projectKey: string): Promise<ProjectRecord> {
  const project = await ctx.store.projectByKey(projectKey);
  if (!project) throw notFound(`Project "${projectKey}"`);
  return project;
}

async function environmentOrThrow(ctx: FlagsContext, project: ProjectRecord, envKey: string): Promise<EnvironmentRecord> {
  const env = await ctx.store.environmentByKey(project.id, envKey);
  if (!env) throw notFound(`Environment "${envKey}" in project "${project.key}"`);
  return env;
}

export async function listEnvironments(ctx: FlagsContext, caller: Caller, projectKey: string, params: ListParams): Promise<Collection<EnvironmentRep>> {
  authorizeRead(caller);
  const { page, filters, sort } = LIST.parse(params);
  const query = { ...page, ...filters, sort: sort ?? { field: "key" as const, descending: false } };
  const project = await projectOrThrow(ctx, projectKey);
  const { items, total } = await ctx.store.listEnvironments(project.id, query);
  return {
    items: items.map((e) => environmentRep(e, project.key)),
    totalCount: total,
    _links: pageLinks(`${projectPath(project.key)}/environments`, linkQuery(params), query, total),
  };
}

export async function createEnvironment(ctx: FlagsContext, caller: Caller, projectKey: string, post: EnvironmentPost): Promise<EnvironmentRep> {
  authorizeRead(caller);
  const project = await projectOrThrow(ctx, projectKey);
  authorize(caller, "createEnvironment", environmentResource(project, { key: post.key, tags: post.tags ?? [], critical: post.critical ?? false }));
  if (await ctx.store.environmentByKey(project.id, post.key)) {
    throw new VexilError("conflict", `An environment with key "${post.key}" already exists in project "${projectKey}"`);
  }
  const env = newEnvironment(project.id, post, ctx.now());
  const keys = await issueKeys(ctx, [env]);
  try {
    const spec = `proj/${project.key}:env/${env.key}`;
    await ctx.store.insertEnvironment(
      env,
      (flag) => defaultEnvironment(flag, env.createdAt),
      auditEntry({ caller, kind: "environment", spec, name: env.name, verb: "created the environment", actions: ["createEnvironment"], current: environmentRep(env, project.key), currentVersion: 1, now: env.createdAt }),
    );
  } catch (e) {
    await forgetKeys(ctx, [env.id]);
    throw e;
  }
  return environmentRep(env, project.key, keys.get(env.id));
}

export async function getEnvironment(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string): Promise<EnvironmentRep> {
  authorizeRead(caller);
  const project = await projectOrThrow(ctx, projectKey);
  return environmentRep(await environmentOrThrow(ctx, project, envKey), project.key);
}

const ENVIRONMENT_RULES = { readOnly: ["_id", "_links", "key", "apiKey", "mobileKey"], editable: EnvironmentEditable } as const;

export async function patchEnvironment(
  ctx: FlagsContext,
  caller: Caller,
  projectKey: string,
  envKey: string,
  body: unknown,
  contentType: string | null,
): Promise<EnvironmentRep> {
  const request = parsePatchRequest(body, contentType);
  authorizeRead(caller);
  const project = await projectOrThrow(ctx, projectKey);
  return untilWritten(async () => {
    const current = await environmentOrThrow(ctx, project, envKey);
    const rep = environmentRep(current, project.key);
    const fields = checkPatchedDocument<EnvironmentEditable>(rep, applyPatch(rep, request), ENVIRONMENT_RULES);
    checkApprovalSettings(fields.approvalSettings);
    checkApprovalSettings(fields.resourceApprovalSettings.segment, "resourceApprovalSettings.segment");
    const actions = changedActions(rep, { ...fields, color: fields.color.toUpperCase() }, ENVIRONMENT_FIELD_ACTIONS);
    if (actions.length === 0) return rep;
    authorize(caller, actions, environmentResource(project, current));
    const { resourceApprovalSettings, ...stored } = fields;
    const { resourceKind: _kind, ...segmentSettings } = resourceApprovalSettings.segment;
    const next: EnvironmentRecord = { ...current, ...stored, segmentApprovalSettings: segmentSettings, color: (fields.color ?? current.color).toUpperCase(), version: current.version + 1 };
    const after = environmentRep(next, project.key);
    const audit = auditEntry({
      caller,
      kind: "environment",
      spec: `proj/${project.key}:env/${current.key}`,
      name: next.name,
      actions,
      ...patchChange(request, "environment", { previous: rep, current: after }, { previous: current.version, current: next.version }, ctx.now()),
    });
    if (await ctx.store.updateEnvironment(next, current.version, audit)) return after;
    return undefined;
  });
}

export async function deleteEnvironment(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string): Promise<void> {
  authorizeRead(caller);
  const project = await projectOrThrow(ctx, projectKey);
  const env = await environmentOrThrow(ctx, project, envKey);
  authorize(caller, "deleteEnvironment", environmentResource(project, env));
  const audit = auditEntry({ caller, kind: "environment", spec: `proj/${project.key}:env/${env.key}`, name: env.name, verb: "deleted the environment", actions: ["deleteEnvironment"], previous: environmentRep(env, project.key), previousVersion: env.version, now: ctx.now() });
  if (!(await ctx.store.deleteEnvironment(env.id, audit))) throw notFound(`Environment "${envKey}" in project "${projectKey}"`);
  await forgetKeys(ctx, [env.id]);
}

/**
 * A new SDK key (`sdk`; the old one works until `expiry`, unix ms, by default dies now) or mobile
 * key (`mob`; the old one dies now), issued by auth and shown in this response only.
 */
export async function resetEnvironmentKey(
  ctx: FlagsContext,
  caller: Caller,
  projectKey: string,
  envKey: string,
  kind: "sdk" | "mob",
  expiryParam: string | undefined,
): Promise<EnvironmentRep> {
  let expiry: number | undefined;
  if (expiryParam !== undefined && expiryParam !== "") {
    if (!/^\d{1,15}$/.test(expiryParam)) throw invalidRequest("expiry must be a time in unix milliseconds");
    expiry = Number(expiryParam);
  }
  authorizeRead(caller);
  const project = await projectOrThrow(ctx, projectKey);
  return untilWritten(async () => {
    const env = await environmentOrThrow(ctx, project, envKey);
    const resource = environmentResource(project, env);
    authorize(caller, kind === "sdk" ? "updateApiKey" : "updateMobileKey", resource);
    const key = await ctx.keys.reset({ environmentId: env.id, kind, expiry: kind === "sdk" ? expiry : undefined, caller, spec: `proj/${project.key}:env/${env.key}` });
    const next: EnvironmentRecord = { ...env, ...(kind === "sdk" ? { sdkKeyLast4: key.slice(-4) } : { mobileKeyLast4: key.slice(-4) }), version: env.version + 1 };
    if (await ctx.store.updateEnvironment(next, env.version)) {
      const current = environmentRep(next, project.key);
      return kind === "sdk" ? { ...current, apiKey: key } : { ...current, mobileKey: key };
    }
    return undefined;
  });
}
