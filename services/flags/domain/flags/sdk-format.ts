/**
 * A flag as SDKs receive it: one environment's view of the document, in the server-side SDK
 * flag format (variations as values, `id` for rules, `clientSide`, `debugEventsUntilDate`).
 */
import { deepFreeze } from "@vexil/shared/json-clone";
import type { Flag, Rollout, Rule, Target, VariationOrRollout } from "./model.ts";

export type SdkFlag = ReturnType<typeof sdkFlag>;

const rollout = (r: Rollout) => ({
  variations: r.variations.map((w) => ({ variation: w.variation, weight: w.weight, ...(w._untracked ? { untracked: true } : {}) })),
  ...(r.bucketBy !== undefined ? { bucketBy: r.bucketBy } : {}),
  ...(r.seed !== undefined ? { seed: r.seed } : {}),
  ...(r.contextKind !== undefined ? { contextKind: r.contextKind } : {}),
  ...(r.experimentAllocation ? { kind: "experiment" } : {}),
});

/**
 * With \`contextTargets\`, SDKs read user targets only through an entry of kind \`user\` with no
 * values there (a placeholder pointing at \`targets\`); without one, user targets would be skipped.
 * User targets without a placeholder get one, first, as LaunchDarkly itself orders them.
 */
function sdkContextTargets(env: Flag["environments"][string]) {
  const listed = env.contextTargets.map((t) => ({ contextKind: t.contextKind ?? "user", values: t.values, variation: t.variation }));
  if (listed.length === 0) return listed;
  const placed = new Set(listed.filter((t) => t.contextKind === "user" && t.values.length === 0).map((t) => t.variation));
  const users = env.targets.filter((t) => (t.contextKind ?? "user") === "user" && t.values.length > 0 && !placed.has(t.variation));
  return [...users.map((t) => ({ contextKind: "user", values: [] as string[], variation: t.variation })), ...listed];
}

const serve = (v: VariationOrRollout) => (v.rollout ? { rollout: rollout(v.rollout) } : { variation: v.variation });

const sdkRule = (r: Rule) => ({
  id: r._id,
  clauses: r.clauses.map((c) => ({ contextKind: c.contextKind ?? "user", attribute: c.attribute, op: c.op, values: c.values, negate: c.negate })),
  trackEvents: r.trackEvents,
  ...serve(r),
});

/**
 * `convert` of a part of the targeting, kept with it when the part is frozen (a stored version's,
 * shared by the versions after it that leave it alone): built and frozen once, so its JSON text is
 * encoded once too (`composedJson`).
 */
function keptWith<A extends object, B extends object>(convert: (part: A) => B): (part: A) => B {
  const converted = new WeakMap<A, B>();
  return (part) => {
    if (!Object.isFrozen(part)) return convert(part);
    let result = converted.get(part);
    if (result === undefined) converted.set(part, (result = deepFreeze(convert(part))));
    return result;
  };
}

const sdkRules = keptWith((rules: Rule[]) => rules.map(sdkRule));
const sdkTargets = keptWith((targets: Target[]) => targets.filter((t) => (t.contextKind ?? "user") === "user").map((t) => ({ values: t.values, variation: t.variation })));

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
    targets: sdkTargets(env.targets),
    contextTargets: sdkContextTargets(env),
    rules: sdkRules(env.rules),
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
