/**
 * Removing a variation: refused while the flag, or a flag that has it as a prerequisite, uses
 * it; otherwise every index above it moves down by one, so nothing is left dangling.
 */
import type { Flag, VariationOrRollout } from "./model.ts";
import { allTargets, removeTargets } from "./targets.ts";
import type { FlagLookup } from "./validate.ts";

function serves(s: VariationOrRollout, i: number): boolean {
  return (
    s.variation === i ||
    (s.rollout?.variations.some((w) => w.variation === i && w.weight > 0) ?? false) ||
    s.rollout?.experimentAllocation?.defaultVariation === i
  );
}

/** What uses variation `i`, in words, if anything does. */
export function variationUse(flag: Flag, i: number, dependents: string[], lookup: FlagLookup): string | undefined {
  if (flag.defaults.onVariation === i || flag.defaults.offVariation === i) return "the flag's defaults";
  for (const [key, env] of Object.entries(flag.environments)) {
    if (allTargets(env).some((t) => t.variation === i && t.values.length > 0)) return `targets in environment "${key}"`;
    const rule = env.rules.findIndex((r) => serves(r, i));
    if (rule >= 0) return `rule ${rule} in environment "${key}"`;
    if (serves(env.fallthrough, i)) return `the fallthrough in environment "${key}"`;
    if (env.offVariation === i) return `the off variation in environment "${key}"`;
  }
  for (const dependent of dependents) {
    for (const [key, env] of Object.entries(lookup.get(dependent)?.environments ?? {})) {
      const prerequisite = env.prerequisites?.find((p) => p.key === flag.key && p.variation >= i);
      if (prerequisite) return `${prerequisite.variation === i ? "" : "the index of a later variation in "}a prerequisite of flag "${dependent}" in environment "${key}"`;
    }
  }
  return undefined;
}

/** Removes variation `i` and shifts every index above it down by one. */
export function removeVariationAt(flag: Flag, i: number) {
  const shift = (v: number) => (v > i ? v - 1 : v);
  const reserve = (s: VariationOrRollout) => {
    if (s.variation !== undefined) s.variation = shift(s.variation);
    if (!s.rollout) return;
    s.rollout.variations = s.rollout.variations.filter((w) => w.variation !== i).map((w) => ({ ...w, variation: shift(w.variation) }));
    const allocation = s.rollout.experimentAllocation;
    if (allocation) allocation.defaultVariation = shift(allocation.defaultVariation);
  };
  flag.variations.splice(i, 1);
  flag.defaults = { onVariation: shift(flag.defaults.onVariation), offVariation: shift(flag.defaults.offVariation) };
  for (const env of Object.values(flag.environments)) {
    removeTargets(env, (t) => t.variation === i);
    for (const t of allTargets(env)) t.variation = shift(t.variation);
    env.rules.forEach(reserve);
    reserve(env.fallthrough);
    if (env.offVariation !== undefined) env.offVariation = shift(env.offVariation);
  }
}
