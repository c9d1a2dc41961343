/**
 * The server-side SDK data model the evaluator reads (flags and segments exactly as SDKs receive
 * them in a stream `put`), and the evaluation results it produces. Every field is optional where
 * the wire format lets it be absent, and `null` counts as absent, as it does for SDKs.
 */

export interface SdkClause {
  contextKind?: string | null;
  attribute?: string | null;
  op?: string | null;
  values?: unknown[] | null;
  negate?: boolean | null;
}

export interface SdkWeightedVariation {
  variation: number;
  /** Thousandths of a percent. */
  weight: number;
  untracked?: boolean | null;
}

export interface SdkRollout {
  variations?: SdkWeightedVariation[] | null;
  bucketBy?: string | null;
  seed?: number | null;
  contextKind?: string | null;
  kind?: "rollout" | "experiment" | null;
}

export interface SdkVariationOrRollout {
  variation?: number | null;
  rollout?: SdkRollout | null;
}

export interface SdkRule extends SdkVariationOrRollout {
  id?: string | null;
  clauses?: SdkClause[] | null;
  trackEvents?: boolean | null;
}

export interface SdkTarget {
  contextKind?: string | null;
  values: string[];
  variation: number;
}

export interface SdkPrerequisite {
  key: string;
  variation: number;
}

export interface SdkFlag {
  key: string;
  version?: number;
  on?: boolean | null;
  salt?: string | null;
  variations?: unknown[] | null;
  offVariation?: number | null;
  targets?: SdkTarget[] | null;
  contextTargets?: SdkTarget[] | null;
  rules?: SdkRule[] | null;
  fallthrough?: SdkVariationOrRollout | null;
  prerequisites?: SdkPrerequisite[] | null;
  trackEvents?: boolean | null;
  trackEventsFallthrough?: boolean | null;
  debugEventsUntilDate?: number | null;
  clientSide?: boolean | null;
  deleted?: boolean | null;
}

export interface SdkSegmentTarget {
  contextKind?: string | null;
  values: string[];
}

export interface SdkSegmentRule {
  id?: string | null;
  clauses?: SdkClause[] | null;
  weight?: number | null;
  bucketBy?: string | null;
  rolloutContextKind?: string | null;
}

export interface SdkSegment {
  key: string;
  version?: number;
  included?: string[] | null;
  excluded?: string[] | null;
  includedContexts?: SdkSegmentTarget[] | null;
  excludedContexts?: SdkSegmentTarget[] | null;
  rules?: SdkSegmentRule[] | null;
  salt?: string | null;
  unbounded?: boolean | null;
  unboundedContextKind?: string | null;
  generation?: number | null;
  deleted?: boolean | null;
}

/** Where evaluation finds prerequisite flags and segments; deleted items count as missing. */
export interface EvaluationStore {
  flag(key: string): SdkFlag | undefined;
  segment(key: string): SdkSegment | undefined;
}

export type ErrorKind = "MALFORMED_FLAG" | "FLAG_NOT_FOUND" | "USER_NOT_SPECIFIED" | "WRONG_TYPE";

export type EvaluationReason =
  | { kind: "OFF"; bigSegmentsStatus?: BigSegmentsStatus }
  | { kind: "FALLTHROUGH"; inExperiment?: true; bigSegmentsStatus?: BigSegmentsStatus }
  | { kind: "TARGET_MATCH"; bigSegmentsStatus?: BigSegmentsStatus }
  | { kind: "RULE_MATCH"; ruleIndex: number; ruleId?: string; inExperiment?: true; bigSegmentsStatus?: BigSegmentsStatus }
  | { kind: "PREREQUISITE_FAILED"; prerequisiteKey: string; bigSegmentsStatus?: BigSegmentsStatus }
  | { kind: "ERROR"; errorKind: ErrorKind; bigSegmentsStatus?: BigSegmentsStatus };

/** Vexil keeps no big-segment store, so an unbounded segment can only report this. */
export type BigSegmentsStatus = "NOT_CONFIGURED";

export interface EvaluationDetail {
  value: unknown;
  /** `null` when the value is not one of the flag's variations (off without offVariation, errors). */
  variationIndex: number | null;
  reason: EvaluationReason;
}

/** One prerequisite flag evaluated on the way, in the order SDKs emit their events. */
export interface PrerequisiteEvaluation {
  flag: SdkFlag;
  /** The key of the flag that has this prerequisite. */
  prerequisiteOf: string;
  detail: EvaluationDetail;
}

export interface Evaluation extends EvaluationDetail {
  /** Keys of the flag's direct prerequisites that were evaluated (the `prerequisites` of client payloads). */
  prerequisites: string[];
  /** Every prerequisite evaluation, nested ones included. */
  prerequisiteEvaluations: PrerequisiteEvaluation[];
}
