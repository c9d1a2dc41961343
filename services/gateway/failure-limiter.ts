/**
 * Slows guessing: an address with too many failed authentications in a minute gets 429 for
 * credentials not already known to be good, so callers with valid tokens are never locked out.
 */
export interface FailureLimiter {
  /** Seconds to wait if this address is over the limit now, else 0. */
  retryAfter(address: string): number;
  fail(address: string): void;
}

export function createFailureLimiter(limit: number, windowMs = 60_000, maxAddresses = 100_000): FailureLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  const current = (address: string, now: number) => {
    const w = windows.get(address);
    if (!w || now - w.start >= windowMs) return undefined;
    return w;
  };
  return {
    retryAfter(address) {
      const now = Date.now();
      const w = current(address, now);
      return w && w.count >= limit ? Math.max(1, Math.ceil((w.start + windowMs - now) / 1000)) : 0;
    },
    fail(address) {
      const now = Date.now();
      const w = current(address, now);
      if (w) w.count++;
      else {
        if (windows.size >= maxAddresses) windows.clear();
        windows.set(address, { start: now, count: 1 });
      }
    },
  };
}
