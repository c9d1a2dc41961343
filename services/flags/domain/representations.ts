/** The JSON shapes the API returns for projects and environments (LaunchDarkly's). */
import { link, type Link } from "@vexil/shared/http/links";
import { maskCredential } from "@vexil/shared/secrets";
import type { EnvironmentRecord, ProjectRecord } from "../storage/project-store.ts";
import { approvalSettingsOf, segmentApprovalSettingsOf } from "./approvals/settings.ts";

export const projectPath = (projectKey: string) => `/api/v2/projects/${encodeURIComponent(projectKey)}`;
export const environmentPath = (projectKey: string, envKey: string) => `${projectPath(projectKey)}/environments/${encodeURIComponent(envKey)}`;

export interface FreshKeys {
  sdkKey: string;
  mobileKey: string;
}

export interface Collection<T> {
  items: T[];
  totalCount: number;
  _links: Record<string, Link>;
}

export function environmentRep(env: EnvironmentRecord, projectKey: string, fresh?: FreshKeys) {
  const self = environmentPath(projectKey, env.key);
  return {
    _id: env.id,
    _links: {
      self: link(self),
      parent: link(`${projectPath(projectKey)}/environments`),
      project: link(projectPath(projectKey)),
      apiKey: link(`${self}/apiKey`),
      mobileKey: link(`${self}/mobileKey`),
    },
    key: env.key,
    name: env.name,
    apiKey: fresh?.sdkKey ?? maskCredential("sdk", env.sdkKeyLast4),
    mobileKey: fresh?.mobileKey ?? maskCredential("mob", env.mobileKeyLast4),
    color: env.color,
    defaultTtl: env.defaultTtl,
    secureMode: env.secureMode,
    defaultTrackEvents: env.defaultTrackEvents,
    requireComments: env.requireComments,
    confirmChanges: env.confirmChanges,
    tags: env.tags,
    critical: env.critical,
    approvalSettings: approvalSettingsOf(env),
    resourceApprovalSettings: { segment: segmentApprovalSettingsOf(env) },
  };
}
export type EnvironmentRep = ReturnType<typeof environmentRep>;

export function projectRep(p: ProjectRecord) {
  return {
    _id: p.id,
    _links: {
      self: link(projectPath(p.key)),
      parent: link("/api/v2/projects"),
      environments: link(`${projectPath(p.key)}/environments`),
      flagDefaults: link(`${projectPath(p.key)}/flag-defaults`),
    },
    key: p.key,
    name: p.name,
    tags: p.tags,
    includeInSnippetByDefault: p.includeInSnippetByDefault,
    defaultClientSideAvailability: { usingEnvironmentId: p.csaUsingEnvironmentId, usingMobileKey: p.csaUsingMobileKey },
  };
}
export type ProjectRep = ReturnType<typeof projectRep>;
