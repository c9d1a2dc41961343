/**
 * A flag environment's targeting in one shape for both sides of a plan: what is live (variations
 * by their ids) and what the file asks for (its variation keys turned into the ids they will have).
 * `same` compares two of them as SDKs would evaluate them: the order of target keys, zero rollout
 * weights and default context kinds make no difference; the order of rules and prerequisites does.
 */
import type { Clause, Flag, FlagEnvironment, VariationOrRollout } from "../flags/model.ts";
import type { FileClause, FileFlagEnvironment, FileRollout, VariationRef } from "./file-format.ts";

export type Serve = { variation: string } | { rollout: { contextKind: string; bucketBy?: string; weights: Array<[string, number]> } };

export interface ClauseSpec {
  contextKind: string;
  attribute: string;
  op: string;
  values: unknown[];
  negate: boolean;
}

export interface RuleSpec {
  description?: string;
  clauses: ClauseSpec[];
  serve: Serve;
  trackEvents: boolean;
}

export interface TargetSpec {
  kind: string;
  variation: string;
  values: string[];
}

export interface EnvSpec {
  on: boolean;
  offVariation?: string;
  fallthrough: Serve;
  targets: TargetSpec[];
  prerequisites: Array<{ key: string; variation: string }>;
  rules: RuleSpec[];
  trackEvents: boolean;
  trackEventsFallthrough: boolean;
}

const clauseSpec = (c: Clause | FileClause): ClauseSpec => ({ contextKind: c.contextKind || "user", attribute: c.attribute, op: c.op, values: c.values, negate: c.negate ?? false });

function liveServe(s: VariationOrRollout, ids: string[]): Serve {
  if (s.rollout) {
    const r = s.rollout;
    return { rollout: { contextKind: r.contextKind || "user", ...(r.bucketBy ? { bucketBy: r.bucketBy } : {}), weights: r.variations.map((w) => [ids[w.variation] ?? "", w.weight]) } };
  }
  return { variation: ids[s.variation ?? 0] ?? "" };
}

/** The live targeting of a flag environment; `otherIds` gives another flag's variation ids. */
export function liveEnvSpec(flag: Flag, env: FlagEnvironment, otherIds: (key: string) => string[] | undefined): EnvSpec {
  const ids = flag.variations.map((v) => v._id);
  return {
    on: env.on,
    ...(env.offVariation !== undefined ? { offVariation: ids[env.offVariation] } : {}),
    fallthrough: liveServe(env.fallthrough, ids),
    targets: [...env.targets, ...env.contextTargets].filter((t) => t.values.length > 0).map((t) => ({ kind: t.contextKind || "user", variation: ids[t.variation] ?? "", values: t.values })),
    prerequisites: env.prerequisites.map((p) => ({ key: p.key, variation: otherIds(p.key)?.[p.variation] ?? "" })),
    rules: env.rules.map((r) => ({ ...(r.description ? { description: r.description } : {}), clauses: r.clauses.map(clauseSpec), serve: liveServe(r, ids), trackEvents: r.trackEvents })),
    trackEvents: env.trackEvents,
    trackEventsFallthrough: env.trackEventsFallthrough,
  };
}

/** The targeting of a flag just created with these defaults (`defaultEnvironment`). */
export function freshEnvSpec(onVariation: string, offVariation: string): EnvSpec {
  return { on: false, offVariation, fallthrough: { variation: onVariation }, targets: [], prerequisites: [], rules: [], trackEvents: false, trackEventsFallthrough: false };
}

/** Resolves a variation reference to the id it will have; throws (a 400) naming where it is. */
export type Resolve = (ref: VariationRef, at: string) => string;

function fileServe(s: { variation?: VariationRef; rollout?: FileRollout }, resolve: Resolve, at: string): Serve {
  if (s.rollout) {
    const r = s.rollout;
    return { rollout: { contextKind: r.contextKind || "user", ...(r.bucketBy ? { bucketBy: r.bucketBy } : {}), weights: Object.entries(r.variations).map(([k, w]) => [resolve(/^\d+$/.test(k) ? Number(k) : k, `${at}.rollout.variations`), w]) } };
  }
  return { variation: resolve(s.variation!, `${at}.variation`) };
}

