/**
 * Committed changes for the console's live feed: every flags instance listens on `vexil_live`
 * (migration `0017_live_notices`) and publishes each notice on `vexil.live`. Several instances hear
 * the same commit; the gateways send an event once by its audit entry's id.
 *
 * Notices sent while the listening connection is being renewed are never heard. Once it listens
 * again, the instance replays from the audit log what was committed since the last notice it heard
 * (`domain/live-replay.ts`, with its overlap), and when that is beyond the bound or cannot be read,
 * it tells the gateways that every feed must read everything again (`vexil.live.reset`).
 *
 * It also answers the gateways' replays for browsers that reconnect (`vexil.live.replay`).
 */
import type { Bus } from "@vexil/shared/bus/bus";
import { encodeJson } from "@vexil/shared/bus/bus";
import { serveJson } from "@vexil/shared/bus/rpc";
import type { Listen, Unlisten } from "@vexil/shared/db/notifications";
import { LIVE_CHANNEL, livePosition, parseLiveNotice, type LiveEvent, type LiveReplayRequest } from "@vexil/shared/live";
import type { Logger } from "@vexil/shared/logger";
import { queueGroup, subjects } from "@vexil/shared/subjects";
import { liveChangesSince } from "./domain/live-replay.ts";
import type { AuditReader } from "./storage/audit-reader.ts";

export interface LivePublisherOptions {
  database: { listen: Listen };
  audit: AuditReader;
  bus: Bus;
  logger: Logger;
  now?: () => number;
}

export async function publishLiveChanges(options: LivePublisherOptions): Promise<Unlisten> {
  const { bus, logger, audit } = options;
  const now = options.now ?? Date.now;
  /** The newest position heard: ids of one length in lower-case hex compare as text. */
  let last = livePosition(now());

  function publish(event: LiveEvent): void {
    if (event.id > last) last = event.id;
    try {
      bus.publish(subjects.live, encodeJson(event));
    } catch (e) {
      logger.debug("live change not published", { error: e });
    }
  }

  async function catchUp(): Promise<void> {
    const from = last;
    try {
      const replay = await liveChangesSince(audit, { after: from }, now());
      if ("events" in replay) {
        for (const event of replay.events) publish(event);
        logger.info("live: listening again; changes since the last notice replayed", { replayed: replay.events.length });
        return;
      }
    } catch (e) {
      logger.warn("live: changes missed while not listening could not be read; feeds will read everything again", { error: e });
    }
    try {
      bus.publish(subjects.liveReset, encodeJson({ v: 1, at: now() }));
    } catch (e) {
      logger.warn("live: reset not published", { error: e });
    }
  }

  const served = serveJson(bus, subjects.liveReplay, queueGroup("flags"), logger, (request: LiveReplayRequest) => liveChangesSince(audit, request, now()));
  let unlisten: Unlisten;
  try {
    unlisten = await options.database.listen(
      LIVE_CHANNEL,
      (payload) => {
        const event = parseLiveNotice(payload);
        if (event) publish(event);
      },
      () => void catchUp(),
    );
  } catch (e) {
    served.unsubscribe();
    throw e;
  }
  return async () => {
    served.unsubscribe();
    await unlisten();
  };
}
