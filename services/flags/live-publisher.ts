/**
 * Committed changes for the console's live feed: every flags instance listens on `vexil_live`
 * (migration `0017_live_notices`) and publishes each notice on `vexil.live`. Several instances hear
 * the same commit; the gateways send an event once by its audit entry's id. Notices are hints that
 * something changed: one missed while the database connection was being renewed is not made up
 * (the console reads again on reconnecting and on focus).
 */
import type { Bus } from "@vexil/shared/bus/bus";
import type { Listen, Unlisten } from "@vexil/shared/db/notifications";
import { LIVE_CHANNEL, parseLiveNotice } from "@vexil/shared/live";
import type { Logger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";

export async function publishLiveChanges(database: { listen: Listen }, bus: Bus, logger: Logger): Promise<Unlisten> {
  const encoder = new TextEncoder();
  return database.listen(
    LIVE_CHANNEL,
    (payload) => {
      const event = parseLiveNotice(payload);
      if (!event) return;
      try {
        bus.publish(subjects.live, encoder.encode(JSON.stringify(event)));
      } catch (e) {
        logger.debug("live change not published", { error: e });
      }
    },
    () => undefined,
  );
}
