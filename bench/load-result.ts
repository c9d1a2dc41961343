/** What the load client (`bench/load.mjs`) reports for one measurement, and how the rounds are summed up. */

/** One measurement: the last line `bench/load.mjs` prints. */
export interface LoadResult {
  autocannon: string;
  node: string;
  url: string;
  connections: number;
  duration: number;
  warmup?: { duration: number; requests: number; non2xx: number; errors: number; timeouts: number };
  requests: { total: number; sent: number; perSecond: number; perSecondMean: number; perSecondStddev: number };
  latencyMs: { count: number; mean: number; p50: number; p90: number; p99: number; max: number };
  cpu: {
    wallSeconds: number;
    busyCores: number;
    stolenCores: number;
    msPerRequest: { servers: number; infra: number; client: number; rest: number; total: number; byLabel: Record<string, number> };
  };
  bytesPerResponse: number;
  status: { "2xx": number; non2xx: number; codes: Record<string, { count: number }> };
  errors: number;
  timeouts: number;
  resets: number;
  mismatches: number;
}

/** The median (of an even count, the mean of the middle two). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
