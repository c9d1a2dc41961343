/**
 * When a failed delivery is tried again: exponential backoff from `baseMs`, doubling per attempt up
 * to `maxMs`, with "equal jitter" (half the delay fixed, half random) so deliveries that failed
 * together — a receiver that went down — do not come back in one burst.
 */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  maxAttempts: number;
}

/** The delay after the `attempt`-th (1-based) failed attempt; `random` in [0, 1). */
export function retryDelay(policy: RetryPolicy, attempt: number, random: number = Math.random()): number {
  const full = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(full / 2 + (full / 2) * random);
}
