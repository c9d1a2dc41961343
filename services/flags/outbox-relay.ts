/**
 * The outbox relay: publishes committed change events on the bus in the order it finds them
 * committed, giving each the next sequence number of its environment as it goes. One relay at a
 * time holds the outbox (a transaction-scoped advisory lock), so any number of flags instances may
 * run one. An event is marked published only after the bus server has it; if the bus is down
 * nothing is marked and everything goes out, in order, when it is back. A number once given stays
 * with its event: events sent without the server confirming them go out again under it.
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
 *
 * The bus server having an event is not every subscriber having it: with a cluster of
 * nats-servers, a node that dies just after taking an event may not have passed it on. A
 * subscriber sees a gap at the next event; for the last event of a burst there is no next one, so
 * every few seconds, while an environment changed within the last minute, the relay also publishes
 * the last sequence number it gave out there (`vexil.change-tips`), and a subscriber behind it
 * loads the environment again.
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
/** How often the last sequence numbers go out, and for how long after an environment's last change. */
const TIP_MS = 2_000;
const TIP_KEEP_MS = 60_000;

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
  /** How often the last sequence numbers of recently changed environments go out. */
  tipMs?: number;
}

/**
 * The event as published: the stored payload's JSON (its text, as the `json` column keeps it) with
 * its sequence number and commit time added at the end, not parsed and encoded again. An event
 * stored with a `seq` of its own (written before payloads left it out) is still read right: of two
 * equal keys, JSON readers take the last.
 */
export function eventJson(payload: ChangeEvent | string, seq: number, committedAt: number): string {
  const text = (typeof payload === "string" ? payload : JSON.stringify(payload)).trimEnd();
  const body = text.slice(0, -1).trimEnd();
  return `${body}${body.endsWith("{") ? "" : ","}"seq":${seq},"committedAt":${committedAt}}`;
}

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { bus, logger } = options;
  const { db } = options.database;
  const encoder = new TextEncoder();
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let failures = 0;
  /** Per environment: the last sequence number this relay published (and committed as published), and when. */
  const tips = new Map<string, { seq: number; at: number }>();

  /** One pass: publishes everything unpublished, oldest first; returns how many went out (BUSY: another relay holds the outbox). */
  async function pass(): Promise<number> {
    const latest = new Map<string, number>();
    let unconfirmed: unknown;
    const published = await db.transaction(async (tx) => {
      // The lock first, in a statement of its own: every relay wakes on the same notification,
      // and a statement that got the lock just after another relay committed must not read the
      // outbox as it was before that commit (it would number those events a second time).
      const lock = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, ${RELAY_LOCK}) as locked`));
      if (!lock[0]?.locked) return BUSY;
      // One statement: take the oldest unpublished events; number those without a sequence number
      // (the counters rise by what each environment got) and mark them all. Those with one already
      // went out once without the bus server confirming it: they go out again under the same
      // number, which a subscriber may already hold for exactly that event.
      const now = Date.now();
      const rows = rowsOf<{ id: number; environment_id: string; seq: number; payload: ChangeEvent | string; created_at: number | string }>(
        await tx.execute(sql`
          with oldest as (
            select id, environment_id, seq from ${outbox}
            where published_at is null order by id limit ${BATCH}),
          batch as (select id, environment_id, row_number() over (partition by environment_id order by id) as n from oldest where seq is null),
          counts as (select environment_id, count(*) as c from batch group by environment_id),
          counters as (
            insert into ${environmentSequences} (environment_id, seq) select environment_id, c from counts
            on conflict (environment_id) do update set seq = ${environmentSequences}.seq + excluded.seq
            returning environment_id, seq),
          numbered as (
            update ${outbox} o set published_at = ${now}, seq = counters.seq - counts.c + batch.n
            from batch join counts using (environment_id) join counters using (environment_id)
            where o.id = batch.id
            returning o.id, o.environment_id, o.seq, o.payload, o.created_at),
          again as (
            update ${outbox} o set published_at = ${now}
            from oldest where o.id = oldest.id and oldest.seq is not null
            returning o.id, o.environment_id, o.seq, o.payload, o.created_at)
          select * from numbered union all select * from again`),
      ).sort((a, b) => Number(a.seq) - Number(b.seq) || Number(a.id) - Number(b.id));
      if (rows.length === 0) return 0;
      try {
        for (const row of rows) {
          const seq = Number(row.seq);
          bus.publish(subjects.changes(row.environment_id), encoder.encode(eventJson(row.payload, seq, Number(row.created_at))));
          latest.set(row.environment_id, seq);
        }
        await bus.flush();
        const sent = Date.now();
        for (const row of rows) outboxRelayLag.observe(Math.max(0, sent - Number(row.created_at)) / 1000);
        outboxPublished.inc(rows.length);
      } catch (e) {
        // Some of these may have reached subscribers (a bus node that took them and died): keep
        // their numbers, drop the marks, commit. Numbering them again could give a number a
        // subscriber already holds to another event, which it would then skip.
        unconfirmed = e;
        latest.clear();
        await tx.execute(sql`update ${outbox} set published_at = null where id in (${sql.join(
          rows.map((r) => sql`${r.id}`),
          sql`, `,
        )})`);
        return 0;
      }
      return rows.length;
    });
    if (unconfirmed !== undefined) throw unconfirmed;
    const at = Date.now();
    for (const [environmentId, seq] of latest) tips.set(environmentId, { seq, at });
    return published;
  }

  function publishTips(): void {
    const cutoff = Date.now() - TIP_KEEP_MS;
    const out: Record<string, number> = {};
    for (const [environmentId, tip] of tips) {
      if (tip.at < cutoff) tips.delete(environmentId);
      else out[environmentId] = tip.seq;
    }
    if (tips.size === 0) return;
    try {
      bus.publish(subjects.changeTips, encoder.encode(JSON.stringify({ v: 1, tips: out })));
    } catch {
      // The bus is away; the next round goes out when it is back.
    }
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
  const tipper = setInterval(publishTips, options.tipMs ?? TIP_MS);
  // None keeps a process alive on its own.
  poll.unref?.();
  cleanup.unref?.();
  tipper.unref?.();
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
      clearInterval(tipper);
      await (await unlisten)?.();
      await running;
    },
  };
}
