/**
 * Flag evaluation with the semantics of LaunchDarkly's server-side SDKs, which are the judge:
 * a differential test runs the real Node SDK on the same flags, segments and contexts. Pure — no
 * I/O, no clock, no cloning of flags or contexts — so streaming can evaluate every flag for every
 * client-side connection on each change.
 *
 * Order: off ⇒ OFF (offVariation, or no value); prerequisites in order, each evaluated
 * recursively (a cycle or an error in one is this flag's error; a missing, off or other-variation
 * prerequisite is PREREQUISITE_FAILED with the off variation); individual targets (TARGET_MATCH);
 * rules in order (RULE_MATCH); fallthrough (FALLTHROUGH). Anything that cannot be evaluated is
 * ERROR/MALFORMED_FLAG. `matches` runs in bounded time; see regex-match.ts for the bound.
 */
import { KEY_REFERENCE } from "./attribute-reference.ts";
import { bucketContext } from "./bucketing.ts";
import { isRecord, listOf, MALFORMED, matchClauses, referenceOf, type MatchState } from "./clauses.ts";
import { EvaluationContext, parseContext } from "./context.ts";
import type {
  ErrorKind,
  Evaluation,
  EvaluationDetail,
  EvaluationReason,
  EvaluationStore,
  PrerequisiteEvaluation,
  SdkFlag,
  SdkTarget,
  SdkVariationOrRollout,
} from "./model.ts";

export type * from "./model.ts";
export { EvaluationContext, parseContext, type ParsedContext } from "./context.ts";

export interface EvaluateOptions {
  /** Returned whenever the flag yields no variation (off without offVariation, errors). Default `null`. */
  defaultValue?: unknown;
  /** As the SDKs' typed `boolVariation`/`numberVariation`/`stringVariation`: another type is WRONG_TYPE. */
  expectedType?: "boolean" | "number" | "string";
}

interface State extends MatchState {
  readonly prerequisites: string[];
  readonly prerequisiteEvaluations: PrerequisiteEvaluation[];
}

interface Result extends EvaluationDetail {
  isError?: true;
}

const OFF: EvaluationReason = Object.freeze({ kind: "OFF" });
const FALLTHROUGH: EvaluationReason = Object.freeze({ kind: "FALLTHROUGH" });
const TARGET_MATCH: EvaluationReason = Object.freeze({ kind: "TARGET_MATCH" });

const error = (errorKind: ErrorKind): Result => ({ value: null, variationIndex: null, reason: { kind: "ERROR", errorKind }, isError: true });
const prerequisiteFailed = (prerequisiteKey: string): EvaluationReason => ({ kind: "PREREQUISITE_FAILED", prerequisiteKey });

function lookupFlag(store: EvaluationStore, key: string): SdkFlag | undefined {
  const flag = store.flag(key);
  return isRecord(flag) && !flag.deleted ? flag : undefined;
}

function variation(flag: SdkFlag, index: unknown, reason: EvaluationReason): Result {
  const variations = listOf(flag.variations);
  if (typeof index === "number" && index >= 0 && index < variations.length) return { value: variations[index], variationIndex: index, reason };
  return error("MALFORMED_FLAG");
}

function offResult(flag: SdkFlag, reason: EvaluationReason): Result {
  if (typeof flag.offVariation !== "number") return { value: null, variationIndex: null, reason };
  return variation(flag, flag.offVariation, reason);
}

function served(flag: SdkFlag, served: SdkVariationOrRollout | null | undefined, context: EvaluationContext, reason: EvaluationReason): Result {
  if (!isRecord(served)) return error("MALFORMED_FLAG");
  if (served.variation !== undefined && served.variation !== null) return variation(flag, served.variation, reason);
  const rollout = served.rollout;
  if (!isRecord(rollout)) return error("MALFORMED_FLAG");
  const weighted = listOf(rollout.variations);
  if (weighted.length === 0 || !weighted.every(isRecord)) return error("MALFORMED_FLAG");
  // Experiments always bucket by key, so results stay comparable whatever bucketBy says.
  const experiment = rollout.kind === "experiment";
  const by = !experiment && rollout.bucketBy ? referenceOf(rollout, rollout.bucketBy, rollout.contextKind) : KEY_REFERENCE;
  if (!by.valid) return error("MALFORMED_FLAG");
  const { bucket, hadContext } = bucketContext(context, flag.key, by, flag.salt || "", rollout.contextKind ?? "user", rollout.seed);
  const inExperiment = (tracked: boolean): EvaluationReason => (experiment && tracked ? { ...reason, inExperiment: true } as EvaluationReason : reason);
  // Weights are summed as fractions, in order, exactly as SDKs do, so float rounding agrees too.
  let sum = 0;
  for (const w of weighted) {
    sum += (w.weight ?? Number.NaN) / 100_000; // absent weights poison the sum, as in SDKs
    if (bucket < sum) return variation(flag, w.variation, inExperiment(hadContext && !w.untracked));
  }
  // Weights short of 100%: the last variation takes the rest (even for a context without the kind).
  const last = weighted[weighted.length - 1]!;
  return variation(flag, last.variation, inExperiment(!last.untracked));
}

function targetMatch(flag: SdkFlag, target: SdkTarget, context: EvaluationContext): Result | undefined {
  const key = context.key(target.contextKind ?? "user");
  if (key === undefined || !listOf(target.values).includes(key as string)) return undefined;
  return variation(flag, target.variation, TARGET_MATCH);
}

/**
 * Without contextTargets, `targets` are user keys. With them, contextTargets give the order, and
 * a `user` entry stands for the `targets` entry with the same variation, which holds the keys.
 */
