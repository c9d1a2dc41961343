/**
 * Random evaluation cases from a fixed seed, for the differential test against the real SDK.
 * Each case owns a key prefix, so its flags and segments never meet another case's, and draws
 * context attributes and clause values from shared small pools so that clauses match often
 * enough to reach every branch: all operators, reasons, rollouts and experiments, prerequisites
 * (cycles, missing and deleted ones), nested and weighted segments, multi-kind contexts, legacy
 * users, invalid contexts, attribute references good and bad, and null fields.
 */
import type { SdkClause, SdkFlag, SdkRollout, SdkSegment, SdkSegmentRule, SdkVariationOrRollout } from "@vexil/shared/evaluation/evaluate";
import { seededRandom } from "../../support/random.ts";

export interface Case {
  id: number;
  flagKey: string;
  context: unknown;
  defaultValue: unknown;
  expectedType?: "boolean" | "number" | "string";
  flags: Record<string, SdkFlag>;
  segments: Record<string, SdkSegment>;
}

export const prng = seededRandom;

const KINDS = ["user", "org", "device"];
const KEYS = ["alice", "bob", "carol", "dave", "org-1", "org-2", "dev-9", "42"];
const STRINGS = ["alice", "Alice", "bob", "carol", "", "abc", "a.b.c", "US", "FR", "us", "beta", "x"];
const NUMBERS = [0, 1, -1, 17, 18, 21, 42, 42.5, 100, 1e21, 3.14, 1577836800000];
const SEMVERS = ["1.2.3", "1.2", "1", "2.0.0", "1.2.3-beta", "1.2.3-beta.2", "1.2.3-beta.10", "1.2.3-alpha", "1.2.3-1", "v1.2.3", "1.2.3+build.5", "01.2.3", "1.2.3.4", " 1.2.3", "1.10.0", "1.2-rc.1", "1-beta", "99999999999999999999.0.0", "1.2.3-", "=1.2.3"];
const DATES = ["2020-01-01T00:00:00Z", "2021-06-15T12:30:00.123+02:00", "2020-06-01T00:00:00-07", "2019-12-31T23:59:59.999Z", "2020-01-01", "2020-13-45T99:99:99Z", "not a date", 1577836800000, 1600000000000, 0, -1];
const PATTERNS = [".*", "^a", "e$", "^[a-c]", "\\d+", "^(a+)+$", "[", "(?=.*a)", "^(?!bob)", "a|b", "\\w+@\\w+\\.com", "^$", "US|FR", "^\\S+$", "(", "x{2,}", "^\\d{2}$", "\\bbeta\\b", "[^a-z]"];
const FRAGMENTS = ["a", "al", "ice", "bo", "@example.com", "US", "", "1.2", "x", "b"];
const EMAILS = ["alice@example.com", "bob@example.com", "carol@test.org", "x"];
const OPS = ["in", "endsWith", "startsWith", "matches", "contains", "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual", "before", "after", "semVerEqual", "semVerLessThan", "semVerGreaterThan", "segmentMatch", "notAnOperator"];
const ATTRIBUTES = [
  "key", "name", "email", "country", "age", "score", "version", "created", "tags", "groups", "anonymous", "address", "/address/city", "/address/zip",
  "address/city", "a/b", "/a~1b", "a~b", "/a~0b", "~x", "/~x", "/nested/a~1b/c~0d", "kind", "/kind", "_meta", "/_meta", "secondary", "custom",
  "/custom/tier", "tier", "missing", "", "/", "//x", "/a~2b", "a~", "flag", "obj", "nul", "ip", "firstName", "avatar",
];
const BUCKET_BY = ["key", "name", "age", "score", "email", "/address/city", "address", "groups", "anonymous", "kind", "secondary", "", "missing", "//bad", "_meta", "tier", "/a~1b"];
const VARIATION_VALUES: unknown[] = [true, false, "red", "green", "blue", 1, 2, 3.5, { x: 1 }, [1, 2], null, ""];

