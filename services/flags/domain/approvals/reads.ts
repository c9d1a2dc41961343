/**
 * Reading approval requests: a flag's in one environment, one by id, and the generic list of
 * `/api/v2/approval-requests` with LaunchDarkly's filters, flags' and segments' requests alike.
 * Conflicts are found against the flag or segment as it is now (`conflicts.ts`). The generic
 * endpoints that act on one request find its flag or segment and environment from the request and
 * act as the flag-scoped ones do (or as `segment-requests.ts` does for segments).
 */
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { invalidRequest, notFound } from "@vexil/shared/errors";
import { pageLinks } from "@vexil/shared/http/links";
import { anyOfStrings, listQuery, type JsonFilter } from "@vexil/shared/http/list-query";
import { isSegmentRequest, type ApprovalRequestRecord, type ApprovalStatus, type ReviewKind } from "../../storage/approval-store.ts";
import type { ScopedFlag } from "../../storage/flag-store.ts";
import type { FlagsContext } from "../context.ts";
import { flagDocument, flagRep } from "../flags/representation.ts";
import { environmentRep, projectRep } from "../representations.ts";
import { environmentIn } from "../schedules/flag-items.ts";
import { conflictsOf, segmentConflictsOf } from "./conflicts.ts";
import { APPROVALS_PATH, approvalRep, flagApprovalsPath, requestResourceId, reviewStatusOf, settingsFor, type ApprovalRep, type Conflict, type ReviewStatus } from "./representation.ts";
import { applySegmentApproval, createSegmentApproval, deleteSegmentApproval, reviewSegmentApproval, type SegmentWhere } from "./segment-requests.ts";
import { segmentRep } from "../segments/segments.ts";
import type { EnvironmentRecord } from "../../storage/project-store.ts";
import { applyFlagApproval, createFlagApproval, deleteFlagApproval, reviewFlagApproval, scheduledChangeOf, type FlagApprovalPost, type Where } from "./requests.ts";
import { approvalSettingsOf } from "./settings.ts";
import { link } from "@vexil/shared/http/links";

async function flagScope(ctx: FlagsContext, where: Pick<Where, "projectKey" | "flagKey">): Promise<ScopedFlag & { flag: NonNullable<ScopedFlag["flag"]> }> {
  const found = await ctx.flags.flagInScope(where.projectKey, where.flagKey);
  if (!found) throw notFound(`Project "${where.projectKey}"`);
  if (!found.flag) throw notFound(`Flag "${where.flagKey}" in project "${where.projectKey}"`);
  return found as ScopedFlag & { flag: NonNullable<ScopedFlag["flag"]> };
}

async function repIn(ctx: FlagsContext, found: ScopedFlag & { flag: NonNullable<ScopedFlag["flag"]> }, r: ApprovalRequestRecord, now: number, generic: boolean): Promise<ApprovalRep> {
  const env = found.environments.find((e) => e.id === r.environmentId) ?? { approvalSettings: null, segmentApprovalSettings: null };
  const operatingOn = r.status === "pending" ? await scheduledChangeOf(ctx, r) : undefined;
  const conflicts = conflictsOf(r, flagDocument(found.flag), found.environments.map((e) => e.key), now, operatingOn);
  return approvalRep(r, env, conflicts, generic);
}

export async function listFlagApprovals(ctx: FlagsContext, caller: Caller, where: Where) {
  authorizeRead(caller);
  const found = await flagScope(ctx, where);
  const env = environmentIn({ project: found.project, envs: found.environments }, where.envKey);
  const items = await ctx.approvals.flagRequests(found.flag.id, env.id);
  const now = ctx.now();
  return { items: await Promise.all(items.map((r) => repIn(ctx, found, r, now, false))), _links: { self: link(flagApprovalsPath(where.projectKey, where.flagKey, where.envKey)) } };
}

