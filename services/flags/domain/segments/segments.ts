/**
 * Segment use cases, per environment: list, create, read, patch (JSON Patch, merge patch,
 * semantic patch with `environmentKey`), delete. Every write ends in one validation, one audit
 * entry and one change event for SDKs, all in the transaction of the change.
 */
import { auditEntry, patchChange } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import type { PendingChange } from "@vexil/shared/change-events";
import { conflict, invalidRequest, notFound } from "@vexil/shared/errors";
import { link, pageLinks } from "@vexil/shared/http/links";
import { anyOfStrings, equalsString, listQuery, type ListParams } from "@vexil/shared/http/list-query";
import { resourceId } from "@vexil/shared/ids";
import { applyPatch, parsePatchRequest, type PatchRequest } from "@vexil/shared/patch";
import type { Resource } from "@vexil/shared/policy";
import type { SegmentQuery, SegmentRecord, SegmentSortField, SegmentWrite } from "../../storage/segment-store.ts";
import type { ProjectScope } from "../../storage/flag-store.ts";
import type { DroppedTarget, ScheduleWrite } from "../../storage/schedule-store.ts";
import { decideAndWrite, type Decision } from "../unit-of-work.ts";
import type { EnvironmentRecord, ProjectRecord } from "../../storage/project-store.ts";
import type { FlagsContext } from "../context.ts";
import { newId, randomHex } from "../flags/model.ts";
import type { Segment } from "./model.ts";
import type { SegmentPost } from "./schemas.ts";
import { applySegmentInstructions } from "./semantic-patch.ts";
import { withSegmentIds } from "./ids.ts";
import { validateSegment } from "./validate.ts";
import { segmentApprovalGate } from "../approvals/gate.ts";

interface Scope {
  project: ProjectRecord;
  env: EnvironmentRecord;
}

const segmentsPath = (s: Scope) => `/api/v2/segments/${encodeURIComponent(s.project.key)}/${encodeURIComponent(s.env.key)}`;

/** The project and the environment (`consistent`: read from the database, not this instance's memory). */
async function scopeOf(ctx: FlagsContext, projectKey: string, envKey: string, consistent = false): Promise<Scope & ProjectScope> {
  const found = await ctx.flags.projectScope(projectKey, { consistent });
  if (!found) throw notFound(`Project "${projectKey}"`);
  const env = found.environments.find((e) => e.key === envKey);
  if (!env) throw notFound(`Environment "${envKey}" in project "${projectKey}"`);
  return { ...found, env };
}

type Read = Scope & ProjectScope & { segment: SegmentRecord | undefined };
export type SegmentRead = Read & { segment: SegmentRecord };

/**
 * One change to an existing segment, as a unit of work (`../unit-of-work.ts`): `decide` gets the
 * project, the environment and the segment as read, and what it returns is written only if none
 * of them moved meanwhile. `also` reads more (the segment's scheduled items) after the segment:
 * whatever changes it also raises the segment's version, so a stale read of it fails the write.
 * Every update decided passes the approval gate (`../approvals/gate.ts`) as `caller`'s.
 */
export function changeSegment<T, X = undefined>(
  ctx: FlagsContext,
  caller: Caller,
  projectKey: string,
  envKey: string,
  key: string,
  decide: (read: SegmentRead, more: X) => Promise<Decision<SegmentWrite, T>>,
  also?: (segment: SegmentRecord) => Promise<X>,
): Promise<T> {
  return decideAndWrite<Read & { more: X }, SegmentWrite, T>(`segment\u0000${projectKey}\u0000${envKey}\u0000${key}`, {
    read: async (consistent) => {
      const scope = await scopeOf(ctx, projectKey, envKey, consistent);
      const segment = await ctx.segments.segmentByKey(scope.env.id, key, { consistent });
      return { ...scope, segment, more: (segment && also ? await also(segment) : undefined) as X };
    },
    decide: async (read) => {
      if (!read.segment) throw notFound(`Segment "${key}" in ${projectKey}/${envKey}`);
      const decision = await decide(read as SegmentRead, read.more);
      if (decision.write === undefined) return decision;
      return { ...decision, write: segmentApprovalGate(caller, read as SegmentRead, decision.write) };
    },
    write: (read, write) => ctx.segments.writeSegment(read as SegmentRead, write),
  });
}

