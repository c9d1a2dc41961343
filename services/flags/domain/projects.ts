/** Project use cases: list, create (with default environments), read, patch, delete, and the `default` project at first start. */
import { auditEntry, patchChange } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { VexilError, notFound } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { pageLinks } from "@vexil/shared/http/links";
import type { ProjectRecord } from "../storage/project-store.ts";
import { PROJECT_FIELD_ACTIONS, changedActions, projectResource } from "./access.ts";
import type { FlagsContext } from "./context.ts";
import { DEFAULT_ENVIRONMENTS, forgetKeys, issueKeys, listEnvironments, newEnvironment } from "./environments.ts";
import { linkQuery, listQuery, pipeList, plusList, text, type ListParams } from "@vexil/shared/http/list-query";
import { applyPatch, checkPatchedDocument, parsePatchRequest, untilWritten } from "@vexil/shared/patch";
import { environmentRep, projectRep, type Collection, type EnvironmentRep, type ProjectRep } from "./representations.ts";
import { ProjectEditable, type ProjectPost } from "./schemas.ts";

const LIST = listQuery({ filters: { query: text, tags: plusList, keys: pipeList }, sorts: ["key", "name", "createdOn"], expands: ["environments"] });
const GET = listQuery({ expands: ["environments"] });

type ExpandedProject = ProjectRep & { environments?: Collection<EnvironmentRep> };

function newProject(post: ProjectPost, now: number): ProjectRecord {
  return {
    id: resourceId(),
    key: post.key,
    name: post.name,
    tags: post.tags ?? [],
    includeInSnippetByDefault: post.includeInSnippetByDefault ?? false,
    csaUsingEnvironmentId: post.defaultClientSideAvailability?.usingEnvironmentId ?? post.includeInSnippetByDefault ?? false,
    csaUsingMobileKey: post.defaultClientSideAvailability?.usingMobileKey ?? true,
    createdAt: now,
    version: 1,
  };
}

async function projectOrThrow(ctx: FlagsContext, key: string): Promise<ProjectRecord> {
  const project = await ctx.store.projectByKey(key);
  if (!project) throw notFound(`Project "${key}"`);
  return project;
}

async function expanded(ctx: FlagsContext, caller: Caller, project: ProjectRecord, expand: Set<string>): Promise<ExpandedProject> {
  const rep: ExpandedProject = projectRep(project);
  if (expand.has("environments")) rep.environments = await listEnvironments(ctx, caller, project.key, {});
  return rep;
}

export async function listProjects(ctx: FlagsContext, caller: Caller, params: ListParams): Promise<Collection<ExpandedProject>> {
  authorizeRead(caller);
  const { page, filters, sort, expand } = LIST.parse(params);
  const query = { ...page, ...filters, sort: sort ?? { field: "key" as const, descending: false } };
  const { items, total } = await ctx.store.listProjects(query);
  return {
    items: await Promise.all(items.map((p) => expanded(ctx, caller, p, expand))),
    totalCount: total,
    _links: pageLinks("/api/v2/projects", linkQuery(params), query, total),
  };
}

export async function getProject(ctx: FlagsContext, caller: Caller, key: string, params: ListParams): Promise<ExpandedProject> {
  authorizeRead(caller);
  const { expand } = GET.parse({ expand: params.expand });
  return expanded(ctx, caller, await projectOrThrow(ctx, key), expand);
}

