/**
 * Clauses and segments. A clause reads one attribute of one context kind and matches when any
 * of its values matches (any element, for an array attribute); `negate` flips the answer, except
 * that a missing attribute never matches, negated or not. `segmentMatch` clauses match when the
 * context is in any listed segment, and segment rules may hold further `segmentMatch` clauses,
 * so the segments visited on the way are tracked and a cycle is a malformed flag.
 */
import { attributeReference, INVALID_REFERENCE, KEY_REFERENCE, type AttributeReference } from "./attribute-reference.ts";
import { bucketContext } from "./bucketing.ts";
import type { EvaluationContext } from "./context.ts";
import type { BigSegmentsStatus, EvaluationStore, SdkClause, SdkSegment, SdkSegmentRule, SdkSegmentTarget } from "./model.ts";
import { operator } from "./operators.ts";

/** A clause either matches, does not, or makes the flag malformed. */
export const MALFORMED = "malformed";
export type Outcome = boolean | typeof MALFORMED;

/** Lists as the wire format promises them; anything else reads as empty, so odd data never throws. */
export const listOf = <T>(value: readonly T[] | null | undefined): readonly T[] => (Array.isArray(value) ? value : []);

/** Entries of those lists must be objects; SDKs would throw on anything else, we call it malformed. */
export const isRecord = (value: unknown): value is object => typeof value === "object" && value !== null && !Array.isArray(value);

export interface MatchState {
  readonly store: EvaluationStore;
  bigSegmentsStatus?: BigSegmentsStatus;
}

const references = new WeakMap<object, { text: unknown; literal: boolean; ref: AttributeReference }>();

/**
 * The parsed reference of a clause attribute or a `bucketBy`, cached per flag object: with a
 * context kind the text is a reference path, without one a literal attribute name.
 */
export function referenceOf(owner: object, text: string | null | undefined, contextKind: string | null | undefined): AttributeReference {
  const literal = !contextKind;
  const cached = references.get(owner);
  if (cached && cached.text === text && cached.literal === literal) return cached.ref;
  const ref = typeof text === "string" && text ? attributeReference(text, literal) : INVALID_REFERENCE;
  references.set(owner, { text, literal, ref });
  return ref;
}

export function lookupSegment(store: EvaluationStore, key: string): SdkSegment | undefined {
  const segment = store.segment(key);
  return isRecord(segment) && !segment.deleted ? segment : undefined;
}

/** All clauses must match; an error only counts when no later clause settles the answer first. */
export function matchClauses(clauses: readonly SdkClause[], context: EvaluationContext, state: MatchState, visited: readonly string[]): Outcome {
  let outcome: Outcome = true;
  for (const clause of clauses) {
    outcome = isRecord(clause) ? matchClause(clause, context, state, visited) : MALFORMED;
    if (outcome === false) return false;
  }
  return outcome;
}

export function matchClause(clause: SdkClause, context: EvaluationContext, state: MatchState, visited: readonly string[]): Outcome {
  if (clause.op === "segmentMatch") return matchSegments(clause, context, state, visited);
  const ref = referenceOf(clause, clause.attribute, clause.contextKind);
  if (!ref.valid) return MALFORMED;
  const value = context.value(ref, clause.contextKind ?? "user");
  if (value === null || value === undefined) return false;
  const test = operator(clause.op);
  const values = listOf(clause.values);
  const matchesOne = (v: unknown) => values.some((b) => test(v, b));
  const matched = Array.isArray(value) ? value.some(matchesOne) : matchesOne(value);
  return clause.negate ? !matched : matched;
}

function matchSegments(clause: SdkClause, context: EvaluationContext, state: MatchState, visited: readonly string[]): Outcome {
  let matched = false;
  for (const value of listOf(clause.values)) {
    const segment = lookupSegment(state.store, String(value));
    if (!segment) continue;
    if (visited.includes(segment.key)) return MALFORMED;
    const outcome = matchSegment(segment, context, state, [...visited, segment.key]);
    if (outcome === MALFORMED) return MALFORMED;
    if (outcome) {
      matched = true;
      break;
    }
  }
  return clause.negate ? !matched : matched;
}

function inTargets(context: EvaluationContext, contextTargets: readonly SdkSegmentTarget[] | null | undefined, userKeys: readonly string[] | null | undefined): boolean {
  for (const target of listOf(contextTargets)) {
    const key = isRecord(target) && context.key(target.contextKind ?? "user");
    if (key && listOf(target.values).includes(key as string)) return true;
  }
  const userKey = context.key("user");
  return !!userKey && listOf(userKeys).includes(userKey as string);
}

function matchSegment(segment: SdkSegment, context: EvaluationContext, state: MatchState, visited: readonly string[]): Outcome {
  if (segment.unbounded) {
    // Big segments live in a store Vexil does not have: SDKs then report NOT_CONFIGURED and
    // fall back to the segment's rules, ignoring its target lists.
    if (!context.key(segment.unboundedContextKind || "user")) return false;
    state.bigSegmentsStatus = "NOT_CONFIGURED";
    if (!segment.generation) return false;
  } else {
    if (inTargets(context, segment.includedContexts, segment.included)) return true;
    if (inTargets(context, segment.excludedContexts, segment.excluded)) return false;
  }
  for (const rule of listOf(segment.rules)) {
    const outcome = isRecord(rule) ? matchSegmentRule(segment, rule, context, state, visited) : MALFORMED;
    if (outcome) return outcome;
  }
  return false;
}

function matchSegmentRule(segment: SdkSegment, rule: SdkSegmentRule, context: EvaluationContext, state: MatchState, visited: readonly string[]): Outcome {
  if (!rule.clauses) return false;
  const outcome = matchClauses(listOf(rule.clauses), context, state, visited);
  if (outcome !== true || rule.weight === undefined || rule.weight === null) return outcome;
  const by = rule.bucketBy ? referenceOf(rule, rule.bucketBy, rule.rolloutContextKind) : KEY_REFERENCE;
  if (!by.valid) return MALFORMED;
  const { bucket } = bucketContext(context, segment.key, by, segment.salt || "", rule.rolloutContextKind ?? "user");
  return bucket < rule.weight / 100_000;
}
