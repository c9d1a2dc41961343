/**
 * Streaming → flags (version 2), on `vexil.streaming.evaluations`: what SDKs reported evaluating in
 * one environment since the previous batch, by flag key. The flags service keeps it for flag
 * statuses. Version 1 carried only a count and a time per flag; flag statuses need to know which
 * variations were served, so version 2 counts each variation.
 */
export interface EvaluationsEvent {
  v: 2;
  environmentId: string;
  flags: Record<string, FlagEvaluations>;
}

/** The index under which evaluations that got no variation are counted: the SDK answered the caller's default value. */
export const NO_VARIATION = -1;

export interface VariationEvaluations {
  count: number;
  /** The end of the last SDK report that counted this variation (epoch ms). */
  lastRequested: number;
}

export interface FlagEvaluations {
  count: number;
  /** The end of the last SDK report that counted the flag (epoch ms). */
  lastRequested: number;
  /** By variation index (`NO_VARIATION` for the caller's default value). */
  variations: Record<string, VariationEvaluations>;
  /**
   * The default value the application passed when evaluating (`features.<key>.default` of
   * LaunchDarkly summary events), from the latest report that had one; absent when none did.
   * `null` is a value here.
   */
  default?: unknown;
}
