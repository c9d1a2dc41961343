/**
 * The seeds' own API shapes on top of the flag use cases: Unleash's toggle on/off and
 * FeatureProbe's toggle targeting. Both go through the same patch path as every other change:
 * permissions, validation, the audit log with the acting token, change events. The project, the
 * environment and the flag a route names must exist: each one missing is a 404 naming it.
 */
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { notFound } from "@vexil/shared/errors";
import type { FlagsContext } from "../context.ts";
import { patchFlag } from "../flags/flags.ts";
import type { Flag } from "../flags/model.ts";
import { newId } from "../flags/model.ts";
import { flagDocument } from "../flags/representation.ts";
import { applyTargeting, targetingOf, type FpTargeting } from "./featureprobe.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";

/** The flag the route names, in one read; a missing project, environment or flag (in that order) is a 404. */
async function flagIn(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string, flagKey: string): Promise<Flag> {
  authorizeRead(caller);
  const found = await ctx.flags.flagInScope(projectKey, flagKey);
  if (!found) throw notFound(`Project "${projectKey}"`);
  if (!found.environments.some((e) => e.key === envKey)) throw notFound(`Environment "${envKey}" in project "${projectKey}"`);
  if (!found.flag) throw notFound(`Flag "${flagKey}" in project "${projectKey}"`);
  return flagDocument(found.flag);
}

export async function unleashToggle(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string, feature: string, on: boolean) {
  await flagIn(ctx, caller, projectKey, envKey, feature);
  const rep = await patchFlag(ctx, caller, projectKey, feature, { environmentKey: envKey, comment: `Unleash API: toggle ${on ? "on" : "off"}`, instructions: [{ kind: on ? "turnFlagOn" : "turnFlagOff" }] }, SEMANTIC);
  if (!rep) throw notFound(`Feature "${feature}"`);
  const env = (rep.environments as Record<string, { on: boolean }>)[envKey];
  return {
    name: rep.key,
    description: rep.description,
    type: rep.temporary ? "release" : "permission",
    project: projectKey,
    enabled: env?.on ?? false,
    stale: rep.deprecated,
    archived: rep.archived,
    createdAt: new Date(rep.creationDate).toISOString(),
    environments: Object.entries(rep.environments as Record<string, { on: boolean }>).map(([name, e]) => ({ name, enabled: e.on })),
  };
}

export async function featureProbeTargeting(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string, toggleKey: string) {
  return targetingOf(await flagIn(ctx, caller, projectKey, envKey, toggleKey), envKey);
}

export async function patchFeatureProbeTargeting(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string, toggleKey: string, body: FpTargeting) {
  const flag = await flagIn(ctx, caller, projectKey, envKey, toggleKey);
  const next = applyTargeting(flag, envKey, body, newId);
  const path = `/environments/${envKey.replaceAll("~", "~0").replaceAll("/", "~1")}`;
  const patch = [
    { op: "replace", path: `${path}/on`, value: next.on },
    { op: "replace", path: `${path}/rules`, value: next.rules },
    { op: "replace", path: `${path}/fallthrough`, value: next.fallthrough },
    { op: "replace", path: `${path}/offVariation`, value: next.offVariation },
  ];
  await patchFlag(ctx, caller, projectKey, toggleKey, { comment: typeof body.comment === "string" ? body.comment : undefined, patch }, "application/json");
  return featureProbeTargeting(ctx, caller, projectKey, envKey, toggleKey);
}
