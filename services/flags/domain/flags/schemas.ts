/** The body of a new flag (LaunchDarkly's `FeatureFlagBody`), TypeBox. */
import { Type as T, type Static } from "@sinclair/typebox";
import { Key, Name, Tags } from "../schemas.ts";

export const FlagPost = T.Object(
  {
    key: Key,
    name: Name,
    description: T.Optional(T.String({ maxLength: 8192 })),
    includeInSnippet: T.Optional(T.Boolean()),
    clientSideAvailability: T.Optional(T.Object({ usingEnvironmentId: T.Optional(T.Boolean()), usingMobileKey: T.Optional(T.Boolean()) }, { additionalProperties: false })),
    variations: T.Optional(
      T.Array(
        T.Object(
          { _id: T.Optional(T.String({ description: "Leave out or empty: the server assigns one; one given is kept" })), value: T.Unknown(), name: T.Optional(T.String({ maxLength: 256 })), description: T.Optional(T.String({ maxLength: 8192 })) },
          { additionalProperties: false },
        ),
        { minItems: 2, maxItems: 100 },
      ),
    ),
    temporary: T.Optional(T.Boolean()),
    tags: T.Optional(Tags),
    customProperties: T.Optional(
      T.Record(T.String({ maxLength: 128 }), T.Object({ name: T.String({ maxLength: 256 }), value: T.Array(T.String({ maxLength: 1024 }), { maxItems: 100 }) }, { additionalProperties: false })),
    ),
    defaults: T.Optional(T.Object({ onVariation: T.Integer({ minimum: 0 }), offVariation: T.Integer({ minimum: 0 }) }, { additionalProperties: false })),
    maintainerId: T.Optional(T.String({ maxLength: 64 })),
    initialPrerequisites: T.Optional(T.Array(T.Object({ key: Key, variationId: T.String() }, { additionalProperties: false }), { maxItems: 50 })),
  },
  { additionalProperties: false },
);
export type FlagPost = Static<typeof FlagPost>;

const CopyAction = T.Union(
  ["updateOn", "updateRules", "updateFallthrough", "updateOffVariation", "updatePrerequisites", "updateTargets", "updateFlagConfigMigrationSettings"].map((a) => T.Literal(a)),
);

/** The body of a copy of one environment's targeting to another (`FlagCopyConfigPost`). */
export const FlagCopy = T.Object(
  {
    source: T.Object({ key: Key, currentVersion: T.Optional(T.Integer()) }, { additionalProperties: false }),
    target: T.Object({ key: Key, currentVersion: T.Optional(T.Integer()) }, { additionalProperties: false }),
    comment: T.Optional(T.String({ maxLength: 4096 })),
    includedActions: T.Optional(T.Array(CopyAction, { maxItems: 10 })),
    excludedActions: T.Optional(T.Array(CopyAction, { maxItems: 10 })),
  },
  { additionalProperties: false },
);
export type FlagCopy = Static<typeof FlagCopy>;
