/**
 * Segment semantic patch: LaunchDarkly's segment instruction kinds, applied in order to a copy of
 * the segment. The body must name the segment's own environment in `environmentKey`. Atomic: the
 * first instruction that fails throws a 400 naming its index and kind, and nothing is returned.
 * Redundant instructions are no-ops. Versions and dates are left alone, and the caller checks the
 * result with `validateSegment`.
 *
 * Targets follow the flag convention: user keys live in `included` / `excluded`, other kinds in
 * `includedContexts` / `excludedContexts`, one entry per kind. A user listed in a `…Contexts` entry
 * (by a JSON Patch) counts as the same user. Adding a context to one side while it is on the other
 * is refused; remove it there first.
 *
 * Policy actions, each taken by these kinds:
 * - `updateName`: updateName
 * - `updateDescription`: updateDescription
 * - `updateTags`: addTags, removeTags
 * - `updateIncluded`: addIncludedTargets, removeIncludedTargets, addIncludedUsers, removeIncludedUsers
 * - `updateExcluded`: addExcludedTargets, removeExcludedTargets, addExcludedUsers, removeExcludedUsers
 * - `updateRules`: addRule, removeRule, reorderRules, addClauses, removeClauses, updateClause,
 *   addValuesToClause, removeValuesFromClause, updateRuleDescription, updateRuleRolloutAndContextKind
 *
 * Big segments are not supported: their kinds (addBigSegmentIncludedTargets and the like,
 * processBigSegmentImport) are recognised and always refused.
 */
import { cloneJson } from "@vexil/shared/json-clone";
import { invalidRequest } from "@vexil/shared/errors";
import { TOTAL_WEIGHT } from "../flags/model.ts";
import { refuse, runInstructions, type InstructionKind, type InstructionTable, type Params } from "../semantic-patch/engine.ts";
import { list, optStr, str, strings, unique } from "../semantic-patch/params.ts";
import { CLAUSE_EDITS, clauseFrom, reorderedRules, ruleIn } from "../semantic-patch/rules.ts";
import type { Segment, SegmentRule } from "./model.ts";

export interface SegmentSemanticContext {
  /** From the request body; required, and must be `environment`. */
  environmentKey?: string;
  /** The segment's own environment. */
  environment: string;
  /** For new rules and clauses. */
  newId(): string;
}

export interface SegmentSemanticResult {
  /** A new object; the input is never mutated. */
  segment: Segment;
  /** Policy actions the instructions take, deduplicated, in order of first use. */
  actions: string[];
}

interface Draft {
  segment: Segment;
  ctx: SegmentSemanticContext;
}
type Kind = InstructionKind<Draft>;

export function applySegmentInstructions(segment: Segment, instructions: unknown, ctx: SegmentSemanticContext): SegmentSemanticResult {
  const key: unknown = ctx.environmentKey;
  if (typeof key !== "string" || key === "") throw invalidRequest("environmentKey: is required for a segment semantic patch");
  if (key !== ctx.environment) {
    throw invalidRequest(`environmentKey: "${key.slice(0, 100)}" is not the segment's environment "${ctx.environment}"`);
  }
  const draft: Draft = { segment: cloneJson(segment), ctx };
  const actions = runInstructions(instructions, KINDS, draft);
  return { segment: draft.segment, actions };
}

// Targets.

type Side = "included" | "excluded";
const OTHER_SIDE = { included: "excluded", excluded: "included" } as const;
const CONTEXTS = { included: "includedContexts", excluded: "excludedContexts" } as const;

/** The keys of one context kind on one side. */
function keysOf(s: Segment, side: Side, kind: string): Set<string> {
  const keys = new Set(s[CONTEXTS[side]].flatMap((t) => (t.contextKind === kind ? t.values : [])));
  if (kind === "user") for (const key of s[side]) keys.add(key);
  return keys;
}

function addKeys(s: Segment, side: Side, kind: string, values: string[]) {
  const other = OTHER_SIDE[side];
  const elsewhere = keysOf(s, other, kind);
  const clash = values.find((v) => elsewhere.has(v));
  if (clash !== undefined) refuse(`${kind} "${clash}" is ${other}; remove it from ${other} first`);
  const present = keysOf(s, side, kind);
  const fresh = unique(values).filter((v) => !present.has(v));
  if (fresh.length === 0) return;
  if (kind === "user") {
    s[side].push(...fresh);
    return;
  }
  const entry = s[CONTEXTS[side]].find((t) => t.contextKind === kind);
  if (entry) entry.values.push(...fresh);
  else s[CONTEXTS[side]].push({ contextKind: kind, values: fresh });
}

/** Removes keys of one kind from one side; `…Contexts` entries emptied by it are dropped. */
function removeKeys(s: Segment, side: Side, kind: string, values: string[]) {
  const drop = new Set(values);
  if (kind === "user") s[side] = s[side].filter((key) => !drop.has(key));
  s[CONTEXTS[side]] = s[CONTEXTS[side]].filter((t) => {
    if (t.contextKind !== kind || t.values.length === 0) return true;
    t.values = t.values.filter((key) => !drop.has(key));
    return t.values.length > 0;
  });
}

