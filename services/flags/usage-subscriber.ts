/**
 * Flag usage from the streaming service's evaluation counts (`vexil.streaming.evaluations`), in
 * the flags queue group so one instance takes each batch; written off every request path. A batch
 * that cannot be written (the database away) is lost and logged: it is a few seconds of counts,
 * and the next batch brings the times up to date again.
 */
import { decodeJson, type Bus, type Subscription } from "@vexil/shared/bus/bus";
import type { Logger } from "@vexil/shared/logger";
import { queueGroup, subjects } from "@vexil/shared/subjects";
import { usageBatchOf } from "./domain/flags/usage-reports.ts";
import type { FlagUsageStore } from "./storage/flag-usage-store.ts";

export function subscribeToEvaluations(bus: Bus, usage: FlagUsageStore, logger: Logger): Subscription {
  return bus.subscribe(
    subjects.streamingEvaluations,
    async (msg) => {
      let batch;
      try {
        batch = usageBatchOf(decodeJson(msg.data));
      } catch {
        batch = undefined;
      }
      if (!batch) {
        logger.warn("evaluation counts dropped: not a version 2 evaluations event");
        return;
      }
      try {
        await usage.recordUsage(batch);
      } catch (e) {
        logger.warn("evaluation counts not stored", { environmentId: batch.environmentId, flags: batch.flags.length, error: e });
      }
    },
    { queue: queueGroup("flags") },
  );
}
