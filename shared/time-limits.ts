/**
 * The time limits of many waiting things (requests handled in process, requests over the bus),
 * checked together by one timer that runs only while some wait: a request costs no timer of its own,
 * and is late by at most `everyMs`.
 */
export interface TimeLimit {
  /** Unix ms at which `expire` is called, unless the entry was deleted first. */
  at: number;
  expire(): void;
}

export class TimeLimits {
  private readonly pending = new Set<TimeLimit>();
  private timer: ReturnType<typeof setInterval> | undefined;
  constructor(private readonly everyMs: number) {}
  add(entry: TimeLimit): void {
    this.pending.add(entry);
    this.timer ??= setInterval(() => this.sweep(), this.everyMs);
  }
  delete(entry: TimeLimit): void {
    this.pending.delete(entry);
  }
  private sweep(): void {
    const now = Date.now();
    for (const entry of this.pending) {
      if (entry.at > now) continue;
      this.pending.delete(entry);
      entry.expire();
    }
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
