/** Small builders for evaluation tests. */
import type { Evaluation, EvaluationStore, SdkClause, SdkFlag, SdkSegment } from "@vexil/shared/evaluation/evaluate";

/** An "on" flag serving variation 0 ("a") by default, with offVariation 2 ("c"). */
export function flag(overrides: Partial<SdkFlag> = {}): SdkFlag {
  return { key: "f", version: 1, on: true, salt: "s", variations: ["a", "b", "c"], offVariation: 2, fallthrough: { variation: 0 }, targets: [], contextTargets: [], rules: [], prerequisites: [], ...overrides };
}

export function segment(overrides: Partial<SdkSegment> & { key: string }): SdkSegment {
  return { version: 1, included: [], excluded: [], includedContexts: [], excludedContexts: [], rules: [], salt: "salt", unbounded: false, generation: 1, deleted: false, ...overrides };
}

export function storeOf(flags: SdkFlag[] = [], segments: SdkSegment[] = []): EvaluationStore {
  return { flag: (key) => flags.find((f) => f.key === key), segment: (key) => segments.find((s) => s.key === key) };
}

export const clause = (attribute: string, op: string, values: unknown[], more: Partial<SdkClause> = {}): SdkClause => ({ contextKind: "user", attribute, op, values, negate: false, ...more });

export const user = (key: string, attributes: Record<string, unknown> = {}) => ({ kind: "user", key, ...attributes });

/** The part of an evaluation SDKs report. */
export const detail = (e: Evaluation) => ({ value: e.value, variationIndex: e.variationIndex, reason: e.reason });
