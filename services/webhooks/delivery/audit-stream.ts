/**
 * Committed audit entries through the audit stream (JetStream `VEXIL_AUDIT`), where the bus has
 * durable streams.
 *
 * Relay: one instance at a time takes the oldest feed rows (written in the transaction of each
 * entry), publishes them in order with the entry's id as the message id — so a row published
 * again after a crash, within the duplicate window, is stored once — and takes them off the feed
 * once the stream has stored them. A round of publications in flight together holds at most one
 * entry per resource, and a round that fails ends the relay: one resource's entries enter the
 * stream in commit order even when the bus drops a message mid-round.
 *
 * Planning: every instance consumes from one durable consumer (each message to one instance). A
 * batch of messages becomes deliveries in one transaction (`planDeliveries`, a delivery's `seq` the
 * message's stream sequence) and is acknowledged after the commit. A batch that fails is tried
 * message by message (after two failures in a row, the rest backs off); a message that fails is
 * handed out again after a backoff with jitter, and after `STREAM_RETRY.maxAttempts` it is
 * recorded as a dead letter. A message not acknowledged in
 * time (its instance died) comes back after the consumer's ack wait.
 *
 * Order: instances plan in any order, so the store keeps a cursor — the stream sequence up to
 * which every message is planned — and a delivery is attempted only when the cursor covers it.
 * Messages gone from the stream unplanned (its age limit) would hold the cursor for good; when it
 * stalls, the cursor is moved to the stream's first message and the loss logged.
 */
import { streams as streamNames, subjects } from "@vexil/shared/subjects";
import type { ConsumerSpec, DurableStreams, StreamConsumption, StreamMessage, StreamSpec } from "@vexil/shared/bus/durable-stream";
import type { Logger } from "@vexil/shared/logger";
import { planDeliveries } from "../domain/deliveries.ts";
import { retryDelay, type RetryPolicy } from "../domain/retry.ts";
import type { DeliveryQueue, FeedRow } from "../storage/webhook-store.ts";

export const AUDIT_STREAM: StreamSpec = {
  name: streamNames.audit,
  subjects: [subjects.auditAll],
  maxAgeMs: 7 * 24 * 3_600_000,
  maxBytes: 1024 ** 3,
  duplicateWindowMs: 2 * 60_000,
};

export const AUDIT_CONSUMER: ConsumerSpec = {
  durable: streamNames.auditWebhooksConsumer,
  // A message whose instance died comes back after 10 s. One wait, no JetStream BackOff list: with
  // one, the server times a nak'd message's return by the list and ignores the delay given with the
  // nak, which is where the backoff with jitter of a failed message comes from.
  ackWaitsMs: [10_000],
  // A backstop only (days of failures at `STREAM_RETRY.maxMs`): a message is dead-lettered after
  // `STREAM_RETRY.maxAttempts`, and one the bus gave up on would hold the cursor.
  maxDeliveries: 10_000,
  maxAckPending: 2_000,
};

/** A stream message that failed: handed out again after this backoff; after the last attempt, a dead letter. */
export const STREAM_RETRY: RetryPolicy = { baseMs: 500, maxMs: 30_000, maxAttempts: 25 };

/** The entry's id, on every message (the body is the entry, or only its id, kind and resource when large). */
export const AUDIT_ID_HEADER = "Vexil-Audit-Id";
const RELAY_BATCH = 500;
const ROUND = 100;
const PLAN_BATCH = 500;
const PLANNERS = 4;
const PUBLISH_TIMEOUT_MS = 5_000;
/** A larger entry travels as a reference: the bus's payload limit (1 MiB by default) must never stop the relay. */
const MAX_BODY_BYTES = 256 * 1024;
const GAP_CHECK_MS = 2_000;

export interface AuditStreamOptions {
  streams: DurableStreams;
  queue: DeliveryQueue;
  logger: Logger;
  now: () => number;
  /** Deliveries were planned (or the cursor moved): look for due ones. */
  onPlanned(): void;
  /** When a message that failed comes back, and how often before it is a dead letter; default `STREAM_RETRY`. */
  retry?: RetryPolicy;
}

