/**
 * FeatureProbe's toggle targeting (`…/toggles/{key}/targeting`) as a view of a flag's environment.
 * Variations are matched by value (FeatureProbe sends them as strings); conditions map to clauses:
 *
 * | type     | predicate → clause op (negate)                                                           |
 * |----------|------------------------------------------------------------------------------------------|
 * | string   | is one of → in · is not any of → in (¬) · starts with / does not start with → startsWith (¬) · ends with / does not end with → endsWith (¬) · contains / does not contain → contains (¬) · matches regex / does not match regex → matches (¬) |
 * | number   | = → in · != → in (¬) · > → greaterThan · >= → greaterThanOrEqual · < → lessThan · <= → lessThanOrEqual (values as numbers) |
 * | datetime | after → after · before → before                                                          |
 * | semver   | = → semVerEqual · != → semVerEqual (¬) · > → semVerGreaterThan · < → semVerLessThan · >= → semVerLessThan (¬) · <= → semVerGreaterThan (¬) |
 * | segment  | is in → segmentMatch · is not in → segmentMatch (¬)                                      |
 *
 * `serve.select` is a variation; `serve.split` (weights summing to 10000) a rollout (×10);
 * `disabled` is `!on`, `defaultServe` the fallthrough, `disabledServe` the off variation.
 */
import { invalidRequest, notFound } from "@vexil/shared/errors";
import type { Clause, ClauseOp, Flag, FlagEnvironment, Rule, VariationOrRollout } from "../flags/model.ts";

type Pair = [string, ClauseOp, boolean];
const TABLE: Record<string, Pair[]> = {
  string: [
    ["is one of", "in", false],
    ["is not any of", "in", true],
    ["starts with", "startsWith", false],
    ["does not start with", "startsWith", true],
    ["ends with", "endsWith", false],
    ["does not end with", "endsWith", true],
    ["contains", "contains", false],
    ["does not contain", "contains", true],
    ["matches regex", "matches", false],
    ["does not match regex", "matches", true],
  ],
  number: [
    ["=", "in", false],
    ["!=", "in", true],
    [">", "greaterThan", false],
    [">=", "greaterThanOrEqual", false],
    ["<", "lessThan", false],
    ["<=", "lessThanOrEqual", false],
  ],
  datetime: [
    ["after", "after", false],
    ["before", "before", false],
  ],
  semver: [
    ["=", "semVerEqual", false],
    ["!=", "semVerEqual", true],
    [">", "semVerGreaterThan", false],
    ["<", "semVerLessThan", false],
    [">=", "semVerLessThan", true],
    ["<=", "semVerGreaterThan", true],
  ],
  segment: [
    ["is in", "segmentMatch", false],
    ["is not in", "segmentMatch", true],
  ],
};

/** Each condition type's predicates, as FeatureProbe's targeting body names them. */
export const PREDICATES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(Object.entries(TABLE).map(([type, pairs]) => [type, pairs.map(([predicate]) => predicate)]));

export interface FpServe {
  select?: number;
  split?: number[];
}

export interface FpCondition {
  type: string;
  subject: string;
  predicate: string;
  objects: string[];
}

export interface FpTargeting {
  comment?: string;
  disabled: boolean;
  content: {
    rules: Array<{ name?: string; serve: FpServe; conditions: FpCondition[] }>;
    disabledServe: FpServe;
    defaultServe: FpServe;
    variations: Array<{ value: string; name?: string; description?: string }>;
  };
}

const asText = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** FeatureProbe variation index → the flag's variation index, matched by value. */
function variationMap(flag: Flag, fp: FpTargeting["content"]["variations"]): number[] {
  if (fp.length !== flag.variations.length) throw invalidRequest(`variations: the flag has ${flag.variations.length} variations, the body ${fp.length}`);
  return fp.map((v, i) => {
    if (typeof v !== "object" || v === null || typeof v.value !== "string") throw invalidRequest(`variations[${i}].value must be a string`);
    const index = flag.variations.findIndex((ours) => asText(ours.value) === v.value);
    if (index < 0) throw invalidRequest(`variations[${i}]: the flag has no variation with value ${JSON.stringify(v.value)}`);
    return index;
  });
}

function serveOf(serve: FpServe, map: number[], where: string): VariationOrRollout {
  if (typeof serve?.select === "number") {
    const v = map[serve.select];
    if (v === undefined) throw invalidRequest(`${where}.select: no variation ${serve.select}`);
    return { variation: v };
  }
  if (Array.isArray(serve?.split)) {
    if (serve.split.length !== map.length || !serve.split.every((w) => Number.isInteger(w) && w >= 0)) throw invalidRequest(`${where}.split: one whole weight per variation`);
    return { rollout: { variations: serve.split.map((w, i) => ({ variation: map[i]!, weight: w * 10 })), contextKind: "user" } };
  }
  throw invalidRequest(`${where}: give select or split`);
}

