/**
 * Flag semantic patch: LaunchDarkly's 53 instruction kinds, applied in order to a copy of the
 * flag. Atomic: the first instruction that fails throws a 400 naming its index and kind, and
 * nothing is returned. Redundant instructions are no-ops. Versions are left alone, and the
 * caller checks the result with `validateFlag`; instructions never leave a dangling index.
 */
import { cloneJson } from "@vexil/shared/json-clone";
import { invalidRequest } from "@vexil/shared/errors";
import { CLAUSE_OPS, TOTAL_WEIGHT, defaultEnvironment, type Clause, type ClauseOp, type Flag, type FlagEnvironment } from "./model.ts";
import type { Prerequisite, Rollout, Rule, Target, VariationOrRollout } from "./model.ts";
import { isRecord, jsonEqual, type FlagLookup } from "./validate.ts";

export interface SemanticContext {
  /** From the request body; required by the instructions that need an environment. */
  environmentKey?: string;
  /** Environment keys of the project. */
  environments: string[];
  now: number;
  lookup: FlagLookup;
  /** For new variations, rules and clauses. */
  newId(): string;
  /** Keys of the flags that have this flag as a prerequisite in some environment. */
  dependents?: string[];
}

export interface SemanticResult {
  /** A new object; the input is never mutated. */
  flag: Flag;
  /** Policy actions the instructions take, deduplicated, in order of first use. */
  actions: string[];
  /** True when a deleteFlag instruction asked to delete the flag. */
  deleted: boolean;
}

/** The parameters of one instruction: the instruction object itself. */
export type Params = Record<string, unknown>;
interface Draft {
  flag: Flag;
  ctx: SemanticContext;
  deleted: boolean;
}

/** One instruction kind: the policy action it takes, and its change to a draft of the document. */
export interface InstructionKind<D> {
  action: string;
  run(d: D, p: Params): void;
}
type Kind = InstructionKind<Draft>;

/** Why one instruction failed; the loop adds its index and kind. */
class Refusal extends Error {}

export function refuse(reason: string): never {
  throw new Refusal(reason);
}

export function applyInstructions(flag: Flag, instructions: unknown, ctx: SemanticContext): SemanticResult {
  const draft: Draft = { flag: cloneJson(flag), ctx, deleted: false };
  const actions = runInstructions(instructions, KINDS, draft);
  return { flag: draft.flag, actions, deleted: draft.deleted };
}

/**
 * Runs the instructions in order on the draft, with the kinds given. The first that fails throws
 * a 400 naming its index and kind. Returns the actions taken, deduplicated, in order of first use.
 */
export function runInstructions<D>(instructions: unknown, kinds: Record<string, InstructionKind<D>>, draft: D): string[] {
  if (!Array.isArray(instructions) || instructions.length === 0) throw invalidRequest("instructions: must be a non-empty array");
  const actions = new Set<string>();
  instructions.forEach((instruction: unknown, i) => {
    if (!isRecord(instruction)) throw invalidRequest(`instruction ${i}: must be an object`);
    const name = instruction.kind;
    if (typeof name !== "string") throw invalidRequest(`instruction ${i}: kind must be a string`);
    const prefix = `instruction ${i} (${name.slice(0, 100)})`;
    if (!Object.hasOwn(kinds, name)) throw invalidRequest(`${prefix}: unknown instruction kind`);
    const kind = kinds[name]!;
    try {
      kind.run(draft, instruction);
    } catch (e) {
      if (e instanceof Refusal) throw invalidRequest(`${prefix}: ${e.message}`);
      throw e;
    }
    actions.add(kind.action);
  });
  return [...actions];
}

// Parameters, shared with segment instructions. `at` names the object a parameter belongs to in
// messages ("targets[1]").

const named = (at: string, key: string) => (at ? `${at}.${key}` : key);

function object(v: unknown, name: string): Params {
  if (!isRecord(v)) refuse(`${name} must be an object`);
  return v;
}

export function list(o: Params, key: string, at = ""): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) refuse(`${named(at, key)} must be an array`);
  return v;
}