// Rules.

/** An integer weight from 0 to 100000: the share of matching contexts included. */
function weightOf(p: Params): number {
  const w = p.weight;
  if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > TOTAL_WEIGHT) refuse(`weight must be an integer from 0 to ${TOTAL_WEIGHT}`);
  return w;
}

function ruleFrom(d: Draft, p: Params): SegmentRule {
  const id = d.ctx.newId();
  const description = optStr(p, "description");
  const clauses = list(p, "clauses").map((c, i) => clauseFrom(c, `clauses[${i}]`, d.ctx.newId()));
  const rule: SegmentRule = { _id: id, clauses };
  if (p.weight !== undefined) rule.weight = weightOf(p);
  const rolloutContextKind = optStr(p, "rolloutContextKind");
  if (rolloutContextKind) rule.rolloutContextKind = rolloutContextKind;
  const bucketBy = optStr(p, "bucketBy");
  if (bucketBy) rule.bucketBy = bucketBy;
  if (description !== undefined) rule.description = description;
  return rule;
}

// The instruction kinds.

const on = (action: string, run: (s: Segment, p: Params, d: Draft) => void): Kind => ({ action, run: (d, p) => run(d.segment, p, d) });
const targets = (side: Side, change: typeof addKeys, users: boolean): Kind =>
  on(side === "included" ? "updateIncluded" : "updateExcluded", (s, p) => change(s, side, users ? "user" : str(p, "contextKind"), strings(p, "values")));
const bigSegment = (action: string): Kind => on(action, () => refuse("big segments are not supported; use included/excluded targets"));

const KINDS: InstructionTable<Draft> = {
  updateName: on("updateName", (s, p) => void (s.name = str(p, "value"))),
  updateDescription: on("updateDescription", (s, p) => void (s.description = optStr(p, "value") ?? refuse("value must be a string"))),
  addTags: on("updateTags", (s, p) => void (s.tags = unique([...s.tags, ...strings(p, "values")]))),
  removeTags: on("updateTags", (s, p) => {
    const values = strings(p, "values");
    s.tags = s.tags.filter((t) => !values.includes(t));
  }),

  addIncludedTargets: targets("included", addKeys, false),
  removeIncludedTargets: targets("included", removeKeys, false),
  addExcludedTargets: targets("excluded", addKeys, false),
  removeExcludedTargets: targets("excluded", removeKeys, false),
  addIncludedUsers: targets("included", addKeys, true),
  removeIncludedUsers: targets("included", removeKeys, true),
  addExcludedUsers: targets("excluded", addKeys, true),
  removeExcludedUsers: targets("excluded", removeKeys, true),

  addRule: on("updateRules", (s, p, d) => {
    const before = optStr(p, "beforeRuleId");
    const at = before === undefined ? s.rules.length : s.rules.findIndex((r) => r._id === before);
    if (at < 0) refuse(`unknown rule "${before}"`);
    s.rules.splice(at, 0, ruleFrom(d, p));
  }),
  removeRule: on("updateRules", (s, p) => {
    const id = str(p, "ruleId");
    s.rules = s.rules.filter((r) => r._id !== id);
  }),
  reorderRules: on("updateRules", (s, p) => void (s.rules = reorderedRules(s.rules, p))),
  addClauses: on("updateRules", (s, p, d) => CLAUSE_EDITS.addClauses(ruleIn(s.rules, p), p, () => d.ctx.newId())),
  removeClauses: on("updateRules", (s, p) => CLAUSE_EDITS.removeClauses(ruleIn(s.rules, p), p)),
  updateClause: on("updateRules", (s, p) => CLAUSE_EDITS.updateClause(ruleIn(s.rules, p), p)),
  addValuesToClause: on("updateRules", (s, p) => CLAUSE_EDITS.addValuesToClause(ruleIn(s.rules, p), p)),
  removeValuesFromClause: on("updateRules", (s, p) => CLAUSE_EDITS.removeValuesFromClause(ruleIn(s.rules, p), p)),
  updateRuleDescription: on("updateRules", (s, p) => {
    const rule = ruleIn(s.rules, p);
    rule.description = optStr(p, "description") ?? refuse("description must be a string");
  }),
  updateRuleRolloutAndContextKind: on("updateRules", (s, p) => {
    const rule = ruleIn(s.rules, p);
    const [weight, contextKind] = [weightOf(p), str(p, "contextKind")];
    rule.weight = weight;
    rule.rolloutContextKind = contextKind;
  }),

  addBigSegmentIncludedTargets: bigSegment("updateIncluded"),
  removeBigSegmentIncludedTargets: bigSegment("updateIncluded"),
  addBigSegmentExcludedTargets: bigSegment("updateExcluded"),
  removeBigSegmentExcludedTargets: bigSegment("updateExcluded"),
  processBigSegmentImport: bigSegment("updateIncluded"),
};

/** The instruction kinds, for tests. */
export const SEGMENT_INSTRUCTION_KINDS: readonly string[] = Object.keys(KINDS);