export function segmentResource(s: Scope, segment: Pick<Segment, "key" | "tags">): Resource {
  return [
    { type: "proj", key: s.project.key, tags: s.project.tags },
    { type: "env", key: s.env.key, tags: s.env.tags, properties: { critical: s.env.critical } },
    { type: "segment", key: segment.key, tags: segment.tags },
  ];
}

export function segmentRep(s: Scope, segment: Segment) {
  return { ...segment, _links: { self: link(`${segmentsPath(s)}/${encodeURIComponent(segment.key)}`), parent: link(segmentsPath(s)) } };
}
export type SegmentRep = ReturnType<typeof segmentRep>;

/** A segment as SDKs receive it (server-side SDK segment format). */
export function sdkSegment(segment: Segment) {
  return {
    key: segment.key,
    version: segment.version,
    included: segment.included,
    excluded: segment.excluded,
    includedContexts: segment.includedContexts,
    excludedContexts: segment.excludedContexts,
    rules: segment.rules.map((r) => ({
      id: r._id,
      clauses: r.clauses.map((c) => ({ contextKind: c.contextKind ?? "user", attribute: c.attribute, op: c.op, values: c.values, negate: c.negate })),
      ...(r.weight !== undefined ? { weight: r.weight } : {}),
      ...(r.bucketBy !== undefined ? { bucketBy: r.bucketBy } : {}),
      ...(r.rolloutContextKind !== undefined ? { rolloutContextKind: r.rolloutContextKind } : {}),
    })),
    salt: segment.salt,
    unbounded: segment.unbounded,
    generation: segment.generation,
    deleted: false,
  };
}

const change = (s: Scope, segment: Segment, deleted = false): PendingChange[] => [
  { environmentKey: s.env.key, kind: "segment", key: segment.key, version: deleted ? segment.version + 1 : segment.version, deleted, ...(deleted ? {} : { data: sdkSegment(segment) }) },
];

const LIST = listQuery({ filters: { query: equalsString, tags: anyOfStrings }, sorts: ["key", "name", "creationDate", "lastModified"] satisfies SegmentSortField[] });

export async function listSegments(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string, params: Omit<ListParams, "expand">) {
  authorizeRead(caller);
  const scope = await scopeOf(ctx, projectKey, envKey);
  const { page, filters, sort } = LIST.parse(params);
  const q: SegmentQuery = { ...page, ...filters, sort: sort ?? { field: "key", descending: false } };
  const { items, total } = await ctx.segments.listSegments(scope.env.id, q);
  return { items: items.map((r) => segmentRep(scope, r.doc)), totalCount: total, _links: pageLinks(segmentsPath(scope), { sort: params.sort, filter: params.filter }, q, total) };
}

export async function getSegment(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string, key: string): Promise<SegmentRep> {
  authorizeRead(caller);
  const scope = await scopeOf(ctx, projectKey, envKey);
  const record = await ctx.segments.segmentByKey(scope.env.id, key);
  if (!record) throw notFound(`Segment "${key}" in ${projectKey}/${envKey}`);
  return segmentRep(scope, record.doc);
}