export function strings(o: Params, key: string, at = ""): string[] {
  return list(o, key, at).map((v, i) => (typeof v === "string" ? v : refuse(`${named(at, key)}[${i}] must be a string`)));
}

export function str(o: Params, key: string, at = ""): string {
  const v = o[key];
  if (typeof v !== "string" || v === "") refuse(`${named(at, key)} must be a non-empty string`);
  return v;
}

export function optStr(o: Params, key: string, at = ""): string | undefined {
  const v = o[key];
  if (v !== undefined && typeof v !== "string") refuse(`${named(at, key)} must be a string`);
  return v;
}

function bool(o: Params, key: string, at = ""): boolean {
  const v = o[key];
  if (typeof v !== "boolean") refuse(`${named(at, key)} must be a boolean`);
  return v;
}

function optBool(o: Params, key: string, at = ""): boolean | undefined {
  return o[key] === undefined ? undefined : bool(o, key, at);
}

export const unique = <T>(values: T[]) => [...new Set(values)];

// Variations, environments, rules.

function variationIndex(flag: Pick<Flag, "key" | "variations">, o: Params, at = "", of = ""): number {
  const id = str(o, "variationId", at);
  const i = flag.variations.findIndex((v) => v._id === id);
  if (i < 0) refuse(`unknown variation "${id}"${of}`);
  return i;
}

function environment(d: Draft): FlagEnvironment {
  const key = d.ctx.environmentKey;
  if (key === undefined || key === "") refuse("environmentKey is required");
  if (typeof key !== "string" || !d.ctx.environments.includes(key)) refuse(`unknown environment "${String(key)}"`);
  if (!Object.hasOwn(d.flag.environments, key)) d.flag.environments[key] = defaultEnvironment(d.flag, d.ctx.now);
  return d.flag.environments[key]!;
}

function ruleOf(env: FlagEnvironment, o: Params): Rule {
  return ruleIn(env.rules, o);
}

/** The rule that `ruleId` names. */
export function ruleIn<R extends { _id: string }>(rules: R[], o: Params): R {
  const id = str(o, "ruleId");
  return rules.find((r) => r._id === id) ?? refuse(`unknown rule "${id}"`);
}

/** A rule as the clause instructions see it: a flag rule or a segment rule. */
export interface RuleWithClauses {
  _id: string;
  clauses: Clause[];
}

function clauseOf(rule: RuleWithClauses, o: Params): Clause {
  const id = str(o, "clauseId");
  return rule.clauses.find((c) => c._id === id) ?? refuse(`unknown clause "${id}" in rule "${rule._id}"`);
}

/** A clause from instruction parameters; `contextKind` defaults to user, `negate` to false. */
export function clauseFrom(v: unknown, at: string, id: string): Clause {
  const c = object(v, at);
  const op = str(c, "op", at);
  if (!(CLAUSE_OPS as readonly string[]).includes(op)) refuse(`${at}.op must be one of ${CLAUSE_OPS.join(", ")}`);
  return {
    _id: id,
    contextKind: optStr(c, "contextKind", at) || "user",
    attribute: str(c, "attribute", at),
    op: op as ClauseOp,
    values: [...list(c, "values", at)],
    negate: optBool(c, "negate", at) ?? false,
  };
}

/** The clause instructions, shared by flag and segment rules; each works on the rule `ruleId` named. */
export const CLAUSE_EDITS = {
  addClauses(rule: RuleWithClauses, p: Params, newId: () => string) {
    rule.clauses.push(...list(p, "clauses").map((c, i) => clauseFrom(c, `clauses[${i}]`, newId())));
  },
  removeClauses(rule: RuleWithClauses, p: Params) {
    const ids = strings(p, "clauseIds");
    const missing = ids.find((id) => !rule.clauses.some((c) => c._id === id));
    if (missing !== undefined) refuse(`unknown clause "${missing}" in rule "${rule._id}"`);
    rule.clauses = rule.clauses.filter((c) => !ids.includes(c._id));
  },
  updateClause(rule: RuleWithClauses, p: Params) {
    const clause = clauseOf(rule, p);
    rule.clauses[rule.clauses.indexOf(clause)] = clauseFrom(p.clause, "clause", clause._id);
  },
  addValuesToClause(rule: RuleWithClauses, p: Params) {
    const clause = clauseOf(rule, p);
    for (const v of list(p, "values")) if (!clause.values.some((x) => jsonEqual(x, v))) clause.values.push(v);
  },
  removeValuesFromClause(rule: RuleWithClauses, p: Params) {
    const clause = clauseOf(rule, p);
    const values = list(p, "values");
    clause.values = clause.values.filter((x) => !values.some((v) => jsonEqual(x, v)));
  },
};