function clauseOf(c: FpCondition, where: string, newId: () => string): Clause {
  if (typeof c !== "object" || c === null || typeof c.type !== "string" || !Object.hasOwn(TABLE, c.type)) throw invalidRequest(`${where}.type must be one of ${Object.keys(TABLE).join(", ")}`);
  if (c.subject !== undefined && typeof c.subject !== "string") throw invalidRequest(`${where}.subject must be a string`);
  const pair = TABLE[c.type]!.find(([predicate]) => predicate === c.predicate);
  if (!pair) throw invalidRequest(`${where}: unknown ${c.type} predicate ${JSON.stringify(c.predicate)}`);
  if (!Array.isArray(c.objects) || !c.objects.every((o) => typeof o === "string")) throw invalidRequest(`${where}.objects must be strings`);
  const values = c.type === "number" ? c.objects.map((o) => (Number.isFinite(Number(o)) ? Number(o) : o)) : c.objects;
  return { _id: newId(), contextKind: "user", attribute: c.type === "segment" ? "segmentMatch" : String(c.subject ?? ""), op: pair[1], values, negate: pair[2] };
}

/** The flag's environment with the targeting of a FeatureProbe body. */
export function applyTargeting(flag: Flag, envKey: string, body: FpTargeting, newId: () => string): FlagEnvironment {
  const env = flag.environments[envKey];
  if (!env) throw notFound(`Environment "${envKey}"`);
  if (typeof body !== "object" || body === null || typeof body.content !== "object" || body.content === null) throw invalidRequest("content is required");
  if (typeof body.disabled !== "boolean") throw invalidRequest("disabled must be true or false");
  const { content } = body;
  if (!Array.isArray(content.variations) || !Array.isArray(content.rules)) throw invalidRequest("content.variations and content.rules must be arrays");
  const map = variationMap(flag, content.variations);
  const rules: Rule[] = content.rules.map((r, i) => {
    if (!Array.isArray(r?.conditions)) throw invalidRequest(`content.rules[${i}].conditions must be an array`);
    if (r.name !== undefined && r.name !== null && typeof r.name !== "string") throw invalidRequest(`content.rules[${i}].name must be a string`);
    return {
      _id: newId(),
      ...(r.name ? { description: r.name } : {}),
      clauses: r.conditions.map((c, j) => clauseOf(c, `content.rules[${i}].conditions[${j}]`, newId)),
      trackEvents: false,
      ...serveOf(r.serve, map, `content.rules[${i}].serve`),
    };
  });
  const off = serveOf(content.disabledServe, map, "content.disabledServe");
  if (off.variation === undefined) throw invalidRequest("content.disabledServe must select one variation");
  return { ...env, on: !body.disabled, rules, fallthrough: serveOf(content.defaultServe, map, "content.defaultServe"), offVariation: off.variation };
}

function predicateOf(c: Clause): FpCondition {
  for (const [type, pairs] of Object.entries(TABLE)) {
    if (type === "number" && c.op === "in" && !c.values.every((v) => typeof v === "number")) continue;
    if (type === "string" && c.op === "in" && c.values.length > 0 && c.values.every((v) => typeof v === "number")) continue;
    const pair = pairs.find(([, op, negate]) => op === c.op && negate === c.negate);
    if (pair) return { type, subject: type === "segment" ? "" : c.attribute, predicate: pair[0], objects: c.values.map((v) => asText(v)) };
  }
  // Not expressible in FeatureProbe's vocabulary (e.g. a negated greaterThan): shown as the closest string test.
  return { type: "string", subject: c.attribute, predicate: c.negate ? `not ${c.op}` : c.op, objects: c.values.map((v) => asText(v)) };
}

function serveFp(v: VariationOrRollout, flag: Flag): FpServe {
  if (v.rollout) return { split: flag.variations.map((_, i) => Math.round((v.rollout!.variations.find((w) => w.variation === i)?.weight ?? 0) / 10)) };
  return { select: v.variation ?? 0 };
}

/** The flag's environment as FeatureProbe targeting. */
export function targetingOf(flag: Flag, envKey: string) {
  const env = flag.environments[envKey];
  if (!env) throw notFound(`Environment "${envKey}"`);
  return {
    disabled: !env.on,
    version: env.version,
    content: {
      rules: env.rules.map((r) => ({ name: r.description ?? "", serve: serveFp(r, flag), conditions: r.clauses.map(predicateOf) })),
      disabledServe: { select: env.offVariation ?? 0 },
      defaultServe: serveFp(env.fallthrough, flag),
      variations: flag.variations.map((v) => ({ value: asText(v.value), name: v.name ?? "", description: v.description ?? "" })),
    },
  };
}