export interface AuditStream {
  /** Starts publishing what waits in the feed (one relay across instances at a time) and returns. */
  relay(): Promise<void>;
  stop(): Promise<void>;
}

const encoder = new TextEncoder();

function bodyOf(row: FeedRow & { entry: NonNullable<FeedRow["entry"]> }): Uint8Array {
  const full = encoder.encode(JSON.stringify(row.entry));
  if (full.byteLength <= MAX_BODY_BYTES) return full;
  return encoder.encode(JSON.stringify({ id: row.entry.id, kind: row.entry.kind, spec: row.entry.spec }));
}

/** Creates the stream and the consumer (or brings them to this version's settings) and starts planning. */
export async function startAuditStream(options: AuditStreamOptions): Promise<AuditStream> {
  const { streams, queue, logger } = options;
  const retry = options.retry ?? STREAM_RETRY;
  let stopped = false;
  await ensureWithin(30_000, async () => {
    await streams.ensureStream(AUDIT_STREAM);
    await streams.ensureConsumer(AUDIT_STREAM.name, AUDIT_CONSUMER);
  }, logger);

  let relayFailing = false;
  async function publish(rows: FeedRow[]): Promise<number[]> {
    const relayed: number[] = [];
    for (let i = 0; i < rows.length; ) {
      const round: FeedRow[] = [];
      const resources = new Set<string>();
      for (; i < rows.length && round.length < ROUND; i++) {
        const resource = rows[i]!.entry?.spec ?? `gone/${rows[i]!.auditId}`;
        if (resources.has(resource)) break;
        resources.add(resource);
        round.push(rows[i]!);
      }
      const results = await Promise.allSettled(
        round.map((row) =>
          row.entry
            ? streams.publish(subjects.audit(row.entry.kind), bodyOf({ ...row, entry: row.entry }), { id: row.auditId, headers: { [AUDIT_ID_HEADER]: row.auditId }, timeoutMs: PUBLISH_TIMEOUT_MS })
            : // Gone from the log: nothing to deliver, the row just leaves.
              Promise.resolve(),
        ),
      );
      results.forEach((r, k) => {
        if (r.status === "fulfilled") relayed.push(round[k]!.feedId);
      });
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) {
        if (!relayFailing) logger.warn("audit entries not published to the audit stream; they stay in the feed and are tried again", { error: String(failed.reason) });
        relayFailing = true;
        return relayed;
      }
    }
    if (relayFailing) logger.info("audit entries are published to the audit stream again");
    relayFailing = false;
    return relayed;
  }

  let relaying: Promise<void> | undefined;
  let relayAgain = false;
  /** Runs beside the claims, not before them: a bus that is away holds up publishing, never attempts. */
  function relay(): Promise<void> {
    if (relaying) {
      relayAgain = true;
      return Promise.resolve();
    }
    relaying = (async () => {
      do {
        relayAgain = false;
        try {
          let relayed: number;
          do relayed = await queue.relayFeed(RELAY_BATCH, publish);
          while (relayed === RELAY_BATCH && !stopped);
        } catch (e) {
          logger.warn("webhook feed not relayed; trying again", { error: String(e) });
        }
      } while (relayAgain && !stopped);
    })().finally(() => {
      relaying = undefined;
    });
    return Promise.resolve();
  }

  const waiting: StreamMessage[] = [];
  let planning = 0;
  let gapTimer: ReturnType<typeof setTimeout> | undefined;

  function take(message: StreamMessage) {
    waiting.push(message);
    plan();
  }

  /** A few batches at once (the cursor keeps their order): a message waits for a free planner, and then for nothing. */
  function plan() {
    while (planning < PLANNERS && waiting.length > 0 && !stopped) {
      const batch = waiting.splice(0, PLAN_BATCH);
      planning++;
      void planBatch(batch)
        .catch((e: unknown) => logger.error("audit stream batch crashed", { error: String(e) }))
        .finally(() => {
          planning--;
          plan();
        });
    }
  }

  const itemOf = (m: StreamMessage) => ({ seq: m.seq, auditId: m.headers[AUDIT_ID_HEADER] ?? "" });

  async function planBatch(batch: StreamMessage[]): Promise<void> {
    try {
      planned(await queue.planStream(batch.map(itemOf), planDeliveries, options.now()));
      for (const m of batch) m.ack();
      return;
    } catch (e) {
      if (batch.length === 1) return failed(batch[0]!, e);
    }
    // Message by message tells one message that cannot be planned from a database that is away:
    // after two failures in a row, the rest of the batch backs off too.
    let failuresInRow = 0;
    for (const m of batch) {
      if (failuresInRow >= 2) m.nak(retryDelay(retry, m.deliveries));
      else failuresInRow = (await planOne(m)) ? 0 : failuresInRow + 1;
    }
  }

  async function planOne(m: StreamMessage): Promise<boolean> {
    try {
      planned(await queue.planStream([itemOf(m)], planDeliveries, options.now()));
      m.ack();
      return true;
    } catch (e) {
      await failed(m, e);
      return false;
    }
  }

  async function failed(m: StreamMessage, error: unknown): Promise<void> {
    if (m.deliveries >= retry.maxAttempts) {
      try {
        await queue.deadLetter({ seq: m.seq, auditId: m.headers[AUDIT_ID_HEADER] ?? null }, String(error), m.deliveries, options.now());
        m.term();
        logger.error("audit stream message dead-lettered: its entry is delivered to no webhook", { seq: m.seq, auditId: m.headers[AUDIT_ID_HEADER], attempts: m.deliveries, error: String(error) });
        options.onPlanned();
        return;
      } catch {
        // Not recorded: handed out again, like any failure.
      }
    }
    if (m.deliveries === 1) logger.warn("audit stream message not planned; it comes back after a backoff", { seq: m.seq, error: String(error) });
    m.nak(retryDelay(retry, m.deliveries));
  }

  function planned(result: { waiting: boolean }) {
    options.onPlanned();
    if (result.waiting) checkGapSoon();
  }

  function checkGapSoon(ms = GAP_CHECK_MS) {
    if (gapTimer || stopped) return;
    gapTimer = setTimeout(() => void checkGap(), ms);
  }

  /** The cursor waits for a message: if it is gone from the stream, it will never come. */
  async function checkGap(): Promise<void> {
    try {
      const result = await queue.skipLost(await streams.firstSeq(AUDIT_STREAM.name));
      if (result.lost > 0) {
        logger.warn("audit stream messages were removed before they were planned (the stream's age or size limit); their entries are delivered to no webhook", { lost: result.lost });
        options.onPlanned();
      }
      gapTimer = undefined;
      if (result.waiting) checkGapSoon(5_000);
    } catch {
      gapTimer = undefined;
      checkGapSoon(5_000);
    }
  }

  const consumption: StreamConsumption = await streams.consume(AUDIT_STREAM.name, AUDIT_CONSUMER.durable, take, { buffer: PLAN_BATCH });

  return {
    relay,
    async stop() {
      stopped = true;
      clearTimeout(gapTimer);
      await consumption.stop();
      // Taken and not planned: back to the stream for another instance now, not after the ack wait.
      for (const m of waiting.splice(0)) m.nak(0);
      while (planning > 0) await Bun.sleep(10);
      await relaying;
    },
  };
}

/** A JetStream cluster that has just started answers "temporarily unavailable" until it has a leader: tried again, for a while. */
async function ensureWithin(ms: number, ensure: () => Promise<void>, logger: Logger): Promise<void> {
  const deadline = Date.now() + ms;
  for (let tries = 1; ; tries++) {
    try {
      return await ensure();
    } catch (e) {
      if (Date.now() >= deadline) throw new Error(`the audit stream ${AUDIT_STREAM.name} cannot be set up (is JetStream on? nats-server -js): ${String(e)}`);
      if (tries === 1) logger.warn("the audit stream cannot be set up yet; trying again", { error: String(e) });
      await Bun.sleep(Math.min(2_000, 100 * 2 ** tries));
    }
  }
}
