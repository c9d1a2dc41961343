/** The commit notices of the flags service's tables (`vexil_changes`), for this instance's cache. */
import { CHANGES_CHANNEL, parseChangeNotice, type Listen, type Unlisten } from "@vexil/shared/db/notifications";
import type { ChangeNotice, ChangeNoticeSource } from "./cached-stores.ts";

/**
 * Listens for change notices; resolves once the LISTEN is in place, so a cache built on it never
 * holds anything it could not hear about.
 */
export async function listenForChanges(database: { listen: Listen }): Promise<ChangeNoticeSource & { close: Unlisten }> {
  const subscribers = new Set<{ onNotice: (n: ChangeNotice) => void; onReset: () => void; onLost?: () => void }>();
  const close = await database.listen(
    CHANGES_CHANNEL,
    (payload) => {
      const notice = parseChangeNotice(payload);
      if (notice) for (const s of subscribers) s.onNotice(notice);
    },
    () => {
      for (const s of subscribers) s.onReset();
    },
    () => {
      for (const s of subscribers) s.onLost?.();
    },
  );
  return {
    subscribe(onNotice, onReset, onLost) {
      const subscriber = { onNotice, onReset, onLost };
      subscribers.add(subscriber);
      return () => void subscribers.delete(subscriber);
    },
    close,
  };
}