class Draw {
  /** What the current case's context holds, for clauses and targets that match it. */
  facts: Fact[] = [];
  keys: string[] = [];
  constructor(readonly next: () => number) {}
  int(n: number) {
    return Math.floor(this.next() * n);
  }
  chance(p: number) {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  some<T>(items: readonly T[], max: number, min = 1): T[] {
    const n = min + this.int(max - min + 1);
    return Array.from({ length: n }, () => this.pick(items));
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
  /** Usually in [0, n); sometimes just outside it. */
  index(n: number): number {
    if (this.chance(0.03)) return this.pick([n, -1, n + 5]);
    return this.int(n);
  }
}

function attributeValue(d: Draw, name: string): unknown {
  switch (name) {
    case "name":
      return d.pick([...STRINGS, 42, null, ["alice", "bob"]]);
    case "email":
      return d.pick(EMAILS);
    case "country":
      return d.pick(["US", "FR", "us", 1]);
    case "age":
    case "score":
      return d.pick([...NUMBERS, "42", true, -0]);
    case "version":
      return d.pick([...SEMVERS, 3]);
    case "created":
      return d.pick(DATES);
    case "tags":
      return d.pick([["a", "b"], ["beta"], [], ["US", "alice"], "beta", [42, "beta"]]);
    case "groups":
      return d.pick([[1, 2], [42, "x"], [["nested"]], [null], [1.5]]);
    case "anonymous":
      return d.pick([true, false, 1, 0, "yes", null]);
    case "address":
      return d.pick([{ city: "Paris", zip: "75001" }, { city: "NYC" }, "not-object", ["array"], { city: null }, { zip: 75001 }]);
    case "custom":
      return d.pick([{ tier: "gold" }, { tier: 3 }, "plain"]);
    case "tier":
      return d.pick(["gold", "silver", 3]);
    case "obj":
      return { a: 1 };
    case "nul":
      return null;
    case "flag":
      return d.chance(0.5);
    case "secondary":
      return d.pick(["s1", "s2", 7]);
    default:
      return d.pick([...STRINGS, ...NUMBERS]);
  }
}

const CONTEXT_ATTRIBUTES = ["name", "email", "country", "age", "score", "version", "created", "tags", "groups", "anonymous", "address", "custom", "tier", "obj", "nul", "flag", "secondary", "ip", "firstName", "avatar"];

function contextPart(d: Draw, kind: string | undefined): Record<string, unknown> {
  const part: Record<string, unknown> = {};
  if (kind) part.kind = kind;
  part.key = d.pick(KEYS);
  for (const name of d.some(CONTEXT_ATTRIBUTES, 6, 0)) part[name] = attributeValue(d, name);
  if (d.chance(0.15)) part["a/b"] = d.pick(STRINGS);
  if (d.chance(0.15)) part["a~b"] = d.pick(STRINGS);
  if (d.chance(0.1)) part["~x"] = d.pick(STRINGS);
  if (d.chance(0.1)) part.nested = { "a/b": { "c~d": d.pick(STRINGS) } };
  if (d.chance(0.1)) part._meta = { privateAttributes: ["email"] };
  if (d.chance(0.05)) part.missing = undefined;
  return part;
}

function legacyUser(d: Draw): Record<string, unknown> {
  const user: Record<string, unknown> = { key: d.pick([...KEYS, 42, 0, ""]) };
  for (const name of ["name", "email", "country", "ip", "firstName", "lastName", "avatar", "secondary", "anonymous", "age"]) {
    if (d.chance(0.3)) user[name] = name === "anonymous" ? d.pick([true, false, null, 1]) : attributeValue(d, name);
  }
  if (d.chance(0.5)) {
    const custom: Record<string, unknown> = {};
    for (const name of d.some(["tier", "age", "tags", "name", "anonymous", "version", "created", "address", "kind", "key"], 4)) custom[name] = attributeValue(d, name);
    user.custom = d.chance(0.05) ? d.pick([["x", "y"], "str", 5]) : custom;
  }
  if (d.chance(0.1)) user.privateAttributeNames = ["email"];
  if (d.chance(0.1)) user.kind = null;
  return user;
}

const INVALID_CONTEXTS: unknown[] = [
  null,
  {},
  { kind: "user" },
  { kind: "user", key: "" },
  { kind: "user", key: 5 },
  { kind: "kind", key: "x" },
  { kind: "bad kind!", key: "x" },
  { kind: "", key: "x" },
  { kind: 5, key: "x" },
  { kind: "multi" },
  { kind: "multi", user: { key: 1 } },
  { kind: "multi", user: { key: "a" }, org: "not-an-object" },
  { kind: "multi", user: { key: "a" }, org: ["array"] },
  { kind: "multi", user: { key: "a" }, "bad kind": { key: "b" } },
  { name: "no key" },
];

function context(d: Draw): unknown {
  const r = d.next();
  if (r < 0.04) return structuredClone(d.pick(INVALID_CONTEXTS));
  if (r < 0.3) return legacyUser(d);
  if (r < 0.65) return contextPart(d, d.pick(KINDS));
  const kinds = d.chance(0.1) ? [d.pick(KINDS)] : d.chance(0.5) ? ["user", "org"] : ["user", "org", "device"].filter(() => d.chance(0.8));
  const multi: Record<string, unknown> = { kind: "multi" };
  for (const kind of kinds.length ? kinds : ["org"]) multi[kind] = contextPart(d, d.chance(0.3) ? kind : undefined);
  return multi;
}

/** An attribute a context really has, and how a clause can name it. */
interface Fact {
  kind: string;
  /** The attribute as a reference path (with a contextKind) and as a literal name (without). */
  ref: string;
  literal?: string;
  value: unknown;
}

const escapeRef = (name: string) => name.replace(/~/g, "~0").replace(/\//g, "~1");

function factsOf(context: unknown): Fact[] {
  if (!context || typeof context !== "object") return [];
  const raw = context as Record<string, unknown>;
  const parts: [string, Record<string, unknown>][] = [];
  if (raw.kind === "multi") {
    for (const [kind, part] of Object.entries(raw)) if (kind !== "kind" && part && typeof part === "object") parts.push([kind, part as Record<string, unknown>]);
  } else if (typeof raw.kind === "string") parts.push([raw.kind, raw]);
  else parts.push(["user", { ...(raw.custom && typeof raw.custom === "object" ? raw.custom : {}), ...raw }]);
  const facts: Fact[] = [];
  for (const [kind, attributes] of parts) {
    facts.push({ kind, ref: "kind", literal: "kind", value: kind });
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "kind" || name === "custom") continue;
      facts.push({ kind, ref: `/${escapeRef(name)}`, literal: name, value });
      if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [inner, innerValue] of Object.entries(value)) facts.push({ kind, ref: `/${escapeRef(name)}/${escapeRef(inner)}`, value: innerValue });
      }
    }
  }
  return facts;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A clause that matches `fact` (usually): the operator fits the value's type. */
