/** The documented answers of projects and environments (`representations.ts` builds them). */
import { Type as T } from "@sinclair/typebox";
import { Collection, Links, Ref } from "@vexil/shared/http/openapi";
import { ClientSideAvailability } from "../domain/schemas.ts";
import { ApprovalSettingsSchema, SegmentApprovalSettingsSchema } from "../domain/approvals/settings.ts";

export const EnvironmentRep = T.Object(
  {
    _id: T.String(),
    _links: Links,
    key: T.String(),
    name: T.String(),
    apiKey: T.String({ description: "The SDK key: whole only in the answer that creates or resets it, masked (`sdk-…abcd`) elsewhere" }),
    mobileKey: T.String({ description: "The mobile key: whole only in the answer that creates or resets it, masked elsewhere" }),
    color: T.String(),
    defaultTtl: T.Integer(),
    secureMode: T.Boolean(),
    defaultTrackEvents: T.Boolean(),
    requireComments: T.Boolean(),
    confirmChanges: T.Boolean(),
    tags: T.Array(T.String()),
    critical: T.Boolean(),
    approvalSettings: ApprovalSettingsSchema,
    resourceApprovalSettings: T.Object({ segment: SegmentApprovalSettingsSchema }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

const projectFields = {
  _id: T.String(),
  _links: Links,
  key: T.String(),
  name: T.String(),
  tags: T.Array(T.String()),
  includeInSnippetByDefault: T.Boolean(),
  defaultClientSideAvailability: ClientSideAvailability,
};

export const ProjectRep = T.Object(
  { ...projectFields, environments: T.Optional(Collection(Ref("Environment"), "With `expand=environments`")) },
  { additionalProperties: false },
);

export const ProjectCreated = T.Object(
  { ...projectFields, environments: T.Array(Ref("Environment"), { description: "The new environments, with their keys in full (shown this once)" }) },
  { additionalProperties: false },
);

export const projectComponents = {
  Project: ProjectRep,
  ProjectCreated,
  Projects: Collection(Ref("Project")),
  Environment: EnvironmentRep,
  Environments: Collection(Ref("Environment")),
};
