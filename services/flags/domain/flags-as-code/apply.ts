/**
 * Apply: a plan (or a file, planned first) carried out item by item through the ordinary write
 * paths: a creation through `createFlag`/`createSegment`, every change as one semantic patch
 * (`decidePatch`/`decideSegmentPatch`), each with the given comment in its audit entry, each
 * firing its change events like any other change.
 *
 * Each item is checked against the version the plan saw, inside the item's unit of work: an item
 * changed since the plan was made is reported as a conflict and left as it is, never overwritten.
 * Other items still apply; a refusal of one item (a 400 or 403) is reported with its message.
 *
 * An apply runs within its request's deadline: it starts an item only while there is time left for
 * it (twice the longest item so far, at least `ITEM_BUDGET_MS`), and answers with the items it did
 * not start as `pending`, with `remaining`, the plan of just those, to send again. So a plan of any
 * size applies in as many calls as it needs, and no item is cut off half way (an item is one write).
 *
 * Where an environment requires approval for a flag and the caller may not bypass it, the change
 * is not refused: the flag's instructions for that environment become an approval request (with
 * the comment as its description), reported under `approvals`; the rest of the item (its other
 * environments, what is flag-wide) applies directly as usual. A reviewer approves and applies the
 * request like any other; its apply checks it against the flag as it then is (conflicts).
 */
import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { remainingMs } from "@vexil/shared/deadline";
import { VexilError, invalidRequest } from "@vexil/shared/errors";
import type { PatchRequest } from "@vexil/shared/patch";
import type { FlagsContext } from "../context.ts";
import { createFlagApproval } from "../approvals/requests.ts";
import { changeFlag } from "../flags/change.ts";
import { createFlag } from "../flags/flags.ts";
import { decidePatch } from "../flags/patch-flag.ts";
import type { FlagRep } from "../flags/representation.ts";
import { FlagPost } from "../flags/schemas.ts";
import { SegmentPost } from "../segments/schemas.ts";
import { changeSegment, createSegment, decideSegmentPatch, deleteSegment } from "../segments/segments.ts";
import { readLive } from "./export.ts";
import { fileOfRequest, planOf, type Plan, type PlanItem } from "./plan.ts";

const Item = T.Object(
  {
    resource: T.Union([T.Literal("flag"), T.Literal("segment")]),
    key: T.String({ minLength: 1, maxLength: 140 }),
    environmentKey: T.Optional(T.String({ minLength: 1, maxLength: 140 })),
    action: T.Union([T.Literal("create"), T.Literal("update"), T.Literal("delete")]),
    version: T.Union([T.Integer({ minimum: 1 }), T.Null()]),
    create: T.Optional(T.Record(T.String(), T.Unknown())),
    instructions: T.Array(T.Record(T.String(), T.Unknown()), { maxItems: 10_000 }),
    summary: T.Array(T.String()),
  },
  { additionalProperties: false },
);

/** A plan as `plan` answers it, sent back to be applied. */
export const PlanBody = T.Object(
  {
    project: T.String(),
    environments: T.Array(T.String()),
    prune: T.Boolean(),
    items: T.Array(Item, { maxItems: 20_000 }),
    summary: T.String(),
    notes: T.Array(T.String()),
  },
  { additionalProperties: false },
);

export interface ApplyRequest {
  comment?: string;
  plan?: unknown;
  file?: unknown;
  prune?: boolean;
}

export interface ItemOutcome {
  resource: PlanItem["resource"];
  key: string;
  environmentKey?: string;
  action: PlanItem["action"];
  /** The version after the change (none for a deletion). */
  version?: number;
  message?: string;
}

export interface ApplyReport {
  summary: string;
  applied: ItemOutcome[];
  /** Items changed since the plan was made: left as they are. */
  conflicts: ItemOutcome[];
  /** Items refused (the message says why): left as they are. */
  errors: ItemOutcome[];
  /** Items not started for lack of time: apply `remaining` to carry them out. */
  pending: ItemOutcome[];
  /** Changes of environments that require approval, opened as approval requests instead (their ids). */
  approvals: Array<ItemOutcome & { approvalRequestId: string }>;
  /** The plan of the pending items, when there are some. */
  remaining?: Plan;
  plan: Plan;
}

/** The least time an item is started with. */
export const ITEM_BUDGET_MS = 500;

/** Refuses an item whose stored version is no longer the plan's. */
class Stale extends VexilError {
  constructor(what: string, planned: number | null, now: number) {
    super("conflict", `${what} changed since the plan (version ${planned} planned, ${now} now); plan again`);
  }
}

