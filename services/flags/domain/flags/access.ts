/** Resources and actions of flags, for the policy module. */
import type { Resource } from "@vexil/shared/policy";
import type { EnvironmentRecord, ProjectRecord } from "../../storage/project-store.ts";
import type { Flag } from "./model.ts";

export function flagResource(project: Pick<ProjectRecord, "key" | "tags">, env: Pick<EnvironmentRecord, "key" | "tags" | "critical"> | undefined, flag: Pick<Flag, "key" | "tags">): Resource {
  return [
    { type: "proj", key: project.key, tags: project.tags },
    env ? { type: "env", key: env.key, tags: env.tags, properties: { critical: env.critical } } : { type: "env", key: "*" },
    { type: "flag", key: flag.key, tags: flag.tags },
  ];
}

/** The action that changing each flag-wide field takes. */
export const FLAG_FIELD_ACTIONS: Record<string, string> = {
  name: "updateName",
  description: "updateDescription",
  tags: "updateTags",
  temporary: "updateTemporary",
  variations: "updateFlagVariations",
  defaults: "updateFlagDefaultVariations",
  clientSideAvailability: "updateClientSideFlagAvailability",
  maintainerId: "updateMaintainer",
  maintainerTeamKey: "updateMaintainer",
  customProperties: "updateFlagCustomProperties",
  archived: "updateGlobalArchived",
  archivedDate: "updateGlobalArchived",
  deprecated: "updateDeprecated",
  deprecatedDate: "updateDeprecated",
};

/** The action that changing each field of a flag's environment takes. */
export const FLAG_ENV_FIELD_ACTIONS: Record<string, string> = {
  on: "updateOn",
  archived: "updateGlobalArchived",
  targets: "updateTargets",
  contextTargets: "updateTargets",
  rules: "updateRules",
  fallthrough: "updateFallthrough",
  offVariation: "updateOffVariation",
  prerequisites: "updatePrerequisites",
  trackEvents: "updateTrackEvents",
  trackEventsFallthrough: "updateFlagFallthroughTrackEvents",
  _debugEventsUntilDate: "updateTrackEvents",
};

/** The actions on a flag's scheduled changes (in one environment). */
export const SCHEDULED_CHANGE_ACTIONS = ["createScheduledChanges", "updateScheduledChanges", "deleteScheduledChanges"] as const;

/** Actions that concern one environment; the rest are flag-wide. */
export const ENVIRONMENT_ACTIONS = new Set(Object.values(FLAG_ENV_FIELD_ACTIONS).concat(["updateFlagRuleDescription", "updateExpiringTargets", ...SCHEDULED_CHANGE_ACTIONS]));