function factClause(d: Draw, fact: Fact): SdkClause {
  let v = fact.value;
  if (Array.isArray(v) && v.length) v = d.pick(v);
  let op = "in";
  let values: unknown[] = [v];
  if (typeof v === "string") {
    const cut = d.int(v.length + 1);
    const choices: [string, unknown[]][] = [
      ["in", [v]],
      ["startsWith", [v.slice(0, cut)]],
      ["endsWith", [v.slice(cut)]],
      ["contains", [v.slice(d.int(cut + 1), cut)]],
      ["matches", [d.chance(0.5) ? `^${escapeRegex(v.slice(0, cut))}` : `${escapeRegex(v.slice(cut))}$`]],
      ["semVerEqual", [v]],
      ["semVerLessThan", ["3.0.0", "1.2.4", "1.2.3"]],
      ["semVerGreaterThan", ["0.0.1", "1.2.2", "1.2.3-alpha"]],
      ["before", ["2030-01-01T00:00:00Z", 1600000000000]],
      ["after", ["2000-01-01T00:00:00Z", 0, "2020-01-01T00:00:00Z"]],
    ];
    // Version attributes lean towards the semVer operators, or they would rarely meet one.
    [op, values] = fact.ref.includes("version") && d.chance(0.7) ? d.pick(choices.slice(5, 8)) : d.pick(choices);
  } else if (typeof v === "number") {
    [op, values] = d.pick<[string, unknown[]]>([
      ["in", [v]],
      ["lessThan", [v + 1]],
      ["lessThanOrEqual", [v]],
      ["greaterThan", [v - 1]],
      ["greaterThanOrEqual", [v]],
      ["before", [v + 1]],
      ["after", [v - 1]],
      ["in", [String(v)]],
    ]);
  }
  if (d.chance(0.3)) values.push(...clauseValues(d, op, []));
  const named = fact.literal !== undefined && fact.kind === "user" && d.chance(0.4);
  return named ? { attribute: fact.literal, op, values, negate: d.chance(0.15) } : { contextKind: fact.kind, attribute: fact.ref, op, values, negate: d.chance(0.15) };
}

function clauseValues(d: Draw, op: string, segmentKeys: string[]): unknown[] {
  switch (op) {
    case "in":
      return d.some([...KEYS, ...STRINGS, ...NUMBERS, true, false, null, ...KINDS, "gold", 3, "Paris", "75001", { a: 1 }, ["beta"]], 4);
    case "endsWith":
    case "startsWith":
    case "contains":
      return d.some([...FRAGMENTS, 1, null, true], 3);
    case "matches":
      return d.some([...PATTERNS, 5], 2);
    case "lessThan":
    case "lessThanOrEqual":
    case "greaterThan":
    case "greaterThanOrEqual":
      return d.some([...NUMBERS, "42", null], 3);
    case "before":
    case "after":
      return d.some([...DATES, 1700000000000, true], 2);
    case "semVerEqual":
    case "semVerLessThan":
    case "semVerGreaterThan":
      return d.some([...SEMVERS, 3, null], 3);
    case "segmentMatch":
      return d.some([...segmentKeys, "no-such-segment"], 2);
    default:
      return d.some([...STRINGS, ...NUMBERS], 2);
  }
}

