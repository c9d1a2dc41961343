/**
 * Flag statuses (`/api/v2/flag-statuses/{p}/{e}[/{f}]`, `/api/v2/flag-status/{p}/{f}`): each
 * flag's status in an environment (`statuses.ts` decides it) with when SDKs last requested it and
 * the default value they reported, in LaunchDarkly's representations. List items carry no flag
 * key: clients read it from `_links.parent`, so it is always there.
 */
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { notFound } from "@vexil/shared/errors";
import { link, type Link } from "@vexil/shared/http/links";
import type { FlagsContext } from "../context.ts";
import type { FlagRecord } from "../../storage/flag-store.ts";
import type { FlagUsage } from "../../storage/flag-usage-store.ts";
import type { EnvironmentRecord } from "../../storage/project-store.ts";
import { flagPath } from "./representation.ts";
import { flagStatusName, type FlagStatusName } from "./statuses.ts";

export interface FlagStatus {
  name: FlagStatusName;
  /** ISO-8601; absent when never requested. */
  lastRequested?: string;
  default?: unknown;
}

export interface FlagStatusRep extends FlagStatus {
  _links: { parent: Link; self: Link };
}

const enc = encodeURIComponent;
const statusesPath = (projectKey: string, envKey: string) => `/api/v2/flag-statuses/${enc(projectKey)}/${enc(envKey)}`;
const PAGE = 1_000;

function statusOf(flag: FlagRecord, env: EnvironmentRecord, usage: FlagUsage | undefined, now: number): FlagStatus {
  const config = flag.configs[env.key];
  const name = flagStatusName({ createdAt: flag.createdAt, on: config?.on ?? false, lastModified: config?.lastModified ?? flag.createdAt, usage }, now);
  const status: FlagStatus = { name };
  if (usage) status.lastRequested = new Date(usage.lastRequested).toISOString();
  if (usage?.reportedDefault) status.default = usage.reportedDefault.value;
  return status;
}

function statusRep(projectKey: string, env: EnvironmentRecord, flag: FlagRecord, status: FlagStatus): FlagStatusRep {
  return { ...status, _links: { parent: link(flagPath(projectKey, flag.key)), self: link(`${statusesPath(projectKey, env.key)}/${enc(flag.key)}`) } };
}

function environmentIn(envs: EnvironmentRecord[], projectKey: string, envKey: string): EnvironmentRecord {
  const env = envs.find((e) => e.key === envKey);
  if (!env) throw notFound(`Environment "${envKey}" in project "${projectKey}"`);
  return env;
}

/** Every flag of the project the flag list shows by default (archived ones are left out), in key order. */
async function projectFlags(ctx: FlagsContext, projectId: string): Promise<FlagRecord[]> {
  const all: FlagRecord[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await ctx.flags.listFlags(projectId, { limit: PAGE, offset, sort: { field: "key", descending: false } });
    all.push(...page.items);
    if (page.items.length < PAGE || all.length >= page.total) return all;
  }
}

/** `GET /api/v2/flag-statuses/{projectKey}/{environmentKey}` (`FeatureFlagStatuses`). */
export async function getFlagStatuses(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string) {
  authorizeRead(caller);
  const scope = await ctx.flags.projectScope(projectKey);
  if (!scope) throw notFound(`Project "${projectKey}"`);
  const env = environmentIn(scope.environments, projectKey, envKey);
  const [flags, usage] = await Promise.all([projectFlags(ctx, scope.project.id), ctx.usage.usageInEnvironment(env.id)]);
  const now = ctx.now();
  return {
    _links: { self: link(statusesPath(projectKey, envKey)) },
    items: flags.map((f) => statusRep(projectKey, env, f, statusOf(f, env, usage.get(f.key), now))),
  };
}

async function flagWithUsage(ctx: FlagsContext, projectKey: string, flagKey: string) {
  const found = await ctx.flags.flagInScope(projectKey, flagKey);
  if (!found) throw notFound(`Project "${projectKey}"`);
  if (!found.flag) throw notFound(`Flag "${flagKey}" in project "${projectKey}"`);
  return { environments: found.environments, flag: found.flag, usage: await ctx.usage.usageOfFlag(found.flag.id) };
}

/** `GET /api/v2/flag-statuses/{projectKey}/{environmentKey}/{featureFlagKey}` (`FlagStatusRep`). */
export async function getFlagStatus(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string, flagKey: string): Promise<FlagStatusRep> {
  authorizeRead(caller);
  const { environments, flag, usage } = await flagWithUsage(ctx, projectKey, flagKey);
  const env = environmentIn(environments, projectKey, envKey);
  return statusRep(projectKey, env, flag, statusOf(flag, env, usage.get(env.id), ctx.now()));
}

/**
 * `GET /api/v2/flag-status/{projectKey}/{featureFlagKey}` (`FeatureFlagStatusAcrossEnvironments`):
 * every environment, or those `env` names (comma-separated or repeated).
 */
export async function getFlagStatusAcrossEnvironments(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, env?: string | string[]) {
  authorizeRead(caller);
  const { environments, flag, usage } = await flagWithUsage(ctx, projectKey, flagKey);
  const wanted = (Array.isArray(env) ? env : env === undefined ? [] : [env]).flatMap((e) => e.split(",")).filter(Boolean);
  const shown = wanted.length === 0 ? environments : environments.filter((e) => wanted.includes(e.key));
  for (const key of wanted) environmentIn(environments, projectKey, key);
  const now = ctx.now();
  const self = `/api/v2/flag-status/${enc(projectKey)}/${enc(flagKey)}${wanted.length > 0 ? `?env=${enc(wanted.join(","))}` : ""}`;
  return {
    key: flag.key,
    environments: Object.fromEntries(shown.map((e) => [e.key, statusOf(flag, e, usage.get(e.id), now)])),
    _links: { parent: link("/api/v2/flag-status"), self: link(self) },
  };
}
