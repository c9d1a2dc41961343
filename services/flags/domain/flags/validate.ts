/**
 * One check of a whole flag document, the last step of every write path. The document may come
 * from a JSON Patch a user wrote, so each field's JSON type is checked before its meaning, a field
 * the document does not have is refused at every level (it would be stored and served to SDKs),
 * and the only error is a 400 naming the first problem by its path. Ids are assigned, and refused
 * when duplicated, by `ids.ts` just before; here an `_id` need only be a non-empty string.
 */
import { TOTAL_WEIGHT, type Flag, type FlagEnvironment } from "./model.ts";
import { CLAUSE_FIELDS, KEY_AND_TAG_LIMITS, array, boolean, checkClauses, checkKey, checkTags, fail, integer, isRecord, jsonEqual, knownFields, optional, record, string, type Json } from "../validation.ts";

/** Other flags of the same project, for prerequisites. */
export interface FlagLookup {
  get(key: string): Pick<Flag, "key" | "variations" | "environments"> | undefined;
}

export const FLAG_LIMITS = { ...KEY_AND_TAG_LIMITS, name: 256, description: 8192, variations: 100, rules: 1000 } as const;

/** The fields each object of a flag document may have. */
export const FLAG_FIELDS = {
  flag: ["key", "name", "description", "kind", "variations", "temporary", "tags", "clientSideAvailability", "maintainerId", "maintainerTeamKey", "archived", "archivedDate", "deprecated", "deprecatedDate", "defaults", "customProperties", "creationDate", "_version", "environments"],
  variation: ["_id", "value", "name", "description"],
  clientSideAvailability: ["usingEnvironmentId", "usingMobileKey"],
  defaults: ["onVariation", "offVariation"],
  customProperty: ["name", "value"],
  environment: ["on", "archived", "salt", "sel", "lastModified", "version", "targets", "contextTargets", "rules", "fallthrough", "offVariation", "prerequisites", "trackEvents", "trackEventsFallthrough", "_debugEventsUntilDate"],
  target: ["contextKind", "values", "variation"],
  rule: ["_id", "description", "ref", "clauses", "trackEvents", "variation", "rollout"],
  clause: CLAUSE_FIELDS,
  fallthrough: ["variation", "rollout"],
  rollout: ["variations", "bucketBy", "seed", "contextKind", "experimentAllocation"],
  weightedVariation: ["variation", "weight", "_untracked"],
  experimentAllocation: ["defaultVariation", "canReshuffle"],
  prerequisite: ["key", "variation"],
} as const satisfies Record<string, readonly string[]>;

function index(v: unknown, path: string, count: number, of = ""): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= count) {
    fail(path, count === 0 ? `must be a variation index, but there are no variations${of}` : `must be a variation index${of} from 0 to ${count - 1}`);
  }
  return v;
}

/**
 * Checks the whole flag. `checked`: the flag it was changed from, valid as stored: an environment
 * the change left as the very same object (shared, not copied: see `applyInstructions`) is not
 * checked field by field again while the number of variations its indexes count is the same; its
 * prerequisites are, since the flags they name may have changed. Nor are the targets, rules or
 * fallthrough of a changed environment that are the very same objects as there.
 */
