/**
 * The execution of a due item: an ordinary change of its flag or segment, decided and written
 * as any other (`decideAndWrite`), that also removes the item. Its audit entry names the item's
 * operation (`operationId`: the item and its version), which the audit log holds once: whatever
 * the outcome — applied, nothing to change, or failed — a second execution of the same item
 * version can only fail on that index, and is recognised as already done. The change is
 * attributed to the item, for the member or token that made it.
 *
 * An item that can no longer apply (its instructions refused by the flag as it now is, its
 * target or variation gone) fails: a scheduled change stays, `failed`, with the reason; an
 * expiring target goes. Either way the audit log gets an entry naming the item and the reason.
 */
import { auditEntry, actorName } from "@vexil/shared/audit/audit";
import type { Caller } from "@vexil/shared/caller";
import { VexilError } from "@vexil/shared/errors";
import { OperationAlreadyApplied, type ScheduledItem } from "../../storage/schedule-store.ts";
import type { FlagsContext } from "../context.ts";
import { changeFlag, scheduleUpdate } from "../flags/change.ts";
import { approvalRequiredError, gatedEnvironments } from "../approvals/gate.ts";
import { approvalSettingsOf } from "../approvals/settings.ts";
import type { FlagRecord, FlagWrite } from "../../storage/flag-store.ts";
import type { EnvironmentRecord } from "../../storage/project-store.ts";
import { BYPASS_REQUIRED_APPROVAL } from "@vexil/shared/policy";
import { decidePatch } from "../flags/patch-flag.ts";
import { flagDocument } from "../flags/representation.ts";
import { allTargets, kindOf } from "../flags/targets.ts";
import { changeSegment, decideSegmentPatch, segmentScheduleUpdate } from "../segments/segments.ts";
import { listedIn } from "../segments/targets.ts";

export type Outcome =
  /** The change was made (or there was nothing to change), and the item is gone. */
  | { kind: "applied" }
  /** It could not apply; recorded with the reason. */
  | { kind: "failed"; reason: string }
  /** The item changed or went since it was claimed: nothing done, the new version is claimed anew. */
  | { kind: "superseded" }
  /** An earlier execution of this item version was recorded: nothing done; the item is stale. */
  | { kind: "alreadyApplied" };

/** The operation an execution of this version of the item is: recorded once in the audit log. */
export const operationOf = (item: Pick<ScheduledItem, "id" | "version">) => `schedule:${item.id}:${item.version}`;

const NOUN = { flagChange: "Scheduled change", flagExpiry: "Expiring target", segmentExpiry: "Expiring target" } as const;

/** The item, as the author of its execution, and the one who made it: `Scheduled change 65f… of alice@example.com`. */
export const actorOf = (item: ScheduledItem) => `${NOUN[item.kind]} ${item.id} of ${actorName(item.creator)}`;

/**
 * The caller an execution runs as: the item's creator, whose permission was checked when the item
 * was made (a schedule is not refused later because a role changed). It never bypasses required
 * approvals by itself: whether the item may run where they are required is the item's own
 * (`mayRunUnapproved`).
 */
export function scheduleCaller(item: ScheduledItem): Caller {
  const resources = ["proj/*", "proj/*:env/*", "proj/*:env/*:flag/*", "proj/*:env/*:segment/*"];
  return {
    kind: "token",
    ...item.creator,
    role: "schedule",
    grants: [{ base: "reader", statements: [{ effect: "allow", resources, actions: ["*"] }, { effect: "deny", resources, actions: [BYPASS_REQUIRED_APPROVAL] }] }],
  };
}

/**
 * True when the item's change may run where approvals are required: a scheduled change an approved
 * request made, or one made by a member or token that could bypass them, or any pending one where the
 * environment's `bypassApprovalsForPendingChanges` is set; and the removal of an expiring target,
 * whose setting was gated.
 */
function mayRunUnapproved(item: ScheduledItem, env: EnvironmentRecord): boolean {
  return item.kind === "flagExpiry" || item.approval !== null || approvalSettingsOf(env).bypassApprovalsForPendingChanges;
}

/** The write, marked for the approval gate as the execution of `item` that may run (or refused with the gate's 405). */
function gatedExecution(item: ScheduledItem, env: EnvironmentRecord, envs: readonly EnvironmentRecord[], read: FlagRecord, write: FlagWrite): FlagWrite {
  if (write.kind !== "update") return write;
  if (mayRunUnapproved(item, env)) return { ...write, gate: { ...write.gate, approved: { scheduledChangeId: item.id } } };
  if (gatedEnvironments(envs, read, write).length > 0) throw approvalRequiredError(write.audit.accesses[0]?.action ?? "updateFlag");
  return write;
}

export async function executeItem(ctx: FlagsContext, item: ScheduledItem): Promise<Outcome> {
  try {
    return item.kind === "segmentExpiry" ? await executeSegmentItem(ctx, item) : await executeFlagItem(ctx, item);
  } catch (e) {
    if (e instanceof OperationAlreadyApplied) return { kind: "alreadyApplied" };
    // The flag or segment is gone: so is the item (foreign keys).
    if (e instanceof VexilError && e.code === "not_found") return { kind: "superseded" };
    throw e;
  }
}

const superseded = { result: { kind: "superseded" } as Outcome };
const applied = { kind: "applied" } as Outcome;

/** True when the item read is the one claimed, still to do. */
const current = (claimed: ScheduledItem, stored: ScheduledItem | undefined) => stored !== undefined && stored.version === claimed.version && stored.status === "pending";

