/** The documented bodies and answers of scheduled flag changes (`domain/schedules/scheduled-changes.ts` builds them). */
import { Type as T } from "@sinclair/typebox";
import { LinkRep, Ref } from "@vexil/shared/http/openapi";
import { MAX_SCHEDULED_INSTRUCTIONS } from "../domain/schedules/scheduled-change-patch.ts";

const closed = { additionalProperties: false } as const;

const FlagInstruction = T.Object({ kind: T.String({ maxLength: 100, description: "A flag semantic-patch instruction kind (`turnFlagOn`, `addTargets`, `addRule`, …), with its parameters" }) }, { additionalProperties: true });

export const ScheduledChangePost = T.Object(
  {
    executionDate: T.Integer({ minimum: 0, description: "When to apply the instructions (epoch milliseconds); must be in the future" }),
    instructions: T.Array(FlagInstruction, { minItems: 1, maxItems: MAX_SCHEDULED_INSTRUCTIONS, description: "Flag semantic-patch instructions, applied in the path's environment" }),
    comment: T.Optional(T.String({ maxLength: 4096, description: "Kept in the audit log entries of the change and of its execution" })),
  },
  closed,
);

export const ScheduledChangeRep = T.Object(
  {
    _id: T.String(),
    _creationDate: T.Integer({ description: "Epoch milliseconds" }),
    _maintainerId: T.String({ description: "The member who made it (a service token's id for one made by a service token)" }),
    _version: T.Integer({ description: "Raised by every edit" }),
    executionDate: T.Integer({ description: "Epoch milliseconds" }),
    instructions: T.Array(T.Record(T.String(), T.Unknown()), { description: "As submitted" }),
    conflicts: T.Optional(
      T.Array(T.Object({ _id: T.String({ description: "The other scheduled change" }), reason: T.String() }, closed), {
        description: "Pending changes of the same flag and environment that change the same thing, recorded when it was made or edited with `ignoreConflicts=true`",
      }),
    ),
    _failure: T.Optional(
      T.Object({ date: T.Integer({ description: "When it was due (epoch milliseconds)" }), reason: T.String() }, { ...closed, description: "Only when it could not be applied at its time; it runs again only if edited" }),
    ),
    _links: T.Object({ self: LinkRep, parent: LinkRep }, closed),
  },
  closed,
);

export const scheduledChangeComponents = {
  FeatureFlagScheduledChange: ScheduledChangeRep,
  FeatureFlagScheduledChanges: T.Object({ items: T.Array(Ref("FeatureFlagScheduledChange"), { description: "By execution date" }), _links: T.Object({ self: LinkRep }, closed) }, closed),
};

export const SCHEDULED_CHANGE_DOCS = {
  list: "Pending and failed scheduled changes of the flag in the environment, by execution date. A change that ran is gone; one that could not apply at its time stays, with `_failure`.",
  create: [
    "Instructions are any flag semantic-patch instructions; they are applied to the flag as it is now, without writing, and refused (400 naming the instruction) if it does not take them, and applied again at `executionDate` (at most a second late while an instance runs).",
    "At most 100 instructions; `executionDate` must be in the future. Takes `createScheduledChanges` and the actions of the instructions.",
    "Two instructions conflict when they change the same thing: the same kind naming the same rule, clause, variation, key and context kind, and for lists of values, one value in common. A change conflicting with another pending one is refused (400 naming it) unless `ignoreConflicts=true`, and then keeps `conflicts`.",
    "At its time the change is applied as the member or token that made it, in the audit log as the scheduled change; if the flag no longer takes the instructions, it fails and stays with `_failure` and an audit entry giving the reason.",
  ].join(" "),
  patch: [
    "A semantic patch of `replaceScheduledChangesInstructions` (`value`: instructions), `updateScheduledChangesExecutionDate` (`value`: epoch milliseconds) and `deleteScheduledChange`.",
    "The result is checked as a new change is (`ignoreConflicts` applies); a failed change edited is pending again. After `deleteScheduledChange` the answer is the change as it was.",
  ].join(" "),
  delete: "Takes `deleteScheduledChanges`.",
};