function clause(d: Draw, segmentKeys: string[], allowSegments: boolean): SdkClause {
  if (d.facts.length && d.chance(0.55)) return factClause(d, d.pick(d.facts));
  let op = d.pick(OPS);
  if (op === "segmentMatch" && !allowSegments) op = "in";
  if (segmentKeys.length && allowSegments && d.chance(0.1)) op = "segmentMatch";
  const r = d.next();
  const contextKind = r < 0.4 ? "user" : r < 0.6 ? "org" : r < 0.68 ? "device" : r < 0.93 ? undefined : r < 0.95 ? "" : r < 0.97 ? null : "other";
  const c: SdkClause = { attribute: d.pick(ATTRIBUTES), op, values: clauseValues(d, op, segmentKeys), negate: d.chance(0.25) };
  if (contextKind !== undefined) c.contextKind = contextKind;
  if (d.chance(0.02)) delete c.attribute;
  return c;
}

function weights(d: Draw, n: number): number[] {
  const r = d.next();
  if (r < 0.05) return Array(n).fill(0);
  const total = r < 0.75 ? 100_000 : r < 0.92 ? d.int(100_000) : 100_000 + d.int(50_000);
  const cuts = Array.from({ length: n - 1 }, () => d.int(total + 1)).sort((a, b) => a - b);
  return [...cuts, total].map((cut, i, all) => cut - (i ? all[i - 1]! : 0));
}

function rollout(d: Draw, variationCount: number): SdkRollout {
  const n = 1 + d.int(3);
  const ws = weights(d, n);
  const r: SdkRollout = {
    variations: ws.map((weight) => ({ variation: d.index(variationCount), weight, ...(d.chance(0.2) ? { untracked: true } : {}) })),
  };
  if (d.chance(0.02)) r.variations = [];
  if (d.chance(0.35)) r.bucketBy = d.pick(BUCKET_BY);
  if (d.chance(0.4)) r.contextKind = d.pick([...KINDS, "other"]);
  if (d.chance(0.25)) r.seed = d.pick([0, 1, 61, -5, 123456789, 2.5]);
  if (d.chance(0.3)) r.kind = "experiment";
  if (d.chance(0.05)) r.bucketBy = null;
  return r;
}

function serve(d: Draw, variationCount: number): SdkVariationOrRollout {
  const r = d.next();
  if (r < 0.58) return { variation: d.index(variationCount) };
  if (r < 0.97) return { rollout: rollout(d, variationCount) };
  if (r < 0.985) return { variation: null, rollout: rollout(d, variationCount) };
  return {};
}

function segment(d: Draw, key: string, segmentKeys: string[]): SdkSegment {
  const unbounded = d.chance(0.12);
  const s: SdkSegment = { key, version: 1, included: [], excluded: [], includedContexts: [], excludedContexts: [], rules: [], salt: d.chance(0.9) ? `salt-${d.int(1000)}` : null, deleted: false };
  if (d.chance(0.3)) s.included = d.some([...KEYS, ...d.keys], 3);
  if (d.chance(0.03)) s.included = [...Array.from({ length: 120 }, (_, i) => `bulk-${i}`), d.pick(KEYS)];
  if (d.chance(0.2)) s.excluded = d.some(KEYS, 3);
  if (d.chance(0.2)) s.includedContexts = [{ contextKind: d.pick([...KINDS, null]), values: d.some([...KEYS, ...d.keys], 3) }];
  if (d.chance(0.15)) s.excludedContexts = [{ contextKind: d.pick(KINDS), values: d.some(KEYS, 3) }];
  for (let i = d.int(3); i > 0; i--) {
    const rule: SdkSegmentRule = { id: `sr${i}`, clauses: Array.from({ length: d.int(3) }, () => clause(d, segmentKeys, !unbounded)) };
    if (d.chance(0.4)) rule.weight = d.pick([0, 50_000, 100_000, d.int(100_000)]);
    if (d.chance(0.2)) rule.bucketBy = d.pick(BUCKET_BY);
    if (d.chance(0.2)) rule.rolloutContextKind = d.pick([...KINDS, "other"]);
    if (d.chance(0.03)) rule.clauses = null;
    s.rules!.push(rule);
  }
  if (unbounded) {
    // Unbounded segments never reference segments: SDKs restart cycle detection at them and would loop.
    s.unbounded = true;
    if (d.chance(0.5)) s.generation = 1 + d.int(3);
    if (d.chance(0.3)) s.unboundedContextKind = d.pick(KINDS);
  }
  return s;
}

