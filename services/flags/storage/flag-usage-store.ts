/** What SDKs reported evaluating, per flag and environment, as flag statuses read it. */

/** Evaluations of one variation (index, or `NO_VARIATION` for the caller's default value). */
export interface VariationUsage {
  count: number;
  /** Epoch ms. */
  lastRequested: number;
}

export interface FlagUsage {
  /** Epoch ms. */
  lastRequested: number;
  evaluations: number;
  /** By variation index. */
  variations: Record<string, VariationUsage>;
  /** The default value SDKs last reported, when one did (`{value: null}` is a null default). */
  reportedDefault?: { value: unknown };
}

/** One flag's part of a batch, by key. */
export interface FlagUsageReport extends FlagUsage {
  key: string;
}

/** What one batch of evaluation counts says about one environment. */
export interface UsageBatch {
  environmentId: string;
  flags: FlagUsageReport[];
}

export interface FlagUsageStore {
  /**
   * Merges a batch into what is stored: counts add up, each time is the later of the two, the
   * default is the one of the later report. Flags the environment's project does not have, and an
   * environment that does not exist, are skipped.
   */
  recordUsage(batch: UsageBatch): Promise<void>;
  /** Every flag of an environment with usage, by flag key. */
  usageInEnvironment(environmentId: string): Promise<Map<string, FlagUsage>>;
  /** One flag's usage, by environment id. */
  usageOfFlag(flagId: string): Promise<Map<string, FlagUsage>>;
}

/** `b` merged into `a`, as every store merges (pure; for the memory store and tests). */
export function mergeUsage(a: FlagUsage | undefined, b: FlagUsage): FlagUsage {
  if (!a) return structuredClone(b);
  const variations = structuredClone(a.variations);
  for (const [index, v] of Object.entries(b.variations)) {
    const held = variations[index];
    variations[index] = held ? { count: held.count + v.count, lastRequested: Math.max(held.lastRequested, v.lastRequested) } : { ...v };
  }
  const merged: FlagUsage = { lastRequested: Math.max(a.lastRequested, b.lastRequested), evaluations: a.evaluations + b.evaluations, variations };
  const reportedDefault = b.reportedDefault && b.lastRequested >= a.lastRequested ? b.reportedDefault : (a.reportedDefault ?? b.reportedDefault);
  if (reportedDefault) merged.reportedDefault = structuredClone(reportedDefault);
  return merged;
}
