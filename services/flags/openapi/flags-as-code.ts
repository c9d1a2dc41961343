/** The documented bodies of flags as code (`domain/flags-as-code/`), and the operations' descriptions. */
import { Type as T } from "@sinclair/typebox";
import { FlagsFile, SCHEMA_PATH } from "../domain/flags-as-code/file-format.ts";
import { PlanBody } from "../domain/flags-as-code/apply.ts";

const Outcome = T.Object(
  {
    resource: T.Union([T.Literal("flag"), T.Literal("segment")]),
    key: T.String(),
    environmentKey: T.Optional(T.String()),
    action: T.Union([T.Literal("create"), T.Literal("update"), T.Literal("delete")]),
    version: T.Optional(T.Integer({ description: "The version after the change" })),
    message: T.Optional(T.String({ description: "Why the item was not applied" })),
  },
  { additionalProperties: false },
);

export const flagsAsCodeComponents = {
  FlagsAsCodeFile: { ...FlagsFile, description: `A project's flags and segments as a file (YAML or JSON); also published as JSON Schema in \`${SCHEMA_PATH}\`` },
  FlagsAsCodePlan: PlanBody,
  FlagsAsCodeApplyReport: T.Object(
    {
      summary: T.String(),
      applied: T.Array(Outcome),
      conflicts: T.Array(Outcome, { description: "Items changed since the plan was made: left as they are, not overwritten" }),
      errors: T.Array(Outcome, { description: "Items refused, with the reason" }),
      pending: T.Array(Outcome, { description: "Items not started for lack of time in this call" }),
      approvals: T.Array(T.Composite([Outcome, T.Object({ approvalRequestId: T.String() })], { additionalProperties: false }), {
        description: "Changes of environments that require approval (and the caller may not bypass it), opened as approval requests instead of applied",
      }),
      remaining: T.Optional({ ...PlanBody, description: "The plan of the pending items: apply it to carry them out" }),
      plan: PlanBody,
    },
    { additionalProperties: false },
  ),
};

export const FLAGS_AS_CODE_TEXT = {
  export:
    "The live state of the project as a flags-as-code file: its environments' settings, flags (not archived) with their targeting per environment, and segments per environment. Deterministic (sorted by key, defaults left out) and round-trippable: the file imported into an empty project exports back byte for byte. Variations are named by keys derived from their names, else their values. Nothing secret is in it. `env` (comma-separated) narrows it to some environments; `format` is `yaml` (default) or `json`.",
  plan:
    "The semantic-patch instructions that would make the live state equal to the file, per flag and per segment, in the order they can be applied, each item with a summary and the version it was computed against. Flags and segments the file lacks are deleted only with `prune`. Nothing changes. The file is refused (400, nothing read or written) for unknown fields, wrong types, more than 1 MiB, duplicate keys, more than 100 YAML aliases, unknown variations or flags, and prerequisite cycles. `fromEnv` and `toEnv` instead of a file plan a promotion: every flag's targeting in `toEnv` made equal to `fromEnv`'s.",
  apply:
    "Applies a plan (or a file, planned first) as one semantic patch per flag or segment, through the ordinary write path, with `comment` in every audit entry. Each item is checked against the version the plan saw: one changed since is reported in `conflicts` and left as it is. An item refused (by policy, or validation) is reported in `errors`; the others still apply. An apply starts an item only while its request has time left; items it did not start are in `pending`, and `remaining` is the plan of just those, to apply in another call. Where an environment requires approval and the caller may not bypass it, that environment's instructions become an approval request (the comment as its description), listed in `approvals`; the rest of the item applies.",
};
