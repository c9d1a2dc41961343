/**
 * The database's word that scheduled items were made, moved or released (`vexil_schedule`, sent
 * at commit by the triggers of migration 0013), from whichever instance: `onDue` is called with
 * the earliest due time among them, and without one after the connection was lost and listened
 * again (notices may have been missed meanwhile).
 */
import { SCHEDULE_CHANNEL, parseScheduleNotice, type Listen, type Unlisten } from "@vexil/shared/db/notifications";

/** Resolves once the LISTEN is in place; the result stops listening. */
export function listenForSchedules(database: { listen: Listen }, onDue: (dueAt?: number) => void): Promise<Unlisten> {
  return database.listen(
    SCHEDULE_CHANNEL,
    (payload) => onDue(parseScheduleNotice(payload)),
    () => onDue(),
  );
}