function matchTargets(flag: SdkFlag, context: EvaluationContext): Result | undefined {
  const contextTargets = flag.contextTargets;
  if (!contextTargets || contextTargets.length === 0) {
    for (const target of listOf(flag.targets)) {
      const result = isRecord(target) ? targetMatch(flag, target, context) : undefined;
      if (result) return result;
    }
    return undefined;
  }
  for (const target of listOf(contextTargets)) {
    let result: Result | undefined;
    if (!isRecord(target)) continue;
    if (!target.contextKind || target.contextKind === "user") {
      const userTarget = listOf(flag.targets).find((t) => isRecord(t) && (t.variation ?? undefined) === (target.variation ?? undefined));
      result = userTarget && targetMatch(flag, userTarget, context);
    } else result = targetMatch(flag, target, context);
    if (result) return result;
  }
  return undefined;
}

/**
 * A cycle makes the flag malformed, but SDKs note it and go on checking the remaining
 * prerequisites: a later failing one still reports PREREQUISITE_FAILED (or its own error).
 */
function checkPrerequisites(flag: SdkFlag, context: EvaluationContext, state: State, visited: readonly string[], topLevel: boolean): Result | undefined {
  let cycle: Result | undefined;
  for (const prerequisite of listOf(flag.prerequisites)) {
    if (!isRecord(prerequisite)) return error("MALFORMED_FLAG");
    // The path holds prerequisite keys only, so a flag requiring itself is caught one level down.
    if (visited.includes(prerequisite.key)) {
      cycle = error("MALFORMED_FLAG");
      continue;
    }
    const required = lookupFlag(state.store, prerequisite.key);
    if (!required) return offResult(flag, prerequisiteFailed(prerequisite.key));
    const result = evaluateFlag(required, context, state, [...visited, prerequisite.key], false);
    if (topLevel) state.prerequisites.push(required.key);
    state.prerequisiteEvaluations.push({ flag: required, prerequisiteOf: flag.key, detail: detailOf(result) });
    if (result.isError) return result;
    // Only OFF fails outright: a prerequisite that itself failed still passes on its off variation.
    if (result.reason.kind === "OFF" || result.variationIndex !== (prerequisite.variation ?? undefined)) return offResult(flag, prerequisiteFailed(prerequisite.key));
  }
  return cycle;
}

function evaluateFlag(flag: SdkFlag, context: EvaluationContext, state: State, visited: readonly string[], topLevel: boolean): Result {
  if (!flag.on) return offResult(flag, OFF);
  const failed = checkPrerequisites(flag, context, state, visited, topLevel);
  if (failed) return failed;
  const target = matchTargets(flag, context);
  if (target) return target;
  const rules = listOf(flag.rules);
  for (let ruleIndex = 0; ruleIndex < rules.length; ruleIndex++) {
    const rule = rules[ruleIndex];
    if (!isRecord(rule)) return error("MALFORMED_FLAG");
    if (!rule.clauses) continue;
    const outcome = matchClauses(listOf(rule.clauses), context, state, []);
    if (outcome === MALFORMED) return error("MALFORMED_FLAG");
    if (outcome) {
      const reason: EvaluationReason = rule.id === undefined || rule.id === null ? { kind: "RULE_MATCH", ruleIndex } : { kind: "RULE_MATCH", ruleIndex, ruleId: rule.id };
      return served(flag, rule, context, reason);
    }
  }
  return served(flag, flag.fallthrough, context, FALLTHROUGH);
}

const detailOf = (r: Result): EvaluationDetail => ({ value: r.value, variationIndex: r.variationIndex, reason: r.reason });

function typeMatches(value: unknown, expected: EvaluateOptions["expectedType"]): boolean {
  return !expected || (!Array.isArray(value) && typeof value === expected);
}

/**
 * Evaluates `flag` for `context` (a raw context object, or one `parseContext` already checked, for
 * evaluating many flags). `flag` undefined or deleted is FLAG_NOT_FOUND; an invalid context is
 * USER_NOT_SPECIFIED, whatever the flag.
 */
export function evaluate(flag: SdkFlag | undefined, context: unknown, store: EvaluationStore, options: EvaluateOptions = {}): Evaluation {
  const defaultValue = options.defaultValue === undefined ? null : options.defaultValue;
  const failure = (errorKind: ErrorKind): Evaluation => ({ value: defaultValue, variationIndex: null, reason: { kind: "ERROR", errorKind }, prerequisites: [], prerequisiteEvaluations: [] });
  let evaluationContext: EvaluationContext;
  if (context instanceof EvaluationContext) evaluationContext = context;
  else {
    const parsed = parseContext(context);
    if (!parsed.ok) return failure("USER_NOT_SPECIFIED");
    evaluationContext = parsed.context;
  }
  if (!isRecord(flag) || flag.deleted) return failure("FLAG_NOT_FOUND");
  const state: State = { store, prerequisites: [], prerequisiteEvaluations: [] };
  const result = evaluateFlag(flag, evaluationContext, state, [], true);
  const reason: EvaluationReason = state.bigSegmentsStatus ? { ...result.reason, bigSegmentsStatus: state.bigSegmentsStatus } : result.reason;
  const value = result.variationIndex === null ? defaultValue : result.value;
  if (!typeMatches(value, options.expectedType)) {
    return { ...failure("WRONG_TYPE"), prerequisites: state.prerequisites, prerequisiteEvaluations: state.prerequisiteEvaluations };
  }
  return { value, variationIndex: result.variationIndex, reason, prerequisites: state.prerequisites, prerequisiteEvaluations: state.prerequisiteEvaluations };
}