function checkPlan(plan: unknown, projectKey: string): Plan {
  if (!Value.Check(PlanBody, plan)) {
    const first = Value.Errors(PlanBody, plan).First();
    throw invalidRequest(`plan${first?.path ?? ""}: ${first?.message ?? "is not a plan"}`);
  }
  if (plan.project !== projectKey) throw invalidRequest(`plan: made for project "${plan.project}", not "${projectKey}"`);
  for (const item of plan.items) {
    if (item.action === "create" && (!item.create || item.version !== null)) throw invalidRequest(`plan: ${item.resource} "${item.key}": a creation needs create and a null version`);
    if (item.action !== "create" && item.version === null) throw invalidRequest(`plan: ${item.resource} "${item.key}": needs the version it was planned against`);
    if (item.resource === "segment" && !item.environmentKey) throw invalidRequest(`plan: segment "${item.key}": needs environmentKey`);
    if (item.create && !Value.Check(item.resource === "flag" ? FlagPost : SegmentPost, item.create)) throw invalidRequest(`plan: ${item.resource} "${item.key}": create is not a valid ${item.resource} body`);
    if (item.create && item.create.key !== item.key) throw invalidRequest(`plan: ${item.resource} "${item.key}": create names another key`);
  }
  return plan as Plan;
}

/** What applying a flag's item did: its version after, and the approval requests it opened instead of changing an environment. */
interface FlagApplied {
  version?: number;
  approvals: Array<{ environmentKey: string; id: string }>;
}

const isApprovalRequired = (e: unknown) => e instanceof VexilError && e.code === "method_not_allowed";

async function applyFlag(ctx: FlagsContext, caller: Caller, projectKey: string, item: PlanItem, comment: string | undefined): Promise<FlagApplied> {
  let expected = item.version;
  if (item.action === "create") {
    const created = await createFlag(ctx, caller, projectKey, item.create as FlagPost, undefined, comment);
    expected = created._version;
    if (item.instructions.length === 0) return { version: expected ?? undefined, approvals: [] };
  }
  const patch = async (instructions: unknown[]) => {
    const request: PatchRequest = { format: "semantic", instructions, comment };
    const rep = await changeFlag<FlagRep | undefined>(ctx, caller, projectKey, item.key, (read, scope) => {
      if (read.flag.version !== expected) throw new Stale(`Flag "${item.key}"`, expected, read.flag.version);
      return decidePatch(ctx, caller, read, scope, request);
    });
    return rep?._version;
  };
  try {
    return { version: await patch(item.instructions), approvals: [] };
  } catch (e) {
    if (!isApprovalRequired(e)) throw e;
  }
  // Approvals are required somewhere this item changes: environment by environment, what may go
  // ahead goes ahead and the rest waits for review.
  const byEnv = new Map<string, unknown[]>();
  const direct: unknown[] = [];
  for (const instruction of item.instructions) {
    const env = (instruction as { environmentKey?: unknown }).environmentKey;
    if (typeof env === "string") byEnv.set(env, [...(byEnv.get(env) ?? []), instruction]);
    else direct.push(instruction);
  }
  const requests: Array<[string, unknown[]]> = [];
  for (const [env, instructions] of byEnv) {
    if (direct.length === 0 && byEnv.size === 1) {
      requests.push([env, instructions]);
      continue;
    }
    try {
      expected = (await patch(instructions)) ?? expected;
    } catch (e) {
      if (!isApprovalRequired(e)) throw e;
      requests.push([env, instructions]);
    }
  }
  // Flag-wide instructions (names, tags, variations) apply as they are, or are refused with their reason.
  let version: number | undefined = expected ?? undefined;
  if (direct.length > 0) version = await patch(direct);
  const approvals: FlagApplied["approvals"] = [];
  for (const [envKey, instructions] of requests) {
    const description = comment ?? `Flags as code: ${item.summary.filter((line) => line.startsWith(`${envKey}:`)).join("; ") || `change of ${item.key} in ${envKey}`}`;
    const made = await createFlagApproval(ctx, caller, { projectKey, flagKey: item.key, envKey }, { description: description.slice(0, 4096), instructions: instructions.map(withoutEnvironment), comment });
    approvals.push({ environmentKey: envKey, id: made._id });
  }
  return { version, approvals };
}

/** An instruction as an approval request of one environment takes it (the request names the environment). */
function withoutEnvironment(instruction: unknown): unknown {
  const { environmentKey: _, ...rest } = instruction as Record<string, unknown>;
  return rest;
}