export async function getFlagApproval(ctx: FlagsContext, caller: Caller, where: Where, id: string): Promise<ApprovalRep> {
  authorizeRead(caller);
  const found = await flagScope(ctx, where);
  const env = environmentIn({ project: found.project, envs: found.environments }, where.envKey);
  const r = await ctx.approvals.request(id);
  if (!r || r.flagId !== found.flag.id || r.environmentId !== env.id) throw notFound(`Approval request "${id}"`);
  return repIn(ctx, found, r, ctx.now(), false);
}

// The generic endpoints: flags' and segments' requests.

const RESOURCE_ID = /^proj\/([^:/]+):env\/([^:/]+):(flag|segment)\/([^:/]+)$/;

export type Target = { kind: "flag"; where: Where } | { kind: "segment"; where: SegmentWhere };

/** The flag or segment, and its environment, of a `resourceId` (`proj/p:env/e:flag/f` or `proj/p:env/e:segment/s`). */
export function targetOf(resourceId: string): Target {
  const m = RESOURCE_ID.exec(resourceId);
  if (!m) throw invalidRequest(`resourceId: "${resourceId}" is not proj/<project>:env/<environment>:flag/<flag> or proj/<project>:env/<environment>:segment/<segment>`);
  return m[3] === "segment" ? { kind: "segment", where: { projectKey: m[1]!, envKey: m[2]!, segmentKey: m[4]! } } : { kind: "flag", where: { projectKey: m[1]!, envKey: m[2]!, flagKey: m[4]! } };
}

const whereOfRecord = (r: ApprovalRequestRecord): Where => ({ projectKey: r.projectKey, flagKey: r.flagKey ?? "", envKey: r.environmentKey });

async function recordOf(ctx: FlagsContext, id: string): Promise<ApprovalRequestRecord> {
  const r = await ctx.approvals.request(id);
  if (!r) throw notFound(`Approval request "${id}"`);
  return r;
}

type Expand = "flag" | "project" | "environments" | "resource";

/** A request's resource as it is now: what its representation, its conflicts and its expansions are made from. */
interface Resolved {
  env: EnvironmentRecord | undefined;
  /** Found only for the requests shown (a list reads the resources of every request it filters). */
  conflicts(): Promise<Conflict[]>;
  expanded(expand: Set<Expand>): Record<string, unknown>;
}

/** Reads shared by the requests of one answer: each flag, project and segment is read once. */
type Reads = Map<string, Promise<unknown>>;
const once = <T>(reads: Reads, key: string, read: () => Promise<T>): Promise<T> => {
  if (!reads.has(key)) reads.set(key, read());
  return reads.get(key) as Promise<T>;
};

function flagResolved(ctx: FlagsContext, found: ScopedFlag & { flag: NonNullable<ScopedFlag["flag"]> }, r: ApprovalRequestRecord, now: number): Resolved {
  const env = found.environments.find((e) => e.id === r.environmentId);
  return {
    env,
    conflicts: async () => {
      const operatingOn = r.status === "pending" ? await scheduledChangeOf(ctx, r) : undefined;
      return conflictsOf(r, flagDocument(found.flag), found.environments.map((e) => e.key), now, operatingOn);
    },
    expanded: (expand) => {
      const out: Record<string, unknown> = {};
      if (expand.has("flag") || expand.has("resource")) {
        const flag = flagRep(flagDocument(found.flag), { projectKey: found.project.key, environments: found.environments, summary: false });
        if (expand.has("flag")) out.flag = flag;
        if (expand.has("resource")) out.resource = flag;
      }
      if (expand.has("project")) out.project = projectRep(found.project);
      if (expand.has("environments")) out.environments = env ? [environmentRep(env, found.project.key)] : [];
      return out;
    },
  };
}

