/**
 * Flags that depend on a flag through prerequisites (`GET /api/v2/flags/{p}/{k}/dependent-flags[/{env}]`),
 * a beta resource: the gateway refuses it without `LD-API-Version: beta`.
 */
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { notFound } from "@vexil/shared/errors";
import { link } from "@vexil/shared/http/links";
import type { FlagsContext } from "../context.ts";
import { flagPath, flagSite as site } from "./representation.ts";

export async function dependentFlags(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, envKey?: string) {
  authorizeRead(caller);
  const found = await ctx.flags.flagInScope(projectKey, flagKey);
  if (!found) throw notFound(`Project "${projectKey}"`);
  if (!found.flag) throw notFound(`Flag "${flagKey}" in project "${projectKey}"`);
  const envs = envKey === undefined ? found.environments : found.environments.filter((e) => e.key === envKey);
  if (envKey !== undefined && envs.length === 0) throw notFound(`Environment "${envKey}" in project "${projectKey}"`);
  const self = `${flagPath(projectKey, flagKey)}/dependent-flags${envKey === undefined ? "" : `/${encodeURIComponent(envKey)}`}`;
  const dependents = (await ctx.flags.prerequisiteGraph(found.project.id, [], flagKey)).dependents
    .filter((f) => f.key !== flagKey)
    .map((f) => ({ flag: f, in: envs.filter((e) => f.configs[e.key]?.prerequisites.some((p) => p.key === flagKey)) }))
    .filter((d) => d.in.length > 0)
    .sort((a, b) => (a.flag.key < b.flag.key ? -1 : 1));
  if (envKey !== undefined) {
    return {
      items: dependents.map((d) => ({ key: d.flag.key, name: d.flag.doc.name, _links: { self: link(flagPath(projectKey, d.flag.key)) }, _site: site(projectKey, envKey, d.flag.key) })),
      _links: { self: link(self) },
      _site: site(projectKey, envKey, flagKey),
    };
  }
  return {
    items: dependents.map((d) => ({
      key: d.flag.key,
      name: d.flag.doc.name,
      environments: d.in.map((e) => ({ key: e.key, name: e.name, _links: { self: link(flagPath(projectKey, d.flag.key)) }, _site: site(projectKey, e.key, d.flag.key) })),
      _links: { self: link(flagPath(projectKey, d.flag.key)) },
    })),
    _links: { self: link(self) },
  };
}
