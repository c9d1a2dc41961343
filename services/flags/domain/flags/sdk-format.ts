/**
 * A flag as SDKs receive it: one environment's view of the document, in the server-side SDK
 * flag format (variations as values, `id` for rules, `clientSide`, `debugEventsUntilDate`).
 */
import type { Flag, Rollout, VariationOrRollout } from "./model.ts";

export type SdkFlag = ReturnType<typeof sdkFlag>;

const rollout = (r: Rollout) => ({
  variations: r.variations.map((w) => ({ variation: w.variation, weight: w.weight, ...(w._untracked ? { untracked: true } : {}) })),
  ...(r.bucketBy !== undefined ? { bucketBy: r.bucketBy } : {}),
  ...(r.seed !== undefined ? { seed: r.seed } : {}),
  ...(r.contextKind !== undefined ? { contextKind: r.contextKind } : {}),
  ...(r.experimentAllocation ? { kind: "experiment" } : {}),
});

const serve = (v: VariationOrRollout) => (v.rollout ? { rollout: rollout(v.rollout) } : { variation: v.variation });

/** The environment `envKey` of `flag`; undefined when the flag has no such environment. */
export function sdkFlag(flag: Flag, envKey: string) {
  const env = flag.environments[envKey];
  if (!env) return undefined;
  return {
    key: flag.key,
    version: env.version,
    on: env.on,
    salt: env.salt,
    variations: flag.variations.map((v) => v.value),
    offVariation: env.offVariation,
    targets: env.targets.filter((t) => (t.contextKind ?? "user") === "user").map((t) => ({ values: t.values, variation: t.variation })),
    contextTargets: env.contextTargets.map((t) => ({ contextKind: t.contextKind ?? "user", values: t.values, variation: t.variation })),
    rules: env.rules.map((r) => ({
      id: r._id,
      clauses: r.clauses.map((c) => ({ contextKind: c.contextKind ?? "user", attribute: c.attribute, op: c.op, values: c.values, negate: c.negate })),
      trackEvents: r.trackEvents,
      ...serve(r),
    })),
    fallthrough: serve(env.fallthrough),
    prerequisites: env.prerequisites.map((p) => ({ key: p.key, variation: p.variation })),
    trackEvents: env.trackEvents,
    trackEventsFallthrough: env.trackEventsFallthrough,
    debugEventsUntilDate: env._debugEventsUntilDate ?? undefined,
    clientSide: flag.clientSideAvailability.usingEnvironmentId,
    clientSideAvailability: flag.clientSideAvailability,
    deleted: false,
  };
}