export function validateFlag(flag: Flag, lookup: FlagLookup, checked?: Flag): void {
  const f = record(flag as unknown, "flag");
  knownFields(f, "", FLAG_FIELDS.flag);
  const key = checkKey(f.key);
  string(f.name, "name", 1, FLAG_LIMITS.name);
  string(f.description, "description", 0, FLAG_LIMITS.description);
  const count = checkVariations(f);
  boolean(f.temporary, "temporary");
  checkTags(f.tags);
  const csa = record(f.clientSideAvailability, "clientSideAvailability");
  knownFields(csa, "clientSideAvailability", FLAG_FIELDS.clientSideAvailability);
  boolean(csa.usingEnvironmentId, "clientSideAvailability.usingEnvironmentId");
  boolean(csa.usingMobileKey, "clientSideAvailability.usingMobileKey");
  optional(f.maintainerId, (v) => string(v, "maintainerId", 1));
  optional(f.maintainerTeamKey, (v) => string(v, "maintainerTeamKey", 1));
  boolean(f.archived, "archived");
  optional(f.archivedDate, (v) => integer(v, "archivedDate"));
  boolean(f.deprecated, "deprecated");
  optional(f.deprecatedDate, (v) => integer(v, "deprecatedDate"));
  const defaults = record(f.defaults, "defaults");
  knownFields(defaults, "defaults", FLAG_FIELDS.defaults);
  index(defaults.onVariation, "defaults.onVariation", count);
  index(defaults.offVariation, "defaults.offVariation", count);
  checkCustomProperties(f.customProperties);
  integer(f.creationDate, "creationDate");
  integer(f._version, "_version");
  const same = checked !== undefined && checked.variations.length === count ? checked.environments : undefined;
  for (const [envKey, env] of Object.entries(record(f.environments, "environments"))) {
    if (same && Object.hasOwn(same, envKey) && same[envKey] === env) {
      const prerequisites = (env as FlagEnvironment).prerequisites;
      checkPrerequisites(key, envKey, prerequisites, `environments.${envKey}.prerequisites`, lookup);
    } else checkEnvironment(key, envKey, env, count, lookup, same && Object.hasOwn(same, envKey) ? same[envKey] : undefined);
  }
}

type ValueKind = "boolean" | "string" | "number" | "json" | "null";

function valueKind(v: unknown, path: string): ValueKind {
  if (v === null) return "null";
  if (typeof v === "boolean" || typeof v === "string") return typeof v as ValueKind;
  if (typeof v === "number" && Number.isFinite(v)) return "number";
  if (typeof v === "object") return "json";
  return fail(path, v === undefined ? "is required" : "must be a JSON value");
}

/** Checks the variations and returns their number. */
function checkVariations(f: Json): number {
  if (f.kind !== "boolean" && f.kind !== "multivariate") fail("kind", 'must be "boolean" or "multivariate"');
  const variations = array(f.variations, "variations");
  if (variations.length > FLAG_LIMITS.variations) fail("variations", `must not have more than ${FLAG_LIMITS.variations} entries`);
  const kinds = variations.map((v, i) => {
    const path = `variations[${i}]`;
    const variation = record(v, path);
    knownFields(variation, path, FLAG_FIELDS.variation);
    string(variation._id, `${path}._id`, 1);
    optional(variation.name, (n) => string(n, `${path}.name`));
    optional(variation.description, (d) => string(d, `${path}.description`));
    const kind = valueKind(variation.value, `${path}.value`);
    if (variations.slice(0, i).some((other) => jsonEqual((other as Json).value, variation.value))) {
      fail(`${path}.value`, "another variation has the same value");
    }
    return kind;
  });
  if (f.kind === "boolean") {
    if (variations.length !== 2 || kinds[0] !== "boolean" || kinds[1] !== "boolean") {
      fail("variations", "a boolean flag has exactly two variations, true and false");
    }
  } else {
    if (variations.length < 2) fail("variations", "a multivariate flag has at least two variations");
    const first = kinds[0];
    if (first !== "string" && first !== "number" && first !== "json") {
      fail("variations[0].value", "the values of a multivariate flag must be strings, numbers or JSON objects and arrays");
    }
    const other = kinds.findIndex((k) => k !== first);
    if (other >= 0) fail(`variations[${other}].value`, `must be of the same type as the others (${first === "json" ? "JSON" : first})`);
  }
  return variations.length;
}

function checkCustomProperties(v: unknown) {
  for (const [key, p] of Object.entries(record(v, "customProperties"))) {
    const path = `customProperties.${key}`;
    if (key === "" || key === "__proto__") fail("customProperties", `"${key}" is not a valid key`);
    const property = record(p, path);
    knownFields(property, path, FLAG_FIELDS.customProperty);
    string(property.name, `${path}.name`, 1);
    array(property.value, `${path}.value`).forEach((x, i) => string(x, `${path}.value[${i}]`));
  }
}