/** The rules in the order `ruleIds` gives, which must list each of them exactly once. */
export function reorderedRules<R extends { _id: string }>(rules: R[], p: Params): R[] {
  const ids = strings(p, "ruleIds");
  const current = rules.map((r) => r._id);
  if (ids.length !== current.length || unique(ids).length !== ids.length || !current.every((id) => ids.includes(id))) {
    refuse(`ruleIds must list each current rule exactly once (${current.map((id) => `"${id}"`).join(", ") || "none"})`);
  }
  return ids.map((id) => rules.find((r) => r._id === id)!);
}

/** `variationId`, or `rolloutWeights` with `rolloutBucketBy?` and `rolloutContextKind?`. */
function serveFrom(flag: Flag, o: Params, at = ""): VariationOrRollout {
  const hasVariation = o.variationId !== undefined;
  if (hasVariation === (o.rolloutWeights !== undefined)) refuse(`${named(at, "variationId")} or ${named(at, "rolloutWeights")} is required, not both`);
  if (hasVariation) return { variation: variationIndex(flag, o, at) };
  const name = named(at, "rolloutWeights");
  const weights = Object.entries(object(o.rolloutWeights, name)).map(([id, weight]) => {
    const variation = flag.variations.findIndex((v) => v._id === id);
    if (variation < 0) refuse(`unknown variation "${id}" in ${name}`);
    if (typeof weight !== "number" || !Number.isInteger(weight) || weight < 0 || weight > TOTAL_WEIGHT) {
      refuse(`${name}.${id} must be an integer from 0 to ${TOTAL_WEIGHT}`);
    }
    return { variation, weight };
  });
  const sum = weights.reduce((s, w) => s + w.weight, 0);
  if (sum !== TOTAL_WEIGHT) refuse(`${name} must sum to ${TOTAL_WEIGHT}, not ${sum}`);
  const rollout: Rollout = { variations: weights.sort((a, b) => a.variation - b.variation), contextKind: optStr(o, "rolloutContextKind", at) || "user" };
  const bucketBy = optStr(o, "rolloutBucketBy", at);
  if (bucketBy) rollout.bucketBy = bucketBy;
  return { rollout };
}

function setServe(target: VariationOrRollout, serve: VariationOrRollout) {
  delete target.variation;
  delete target.rollout;
  Object.assign(target, serve);
}

function ruleFrom(d: Draft, v: unknown, at: string): Rule {
  const o = object(v, at || "instruction");
  const id = d.ctx.newId();
  const description = optStr(o, "description", at);
  const clauses = list(o, "clauses", at).map((c, i) => clauseFrom(c, named(at, `clauses[${i}]`), d.ctx.newId()));
  const rule: Rule = { _id: id, clauses, trackEvents: optBool(o, "trackEvents", at) ?? false, ...serveFrom(d.flag, o, at) };
  if (description !== undefined) rule.description = description;
  return rule;
}

// Targets. User keys live in `targets`, other kinds in `contextTargets`; a key is targeted once per kind.

const kindOf = (t: Target) => t.contextKind ?? "user";
const allTargets = (env: FlagEnvironment) => [...env.targets, ...env.contextTargets];