export async function createSegment(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string, post: SegmentPost, comment?: string): Promise<SegmentRep> {
  authorizeRead(caller);
  const scope = await scopeOf(ctx, projectKey, envKey, true);
  if (post.unbounded) throw invalidRequest("unbounded: big segments are not supported; use included and excluded targets");
  // The context kind of a big segment: with none to apply to, it would be silently dropped.
  if (post.unboundedContextKind !== undefined) throw invalidRequest("unboundedContextKind: is the context kind of a big segment, and big segments are not supported; leave it out");
  authorize(caller, "createSegment", segmentResource(scope, { key: post.key, tags: post.tags ?? [] }));
  const now = ctx.now();
  const segment: Segment = {
    key: post.key,
    name: post.name,
    description: post.description ?? "",
    tags: post.tags ?? [],
    creationDate: now,
    lastModifiedDate: now,
    included: [],
    excluded: [],
    includedContexts: [],
    excludedContexts: [],
    rules: [],
    version: 1,
    deleted: false,
    generation: 1,
    unbounded: false,
    salt: randomHex(),
  };
  validateSegment(segment);
  if (await ctx.segments.segmentByKey(scope.env.id, segment.key)) throw conflict(`A segment with key "${segment.key}" already exists in ${projectKey}/${envKey}`);
  const rep = segmentRep(scope, segment);
  const record: SegmentRecord = { id: resourceId(), projectId: scope.project.id, environmentId: scope.env.id, key: segment.key, doc: segment, version: 1, createdAt: now };
  await ctx.segments.insertSegment(
    record,
    auditEntry({ caller, kind: "segment", spec: `proj/${scope.project.key}:env/${scope.env.key}:segment/${segment.key}`, name: segment.name, verb: "created the segment", actions: ["createSegment"], comment, current: rep, currentVersion: 1, now }),
    change(scope, segment),
  );
  ctx.committed?.();
  return rep;
}

/** The action each changed field takes. */
const FIELD_ACTIONS: Record<string, string> = {
  name: "updateName",
  description: "updateDescription",
  tags: "updateTags",
  included: "updateIncluded",
  includedContexts: "updateIncluded",
  excluded: "updateExcluded",
  excludedContexts: "updateExcluded",
  rules: "updateRules",
};
/** Fields a JSON Patch or merge patch may not change; any field neither here nor above is refused by `validateSegment`. */
const READ_ONLY = ["key", "creationDate", "lastModifiedDate", "version", "deleted", "generation", "unbounded", "unboundedContextKind", "salt"];

export interface SegmentPatchOptions {
  /** Who the audit entry names as the author, when not the caller: an expiring target. */
  actor?: string;
  /** The operation the change is, when it must happen once (the execution of a scheduled item). */
  operationId?: string;
  /** Changes of the segment's scheduled items written with the change. */
  schedule?: ScheduleWrite;
  /** False for the execution of a schedule: `requireComments` asks people for a comment. */
  requireComments?: boolean;
}

/** The individual targets of `current` that `next` no longer has. */
function droppedTargets(scope: Scope, current: Segment, next: Segment): DroppedTarget[] {
  const dropped: DroppedTarget[] = [];
  for (const side of ["included", "excluded"] as const) {
    const keys = (s: Segment) => [...s[side].map((key) => ["user", key] as const), ...s[CONTEXT_LISTS[side]].flatMap((t) => t.values.map((key) => [t.contextKind, key] as const))];
    const kept = new Set(keys(next).map(([kind, key]) => `${kind}\u0000${key}`));
    for (const [kind, key] of keys(current)) {
      if (!kept.has(`${kind}\u0000${key}`)) dropped.push({ environmentId: scope.env.id, contextKind: kind, contextKey: key, targetType: side });
    }
  }
  return dropped;
}
const CONTEXT_LISTS = { included: "includedContexts", excluded: "excludedContexts" } as const;

