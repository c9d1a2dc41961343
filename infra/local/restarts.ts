/**
 * How long the launcher waits before starting again a process that exited without being asked to
 * (a service instance or an edge process), as an orchestrator would: a process that keeps exiting
 * soon after starting is given longer and longer pauses.
 */

/** A process that exits within this long of starting counts as a quick exit: the next pause doubles. */
export const QUICK_EXIT_MS = 30_000;
const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 15_000;

/** The pause before starting a process again after its `quickExits`-th exit in a row soon after starting (250 ms, 500 ms, … 15 s). */
export function restartDelay(quickExits: number): number {
  return Math.min(FIRST_RESTART_DELAY_MS * 2 ** Math.max(0, quickExits - 1), MAX_RESTART_DELAY_MS);
}
