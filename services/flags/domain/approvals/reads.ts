/**
 * Reading approval requests: a flag's in one environment, one by id, and the generic list of
 * `/api/v2/approval-requests` with LaunchDarkly's filters. Conflicts are found against the flag as
 * it is now (`conflicts.ts`). The generic endpoints that act on one request find its flag and
 * environment from the request and act as the flag-scoped ones do.
 */
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { invalidRequest, notFound } from "@vexil/shared/errors";
import { pageLinks } from "@vexil/shared/http/links";
import { anyOfStrings, listQuery, type JsonFilter } from "@vexil/shared/http/list-query";
import type { ApprovalRequestRecord, ApprovalStatus, ReviewKind } from "../../storage/approval-store.ts";
import type { ScopedFlag } from "../../storage/flag-store.ts";
import type { FlagsContext } from "../context.ts";
import { flagDocument, flagRep } from "../flags/representation.ts";
import { environmentRep, projectRep } from "../representations.ts";
import { environmentIn } from "../schedules/flag-items.ts";
import { conflictsOf } from "./conflicts.ts";
import { APPROVALS_PATH, approvalRep, flagApprovalsPath, reviewStatusOf, type ApprovalRep, type ReviewStatus } from "./representation.ts";
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
  const env = found.environments.find((e) => e.id === r.environmentId) ?? { approvalSettings: null };
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

// The generic endpoints.

const RESOURCE_ID = /^proj\/([^:/]+):env\/([^:/]+):flag\/([^:/]+)$/;

/** The flag and environment of a `resourceId` (`proj/p:env/e:flag/f`); only flags have approval requests here. */
export function whereOf(resourceId: string): Where {
  const m = RESOURCE_ID.exec(resourceId);
  if (!m) {
    if (/^proj\/[^:]+:env\/[^:]+:segment\//.test(resourceId)) throw invalidRequest("resourceId: approval requests of segments are not supported; only of flags (proj/<project>:env/<environment>:flag/<flag>)");
    throw invalidRequest(`resourceId: "${resourceId}" is not proj/<project>:env/<environment>:flag/<flag>`);
  }
  return { projectKey: m[1]!, envKey: m[2]!, flagKey: m[3]! };
}

const whereOfRecord = (r: ApprovalRequestRecord): Where => ({ projectKey: r.projectKey, flagKey: r.flagKey, envKey: r.environmentKey });

async function recordOf(ctx: FlagsContext, id: string): Promise<ApprovalRequestRecord> {
  const r = await ctx.approvals.request(id);
  if (!r) throw notFound(`Approval request "${id}"`);
  return r;
}

type Expand = "flag" | "project" | "environments" | "resource";

function expanded(found: ScopedFlag & { flag: NonNullable<ScopedFlag["flag"]> }, r: ApprovalRequestRecord, expand: Set<Expand>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const env = found.environments.find((e) => e.id === r.environmentId);
  if (expand.has("flag") || expand.has("resource")) {
    const flag = flagRep(flagDocument(found.flag), { projectKey: found.project.key, environments: found.environments, summary: false });
    if (expand.has("flag")) out.flag = flag;
    if (expand.has("resource")) out.resource = flag;
  }
  if (expand.has("project")) out.project = projectRep(found.project);
  if (expand.has("environments")) out.environments = env ? [environmentRep(env, found.project.key)] : [];
  return out;
}

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
  const found = await flagScope(ctx, whereOfRecord(r));
  return { ...(await repIn(ctx, found, r, ctx.now(), true)), ...expanded(found, r, wanted) };
}

export async function createApproval(ctx: FlagsContext, caller: Caller, post: FlagApprovalPost & { resourceId: string }) {
  const { resourceId, ...rest } = post;
  return createFlagApproval(ctx, caller, whereOf(resourceId), rest, true);
}

export async function reviewApproval(ctx: FlagsContext, caller: Caller, id: string, body: { kind: ReviewKind; comment?: string }) {
  authorizeRead(caller);
  return reviewFlagApproval(ctx, caller, whereOfRecord(await recordOf(ctx, id)), id, body, true);
}

export async function applyApproval(ctx: FlagsContext, caller: Caller, id: string, body: { comment?: string }) {
  authorizeRead(caller);
  return applyFlagApproval(ctx, caller, whereOfRecord(await recordOf(ctx, id)), id, body, true);
}

export async function deleteApproval(ctx: FlagsContext, caller: Caller, id: string) {
  authorizeRead(caller);
  return deleteFlagApproval(ctx, caller, whereOfRecord(await recordOf(ctx, id)), id);
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
  if (filters.resourceKind !== undefined && filters.resourceKind !== "flag") {
    if (filters.resourceKind === "segment" || filters.resourceKind === "aiConfig") return page([], 0, params, limit, offset);
    throw invalidRequest(`The filter "resourceKind equals": "${filters.resourceKind}" is not one of flag, segment, aiConfig`);
  }
  const where = filters.resourceId !== undefined ? whereOf(filters.resourceId) : undefined;
  if (where && filters.projectKey !== undefined && filters.projectKey !== where.projectKey) return page([], 0, params, limit, offset);
  const projectKey = where?.projectKey ?? filters.projectKey;
  let records = await ctx.approvals.list({ projectKey, requestorId: filters.requestorId, statuses: filters.status });
  if (where) records = records.filter((r) => r.flagKey === where.flagKey && r.environmentKey === where.envKey);
  if (filters.notifyMemberIds) records = records.filter((r) => r.notifyMemberIds.some((m) => filters.notifyMemberIds!.includes(m)));
  // The flag and its environments, read once per flag.
  const scopes = new Map<string, Promise<(ScopedFlag & { flag: NonNullable<ScopedFlag["flag"]> }) | undefined>>();
  const scopeOf = (r: ApprovalRequestRecord) => {
    const key = `${r.projectKey}\u0000${r.flagKey}`;
    if (!scopes.has(key)) scopes.set(key, flagScope(ctx, whereOfRecord(r)).catch(() => undefined));
    return scopes.get(key)!;
  };
  const now = ctx.now();
  const withScope = (await Promise.all(records.map(async (r) => ({ r, found: await scopeOf(r) })))).filter((x) => x.found !== undefined);
  const kept = filters.reviewStatus
    ? withScope.filter(({ r, found }) => filters.reviewStatus!.includes(reviewStatusOf(r.reviews, approvalSettingsOf(found!.environments.find((e) => e.id === r.environmentId) ?? { approvalSettings: null }))))
    : withScope;
  const items = await Promise.all(kept.slice(offset, offset + limit).map(async ({ r, found }) => ({ ...(await repIn(ctx, found!, r, now, true)), ...expanded(found!, r, expand as Set<Expand>) })));
  return page(items, kept.length, params, limit, offset);
}

function page<T>(items: T[], total: number, params: { filter?: string; expand?: string }, limit: number, offset: number) {
  return { items, totalCount: total, _links: pageLinks(APPROVALS_PATH, { filter: params.filter, expand: params.expand }, { limit, offset }, total) };
}
