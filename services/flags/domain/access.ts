/** Resources and actions of projects and environments, for the policy module. */
import type { Resource } from "@vexil/shared/policy";
import type { EnvironmentRecord, ProjectRecord } from "../storage/project-store.ts";

export const projectResource = (p: Pick<ProjectRecord, "key" | "tags">): Resource => [{ type: "proj", key: p.key, tags: p.tags }];

export const environmentResource = (p: Pick<ProjectRecord, "key" | "tags">, e: Pick<EnvironmentRecord, "key" | "tags" | "critical">): Resource => [
  ...projectResource(p),
  { type: "env", key: e.key, tags: e.tags, properties: { critical: e.critical } },
];

/** The action that changing each field of a project takes. */
export const PROJECT_FIELD_ACTIONS: Record<string, string> = {
  name: "updateProjectName",
  tags: "updateTags",
  includeInSnippetByDefault: "updateIncludeInSnippetByDefault",
  defaultClientSideAvailability: "updateDefaultClientSideAvailability",
};

/** The action that changing each field of an environment takes. */
export const ENVIRONMENT_FIELD_ACTIONS: Record<string, string> = {
  name: "updateName",
  color: "updateColor",
  defaultTtl: "updateTtl",
  secureMode: "updateSecureMode",
  defaultTrackEvents: "updateTrackEvents",
  requireComments: "updateRequireComments",
  confirmChanges: "updateConfirmChanges",
  tags: "updateTags",
  critical: "updateCritical",
  approvalSettings: "updateApprovalSettings",
  resourceApprovalSettings: "updateApprovalSettings",
};

/** The actions a patch takes: one per changed field. */
export function changedActions(before: Record<string, unknown>, after: Record<string, unknown>, actions: Record<string, string>): string[] {
  return Object.entries(actions)
    .filter(([field]) => !Bun.deepEquals(before[field], after[field], true))
    .map(([, action]) => action);
}