/** The request's flag or segment as it is now; undefined when it is gone. */
async function resolve(ctx: FlagsContext, r: ApprovalRequestRecord, now: number, reads: Reads = new Map()): Promise<Resolved | undefined> {
  if (isSegmentRequest(r)) {
    const scope = await once(reads, `project\u0000${r.projectKey}`, () => ctx.flags.projectScope(r.projectKey));
    const env = scope?.environments.find((e) => e.id === r.environmentId);
    const segment = scope && env ? await once(reads, `segment\u0000${env.id}\u0000${r.segmentKey}`, () => ctx.segments.segmentByKey(env.id, r.segmentKey)) : undefined;
    if (!scope || !env || !segment || segment.id !== r.segmentId) return undefined;
    return {
      env,
      conflicts: async () => segmentConflictsOf(r, segment.doc),
      expanded: (expand) => ({
        ...(expand.has("resource") ? { resource: segmentRep({ project: scope.project, env }, segment.doc) } : {}),
        ...(expand.has("project") ? { project: projectRep(scope.project) } : {}),
        ...(expand.has("environments") ? { environments: [environmentRep(env, scope.project.key)] } : {}),
      }),
    };
  }
  const found = await once(reads, `flag\u0000${r.projectKey}\u0000${r.flagKey}`, () => flagScope(ctx, whereOfRecord(r)).catch(() => undefined));
  return found && flagResolved(ctx, found, r, now);
}

const genericRep = async (r: ApprovalRequestRecord, resolved: Resolved, expand: Set<Expand>) => ({
  ...approvalRep(r, resolved.env ?? { approvalSettings: null, segmentApprovalSettings: null }, await resolved.conflicts(), true),
  ...resolved.expanded(expand),
});