function checkEnvironment(flagKey: string, envKey: string, v: unknown, count: number, lookup: FlagLookup, checked?: FlagEnvironment) {
  const path = `environments.${envKey}`;
  const env = record(v, path);
  knownFields(env, path, FLAG_FIELDS.environment);
  boolean(env.on, `${path}.on`);
  boolean(env.archived, `${path}.archived`);
  string(env.salt, `${path}.salt`, 1);
  string(env.sel, `${path}.sel`, 1);
  integer(env.lastModified, `${path}.lastModified`);
  integer(env.version, `${path}.version`);
  // A part is the very same object as in the checked environment only if there is one.
  const fresh = (part: keyof FlagEnvironment) => checked === undefined || env[part] !== checked[part];
  if (fresh("targets") || fresh("contextTargets")) checkTargets(env, path, count);
  if (fresh("rules")) checkRules(env.rules, `${path}.rules`, count);
  if (fresh("fallthrough")) {
    const fallthrough = record(env.fallthrough, `${path}.fallthrough`);
    knownFields(fallthrough, `${path}.fallthrough`, FLAG_FIELDS.fallthrough);
    checkServe(fallthrough, `${path}.fallthrough`, count);
  }
  optional(env.offVariation, (o) => index(o, `${path}.offVariation`, count));
  checkPrerequisites(flagKey, envKey, env.prerequisites, `${path}.prerequisites`, lookup);
  boolean(env.trackEvents, `${path}.trackEvents`);
  boolean(env.trackEventsFallthrough, `${path}.trackEventsFallthrough`);
  const debug = env._debugEventsUntilDate;
  if (debug !== undefined && debug !== null) integer(debug, `${path}._debugEventsUntilDate`);
}

/** A context key may be targeted only once per context kind, across `targets` and `contextTargets`. */
function checkTargets(env: Json, path: string, count: number) {
  const seen = new Map<string, string>();
  for (const list of ["targets", "contextTargets"] as const) {
    array(env[list], `${path}.${list}`).forEach((t, i) => {
      const at = `${path}.${list}[${i}]`;
      const target = record(t, at);
      knownFields(target, at, FLAG_FIELDS.target);
      const kind = optional(target.contextKind, (k) => string(k, `${at}.contextKind`, 1)) ?? "user";
      index(target.variation, `${at}.variation`, count);
      array(target.values, `${at}.values`).forEach((x, j) => {
        const contextKey = string(x, `${at}.values[${j}]`);
        const id = JSON.stringify([kind, contextKey]);
        const earlier = seen.get(id);
        if (earlier !== undefined) fail(`${at}.values[${j}]`, `${kind} "${contextKey}" is already targeted by ${earlier}`);
        seen.set(id, `${list}[${i}]`);
      });
    });
  }
}

function checkRules(v: unknown, path: string, count: number) {
  const rules = array(v, path);
  if (rules.length > FLAG_LIMITS.rules) fail(path, `must not have more than ${FLAG_LIMITS.rules} entries`);
  rules.forEach((r, i) => {
    const at = `${path}[${i}]`;
    const rule = record(r, at);
    knownFields(rule, at, FLAG_FIELDS.rule);
    string(rule._id, `${at}._id`, 1);
    optional(rule.description, (d) => string(d, `${at}.description`));
    optional(rule.ref, (d) => string(d, `${at}.ref`));
    checkServe(rule, at, count);
    checkClauses(rule.clauses, `${at}.clauses`);
    boolean(rule.trackEvents, `${at}.trackEvents`);
  });
}

/** Exactly one of `variation` or `rollout`. */
function checkServe(o: Json, path: string, count: number) {
  const hasVariation = o.variation !== undefined;
  if (hasVariation === (o.rollout !== undefined)) fail(path, "must have exactly one of variation or rollout");
  if (hasVariation) index(o.variation, `${path}.variation`, count);
  else checkRollout(o.rollout, `${path}.rollout`, count);
}

