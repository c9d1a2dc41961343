/**
 * Flag semantic patch: LaunchDarkly's 53 instruction kinds, applied in order to a copy of the
 * flag by the engine segments share (`../semantic-patch/engine.ts`). Atomic: the first
 * instruction that fails throws a 400 naming its index and kind, and nothing is returned.
 * Redundant instructions are no-ops. An instruction that needs an environment takes the
 * request's `environmentKey`, or its own (a plan's patch changes several environments at once). Versions are left alone, and the caller checks the result
 * with `validateFlag`; instructions never leave a dangling index.
 */
import { cloneJson } from "@vexil/shared/json-clone";
import { refuse, runInstructions, type InstructionKind, type InstructionTable, type Params } from "../semantic-patch/engine.ts";
import { bool, list, named, object, optBool, optStr, str, strings, unique } from "../semantic-patch/params.ts";
import { CLAUSE_EDITS, clauseFrom, reorderedRules, ruleIn } from "../semantic-patch/rules.ts";
import { jsonEqual } from "../validation.ts";
import { TOTAL_WEIGHT, defaultEnvironment, type Flag, type FlagEnvironment } from "./model.ts";
import type { Prerequisite, Rollout, Rule, VariationOrRollout } from "./model.ts";
import { addTargets, kindOf, removeTargets } from "./targets.ts";
import type { FlagLookup } from "./validate.ts";
import { removeVariationAt, variationUse } from "./variation-removal.ts";

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

interface Draft {
  flag: Flag;
  ctx: SemanticContext;
  deleted: boolean;
}
type Kind = InstructionKind<Draft>;

export function applyInstructions(flag: Flag, instructions: unknown, ctx: SemanticContext): SemanticResult {
  const draft: Draft = { flag: draftOf(flag, instructions, ctx), ctx, deleted: false };
  const actions = runInstructions(instructions, KINDS, draft);
  return { flag: draft.flag, actions, deleted: draft.deleted };
}

/**
 * The copy the instructions change. Instructions that each change one environment (most requests:
 * `turnFlagOn`, targets, rules) copy the flag's own fields and the environments they name; the
 * other environments are the input's own objects, shared, not copied, since nothing changes them
 * (they stay frozen when the input came from the cache, and later steps find them unchanged by
 * identity). Anything else copies the whole flag.
 */
function draftOf(flag: Flag, instructions: unknown, ctx: SemanticContext): Flag {
  const named = Array.isArray(instructions) ? instructions.map((i) => environmentOf(i, ctx)) : [];
  if (named.length === 0 || named.some((key) => key === undefined)) return cloneJson(flag);
  const { environments, ...rest } = flag;
  const copy: Flag = { ...cloneJson(rest), environments: { ...environments } };
  // Instructions that only set an environment's own fields (on, off variation, fallthrough) leave
  // its targets, rules and prerequisites the read's objects: later steps find them unchanged by
  // identity (validation, the audit entry's patch back, freezing) instead of comparing copies.
  const fieldsOnly = (instructions as unknown[]).every((i) => FIELD_KINDS.has(KINDS[(i as { kind: string }).kind]!));
  for (const key of new Set(named as string[])) {
    if (Object.hasOwn(environments, key)) copy.environments[key] = fieldsOnly ? { ...environments[key]! } : cloneJson(environments[key]!);
  }
  return copy;
}

/** The environment an instruction of one environment changes; undefined for any other instruction. */
function environmentOf(instruction: unknown, ctx: SemanticContext): string | undefined {
  if (typeof instruction !== "object" || instruction === null) return undefined;
  const { kind, environmentKey } = instruction as { kind?: unknown; environmentKey?: unknown };
  if (typeof kind !== "string" || !Object.hasOwn(KINDS, kind) || !ENVIRONMENT_KINDS.has(KINDS[kind]!)) return undefined;
  const key = environmentKey ?? ctx.environmentKey;
  return typeof key === "string" && key !== "" && key !== "__proto__" ? key : undefined;
}

// Variations, environments, rules.

function variationIndex(flag: Pick<Flag, "key" | "variations">, o: Params, at = "", of = ""): number {
  const id = str(o, "variationId", at);
  const i = flag.variations.findIndex((v) => v._id === id);
  if (i < 0) refuse(`unknown variation "${id}"${of}`);
  return i;
}