function expandParam(value: string | undefined, allowed: readonly Expand[]): Set<Expand> {
  const out = new Set<Expand>();
  for (const e of (value ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    if (!allowed.includes(e as Expand)) throw invalidRequest(`Unknown expand "${e}"; expand ${allowed.join(", ")}`);
    out.add(e as Expand);
  }
  return out;
}

export async function getApproval(ctx: FlagsContext, caller: Caller, id: string, expand?: string) {
  authorizeRead(caller);
  const wanted = expandParam(expand, ["flag", "project", "environments", "resource"]);
  const r = await recordOf(ctx, id);
  const resolved = await resolve(ctx, r, ctx.now());
  if (!resolved) throw notFound(`Approval request "${id}"`);
  return genericRep(r, resolved, wanted);
}

export async function createApproval(ctx: FlagsContext, caller: Caller, post: FlagApprovalPost & { resourceId: string }) {
  const { resourceId, ...rest } = post;
  const target = targetOf(resourceId);
  return target.kind === "segment" ? createSegmentApproval(ctx, caller, target.where, rest) : createFlagApproval(ctx, caller, target.where, rest, true);
}

export async function reviewApproval(ctx: FlagsContext, caller: Caller, id: string, body: { kind: ReviewKind; comment?: string }) {
  authorizeRead(caller);
  const r = await recordOf(ctx, id);
  return isSegmentRequest(r) ? reviewSegmentApproval(ctx, caller, r, body) : reviewFlagApproval(ctx, caller, whereOfRecord(r), id, body, true);
}

export async function applyApproval(ctx: FlagsContext, caller: Caller, id: string, body: { comment?: string }) {
  authorizeRead(caller);
  const r = await recordOf(ctx, id);
  return isSegmentRequest(r) ? applySegmentApproval(ctx, caller, r, body) : applyFlagApproval(ctx, caller, whereOfRecord(r), id, body, true);
}

export async function deleteApproval(ctx: FlagsContext, caller: Caller, id: string) {
  authorizeRead(caller);
  const r = await recordOf(ctx, id);
  return isSegmentRequest(r) ? deleteSegmentApproval(ctx, caller, r) : deleteFlagApproval(ctx, caller, whereOfRecord(r), id);
}

const bareString: JsonFilter<string> = {
  operator: "equals",
  bare: true,
  read: (value, name) => {
    if (typeof value !== "string" && typeof value !== "number") throw invalidRequest(`The filter "${name}" needs a string`);
    return String(value);
  },
};

const STATUSES: readonly ApprovalStatus[] = ["pending", "completed", "failed", "scheduled"];
const REVIEW_STATUSES: readonly ReviewStatus[] = ["pending", "approved", "declined"];
const among = <T extends string>(allowed: readonly T[]): JsonFilter<T[]> => ({
  operator: "anyOf",
  read: (value, name) => {
    const list = anyOfStrings.read(value, name);
    for (const v of list) if (!allowed.includes(v as T)) throw invalidRequest(`The filter "${name}": "${v}" is not one of ${allowed.join(", ")}`);
    return list as T[];
  },
});

const LIST = listQuery({
  filters: {
    notifyMemberIds: anyOfStrings,
    requestorId: bareString,
    resourceId: bareString,
    resourceKind: bareString,
    reviewStatus: among(REVIEW_STATUSES),
    status: among(STATUSES),
    projectKey: bareString,
  },
  expands: ["flag", "project", "environments"] as const,
});

/** LaunchDarkly's page size for this list: 20 by default, at most 200. */
const MAX_PAGE = 200;

export async function listApprovals(ctx: FlagsContext, caller: Caller, params: { filter?: string; expand?: string; limit?: string; offset?: string }) {
  authorizeRead(caller);
  const { filters, expand } = LIST.parse({ filter: params.filter, expand: params.expand });
  const limit = params.limit === undefined ? 20 : /^\d{1,4}$/.test(params.limit) ? Number(params.limit) : NaN;
  const offset = params.offset === undefined ? 0 : /^\d{1,9}$/.test(params.offset) ? Number(params.offset) : NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE)) throw invalidRequest(`limit must be a whole number from 1 to ${MAX_PAGE}`);
  if (!(offset >= 0)) throw invalidRequest("offset must be a whole number, 0 or more");
  const kinds = ["flag", "segment", "aiConfig"];
  if (filters.resourceKind !== undefined && !kinds.includes(filters.resourceKind)) throw invalidRequest(`The filter "resourceKind equals": "${filters.resourceKind}" is not one of ${kinds.join(", ")}`);
  const target = filters.resourceId !== undefined ? targetOf(filters.resourceId) : undefined;
  if (target && filters.projectKey !== undefined && filters.projectKey !== target.where.projectKey) return page([], 0, params, limit, offset);
  const projectKey = target?.where.projectKey ?? filters.projectKey;
  let records = await ctx.approvals.list({ projectKey, requestorId: filters.requestorId, statuses: filters.status });
  if (filters.resourceKind !== undefined) records = records.filter((r) => (isSegmentRequest(r) ? "segment" : "flag") === filters.resourceKind);
  if (filters.resourceId !== undefined) records = records.filter((r) => requestResourceId(r) === filters.resourceId);
  if (filters.notifyMemberIds) records = records.filter((r) => r.notifyMemberIds.some((m) => filters.notifyMemberIds!.includes(m)));
  const now = ctx.now();
  const reads: Reads = new Map();
  const withResource = (await Promise.all(records.map(async (r) => ({ r, resolved: await resolve(ctx, r, now, reads) })))).filter((x) => x.resolved !== undefined) as Array<{ r: ApprovalRequestRecord; resolved: Resolved }>;
  const kept = filters.reviewStatus
    ? withResource.filter(({ r, resolved }) => filters.reviewStatus!.includes(reviewStatusOf(r.reviews, settingsFor(r, resolved.env ?? { approvalSettings: null, segmentApprovalSettings: null }))))
    : withResource;
  const items = await Promise.all(kept.slice(offset, offset + limit).map(({ r, resolved }) => genericRep(r, resolved, expand as Set<Expand>)));
  return page(items, kept.length, params, limit, offset);
}

function page<T>(items: T[], total: number, params: { filter?: string; expand?: string }, limit: number, offset: number) {
  return { items, totalCount: total, _links: pageLinks(APPROVALS_PATH, { filter: params.filter, expand: params.expand }, { limit, offset }, total) };
}