function flag(d: Draw, key: string, prerequisiteKeys: string[], segmentKeys: string[]): SdkFlag {
  const variations = d.some(VARIATION_VALUES, 4, 2);
  const n = variations.length;
  const f: SdkFlag = {
    key,
    version: 1 + d.int(5),
    on: d.chance(0.85),
    salt: d.chance(0.9) ? `salt-${d.int(1000)}` : undefined,
    variations,
    targets: [],
    contextTargets: [],
    rules: [],
    fallthrough: serve(d, n),
    prerequisites: [],
    trackEvents: false,
    trackEventsFallthrough: false,
    clientSide: false,
    deleted: false,
  };
  const off = d.next();
  if (off < 0.8) f.offVariation = d.index(n);
  else if (off < 0.9) f.offVariation = null;
  if (d.chance(0.03)) delete f.fallthrough;
  if (d.chance(0.3)) f.targets = Array.from({ length: 1 + d.int(2) }, () => ({ values: d.some([...KEYS, ...d.keys], 3), variation: d.index(n) }));
  if (d.chance(0.25)) {
    const userPlaceholders = (f.targets ?? []).filter(() => d.chance(0.8)).map((t) => ({ contextKind: "user", values: [], variation: t.variation }));
    const others = Array.from({ length: d.int(3) }, () => ({ contextKind: d.pick(["org", "device"]), values: d.some([...KEYS, ...d.keys], 3), variation: d.index(n) }));
    f.contextTargets = d.shuffle([...others, ...userPlaceholders]);
    if (d.chance(0.1)) f.contextTargets.push({ contextKind: "user", values: [], variation: d.index(n) });
  }
  for (let i = d.int(5); i > 0; i--) {
    const clauses = Array.from({ length: d.pick([0, 1, 1, 1, 2, 2, 3]) }, () => clause(d, segmentKeys, true));
    f.rules!.push({ ...(d.chance(0.9) ? { id: `rule-${i}` } : {}), clauses: d.chance(0.03) ? null : clauses, trackEvents: false, ...serve(d, n) });
  }
  if (prerequisiteKeys.length && d.chance(0.3)) f.prerequisites = d.some(prerequisiteKeys, 2).map((k) => ({ key: k, variation: d.index(3) }));
  return f;
}

export function generateCases(seed: number, count: number): Case[] {
  const d = new Draw(prng(seed));
  const cases: Case[] = [];
  for (let id = 0; id < count; id++) {
    const p = `c${id}.`;
    const ctx = context(d);
    d.facts = factsOf(ctx);
    d.keys = d.facts.filter((f) => f.literal === "key" && typeof f.value === "string").map((f) => f.value as string);
    const segmentKeys = Array.from({ length: d.int(4) }, (_, i) => `${p}s${i}`);
    const flagKeys = [`${p}main`, ...Array.from({ length: d.int(4) }, (_, i) => `${p}f${i}`)];
    const prerequisiteKeys = [...flagKeys.slice(1), `${p}missing`, `${p}gone`, ...(d.chance(0.1) ? [flagKeys[0]!] : [])];
    const flags: Record<string, SdkFlag> = {};
    for (const key of flagKeys) flags[key] = flag(d, key, prerequisiteKeys.filter((k) => k !== key || d.chance(0.1)), segmentKeys);
    flags[`${p}gone`] = { key: `${p}gone`, version: 3, deleted: true };
    if (d.chance(0.01)) flags[`${p}main`]!.deleted = true;
    const segments: Record<string, SdkSegment> = {};
    for (const key of segmentKeys) segments[key] = segment(d, key, segmentKeys);
    const typed = d.chance(0.12) ? d.pick(["boolean", "number", "string"] as const) : undefined;
    const defaultValue = typed ? d.pick<unknown>({ boolean: [false, true, "x"], number: [0, -1, "x"], string: ["DEFAULT", "", 0] }[typed]) : d.pick(["DEFAULT", 0, false, null, { d: 1 }]);
    cases.push({
      id,
      flagKey: d.chance(0.01) ? `${p}unknown` : `${p}main`,
      context: ctx,
      defaultValue,
      ...(typed ? { expectedType: typed } : {}),
      flags,
      segments,
    });
  }
  return cases;
}