/** The environment the instruction names in its own `environmentKey`, else the request's. */
function environment(d: Draft, p: Params): FlagEnvironment {
  const key = p.environmentKey ?? d.ctx.environmentKey;
  if (key === undefined || key === "") refuse("environmentKey is required");
  if (typeof key !== "string" || !d.ctx.environments.includes(key)) refuse(`unknown environment "${String(key)}"`);
  if (!Object.hasOwn(d.flag.environments, key)) d.flag.environments[key] = defaultEnvironment(d.flag, d.ctx.now);
  return d.flag.environments[key]!;
}

function ruleOf(env: FlagEnvironment, o: Params): Rule {
  return ruleIn(env.rules, o);
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

// Targets (`targets.ts`).

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
  for (const e of entries) addTargets(d.flag, env, e.kind, e.variation, e.values);
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

/** The kinds made by `onEnv`: each changes the one environment it names and nothing else. */
const ENVIRONMENT_KINDS = new WeakSet<Kind>();
const onEnv = (action: string, run: (env: FlagEnvironment, p: Params, d: Draft) => void): Kind => {
  const kind: Kind = { action, run: (d, p) => run(environment(d, p), p, d) };
  ENVIRONMENT_KINDS.add(kind);
  return kind;
};
/** The kinds made by `onEnvField`: each sets fields of its environment, never changes a part of one. */
const FIELD_KINDS = new WeakSet<Kind>();
const onEnvField = (action: string, run: (env: FlagEnvironment, p: Params, d: Draft) => void): Kind => {
  const kind = onEnv(action, run);
  FIELD_KINDS.add(kind);
  return kind;
};
const onFlag = (action: string, run: (d: Draft, p: Params) => void): Kind => ({ action, run });

const KINDS: InstructionTable<Draft> = {
  turnFlagOn: onEnvField("updateOn", (env) => void (env.on = true)),
  turnFlagOff: onEnvField("updateOn", (env) => void (env.on = false)),

  addTargets: onEnv("updateTargets", (env, p, d) => addTargets(d.flag, env, targetKind(p), variationIndex(d.flag, p), strings(p, "values"))),
  removeTargets: onEnv("updateTargets", (env, p, d) => {
    const [kind, variation, values] = [targetKind(p), variationIndex(d.flag, p), strings(p, "values")];
    removeTargets(env, (t) => kindOf(t) === kind && t.variation === variation, values);
  }),
  addUserTargets: onEnv("updateTargets", (env, p, d) => addTargets(d.flag, env, "user", variationIndex(d.flag, p), strings(p, "values"))),
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

  updateFallthroughVariationOrRollout: onEnvField("updateFallthrough", (env, p, d) => void (env.fallthrough = serveFrom(d.flag, p))),
  updateOffVariation: onEnvField("updateOffVariation", (env, p, d) => void (env.offVariation = variationIndex(d.flag, p))),

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

  updateTrackEvents: onEnvField("updateTrackEvents", (env, p) => void (env.trackEvents = bool(p, "trackEvents"))),
  updateTrackEventsFallthrough: onEnvField("updateFlagFallthroughTrackEvents", (env, p) => void (env.trackEventsFallthrough = bool(p, "trackEvents"))),

  addVariation: onFlag("updateFlagVariations", (d, p) => {
    if (p.value === undefined) refuse("value is required");
    if (d.flag.variations.some((v) => jsonEqual(v.value, p.value))) refuse("another variation has the same value");
    const [name, description] = [optStr(p, "name"), optStr(p, "description")];
    // A plan names the variation it adds, so that its later instructions can serve it.
    const id = optStr(p, "_id") || d.ctx.newId();
    if (d.flag.variations.some((v) => v._id === id)) refuse(`another variation has the id "${id}"`);
    d.flag.variations.push({ _id: id, value: p.value, ...(name !== undefined && { name }), ...(description !== undefined && { description }) });
  }),
  removeVariation: onFlag("updateFlagVariations", (d, p) => {
    const i = variationIndex(d.flag, p);
    const use = variationUse(d.flag, i, d.ctx.dependents ?? [], d.ctx.lookup);
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
