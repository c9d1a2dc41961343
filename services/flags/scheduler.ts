/**
 * The scheduler: runs in every flags instance and executes scheduled items when they come due.
 *
 * - Claim: one statement leases up to a batch of due, unheld items (`for update skip locked`, so
 *   instances claiming at once take different items and never wait on each other). A lease that
 *   runs out (its instance crashed, or stalled) lets another instance claim the item again.
 * - Execute: each item is an ordinary change of its flag or segment that also removes the item
 *   (`domain/schedules/execute.ts`), written only if nothing it was decided on moved, with an audit
 *   entry naming the item's operation, which the audit log holds once. So an item is applied once
 *   however often it is claimed: a second execution finds it gone, or changed, or fails on the
 *   operation's index and drops the stale item. Items of one flag or segment run one after
 *   another; different ones at once (their writes share group-commit batches).
 * - Wake: after a pass it sleeps until the next due item no one holds, but never longer than
 *   `pollMs`. `nudge` wakes it when something is due earlier than that: an item made here, at
 *   once, and one made, moved or released on any instance, by the database's notice
 *   (`storage/schedule-notices.ts`). The poll is the safety net: a notice missed (the listening
 *   connection was lost) delays an item by at most `pollMs`; items due while every instance was
 *   down are found by the first pass.
 * - Late: items that ran more than `LATE_MS` after their time (every instance was down across it,
 *   or the queue was long) are logged once a pass, with how many, the earliest due time and the
 *   longest lateness.
 *
 * Times are epoch ms from the injected clock (`now`); the work runs outside any request's deadline.
 */
import { withoutDeadline } from "@vexil/shared/deadline";
import type { Logger } from "@vexil/shared/logger";
import { scheduledItemExecuted } from "@vexil/shared/metrics";
import type { Outcome } from "./domain/schedules/execute.ts";
import type { ScheduledItem, ScheduleStore } from "./storage/schedule-store.ts";

export interface SchedulerOptions {
  store: ScheduleStore;
  execute(item: ScheduledItem): Promise<Outcome>;
  now: () => number;
  logger: Logger;
  /** How long a claim holds items: far longer than an execution takes. */
  leaseMs?: number;
  /** Items claimed at once. */
  batch?: number;
  /** The longest sleep between passes: how soon items made by other instances are seen at the latest. */
  pollMs?: number;
  /** Called after each execution, with what came of it (for tests and logs). */
  onOutcome?(item: ScheduledItem, outcome: Outcome): void;
  /** False: no loop of its own; only calls of `runDue` execute anything (tests with a clock of their own). */
  loop?: boolean;
}

export interface Scheduler {
  /** One pass: claims what is due now and executes it; resolves with how many items it claimed. */
  runDue(): Promise<number>;
  /** Something is due at `dueAt` (or may be now): wake if sleeping past it. */
  nudge(dueAt?: number): void;
  stop(): Promise<void>;
}

export const DEFAULT_LEASE_MS = 10_000;
const DEFAULT_BATCH = 100;
const DEFAULT_POLL_MS = 500;
/** The promise: an item runs within a second of its time while an instance runs. Later than that is logged. */
export const LATE_MS = 1_000;
/** When an item is due but was not claimed (another instance is claiming it), the pause before looking again. */
const MIN_SLEEP_MS = 20;

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, now, logger } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const batch = options.batch ?? DEFAULT_BATCH;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;

  async function executeClaimed(item: ScheduledItem, token: string): Promise<Outcome | undefined> {
    let outcome: Outcome;
    try {
      outcome = await options.execute(item);
    } catch (e) {
      // The item stays claimed until its lease runs out, then is tried again.
      logger.warn("scheduled item not executed; it will be tried again", { item: item.id, kind: item.kind, error: e });
      scheduledItemExecuted(item.kind, "error", undefined);
      return undefined;
    }
    // Lateness: from the item's time to its change written (applied items only).
    scheduledItemExecuted(item.kind, outcome.kind, outcome.kind === "applied" ? (now() - item.dueAt) / 1000 : undefined);
    if (outcome.kind === "failed") logger.info("scheduled item could not be applied", { item: item.id, kind: item.kind, reason: outcome.reason });
    if (outcome.kind === "superseded") await store.release(item.id, token);
    if (outcome.kind === "alreadyApplied") await store.discard(item.id, token);
    options.onOutcome?.(item, outcome);
    return outcome;
  }

  async function runDue(): Promise<number> {
    return withoutDeadline(async () => {
      const claim = await store.claim(now(), leaseMs, batch);
      // One flag's or segment's items in turn (they would only race each other), the rest at once.
      const byOwner = new Map<string, ScheduledItem[]>();
      for (const item of claim.items) {
        const owner = item.flagId ?? item.segmentId ?? item.id;
        byOwner.set(owner, [...(byOwner.get(owner) ?? []), item]);
      }
      // How late each item that ran was: past `LATE_MS` (every instance was down, or the queue was long), logged.
      const late: Array<{ dueAt: number; lateMs: number }> = [];
      await Promise.all(
        [...byOwner.values()].map(async (items) => {
          for (const item of items) {
            const outcome = await executeClaimed(item, claim.token);
            const lateMs = now() - item.dueAt;
            if ((outcome?.kind === "applied" || outcome?.kind === "failed") && lateMs > LATE_MS) late.push({ dueAt: item.dueAt, lateMs });
          }
        }),
      );
      if (late.length > 0) {
        logger.warn("scheduled items ran late", { items: late.length, earliestDueAt: Math.min(...late.map((l) => l.dueAt)), maxLateMs: Math.max(...late.map((l) => l.lateMs)) });
      }
      return claim.items.length;
    });
  }

  let stopped = false;
  let sleepingUntil = Infinity;
  let wake: (() => void) | undefined;
  let nudged = false;

  function nudge(dueAt?: number): void {
    if (dueAt !== undefined && dueAt >= sleepingUntil) return;
    nudged = true;
    wake?.();
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      // A sleeping scheduler does not keep a process alive.
      timer.unref?.();
      sleepingUntil = now() + ms;
      function done() {
        clearTimeout(timer);
        wake = undefined;
        sleepingUntil = Infinity;
        resolve();
      }
      wake = done;
    });
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (!stopped) {
      nudged = false;
      let wait = pollMs;
      try {
        if ((await runDue()) === batch) continue;
        const next = await withoutDeadline(() => store.nextDue(now()));
        if (next !== undefined) wait = Math.min(pollMs, Math.max(MIN_SLEEP_MS, next - now()));
        if (failures > 0) logger.info("scheduler running again");
        failures = 0;
      } catch (e) {
        if (failures++ === 0) logger.warn("scheduler cannot reach the database; will retry", { error: e });
        wait = Math.min(5_000, pollMs * failures);
      }
      if (!nudged && !stopped) await sleep(wait);
    }
  }

  const running = options.loop === false ? Promise.resolve() : loop();

  return {
    runDue,
    nudge,
    async stop() {
      stopped = true;
      wake?.();
      await running;
    },
  };
}