function checkRollout(v: unknown, path: string, count: number) {
  const rollout = record(v, path);
  knownFields(rollout, path, FLAG_FIELDS.rollout);
  const weighted = array(rollout.variations, `${path}.variations`);
  if (weighted.length === 0) fail(`${path}.variations`, "must have at least one entry");
  const used = new Set<number>();
  let sum = 0;
  weighted.forEach((w, i) => {
    const at = `${path}.variations[${i}]`;
    const entry = record(w, at);
    knownFields(entry, at, FLAG_FIELDS.weightedVariation);
    const variation = index(entry.variation, `${at}.variation`, count);
    if (used.has(variation)) fail(`${at}.variation`, `variation ${variation} is listed twice`);
    used.add(variation);
    sum += integer(entry.weight, `${at}.weight`, 0, TOTAL_WEIGHT);
    optional(entry._untracked, (u) => boolean(u, `${at}._untracked`));
  });
  if (sum !== TOTAL_WEIGHT) fail(path, `weights must sum to ${TOTAL_WEIGHT}, not ${sum}`);
  optional(rollout.bucketBy, (b) => string(b, `${path}.bucketBy`));
  optional(rollout.seed, (s) => integer(s, `${path}.seed`, Number.MIN_SAFE_INTEGER));
  optional(rollout.contextKind, (k) => string(k, `${path}.contextKind`, 1));
  optional(rollout.experimentAllocation, (e) => {
    const allocation = record(e, `${path}.experimentAllocation`);
    knownFields(allocation, `${path}.experimentAllocation`, FLAG_FIELDS.experimentAllocation);
    index(allocation.defaultVariation, `${path}.experimentAllocation.defaultVariation`, count);
    boolean(allocation.canReshuffle, `${path}.experimentAllocation.canReshuffle`);
  });
}

function checkPrerequisites(flagKey: string, envKey: string, v: unknown, path: string, lookup: FlagLookup) {
  const keys: string[] = [];
  array(v, path).forEach((p, i) => {
    const at = `${path}[${i}]`;
    const prerequisite = record(p, at);
    knownFields(prerequisite, at, FLAG_FIELDS.prerequisite);
    const key = string(prerequisite.key, `${at}.key`, 1);
    if (key === flagKey) fail(`${at}.key`, "a flag cannot be its own prerequisite");
    if (keys.includes(key)) fail(`${at}.key`, `"${key}" is listed twice`);
    keys.push(key);
    const other = lookup.get(key);
    if (!other) fail(`${at}.key`, `there is no flag "${key}" in this project`);
    const count = Array.isArray(other.variations) ? other.variations.length : 0;
    index(prerequisite.variation, `${at}.variation`, count, ` of flag "${key}"`);
  });
  const cycle = prerequisiteCycle(flagKey, keys, envKey, lookup);
  if (cycle) fail(path, `prerequisite cycle ${cycle.join(" → ")}`);
}

/** The prerequisite keys of another flag in one environment, read defensively. */
function prerequisiteKeys(lookup: FlagLookup, key: string, envKey: string): string[] {
  const environments: unknown = lookup.get(key)?.environments;
  const env = isRecord(environments) && Object.hasOwn(environments, envKey) ? environments[envKey] : undefined;
  const list = isRecord(env) && Array.isArray(env.prerequisites) ? env.prerequisites : [];
  return list.flatMap((p: unknown) => (isRecord(p) && typeof p.key === "string" ? [p.key] : []));
}

/** A path from the flag back to itself through prerequisites, if there is one. */
function prerequisiteCycle(root: string, rootKeys: string[], envKey: string, lookup: FlagLookup): string[] | undefined {
  const trail = [root];
  const cleared = new Set<string>();
  const visit = (keys: string[]): string[] | undefined => {
    for (const key of keys) {
      if (key === root) return [...trail, key];
      if (cleared.has(key) || trail.includes(key)) continue;
      trail.push(key);
      const found = visit(prerequisiteKeys(lookup, key, envKey));
      if (found) return found;
      trail.pop();
      cleared.add(key);
    }
    return undefined;
  };
  return visit(rootKeys);
}
