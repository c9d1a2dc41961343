/**
 * A flag environment's individual targets, as instructions change them. User keys live in
 * `targets`, other kinds in `contextTargets`; a key is targeted once per kind.
 */
import { refuse } from "../semantic-patch/engine.ts";
import { unique } from "../semantic-patch/params.ts";
import type { Flag, FlagEnvironment, Target } from "./model.ts";

export const kindOf = (t: Target) => t.contextKind ?? "user";
export const allTargets = (env: FlagEnvironment) => [...env.targets, ...env.contextTargets];

export function addTargets(flag: Pick<Flag, "variations">, env: FlagEnvironment, kind: string, variation: number, values: string[]) {
  for (const t of allTargets(env)) {
    const clash = kindOf(t) === kind && t.variation !== variation ? values.find((v) => t.values.includes(v)) : undefined;
    if (clash !== undefined) refuse(`${kind} "${clash}" is already targeted by variation "${flag.variations[t.variation]?._id}"`);
  }
  const targeted = new Set(allTargets(env).flatMap((t) => (kindOf(t) === kind && t.variation === variation ? t.values : [])));
  const fresh = unique(values).filter((v) => !targeted.has(v));
  if (fresh.length === 0) return;
  const into = kind === "user" ? env.targets : env.contextTargets;
  const entry = into.find((t) => kindOf(t) === kind && t.variation === variation);
  if (entry) entry.values.push(...fresh);
  else into.push({ contextKind: kind, values: fresh, variation });
}

/** Removes the targets `match` picks; entries left empty by it are dropped. */
export function removeTargets(env: FlagEnvironment, match: (t: Target) => boolean, values?: string[]) {
  const prune = (targets: Target[]) =>
    targets.filter((t) => {
      if (!match(t)) return true;
      const kept = values ? t.values.filter((v) => !values.includes(v)) : [];
      const emptied = kept.length === 0 && t.values.length > 0;
      t.values = kept;
      return !emptied && (values !== undefined || t.values.length > 0);
    });
  env.targets = prune(env.targets);
  env.contextTargets = prune(env.contextTargets);
}
