/**
 * Request and editable-document schemas of projects and environments (TypeBox). Routes validate
 * bodies with them; patching validates the patched document with the same ones.
 */
import { Type as T, type Static } from "@sinclair/typebox";
import { ApprovalSettingsSchema, SegmentApprovalSettingsSchema } from "./approvals/settings.ts";

export const KEY_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]*$";
export const Key = T.String({ pattern: KEY_PATTERN, minLength: 1, maxLength: 140, description: "Letters, digits, '.', '_' and '-'; starts with a letter or digit" });
export const Name = T.String({ minLength: 1, maxLength: 256 });
export const Tag = T.String({ pattern: "^[A-Za-z0-9._:-]+$", minLength: 1, maxLength: 64 });
export const Tags = T.Array(Tag, { maxItems: 50, uniqueItems: true });
export const Color = T.String({ pattern: "^[0-9A-Fa-f]{6}$", description: "Hex colour without '#', e.g. F5A623" });

export const ClientSideAvailability = T.Object(
  { usingEnvironmentId: T.Boolean(), usingMobileKey: T.Boolean() },
  { additionalProperties: false },
);

const environmentSettings = {
  name: Name,
  color: Color,
  defaultTtl: T.Integer({ minimum: 0, maximum: 525_600, description: "Minutes that client-side SDKs may cache flag values" }),
  secureMode: T.Boolean(),
  defaultTrackEvents: T.Boolean(),
  requireComments: T.Boolean(),
  confirmChanges: T.Boolean(),
  tags: Tags,
  critical: T.Boolean(),
  approvalSettings: ApprovalSettingsSchema,
  resourceApprovalSettings: T.Object({ segment: SegmentApprovalSettingsSchema }, { additionalProperties: false, description: "Approval settings per resource kind besides flags" }),
};

export const EnvironmentPost = T.Object(
  {
    key: Key,
    name: Name,
    color: Color,
    defaultTtl: T.Optional(environmentSettings.defaultTtl),
    secureMode: T.Optional(T.Boolean()),
    defaultTrackEvents: T.Optional(T.Boolean()),
    confirmChanges: T.Optional(T.Boolean()),
    requireComments: T.Optional(T.Boolean()),
    tags: T.Optional(Tags),
    critical: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);
export type EnvironmentPost = Static<typeof EnvironmentPost>;

export const ProjectPost = T.Object(
  {
    key: Key,
    name: Name,
    includeInSnippetByDefault: T.Optional(T.Boolean()),
    defaultClientSideAvailability: T.Optional(ClientSideAvailability),
    tags: T.Optional(Tags),
    environments: T.Optional(T.Array(EnvironmentPost, { maxItems: 50 })),
  },
  { additionalProperties: false },
);
export type ProjectPost = Static<typeof ProjectPost>;

/** The fields of a project a PATCH may change. */
export const ProjectEditable = T.Object(
  { name: Name, tags: Tags, includeInSnippetByDefault: T.Boolean(), defaultClientSideAvailability: ClientSideAvailability },
  { additionalProperties: false },
);
export type ProjectEditable = Static<typeof ProjectEditable>;

/** The fields of an environment a PATCH may change. */
export const EnvironmentEditable = T.Object(environmentSettings, { additionalProperties: false });
export type EnvironmentEditable = Static<typeof EnvironmentEditable>;
