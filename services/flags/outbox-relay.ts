/**
 * The outbox relay: publishes committed change events on the bus, per environment in sequence
 * order. One relay at a time holds the outbox (a transaction-scoped advisory lock), so any number
 * of flags instances may run one. An event is marked published only after the bus server has it;
 * if the bus is down nothing is marked and everything goes out, in order, when it is back.
 */
import { and, isNotNull, lt, sql } from "drizzle-orm";
import type { Bus } from "@vexil/shared/bus/bus";
import type { ChangeEvent } from "@vexil/shared/change-events";
import type { Db } from "@vexil/shared/db/connector";
import { LOCK_NAMESPACE, rowsOf } from "@vexil/shared/db/migrate";
import type { Logger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { outbox } from "./storage/schema.ts";

const RELAY_LOCK = 4;
const BATCH = 500;
/** Published events are kept this long, then removed. */
const KEEP_MS = 60 * 60 * 1000;

export interface OutboxRelay {
  /** Publish now (after a local commit) rather than at the next poll. */
  nudge(): void;
  stop(): Promise<void>;
}

export function startOutboxRelay(options: { db: Db; bus: Bus; logger: Logger; pollMs?: number }): OutboxRelay {
  const { db, bus, logger } = options;
  const encoder = new TextEncoder();
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let failures = 0;

  /** One pass: publishes everything unpublished, oldest first; returns how many went out. */
  async function pass(): Promise<number> {
    return db.transaction(async (tx) => {
      const locked = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, ${RELAY_LOCK}) as locked`));
      if (!locked[0]?.locked) return 0;
      // Marked in the same statement that reads them; if publishing fails the transaction rolls back.
      const rows = rowsOf<{ id: number; payload: ChangeEvent }>(
        await tx.execute(sql`
          update ${outbox} set published_at = ${Date.now()}
          where id in (select id from ${outbox} where published_at is null order by id limit ${BATCH})
          returning id, payload`),
      ).sort((a, b) => Number(a.id) - Number(b.id));
      if (rows.length === 0) return 0;
      for (const row of rows) {
        const event = typeof row.payload === "string" ? (JSON.parse(row.payload) as ChangeEvent) : row.payload;
        bus.publish(subjects.changes(event.environmentId), encoder.encode(JSON.stringify(event)));
      }
      await bus.flush();
      return rows.length;
    });
  }

  async function drainOutbox(): Promise<void> {
    do {
      again = false;
      try {
        while ((await pass()) === BATCH && !stopped);
        if (failures > 0) logger.info("outbox relay publishing again");
        failures = 0;
      } catch (e) {
        if (failures++ === 0) logger.warn("outbox relay cannot publish; will retry", { error: e });
        await Bun.sleep(Math.min(2_000, 100 * failures));
        again = !stopped;
      }
    } while (again && !stopped);
  }

  function nudge(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = drainOutbox().finally(() => {
      running = undefined;
    });
  }

  const poll = setInterval(nudge, options.pollMs ?? 100);
  const cleanup = setInterval(() => {
    void db
      .delete(outbox)
      .where(and(isNotNull(outbox.publishedAt), lt(outbox.publishedAt, Date.now() - KEEP_MS)))
      .catch(() => undefined);
  }, 60_000);
  bus.onReconnect(nudge);
  nudge();

  return {
    nudge,
    async stop() {
      stopped = true;
      clearInterval(poll);
      clearInterval(cleanup);
      await running;
    },
  };
}