function executeFlagItem(ctx: FlagsContext, item: ScheduledItem): Promise<Outcome> {
  return changeFlag<Outcome, ScheduledItem | undefined>(
    ctx,
    scheduleCaller(item),
    item.projectKey,
    item.resourceKey,
    async (read, scope, stored) => {
      const env = scope.envs.find((e) => e.id === item.environmentId);
      if (read.flag.id !== item.flagId || !env || !current(item, stored)) return superseded;
      const caller = scheduleCaller(item);
      const by = { actor: actorOf(item), operationId: operationOf(item), requireComments: false, schedule: { remove: [item.id] } };
      const flag = flagDocument(read.flag);
      let reason: string;
      if (item.kind === "flagChange") {
        try {
          const instructions = item.instructions ?? [];
          const decision = await decidePatch(ctx, caller, read, scope, { format: "semantic", instructions, environmentKey: env.key, comment: item.comment ?? undefined }, by);
          if (decision.write) return { write: gatedExecution(item, env, scope.envs, read.flag, decision.write), result: applied };
          const audit = auditEntry({ caller, kind: "flag", spec: `proj/${scope.project.key}:env/${env.key}:flag/${flag.key}`, name: flag.name, verb: "changed nothing, as it already was, in the flag", actions: [], comment: item.comment, delta: { instructions }, previousVersion: flag._version, currentVersion: flag._version + 1, now: ctx.now(), actor: by.actor, operationId: by.operationId });
          return { write: scheduleUpdate(read, audit, by.schedule), result: applied };
        } catch (e) {
          if (!(e instanceof VexilError) || e.status >= 500) throw e;
          reason = e.message;
        }
      } else {
        const variation = flag.variations.findIndex((v) => v._id === item.variationId);
        const config = flag.environments[env.key];
        const targets = config ? allTargets(config) : [];
        if (variation >= 0 && targets.some((t) => kindOf(t) === item.contextKind && t.variation === variation && t.values.includes(item.contextKey!))) {
          const instructions = [{ kind: "removeTargets", variationId: item.variationId, contextKind: item.contextKind, values: [item.contextKey] }];
          const decision = await decidePatch(ctx, caller, read, scope, { format: "semantic", instructions, environmentKey: env.key }, by);
          if (decision.write) return { write: gatedExecution(item, env, scope.envs, read.flag, decision.write), result: applied };
        }
        reason = variation < 0 ? `the flag has no variation "${item.variationId}" any more` : `${item.contextKind} "${item.contextKey}" is not targeted by variation "${item.variationId}" any more`;
      }
      const audit = failureAudit(caller, "flag", `proj/${scope.project.key}:env/${env.key}:flag/${flag.key}`, flag.name, flag._version, item, reason, by, ctx.now());
      const schedule = item.kind === "flagChange" ? { put: [{ ...stored!, status: "failed" as const, failure: { date: ctx.now(), reason } }] } : { remove: [item.id] };
      return { write: scheduleUpdate(read, audit, schedule), result: { kind: "failed", reason } };
    },
    () => ctx.schedules.item(item.id),
  );
}

/** The audit entry of an item that could no longer apply: it names the item and the reason. */
function failureAudit(caller: Caller, kind: "flag" | "segment", spec: string, name: string, version: number, item: ScheduledItem, reason: string, by: { actor: string; operationId: string }, now: number) {
  return auditEntry({
    caller,
    kind,
    spec,
    name,
    verb: `could not be applied to the ${kind}`,
    actions: [],
    description: reason,
    delta: { _id: item.id, reason },
    previousVersion: version,
    currentVersion: version + 1,
    now,
    actor: by.actor,
    operationId: by.operationId,
  });
}

function executeSegmentItem(ctx: FlagsContext, item: ScheduledItem): Promise<Outcome> {
  return changeSegment<Outcome, ScheduledItem | undefined>(
    ctx,
    scheduleCaller(item),
    item.projectKey,
    item.environmentKey,
    item.resourceKey,
    async (read, stored) => {
      if (read.segment.id !== item.segmentId || !current(item, stored)) return superseded;
      const caller = scheduleCaller(item);
      const by = { actor: actorOf(item), operationId: operationOf(item), requireComments: false, schedule: { remove: [item.id] } };
      const side = item.targetType ?? "included";
      if (listedIn(read.segment.doc, side, item.contextKind!, item.contextKey!)) {
        const instructions = [{ kind: side === "included" ? "removeIncludedTargets" : "removeExcludedTargets", contextKind: item.contextKind, values: [item.contextKey] }];
        const decision = await decideSegmentPatch(ctx, caller, read, { format: "semantic", instructions, environmentKey: read.env.key }, by);
        // The removal of an expiring target is not held up where approvals are required (setting it was gated).
        if (decision.write?.kind === "update") return { write: { ...decision.write, gate: { approved: { scheduledChangeId: item.id } } }, result: applied };
        if (decision.write) return { write: decision.write, result: applied };
      }
      const reason = `${item.contextKind} "${item.contextKey}" is not ${side} any more`;
      const segment = read.segment.doc;
      const audit = failureAudit(caller, "segment", `proj/${read.project.key}:env/${read.env.key}:segment/${segment.key}`, segment.name, segment.version, item, reason, by, ctx.now());
      return { write: segmentScheduleUpdate(read, audit, by.schedule), result: { kind: "failed", reason } };
    },
    () => ctx.schedules.item(item.id),
  );
}
