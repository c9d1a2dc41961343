/**
 * The one place a change to a flag or segment is decided and written, whatever asked for it (an
 * API call, a schedule, an approval). A unit of work is: read everything the change decides on,
 * decide (pure domain code), write the outcome in one conditional statement. The store writes only
 * if nothing that was read has moved since; otherwise the change is decided again on a new read.
 *
 * - A read may come from this instance's memory (`consistent: false`). A write decided on it is
 *   still safe (the store compares versions), but a refusal or a "nothing to change" is not
 *   checked by any write, so those are decided once more on a consistent read before they stand.
 * - After a few lost races (a busy flag), the change waits for its turn among this instance's
 *   writers of the same item, so they stop racing each other: one wins per round, no one starves.
 *   Writers on other instances still race it, and lose or win a round at a time.
 */
import { VexilError } from "@vexil/shared/errors";

/** What a change decided: something to write, or nothing (with what the caller gets either way). */
export type Decision<W, T> = { write: W; result: T } | { write?: undefined; result: T };

export interface UnitOfWork<R, W, T> {
  /** Everything the change decides on; `consistent` asks for the database, not memory. */
  read(consistent: boolean): Promise<R>;
  /** The domain's decision; what it throws is the answer (a refusal), unless it was decided on memory. */
  decide(read: R): Promise<Decision<W, T>>;
  /** Writes `write` if what was read still holds; false when something moved. */
  write(read: R, write: W): Promise<boolean>;
}

/** Lost races before a change waits for its turn among this instance's writers of the item. */
const RACES_BEFORE_TURN = 3;
/** A change that keeps losing this long has met something stranger than contention. */
const MAX_ROUNDS = 200;

const turns = new Map<string, Promise<unknown>>();

/** Runs `work` after every earlier waiting change of `key` on this instance. */
async function inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = turns.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(work);
  turns.set(key, run);
  try {
    return await run;
  } finally {
    if (turns.get(key) === run) turns.delete(key);
  }
}

/** Decides and writes one change (see the module's comment); `key` names the item changed. */
export async function decideAndWrite<R, W, T>(key: string, unit: UnitOfWork<R, W, T>): Promise<T> {
  let consistent = false;
  let round = 0;
  /** One round: undefined when the write lost a race. */
  const attempt = async (): Promise<{ result: T } | undefined> => {
    for (;;) {
      const read = await unit.read(consistent);
      let decision: Decision<W, T>;
      try {
        decision = await unit.decide(read);
      } catch (e) {
        if (consistent || !(e instanceof VexilError)) throw e;
        consistent = true;
        continue;
      }
      if (decision.write === undefined) {
        if (consistent) return { result: decision.result };
        consistent = true;
        continue;
      }
      if (await unit.write(read, decision.write)) return { result: decision.result };
      consistent = true;
      if (++round >= MAX_ROUNDS) throw new VexilError("conflict", "The item kept changing while this change was being made; try again");
      return undefined;
    }
  };
  for (let i = 0; i < RACES_BEFORE_TURN; i++) {
    const done = await attempt();
    if (done) return done.result;
  }
  return inTurn(key, async () => {
    for (;;) {
      const done = await attempt();
      if (done) return done.result;
    }
  });
}
