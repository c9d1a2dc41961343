/**
 * The outbox relay: publishes committed change events on the bus in the order it finds them
 * committed, giving each the next sequence number of its environment as it goes. One relay at a
 * time holds the outbox (a transaction-scoped advisory lock), so any number of flags instances may
 * run one. An event is marked published only after the bus server has it; if the bus is down
 * nothing is marked and everything goes out, in order, when it is back.
 *
 * Numbering at publish time, not at write time, keeps writers from queueing on one counter row per
 * environment. Events of one flag or segment still go out in the order of their changes: each
 * change waits for the one before it to commit, so its outbox row comes later in id order and is
 * never visible before that row.
 *
 * The relay wakes when an outbox insert commits anywhere: a trigger sends `vexil_outbox` (see
 * `shared/db/notifications.ts`), every instance's relay hears it, and the one that gets the lock
 * publishes. A local commit also nudges it directly. A slow poll is only a safety net (5 s on a
 * Postgres server; 60 s on PGlite, whose notifications come from inside this process and cannot be
 * missed), and the relay also runs whenever its LISTEN was re-established after a lost connection.
 */
import { and, isNotNull, lt, sql } from "drizzle-orm";
import type { Bus } from "@vexil/shared/bus/bus";
import type { ChangeEvent } from "@vexil/shared/change-events";
import type { Database } from "@vexil/shared/db/connector";
import { withoutDeadline } from "@vexil/shared/deadline";
import { LOCK_NAMESPACE, rowsOf } from "@vexil/shared/db/migrate";
import { OUTBOX_CHANNEL, type Unlisten } from "@vexil/shared/db/notifications";
import { outboxPublished, outboxRelayLag, watchOutbox } from "@vexil/shared/metrics";
import type { Logger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { environmentSequences, outbox } from "./storage/schema.ts";

const RELAY_LOCK = 4;
const BATCH = 500;
/** What a pass returns when another relay holds the outbox, and how long (at most) to wait for it. */
const BUSY = -1;
const BUSY_WAIT_MS = 10;
const BUSY_WAITS = 200;
/** Published events are kept this long, then removed (checked every 10 minutes). */
const KEEP_MS = 60 * 60 * 1000;
const CLEANUP_MS = 10 * 60 * 1000;

export interface OutboxRelay {
  /** Publish now (after a local commit) rather than at the next poll. */
  nudge(): void;
  stop(): Promise<void>;
}

export interface OutboxRelayOptions {
  database: Pick<Database, "db" | "kind" | "listen">;
  bus: Bus;
  logger: Logger;
  /** The safety-net poll; notifications and nudges do the real work. */
  pollMs?: number;
}

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { bus, logger } = options;
  const { db } = options.database;
  const encoder = new TextEncoder();
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let failures = 0;

  /** One pass: publishes everything unpublished, oldest first; returns how many went out (BUSY: another relay holds the outbox). */
  async function pass(): Promise<number> {
    return db.transaction(async (tx) => {
      // The lock first, in a statement of its own: every relay wakes on the same notification,
      // and a statement that got the lock just after another relay committed must not read the
      // outbox as it was before that commit (it would number those events a second time).
      const lock = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, ${RELAY_LOCK}) as locked`));
      if (!lock[0]?.locked) return BUSY;
      // One statement: number the oldest unpublished events per environment (the counters rise by
      // what each environment got), mark them and return them. Publishing happens before commit;
      // if it fails, the transaction rolls all of it back.
      const rows = rowsOf<{ id: number; seq: number; payload: ChangeEvent | string; created_at: number | string }>(
        await tx.execute(sql`
          with oldest as (
            select id, environment_id from ${outbox}
            where published_at is null order by id limit ${BATCH}),
          batch as (select id, environment_id, row_number() over (partition by environment_id order by id) as n from oldest),
          counts as (select environment_id, count(*) as c from batch group by environment_id),
          counters as (
            insert into ${environmentSequences} (environment_id, seq) select environment_id, c from counts
            on conflict (environment_id) do update set seq = ${environmentSequences}.seq + excluded.seq
            returning environment_id, seq)
          update ${outbox} o set published_at = ${Date.now()}, seq = counters.seq - counts.c + batch.n
          from batch join counts using (environment_id) join counters using (environment_id)
          where o.id = batch.id
          returning o.id, o.seq, o.payload, o.created_at`),
      ).sort((a, b) => Number(a.id) - Number(b.id));
      if (rows.length === 0) return 0;
      for (const row of rows) {
        const event: ChangeEvent = { ...(typeof row.payload === "string" ? (JSON.parse(row.payload) as ChangeEvent) : row.payload), seq: Number(row.seq), committedAt: Number(row.created_at) };
        bus.publish(subjects.changes(event.environmentId), encoder.encode(JSON.stringify(event)));
      }
      await bus.flush();
      const now = Date.now();
      for (const row of rows) outboxRelayLag.observe(Math.max(0, now - Number(row.created_at)) / 1000);
      outboxPublished.inc(rows.length);
      return rows.length;
    });
  }

  async function drainOutbox(): Promise<void> {
    do {
      again = false;
      try {
        // Another relay's pass may have begun before this instance's commit and not see it: wait
        // for that pass to end and look once more (briefly; the poll stays the safety net).
        let published: number;
        for (let waits = 0; (published = await pass()) === BUSY && waits < BUSY_WAITS && !stopped; waits++) await Bun.sleep(BUSY_WAIT_MS);
        while (published === BATCH && !stopped) published = await pass();
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
    // A nudge comes from a request that committed; the relay's work is not that request's and
    // must not end at its deadline.
    running = withoutDeadline(drainOutbox).finally(() => {
      running = undefined;
    });
  }

  // Listening again after a failed first LISTEN (the database was away) is left to the poll.
  let unlisten: Promise<Unlisten | undefined> | undefined;
  let listenFailed = false;
  const listen = () => {
    unlisten = options.database.listen(OUTBOX_CHANNEL, nudge, nudge).then(
      (stop) => {
        if (listenFailed) logger.info("outbox relay listening for commits again");
        listenFailed = false;
        return stop;
      },
      (e: unknown) => {
        if (!listenFailed) logger.warn("outbox relay cannot listen for commits; polling until it can", { error: e });
        listenFailed = true;
        unlisten = undefined;
        return undefined;
      },
    );
  };
  const poll = setInterval(
    () => {
      if (!unlisten) listen();
      nudge();
    },
    options.pollMs ?? (options.database.kind === "pglite" ? 60_000 : 5_000),
  );
  const cleanup = setInterval(() => {
    void db
      .delete(outbox)
      .where(and(isNotNull(outbox.publishedAt), lt(outbox.publishedAt, Date.now() - KEEP_MS)))
      .catch(() => undefined);
  }, CLEANUP_MS);
  // Neither keeps a process alive on its own.
  poll.unref?.();
  cleanup.unref?.();
  bus.onReconnect(nudge);
  listen();
  nudge();
  // The backlog as the database has it, read when metrics are scraped.
  const unwatch = watchOutbox(async () => {
    const [row] = rowsOf<{ backlog: number | string; oldest: number | string | null }>(
      await withoutDeadline(() => db.execute(sql`select count(*) as backlog, min(created_at) as oldest from ${outbox} where published_at is null`)),
    );
    const oldest = row?.oldest === null || row?.oldest === undefined ? undefined : Number(row.oldest);
    return { backlog: Number(row?.backlog ?? 0), oldestSeconds: oldest === undefined ? 0 : Math.max(0, Date.now() - oldest) / 1000 };
  });

  return {
    nudge,
    async stop() {
      stopped = true;
      unwatch();
      clearInterval(poll);
      clearInterval(cleanup);
      await (await unlisten)?.();
      await running;
    },
  };
}
