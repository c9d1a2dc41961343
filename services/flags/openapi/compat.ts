/**
 * The documented answers and bodies of the Unleash and FeatureProbe routes (`domain/compat/`
 * builds and reads them).
 */
import { Type as T } from "@sinclair/typebox";
import { Ref } from "@vexil/shared/http/openapi";
import { PREDICATES } from "../domain/compat/featureprobe.ts";

export const UnleashFeature = T.Object(
  {
    name: T.String({ description: "The flag's key" }),
    description: T.String(),
    type: T.Union([T.Literal("release"), T.Literal("permission")], { description: "`release` for a temporary flag, `permission` for a permanent one" }),
    project: T.String({ description: "The project's key" }),
    enabled: T.Boolean({ description: "Whether the flag is on in the environment toggled" }),
    stale: T.Boolean({ description: "The flag is deprecated" }),
    archived: T.Boolean(),
    createdAt: T.String({ format: "date-time" }),
    environments: T.Array(T.Object({ name: T.String({ description: "The environment's key" }), enabled: T.Boolean() }, { additionalProperties: false }), {
      description: "Every environment of the project, on or off",
    }),
  },
  { additionalProperties: false, description: "The flag after the toggle, in Unleash's feature shape" },
);

const Select = T.Integer({ minimum: 0, description: "The index of a variation in `content.variations`" });
const Split = T.Array(T.Integer({ minimum: 0 }), { description: "One weight per variation of `content.variations`, in its order, summing to 10000" });

export const FeatureProbeServe = T.Union(
  [T.Object({ select: Select }, { additionalProperties: false }), T.Object({ split: Split }, { additionalProperties: false })],
  { description: "One variation (`select`), or a percentage rollout (`split`)" },
);

const CONDITION_TYPES = Object.keys(PREDICATES);

export const FeatureProbeCondition = T.Object(
  {
    type: T.Union(CONDITION_TYPES.map((t) => T.Literal(t))),
    subject: T.String({ description: "The context attribute; empty for `segment`" }),
    predicate: T.String({
      description: "One of the type's predicates; a clause FeatureProbe has no predicate for (e.g. a negated `greaterThan`) is shown as type `string` with the clause's operator, `not ` first when negated",
    }),
    objects: T.Array(T.String(), { description: "The values, as strings; segment keys for `segment`" }),
  },
  { additionalProperties: false },
);

const VariationRep = T.Object({ value: T.String({ description: "The variation's value: a string as is, other values as JSON" }), name: T.String(), description: T.String() }, { additionalProperties: false });

export const FeatureProbeToggleTargeting = T.Object(
  {
    disabled: T.Boolean({ description: "The flag is off in the environment" }),
    version: T.Integer({ description: "The flag's version in the environment" }),
    content: T.Object(
      {
        rules: T.Array(
          T.Object({ name: T.String({ description: "The rule's description" }), serve: Ref("FeatureProbeServe"), conditions: T.Array(Ref("FeatureProbeCondition")) }, { additionalProperties: false }),
        ),
        disabledServe: T.Object({ select: Select }, { additionalProperties: false, description: "The off variation" }),
        defaultServe: Ref("FeatureProbeServe"),
        variations: T.Array(VariationRep, { description: "The flag's variations, in its order" }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: "A flag's targeting in one environment, in FeatureProbe's shape" },
);

const ServeInput = T.Union([T.Object({ select: Select }), T.Object({ split: Split })], { description: "One variation (`select`), or a percentage rollout (`split`)" });

/** A condition: one object per type, its predicate one of the type's. */
const ConditionInput = T.Union(
  CONDITION_TYPES.map((type) =>
    T.Object({
      type: T.Literal(type),
      subject: type === "segment" ? T.Optional(T.String({ description: "Not used" })) : T.String({ description: "The context attribute" }),
      predicate: T.Union(PREDICATES[type]!.map((p) => T.Literal(p))),
      objects: T.Array(T.String(), { description: type === "segment" ? "Segment keys" : type === "number" ? "Numbers, as strings" : "Values" }),
    }),
  ),
);

export const FeatureProbeToggleTargetingPatch = T.Object(
  {
    comment: T.Optional(T.String({ maxLength: 4096, description: "Kept in the audit log entry of the change" })),
    disabled: T.Boolean({ description: "Turns the flag off (true) or on (false) in the environment" }),
    content: T.Object({
      rules: T.Array(T.Object({ name: T.Optional(T.Union([T.String(), T.Null()], { description: "Becomes the rule's description" })), serve: ServeInput, conditions: T.Array(ConditionInput) }), {
        description: "Replace the environment's rules",
      }),
      disabledServe: T.Object({ select: Select }, { description: "The off variation" }),
      defaultServe: ServeInput,
      variations: T.Array(T.Object({ value: T.String(), name: T.Optional(T.String()), description: T.Optional(T.String()) }), {
        description: "The flag's variations, each named by its value (a string as is, other values as JSON), in any order; `select` and `split` refer to this list",
      }),
    }),
  },
  { description: "The targeting of one environment, as FeatureProbe sends it; the flag's variations are not changed" },
);

export const compatComponents = {
  UnleashFeature,
  FeatureProbeServe,
  FeatureProbeCondition,
  FeatureProbeToggleTargeting,
  FeatureProbeToggleTargetingPatch,
};