async function applySegment(ctx: FlagsContext, caller: Caller, projectKey: string, item: PlanItem, comment: string | undefined): Promise<number | undefined> {
  const env = item.environmentKey!;
  let expected = item.version;
  if (item.action === "create") {
    const created = await createSegment(ctx, caller, projectKey, env, item.create as SegmentPost, comment);
    expected = created.version;
    if (item.instructions.length === 0) return expected;
  }
  if (item.action === "delete") {
    // The version is checked just before the deletion, which has no version test of its own.
    await changeSegment(ctx, caller, projectKey, env, item.key, async (read) => {
      if (read.segment.version !== expected) throw new Stale(`Segment "${item.key}" in ${env}`, expected, read.segment.version);
      return { result: undefined };
    });
    await deleteSegment(ctx, caller, projectKey, env, item.key);
    return undefined;
  }
  const request: PatchRequest = { format: "semantic", instructions: item.instructions, environmentKey: env, comment };
  const rep = await changeSegment(ctx, caller, projectKey, env, item.key, (read) => {
    if (read.segment.version !== expected) throw new Stale(`Segment "${item.key}" in ${env}`, expected, read.segment.version);
    return decideSegmentPatch(ctx, caller, read, request);
  });
  return rep.version;
}

/** Applies a plan's items in order; see the module's comment. `timeLeft` is the request's time to commit. */
export async function applyItems(ctx: FlagsContext, caller: Caller, projectKey: string, plan: Plan, comment: string | undefined, timeLeft: () => number = remainingMs): Promise<ApplyReport> {
  const report: ApplyReport = { summary: "", applied: [], conflicts: [], errors: [], pending: [], approvals: [], plan };
  const pendingItems: PlanItem[] = [];
  let longest = 0;
  for (const item of plan.items) {
    const outcome: ItemOutcome = { resource: item.resource, key: item.key, ...(item.environmentKey ? { environmentKey: item.environmentKey } : {}), action: item.action };
    if (pendingItems.length > 0 || timeLeft() < Math.max(ITEM_BUDGET_MS, 2 * longest)) {
      pendingItems.push(item);
      report.pending.push(outcome);
      continue;
    }
    const started = Date.now();
    try {
      if (item.resource === "flag") {
        const { version, approvals } = await applyFlag(ctx, caller, projectKey, item, comment);
        report.applied.push(version !== undefined ? { ...outcome, version } : outcome);
        for (const a of approvals) report.approvals.push({ ...outcome, environmentKey: a.environmentKey, approvalRequestId: a.id, message: `approval required in ${a.environmentKey}: approval request ${a.id} opened` });
      } else {
        const version = await applySegment(ctx, caller, projectKey, item, comment);
        report.applied.push(version !== undefined ? { ...outcome, version } : outcome);
      }
    } catch (e) {
      if (!(e instanceof VexilError)) throw e;
      if (e.code === "gateway_timeout") {
        // Out of time after all: it wrote nothing, and it and the rest are left for the next call.
        pendingItems.push(item);
        report.pending.push(outcome);
        continue;
      }
      // A creation whose key is taken meanwhile is a conflict too.
      const list = e instanceof Stale || (e.code === "conflict" && item.action === "create") ? report.conflicts : report.errors;
      list.push({ ...outcome, message: e.message });
    } finally {
      ctx.committed?.();
      longest = Math.max(longest, Date.now() - started);
    }
  }
  const { applied, conflicts, errors, pending } = report;
  if (pendingItems.length > 0) {
    const instructions = pendingItems.reduce((n, i) => n + i.instructions.length, 0);
    report.remaining = { ...plan, items: pendingItems, summary: `${pendingItems.length} items left (${instructions} instructions)` };
  }
  report.summary = `${applied.length} applied, ${conflicts.length} changed since the plan, ${errors.length} refused${report.approvals.length > 0 ? `, ${report.approvals.length} approval requests opened` : ""}${pending.length > 0 ? `, ${pending.length} left for another call (out of time)` : ""}`;
  return report;
}

export async function applyProject(ctx: FlagsContext, caller: Caller, projectKey: string, request: ApplyRequest): Promise<ApplyReport> {
  authorizeRead(caller);
  if (request.comment !== undefined && typeof request.comment !== "string") throw invalidRequest("comment must be a string");
  if ((request.plan === undefined) === (request.file === undefined)) throw invalidRequest("give either plan or file");
  let plan: Plan;
  if (request.plan !== undefined) plan = checkPlan(request.plan, projectKey);
  else {
    const live = await readLive(ctx, projectKey);
    plan = planOf(live, { file: fileOfRequest(live, { file: request.file }), prune: request.prune ?? false });
  }
  return applyItems(ctx, caller, projectKey, plan, request.comment);
}
