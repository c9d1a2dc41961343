/**
 * The deadline of the request a service is handling. The gateway gives every request the instant
 * at which it stops waiting and answers 504 (`x-vexil-deadline`, unix ms); the service runs its
 * handling inside `withDeadline`, and whatever runs beneath — database statements, transactions,
 * requests to other services — reads it from here, so no route has to pass it along.
 *
 * Two instants follow from the caller's deadline:
 * - the caller's deadline itself: past it nobody waits for the answer, so the service stops
 *   waiting too (a statement queued while Postgres is down, a reply from another service);
 * - the commit deadline, a margin earlier: past it nothing starts and nothing commits, so a
 *   change is decided strictly before the caller is told it failed. The margin covers the time
 *   from a commit to the caller's receipt of its answer, and the difference between the clocks of
 *   the gateway, the service and Postgres (the deadline is an instant, compared on each host's clock).
 *
 * Past the commit deadline the service refuses with 504 `gateway_timeout`, the answer the caller
 * gets from the gateway a moment later anyway: whichever of the two reaches the caller first, a
 * 504 now means that nothing was changed. (503 keeps its meaning: no instance or no database, try
 * again in a second.)
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { VexilError } from "./errors.ts";

export const DEADLINE_HEADER = "x-vexil-deadline";

/** How long before the caller's deadline a service stops committing. */
export const COMMIT_MARGIN_MS = 250;

interface Deadline {
  /** When the caller stops waiting (unix ms). */
  caller: number;
  /** When the work must have committed (unix ms). */
  commit: number;
}

const current = new AsyncLocalStorage<Deadline | undefined>();

/**
 * The margin before a caller's deadline: 250 ms, or a tenth of the time left when the request
 * arrives if that is less (a caller that allows 100 ms in all still gets its work done).
 */
function commitDeadlineOf(caller: number, now: number): number {
  return caller - Math.min(COMMIT_MARGIN_MS, Math.max(0, caller - now) / 10);
}

/** Runs `fn` with the caller's deadline (unix ms); without one (`undefined`), with none. */
export function withDeadline<T>(callerDeadline: number | undefined, fn: () => T): T {
  if (callerDeadline === undefined) return current.run(undefined, fn);
  return current.run({ caller: callerDeadline, commit: commitDeadlineOf(callerDeadline, Date.now()) }, fn);
}

/** Runs `fn` outside any request's deadline: background work a request only set going (the outbox relay), or a clean-up that must happen after a refusal. */
export function withoutDeadline<T>(fn: () => T): T {
  return current.run(undefined, fn);
}

/** When the caller of the work under way stops waiting (unix ms), if it has a deadline. */
export function callerDeadline(): number | undefined {
  return current.getStore()?.caller;
}

/** When the work under way must have committed (unix ms), if it has a deadline. */
export function commitDeadline(): number | undefined {
  return current.getStore()?.commit;
}

/** Milliseconds left to commit (`Infinity` without a deadline; 0 once passed). */
export function remainingMs(): number {
  const deadline = commitDeadline();
  return deadline === undefined ? Infinity : Math.max(0, deadline - Date.now());
}

export function deadlinePassed(): VexilError {
  return new VexilError("gateway_timeout", "The request ran out of time before it could be completed; nothing was changed");
}

/** Throws the 504 refusal once the commit deadline has passed. */
export function checkDeadline(): void {
  if (remainingMs() <= 0) throw deadlinePassed();
}

/** The deadline a request's header carries (unix ms), or `undefined` when absent or malformed. */
export function deadlineFromHeader(value: string | null | undefined): number | undefined {
  if (!value || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The deadline to give a request sent now that waits at most `timeoutMs`: that time from now, but
 * no later than the commit deadline of the work it is part of (a reply that comes after it would
 * be of no use).
 */
export function outgoingDeadline(timeoutMs: number): number {
  const own = Date.now() + timeoutMs;
  const deadline = commitDeadline();
  return deadline === undefined ? own : Math.min(own, deadline);
}

/**
 * Waits for `work` until the caller's deadline at most, then rejects with the 504 refusal; `work`
 * goes on unobserved (its outcome is handled, so a late failure is not an unhandled rejection).
 * Without a deadline, `work` itself.
 */
export function untilCallerDeadline<T>(work: PromiseLike<T>): Promise<T> {
  const deadline = callerDeadline();
  if (deadline === undefined) return Promise.resolve(work);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(deadlinePassed()), Math.max(0, deadline - Date.now()));
    Promise.resolve(work).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