function addTargets(d: Draft, env: FlagEnvironment, kind: string, variation: number, values: string[]) {
  for (const t of allTargets(env)) {
    const clash = kindOf(t) === kind && t.variation !== variation ? values.find((v) => t.values.includes(v)) : undefined;
    if (clash !== undefined) refuse(`${kind} "${clash}" is already targeted by variation "${d.flag.variations[t.variation]?._id}"`);
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
function removeTargets(env: FlagEnvironment, match: (t: Target) => boolean, values?: string[]) {
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

function targetKind(p: Params): string {
  return optStr(p, "contextKind") || "user";
}

function replaceTargets(d: Draft, env: FlagEnvironment, p: Params, userOnly: boolean) {
  const entries = list(p, "targets").map((v, i) => {
    const at = `targets[${i}]`;
    const o = object(v, at);
    return { kind: userOnly ? "user" : optStr(o, "contextKind", at) || "user", variation: variationIndex(d.flag, o, at), values: strings(o, "values", at) };
  });
  if (userOnly) {
    const missing = d.flag.variations.find((_, i) => !entries.some((e) => e.variation === i));
    if (missing) refuse(`targets must have an entry for every variation; "${missing._id}" has none`);
    removeTargets(env, (t) => kindOf(t) === "user");
  } else {
    env.targets = [];
    env.contextTargets = [];
  }
  for (const e of entries) addTargets(d, env, e.kind, e.variation, e.values);
}

// Variation removal: refused while the flag (or a flag depending on it) uses the variation.

function serves(s: VariationOrRollout, i: number): boolean {
  return (
    s.variation === i ||
    (s.rollout?.variations.some((w) => w.variation === i && w.weight > 0) ?? false) ||
    s.rollout?.experimentAllocation?.defaultVariation === i
  );
}

function variationUse(d: Draft, i: number): string | undefined {
  const { flag } = d;
  if (flag.defaults.onVariation === i || flag.defaults.offVariation === i) return "the flag's defaults";
  for (const [key, env] of Object.entries(flag.environments)) {
    if (allTargets(env).some((t) => t.variation === i && t.values.length > 0)) return `targets in environment "${key}"`;
    const rule = env.rules.findIndex((r) => serves(r, i));
    if (rule >= 0) return `rule ${rule} in environment "${key}"`;
    if (serves(env.fallthrough, i)) return `the fallthrough in environment "${key}"`;
    if (env.offVariation === i) return `the off variation in environment "${key}"`;
  }
  for (const dependent of d.ctx.dependents ?? []) {
    for (const [key, env] of Object.entries(d.ctx.lookup.get(dependent)?.environments ?? {})) {
      const prerequisite = env.prerequisites?.find((p) => p.key === flag.key && p.variation >= i);
      if (prerequisite) return `${prerequisite.variation === i ? "" : "the index of a later variation in "}a prerequisite of flag "${dependent}" in environment "${key}"`;
    }
  }
  return undefined;
}

function removeVariationAt(flag: Flag, i: number) {
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

function variationWithValue(flag: Flag, value: unknown, name: string): number {
  const i = flag.variations.findIndex((v) => jsonEqual(v.value, value));
  if (i < 0) refuse(`${name}: no variation has the value ${JSON.stringify(value)}`);
  return i;
}

function prerequisiteFrom(d: Draft, o: Params, at = ""): Prerequisite {
  const key = str(o, "key", at);
  if (key === d.flag.key) refuse("a flag cannot be its own prerequisite");
  const other = d.ctx.lookup.get(key) ?? refuse(`there is no flag "${key}" in this project`);
  return { key, variation: variationIndex(other, o, at, ` of flag "${key}"`) };
}

function refuseIfDependedOn(d: Draft, doing: string) {
  const dependents = d.ctx.dependents ?? [];
  if (dependents.length > 0) refuse(`cannot ${doing} a flag that is a prerequisite of ${dependents.map((k) => `"${k}"`).join(", ")}`);
}

/** A custom property's key; `__proto__` would not survive as a plain key of the document. */
function propertyKey(p: Params): string {
  const key = str(p, "key");
  if (key === "__proto__") refuse("key must not be __proto__");
  return key;
}

function customProperty(d: Draft, key: string) {
  return Object.hasOwn(d.flag.customProperties, key) ? d.flag.customProperties[key] : undefined;
}

// The instruction kinds.

const onEnv = (action: string, run: (env: FlagEnvironment, p: Params, d: Draft) => void): Kind => ({ action, run: (d, p) => run(environment(d), p, d) });
const onFlag = (action: string, run: (d: Draft, p: Params) => void): Kind => ({ action, run });

const KINDS: Record<string, Kind> = {
  turnFlagOn: onEnv("updateOn", (env) => void (env.on = true)),
  turnFlagOff: onEnv("updateOn", (env) => void (env.on = false)),

  addTargets: onEnv("updateTargets", (env, p, d) => addTargets(d, env, targetKind(p), variationIndex(d.flag, p), strings(p, "values"))),
  removeTargets: onEnv("updateTargets", (env, p, d) => {
    const [kind, variation, values] = [targetKind(p), variationIndex(d.flag, p), strings(p, "values")];
    removeTargets(env, (t) => kindOf(t) === kind && t.variation === variation, values);
  }),
  addUserTargets: onEnv("updateTargets", (env, p, d) => addTargets(d, env, "user", variationIndex(d.flag, p), strings(p, "values"))),
  removeUserTargets: onEnv("updateTargets", (env, p, d) => {
    const [variation, values] = [variationIndex(d.flag, p), strings(p, "values")];
    removeTargets(env, (t) => kindOf(t) === "user" && t.variation === variation, values);
  }),
  replaceTargets: onEnv("updateTargets", (env, p, d) => replaceTargets(d, env, p, false)),
  replaceUserTargets: onEnv("updateTargets", (env, p, d) => replaceTargets(d, env, p, true)),
  clearTargets: onEnv("updateTargets", (env, p, d) => {
    const variation = variationIndex(d.flag, p);
    removeTargets(env, (t) => t.variation === variation);
  }),
  clearUserTargets: onEnv("updateTargets", (env, p, d) => {
    const variation = variationIndex(d.flag, p);
    removeTargets(env, (t) => kindOf(t) === "user" && t.variation === variation);
  }),

  addRule: onEnv("updateRules", (env, p, d) => {
    const before = optStr(p, "beforeRuleId");
    const at = before === undefined ? env.rules.length : env.rules.findIndex((r) => r._id === before);
    if (at < 0) refuse(`unknown rule "${before}"`);
    env.rules.splice(at, 0, ruleFrom(d, p, ""));
  }),
  removeRule: onEnv("updateRules", (env, p) => {
    const id = str(p, "ruleId");
    env.rules = env.rules.filter((r) => r._id !== id);
  }),
  replaceRules: onEnv("updateRules", (env, p, d) => void (env.rules = list(p, "rules").map((r, i) => ruleFrom(d, r, `rules[${i}]`)))),
  reorderRules: onEnv("updateRules", (env, p) => void (env.rules = reorderedRules(env.rules, p))),
  updateRuleVariationOrRollout: onEnv("updateRules", (env, p, d) => setServe(ruleOf(env, p), serveFrom(d.flag, p))),
  updateRuleDescription: onEnv("updateFlagRuleDescription", (env, p) => {
    const rule = ruleOf(env, p);
    rule.description = optStr(p, "description") ?? refuse("description must be a string");
  }),
  updateRuleTrackEvents: onEnv("updateTrackEvents", (env, p) => {
    const rule = ruleOf(env, p);
    rule.trackEvents = bool(p, "trackEvents");
  }),
  addClauses: onEnv("updateRules", (env, p, d) => CLAUSE_EDITS.addClauses(ruleOf(env, p), p, () => d.ctx.newId())),
  removeClauses: onEnv("updateRules", (env, p) => CLAUSE_EDITS.removeClauses(ruleOf(env, p), p)),
  updateClause: onEnv("updateRules", (env, p) => CLAUSE_EDITS.updateClause(ruleOf(env, p), p)),
  addValuesToClause: onEnv("updateRules", (env, p) => CLAUSE_EDITS.addValuesToClause(ruleOf(env, p), p)),
  removeValuesFromClause: onEnv("updateRules", (env, p) => CLAUSE_EDITS.removeValuesFromClause(ruleOf(env, p), p)),

  updateFallthroughVariationOrRollout: onEnv("updateFallthrough", (env, p, d) => void (env.fallthrough = serveFrom(d.flag, p))),
  updateOffVariation: onEnv("updateOffVariation", (env, p, d) => void (env.offVariation = variationIndex(d.flag, p))),

  addPrerequisite: onEnv("updatePrerequisites", (env, p, d) => {
    const prerequisite = prerequisiteFrom(d, p);
    const existing = env.prerequisites.find((x) => x.key === prerequisite.key);
    if (existing && existing.variation !== prerequisite.variation) refuse(`"${prerequisite.key}" is already a prerequisite; use updatePrerequisite`);
    if (!existing) env.prerequisites.push(prerequisite);
  }),
  updatePrerequisite: onEnv("updatePrerequisites", (env, p, d) => {
    const prerequisite = prerequisiteFrom(d, p);
    const existing = env.prerequisites.find((x) => x.key === prerequisite.key) ?? refuse(`"${prerequisite.key}" is not a prerequisite`);
    existing.variation = prerequisite.variation;
  }),
  removePrerequisite: onEnv("updatePrerequisites", (env, p) => {
    const key = str(p, "key");
    env.prerequisites = env.prerequisites.filter((x) => x.key !== key);
  }),
  replacePrerequisites: onEnv("updatePrerequisites", (env, p, d) => {
    const prerequisites = list(p, "prerequisites").map((v, i) => prerequisiteFrom(d, object(v, `prerequisites[${i}]`), `prerequisites[${i}]`));
    const twice = prerequisites.find((x, i) => prerequisites.findIndex((y) => y.key === x.key) !== i);
    if (twice) refuse(`prerequisites lists "${twice.key}" twice`);
    env.prerequisites = prerequisites;
  }),

  updateTrackEvents: onEnv("updateTrackEvents", (env, p) => void (env.trackEvents = bool(p, "trackEvents"))),
  updateTrackEventsFallthrough: onEnv("updateFlagFallthroughTrackEvents", (env, p) => void (env.trackEventsFallthrough = bool(p, "trackEvents"))),

  addVariation: onFlag("updateFlagVariations", (d, p) => {
    if (p.value === undefined) refuse("value is required");
    if (d.flag.variations.some((v) => jsonEqual(v.value, p.value))) refuse("another variation has the same value");
    const [name, description] = [optStr(p, "name"), optStr(p, "description")];
    d.flag.variations.push({ _id: d.ctx.newId(), value: p.value, ...(name !== undefined && { name }), ...(description !== undefined && { description }) });
  }),
  removeVariation: onFlag("updateFlagVariations", (d, p) => {
    const i = variationIndex(d.flag, p);
    const use = variationUse(d, i);
    if (use) refuse(`variation "${d.flag.variations[i]!._id}" is used by ${use}`);
    removeVariationAt(d.flag, i);
  }),
  updateVariation: onFlag("updateFlagVariations", (d, p) => {
    const variation = d.flag.variations[variationIndex(d.flag, p)]!;
    const [name, description] = [optStr(p, "name"), optStr(p, "description")];
    if (p.value !== undefined) {
      if (d.flag.variations.some((v) => v !== variation && jsonEqual(v.value, p.value))) refuse("another variation has the same value");
      variation.value = p.value;
    }
    if (name !== undefined) variation.name = name;
    if (description !== undefined) variation.description = description;
  }),
  updateDefaultVariation: onFlag("updateFlagDefaultVariations", (d, p) => {
    // The LaunchDarkly docs' example capitalises these names; both spellings are accepted.
    const on = p.onVariationValue ?? p.OnVariationValue;
    const off = p.offVariationValue ?? p.OffVariationValue;
    if (on === undefined && off === undefined) refuse("onVariationValue or offVariationValue is required");
    if (on !== undefined) d.flag.defaults.onVariation = variationWithValue(d.flag, on, "onVariationValue");
    if (off !== undefined) d.flag.defaults.offVariation = variationWithValue(d.flag, off, "offVariationValue");
  }),

  updateName: onFlag("updateName", (d, p) => void (d.flag.name = str(p, "value"))),
  updateDescription: onFlag("updateDescription", (d, p) => void (d.flag.description = optStr(p, "value") ?? refuse("value must be a string"))),
  addTags: onFlag("updateTags", (d, p) => void (d.flag.tags = unique([...d.flag.tags, ...strings(p, "values")]))),
  removeTags: onFlag("updateTags", (d, p) => {
    const values = strings(p, "values");
    d.flag.tags = d.flag.tags.filter((t) => !values.includes(t));
  }),
  makeFlagPermanent: onFlag("updateTemporary", (d) => void (d.flag.temporary = false)),
  makeFlagTemporary: onFlag("updateTemporary", (d) => void (d.flag.temporary = true)),
  turnOnClientSideAvailability: onFlag("updateClientSideFlagAvailability", (d, p) => setAvailability(d, p, true)),
  turnOffClientSideAvailability: onFlag("updateClientSideFlagAvailability", (d, p) => setAvailability(d, p, false)),

  updateMaintainerMember: onFlag("updateMaintainer", (d, p) => {
    d.flag.maintainerId = str(p, "value");
    delete d.flag.maintainerTeamKey;
  }),
  updateMaintainerTeam: onFlag("updateMaintainer", (d, p) => {
    d.flag.maintainerTeamKey = str(p, "value");
    delete d.flag.maintainerId;
  }),
  removeMaintainer: onFlag("updateMaintainer", (d) => {
    delete d.flag.maintainerId;
    delete d.flag.maintainerTeamKey;
  }),

  addCustomProperties: onFlag("updateFlagCustomProperties", (d, p) => {
    const [key, name, values] = [propertyKey(p), str(p, "name"), strings(p, "values")];
    const merged = unique([...(customProperty(d, key)?.value ?? []), ...values]);
    if (merged.length > 0) d.flag.customProperties[key] = { name, value: merged };
  }),
  replaceCustomProperties: onFlag("updateFlagCustomProperties", (d, p) => {
    const [key, name, values] = [propertyKey(p), str(p, "name"), unique(strings(p, "values"))];
    if (values.length > 0) d.flag.customProperties[key] = { name, value: values };
    else delete d.flag.customProperties[key];
  }),
  removeCustomProperties: onFlag("updateFlagCustomProperties", (d, p) => {
    const [key, values] = [str(p, "key"), strings(p, "values")];
    const property = customProperty(d, key);
    if (!property) return;
    property.value = property.value.filter((v) => !values.includes(v));
    if (property.value.length === 0) delete d.flag.customProperties[key];
  }),

  archiveFlag: onFlag("updateGlobalArchived", (d) => {
    if (d.flag.archived) return;
    refuseIfDependedOn(d, "archive");
    setArchived(d.flag, true, d.ctx.now);
  }),
  restoreFlag: onFlag("updateGlobalArchived", (d) => {
    if (d.flag.archived) setArchived(d.flag, false, d.ctx.now);
  }),
  deprecateFlag: onFlag("updateDeprecated", (d) => {
    if (d.flag.deprecated) return;
    d.flag.deprecated = true;
    d.flag.deprecatedDate = d.ctx.now;
  }),
  restoreDeprecatedFlag: onFlag("updateDeprecated", (d) => {
    d.flag.deprecated = false;
    delete d.flag.deprecatedDate;
  }),
  deleteFlag: onFlag("deleteFlag", (d) => {
    refuseIfDependedOn(d, "delete");
    d.deleted = true;
  }),
};

/** The number of instruction kinds, for tests. */
export const INSTRUCTION_KINDS: readonly string[] = Object.keys(KINDS);

function setAvailability(d: Draft, p: Params, on: boolean) {
  const which = p.value;
  if (which !== "usingMobileKey" && which !== "usingEnvironmentId") refuse('value must be "usingMobileKey" or "usingEnvironmentId"');
  d.flag.clientSideAvailability = { ...d.flag.clientSideAvailability, [which]: on };
}

/** The archived state is global; each environment mirrors it. */
function setArchived(flag: Flag, archived: boolean, now: number) {
  flag.archived = archived;
  if (archived) flag.archivedDate = now;
  else delete flag.archivedDate;
  for (const env of Object.values(flag.environments)) env.archived = archived;
}
