/**
 * Failed authentications per address in a window. Past the limit the gateway answers a wrong
 * token or session with 429 and `Retry-After` (and a sign-in, which guesses a password, before it
 * reaches auth); a valid token or session is always served, so one noisy neighbour behind the same
 * address never locks the others out.
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
