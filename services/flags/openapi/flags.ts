/** The documented answers of feature flags (`domain/flags/representation.ts` builds them). */
import { Type as T } from "@sinclair/typebox";
import { Collection, LinkRep, Links, Ref } from "@vexil/shared/http/openapi";
import { CLAUSE_OPS } from "../domain/flags/model.ts";

const closed = { additionalProperties: false } as const;
const Millis = (description: string) => T.Integer({ description: `${description} (epoch milliseconds)` });

const Variation = T.Object(
  { _id: T.String(), value: T.Unknown({ description: "Boolean, string, number or JSON, as the flag's variations are" }), name: T.Optional(T.String()), description: T.Optional(T.String()) },
  closed,
);

const Clause = T.Object(
  {
    _id: T.String(),
    contextKind: T.Optional(T.String()),
    attribute: T.String({ description: "An attribute name, or an attribute reference starting with `/`" }),
    op: T.Union(CLAUSE_OPS.map((op) => T.Literal(op))),
    values: T.Array(T.Unknown()),
    negate: T.Boolean(),
  },
  closed,
);

const Rollout = T.Object(
  {
    variations: T.Array(T.Object({ variation: T.Integer({ minimum: 0 }), weight: T.Integer({ minimum: 0, maximum: 100_000 }), _untracked: T.Optional(T.Boolean()) }, closed), {
      description: "Weights in thousandths of a percent, summing to 100000",
    }),
    bucketBy: T.Optional(T.String()),
    seed: T.Optional(T.Integer()),
    contextKind: T.Optional(T.String()),
    experimentAllocation: T.Optional(T.Object({ defaultVariation: T.Integer(), canReshuffle: T.Boolean() }, closed)),
  },
  closed,
);

/** Exactly one of `variation` and `rollout`. */
const variationOrRollout = { variation: T.Optional(T.Integer({ minimum: 0 })), rollout: T.Optional(Rollout) };

const Rule = T.Object({ _id: T.String(), description: T.Optional(T.String()), clauses: T.Array(Clause), trackEvents: T.Boolean(), ref: T.Optional(T.String()), ...variationOrRollout }, closed);
const Target = T.Object({ contextKind: T.Optional(T.String()), values: T.Array(T.String()), variation: T.Integer({ minimum: 0 }) }, closed);

const VariationSummary = T.Object(
  {
    rules: T.Integer(),
    nullRules: T.Integer(),
    targets: T.Integer(),
    contextTargets: T.Integer(),
    isFallthrough: T.Optional(T.Boolean()),
    isOff: T.Optional(T.Boolean()),
    rollout: T.Optional(T.Integer()),
    bucketBy: T.Optional(T.String()),
  },
  closed,
);

const targeting = {
  targets: T.Array(Target, { description: "Individual user targets (context kind `user`)" }),
  contextTargets: T.Array(Target, { description: "Individual targets of other context kinds" }),
  rules: T.Array(Rule),
  prerequisites: T.Array(T.Object({ key: T.String(), variation: T.Integer({ minimum: 0 }) }, closed)),
};

/** A flag's targeting in one environment; the list views leave out targets, rules and prerequisites. */
export const FlagConfigRep = T.Object(
  {
    on: T.Boolean(),
    archived: T.Boolean(),
    salt: T.String(),
    sel: T.String(),
    lastModified: Millis("Last change"),
    version: T.Integer({ description: "The environment's version of the flag: every change in the environment raises it" }),
    fallthrough: T.Object(variationOrRollout, closed),
    offVariation: T.Optional(T.Integer({ minimum: 0 })),
    trackEvents: T.Boolean(),
    trackEventsFallthrough: T.Boolean(),
    _debugEventsUntilDate: T.Optional(T.Union([T.Integer(), T.Null()])),
    ...Object.fromEntries(Object.entries(targeting).map(([k, v]) => [k, T.Optional(v)])),
    _environmentName: T.String(),
    _site: LinkRep,
    _summary: T.Object({ prerequisites: T.Integer(), variations: T.Record(T.String(), VariationSummary) }, closed),
  },
  closed,
);

export const FlagRep = T.Object(
  {
    key: T.String(),
    name: T.String(),
    description: T.String(),
    kind: T.Union([T.Literal("boolean"), T.Literal("multivariate")]),
    variations: T.Array(Variation),
    temporary: T.Boolean(),
    tags: T.Array(T.String()),
    clientSideAvailability: T.Object({ usingEnvironmentId: T.Boolean(), usingMobileKey: T.Boolean() }, closed),
    includeInSnippet: T.Boolean({ description: "The same as `clientSideAvailability.usingEnvironmentId`" }),
    maintainerId: T.Optional(T.String()),
    maintainerTeamKey: T.Optional(T.String()),
    archived: T.Boolean(),
    archivedDate: T.Optional(Millis("When it was archived")),
    deprecated: T.Boolean(),
    deprecatedDate: T.Optional(Millis("When it was deprecated")),
    defaults: T.Object({ onVariation: T.Integer({ minimum: 0 }), offVariation: T.Integer({ minimum: 0 }) }, closed),
    customProperties: T.Record(T.String(), T.Object({ name: T.String(), value: T.Array(T.String()) }, closed)),
    creationDate: Millis("Creation"),
    _version: T.Integer({ description: "Every change to the flag raises it; `test` it in a JSON Patch for optimistic concurrency" }),
    goalIds: T.Array(T.String()),
    experiments: T.Object({ baselineIdx: T.Integer(), items: T.Array(T.Unknown()) }, closed),
    _links: Links,
    environments: T.Record(T.String(), Ref("FeatureFlagConfig"), { description: "By environment key" }),
  },
  closed,
);

const site = LinkRep;
const selfLinks = T.Object({ self: LinkRep }, closed);

export const DependentFlagsRep = T.Object(
  {
    items: T.Array(
      T.Object(
        {
          key: T.String(),
          name: T.String(),
          environments: T.Array(T.Object({ key: T.String(), name: T.String(), _links: selfLinks, _site: site }, closed)),
          _links: selfLinks,
        },
        closed,
      ),
    ),
    _links: selfLinks,
  },
  closed,
);

export const DependentFlagsByEnvironmentRep = T.Object(
  { items: T.Array(T.Object({ key: T.String(), name: T.String(), _links: selfLinks, _site: site }, closed)), _links: selfLinks, _site: site },
  closed,
);

export const flagComponents = {
  FeatureFlag: FlagRep,
  FeatureFlagConfig: FlagConfigRep,
  FeatureFlags: Collection(Ref("FeatureFlag"), "A page of flags; each environment's targets, rules and prerequisites only with `summary=0`"),
  DependentFlags: DependentFlagsRep,
  DependentFlagsByEnvironment: DependentFlagsByEnvironmentRep,
};