/** Creates a project and its environments (`test` and `production` when none are given); keys are shown this once. */
export async function createProject(ctx: FlagsContext, caller: Caller, post: ProjectPost): Promise<ProjectRep & { environments: EnvironmentRep[] }> {
  authorize(caller, "createProject", projectResource({ key: post.key, tags: post.tags ?? [] }));
  const envPosts = post.environments && post.environments.length > 0 ? post.environments : DEFAULT_ENVIRONMENTS;
  const duplicate = envPosts.find((e, i) => envPosts.findIndex((o) => o.key === e.key) !== i);
  if (duplicate) throw new VexilError("invalid_request", `environments: the key "${duplicate.key}" appears twice`);
  if (await ctx.store.projectByKey(post.key)) throw new VexilError("conflict", `A project with key "${post.key}" already exists`);
  const now = ctx.now();
  const project = newProject(post, now);
  const envs = envPosts.map((e) => newEnvironment(project.id, e, now));
  const keys = await issueKeys(ctx, envs);
  const rep = projectRep(project);
  try {
    await ctx.store.insertProject(
      project,
      envs,
      auditEntry({ caller, kind: "project", spec: `proj/${project.key}`, name: project.name, verb: "created the project", actions: ["createProject"], current: rep, currentVersion: 1, now }),
    );
  } catch (e) {
    await forgetKeys(ctx, envs.map((x) => x.id));
    throw e;
  }
  return { ...rep, environments: envs.map((e) => environmentRep(e, project.key, keys.get(e.id))) };
}

const PROJECT_RULES = { readOnly: ["_id", "_links", "key"], editable: ProjectEditable } as const;

export async function patchProject(ctx: FlagsContext, caller: Caller, key: string, body: unknown, contentType: string | null): Promise<ProjectRep> {
  const request = parsePatchRequest(body, contentType);
  authorizeRead(caller);
  return untilWritten(async () => {
    const current = await projectOrThrow(ctx, key);
    const rep = projectRep(current);
    const fields = checkPatchedDocument<ProjectEditable>(rep, applyPatch(rep, request), PROJECT_RULES);
    const actions = changedActions(rep, fields, PROJECT_FIELD_ACTIONS);
    if (actions.length === 0) return rep;
    authorize(caller, actions, projectResource(current));
    const next: ProjectRecord = {
      ...current,
      name: fields.name,
      tags: fields.tags,
      includeInSnippetByDefault: fields.includeInSnippetByDefault,
      csaUsingEnvironmentId: fields.defaultClientSideAvailability.usingEnvironmentId,
      csaUsingMobileKey: fields.defaultClientSideAvailability.usingMobileKey,
      version: current.version + 1,
    };
    const after = projectRep(next);
    const audit = auditEntry({
      caller,
      kind: "project",
      spec: `proj/${current.key}`,
      name: next.name,
      actions,
      ...patchChange(request, "project", { previous: rep, current: after }, { previous: current.version, current: next.version }, ctx.now()),
    });
    if (await ctx.store.updateProject(next, current.version, audit)) return after;
    return undefined;
  });
}

export async function deleteProject(ctx: FlagsContext, caller: Caller, key: string): Promise<void> {
  authorizeRead(caller);
  const project = await projectOrThrow(ctx, key);
  authorize(caller, "deleteProject", projectResource(project));
  const audit = auditEntry({ caller, kind: "project", spec: `proj/${project.key}`, name: project.name, verb: "deleted the project", actions: ["deleteProject"], previous: projectRep(project), previousVersion: project.version, now: ctx.now() });
  const envIds = await ctx.store.deleteProject(project.id, audit);
  if (!envIds) throw notFound(`Project "${key}"`);
  await forgetKeys(ctx, envIds);
}

export const DEFAULT_PROJECT_STEP = "default-project";

/**
 * First start: the `default` project with `test` and `production`, as LaunchDarkly and Unleash
 * have. Runs once across all instances and never again, even if the project is later deleted.
 */
export async function bootstrapDefaultProject(ctx: FlagsContext): Promise<boolean> {
  if (await ctx.store.isBootstrapped(DEFAULT_PROJECT_STEP)) return false;
  const now = ctx.now();
  const project = newProject({ key: "default", name: "Default" }, now);
  const envs = DEFAULT_ENVIRONMENTS.map((e) => newEnvironment(project.id, e, now));
  await issueKeys(ctx, envs);
  const created = await ctx.store.bootstrapProject(DEFAULT_PROJECT_STEP, project, envs);
  if (!created) await forgetKeys(ctx, envs.map((e) => e.id));
  return created;
}