/** What the file asks of a flag environment; `resolveOther` resolves another flag's variation. */
export function fileEnvSpec(env: FileFlagEnvironment, at: string, resolve: Resolve, resolveOther: (flag: string, ref: VariationRef, at: string) => string): EnvSpec {
  return {
    on: env.on,
    ...(env.offVariation !== undefined ? { offVariation: resolve(env.offVariation, `${at}.offVariation`) } : {}),
    fallthrough: fileServe(env.fallthrough, resolve, `${at}.fallthrough`),
    targets: [
      ...(env.targets ?? []).map((t, i) => ({ kind: "user", variation: resolve(t.variation, `${at}.targets[${i}].variation`), values: t.values })),
      ...(env.contextTargets ?? []).map((t, i) => ({ kind: t.contextKind, variation: resolve(t.variation, `${at}.contextTargets[${i}].variation`), values: t.values })),
    ].filter((t) => t.values.length > 0),
    prerequisites: (env.prerequisites ?? []).map((p, i) => ({ key: p.flag, variation: resolveOther(p.flag, p.variation, `${at}.prerequisites[${i}].variation`) })),
    rules: (env.rules ?? []).map((r, i) => ({
      ...(r.description ? { description: r.description } : {}),
      clauses: r.clauses.map(clauseSpec),
      serve: fileServe(r, resolve, `${at}.rules[${i}]`),
      trackEvents: r.trackEvents ?? false,
    })),
    trackEvents: env.trackEvents ?? false,
    trackEventsFallthrough: env.trackEventsFallthrough ?? false,
  };
}

// Comparison.

const canonServe = (s: Serve) =>
  "rollout" in s ? { rollout: { ...s.rollout, weights: s.rollout.weights.filter(([, w]) => w > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) } } : s;

function canonTargets(targets: TargetSpec[]) {
  const merged = new Map<string, Set<string>>();
  for (const t of targets) {
    const k = `${t.kind}\u0000${t.variation}`;
    const set = merged.get(k) ?? new Set<string>();
    for (const v of t.values) set.add(v);
    merged.set(k, set);
  }
  return [...merged.entries()].map(([k, set]) => [k, [...set].sort()] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const canonRules = (rules: RuleSpec[]) => rules.map((r) => ({ ...r, serve: canonServe(r.serve) }));

/** Which parts of the targeting differ, in the order a plan changes them. */
export function differences(current: EnvSpec, desired: EnvSpec) {
  return {
    offVariation: desired.offVariation !== undefined && desired.offVariation !== current.offVariation,
    fallthrough: !Bun.deepEquals(canonServe(current.fallthrough), canonServe(desired.fallthrough)),
    targets: !Bun.deepEquals(canonTargets(current.targets), canonTargets(desired.targets)),
    prerequisites: !Bun.deepEquals(current.prerequisites, desired.prerequisites),
    rules: !Bun.deepEquals(canonRules(current.rules), canonRules(desired.rules)),
    trackEvents: current.trackEvents !== desired.trackEvents,
    trackEventsFallthrough: current.trackEventsFallthrough !== desired.trackEventsFallthrough,
    on: current.on !== desired.on,
  };
}

/** Instruction parameters that serve `s`. */
export function serveParams(s: Serve): Record<string, unknown> {
  if ("variation" in s) return { variationId: s.variation };
  return { rolloutWeights: Object.fromEntries(s.rollout.weights), rolloutContextKind: s.rollout.contextKind, ...(s.rollout.bucketBy ? { rolloutBucketBy: s.rollout.bucketBy } : {}) };
}

export const clauseParams = (c: ClauseSpec) => ({ contextKind: c.contextKind, attribute: c.attribute, op: c.op, values: c.values, negate: c.negate });