/** What a patch of the segment read decides: the write, or nothing to write and the segment as it is. */
export async function decideSegmentPatch(ctx: FlagsContext, caller: Caller, scope: SegmentRead, request: PatchRequest, options: SegmentPatchOptions = {}): Promise<Decision<SegmentWrite, SegmentRep>> {
  const record = scope.segment;
  const current = record.doc;
  let next: Segment;
  if (request.format === "semantic") {
    next = applySegmentInstructions(current, request.instructions, { environmentKey: request.environmentKey, environment: scope.env.key, newId }).segment;
  } else {
    const patched = applyPatch(current, request);
    if (typeof patched !== "object" || patched === null || Array.isArray(patched)) throw invalidRequest("The patch must leave an object");
    next = patched as Segment;
    for (const k of READ_ONLY) {
      if (!Bun.deepEquals((next as unknown as Record<string, unknown>)[k], (current as unknown as Record<string, unknown>)[k], true)) throw invalidRequest(`"${k}" is read-only and cannot be changed`);
    }
  }
  const now = ctx.now();
  next = withSegmentIds({ ...next, version: current.version + 1, lastModifiedDate: now });
  // The whole result, every level of it, before anything reads it: a field the patch added
  // anywhere (`/rules/0/foo`) would otherwise be stored and served to SDKs.
  validateSegment(next);
  const actions = [...new Set(Object.keys(FIELD_ACTIONS).filter((f) => !Bun.deepEquals((next as never)[f], (current as never)[f], true)).map((f) => FIELD_ACTIONS[f]!))];
  if (actions.length === 0) return { result: segmentRep(scope, current) };
  authorize(caller, actions, segmentResource(scope, current));
  if (options.requireComments !== false && scope.env.requireComments && !request.comment) throw invalidRequest(`The environment "${scope.env.key}" requires a comment on every change`);
  const rep = segmentRep(scope, next);
  const audit = auditEntry({
    caller,
    kind: "segment",
    spec: `proj/${scope.project.key}:env/${scope.env.key}:segment/${current.key}`,
    name: next.name,
    actions,
    ...patchChange(request, "segment", { previous: segmentRep(scope, current), current: rep }, { previous: current.version, current: next.version }, now),
    actor: options.actor,
    operationId: options.operationId,
  });
  const dropped = droppedTargets(scope, current, next);
  const schedule = options.schedule ?? {};
  return {
    write: {
      kind: "update",
      segment: { ...record, doc: next, version: next.version },
      audit,
      changes: change(scope, next),
      ...(dropped.length > 0 || schedule.put || schedule.remove ? { schedule: { ...schedule, dropped: [...(schedule.dropped ?? []), ...dropped] } } : {}),
    },
    result: rep,
  };
}

export async function patchSegment(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string, key: string, body: unknown, contentType: string | null): Promise<SegmentRep> {
  const request = parsePatchRequest(body, contentType);
  authorizeRead(caller);
  const result = await changeSegment<SegmentRep>(ctx, caller, projectKey, envKey, key, (scope) => decideSegmentPatch(ctx, caller, scope, request));
  ctx.committed?.();
  return result;
}

/**
 * A change of the segment's scheduled items only: the segment stays as it is but for its version,
 * raised so that every change of its items is decided on one version of the segment. SDKs are
 * told nothing: nothing they evaluate changed, and a later change has a higher version still.
 */
export function segmentScheduleUpdate(read: SegmentRead, audit: SegmentWrite["audit"], schedule: ScheduleWrite): SegmentWrite & { kind: "update" } {
  const version = read.segment.version + 1;
  return { kind: "update", segment: { ...read.segment, doc: { ...read.segment.doc, version }, version }, audit, changes: [], schedule };
}

export async function deleteSegment(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string, key: string): Promise<void> {
  authorizeRead(caller);
  await changeSegment<void>(ctx, caller, projectKey, envKey, key, async (scope) => {
    const record = scope.segment;
    authorize(caller, "deleteSegment", segmentResource(scope, record.doc));
    const audit = auditEntry({
      caller,
      kind: "segment",
      spec: `proj/${scope.project.key}:env/${scope.env.key}:segment/${key}`,
      name: record.doc.name,
      verb: "deleted the segment",
      actions: ["deleteSegment"],
      previous: segmentRep(scope, record.doc),
      previousVersion: record.doc.version,
      now: ctx.now(),
    });
    return { write: { kind: "delete", audit, changes: change(scope, record.doc, true) }, result: undefined };
  });
  ctx.committed?.();
}
