/**
 * The delivery loop every webhooks instance runs. A pass takes in committed audit entries (`intake`:
 * the feed becomes deliveries, one feeder at a time, or is relayed to the audit stream, see
 * `audit-stream.ts`), then claims due deliveries up to its free slots and attempts
 * each; a slot freed, a notification (`vexil_webhooks`, sent at the commit of an audited change)
 * or a local nudge starts the next pass, and a timer polls: quickly while deliveries are pending
 * (retries come due, leases of crashed instances run out), slowly otherwise.
 *
 * An attempt's outcome: 2xx delivered; anything else (another status, a timeout, a refused
 * destination, a network error) is tried again after `retryDelay`, and after `maxAttempts` the
 * delivery is left `failed` (dead-lettered: kept in the log, redeliverable by hand). A delivery's
 * claim lasts the attempt's timeout and a margin; an instance that dies mid-attempt leaves the
 * delivery to be claimed again when the claim runs out, under the same delivery id.
 */
import { auditEntryDetailRep } from "@vexil/shared/audit/representation";
import type { Database } from "@vexil/shared/db/connector";
import type { Logger } from "@vexil/shared/logger";
import { planDeliveries } from "../domain/deliveries.ts";
import { retryDelay, type RetryPolicy } from "../domain/retry.ts";
import type { SecretBox } from "../domain/secret-box.ts";
import { deliveryHeaders } from "../domain/signing.ts";
import type { ClaimedDelivery, DeliveryQueue } from "../storage/webhook-store.ts";
import type { AttemptResult } from "./sender.ts";

export const WEBHOOKS_CHANNEL = "vexil_webhooks";
const FEED_BATCH = 500;
/** Delivered and failed deliveries stay in the log this long. */
export const LOG_KEPT_MS = 30 * 24 * 3_600_000;
const PRUNE_EVERY_MS = 10 * 60_000;
/** Added to the attempt's timeout for a claim's lease: time to record the outcome. */
const LEASE_MARGIN_MS = 5_000;

export interface WorkerOptions {
  queue: DeliveryQueue;
  /** Takes in what the feed holds; a failure here is logged and does not hold up the attempts. */
  intake(): Promise<void>;
  database: Pick<Database, "listen" | "kind">;
  secrets: SecretBox;
  send(url: string, body: string, headers: Record<string, string>): Promise<AttemptResult>;
  retry: RetryPolicy;
  timeoutMs: number;
  concurrency: number;
  logger: Logger;
  /** Names this instance in the attempt log. */
  instance: string;
  now?: () => number;
  /** Poll while deliveries are pending; default: half the first retry delay, 50 ms to 1 s. */
  busyPollMs?: number;
  /** Poll while nothing is pending; default 5 s on Postgres, 60 s on the embedded database (its notifications come from inside the process). */
  idlePollMs?: number;
}

export interface DeliveryWorker {
  /** Look now. */
  nudge(): void;
  /** Stops claiming; waits for attempts in flight (each bounded by the timeout). */
  stop(): Promise<void>;
}

/** The feed turned straight into deliveries (a bus without durable streams). */
export function feedIntake(queue: DeliveryQueue, now: () => number = Date.now): () => Promise<void> {
  return async () => {
    let fed: number;
    do fed = await queue.feed(FEED_BATCH, planDeliveries, now());
    while (fed === FEED_BATCH);
  };
}

export async function startDeliveryWorker(options: WorkerOptions): Promise<DeliveryWorker> {
  const { queue, logger } = options;
  const now = options.now ?? Date.now;
  const busyPollMs = options.busyPollMs ?? Math.min(1_000, Math.max(50, Math.floor(options.retry.baseMs / 2)));
  const idlePollMs = options.idlePollMs ?? (options.database.kind === "pglite" ? 60_000 : 5_000);
  const inFlight = new Set<Promise<void>>();
  /** A webhook gets at most a quarter of the slots (at least one), so a receiver that hangs leaves the rest to others. */
  const perWebhook = Math.max(1, Math.floor(options.concurrency / 4));
  const inFlightOf = new Map<string, number>();
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let prunedAt = 0;

  async function attempt(claimed: ClaimedDelivery): Promise<void> {
    const { delivery, webhook, entry } = claimed;
    const startedAt = now();
    let result: AttemptResult;
    if (!entry) {
      result = { ok: false, statusCode: null, error: "the audit log entry is gone", response: null, latencyMs: 0 };
    } else {
      const body = JSON.stringify(auditEntryDetailRep(entry));
      let secret: string | null = null;
      try {
        secret = webhook.secretCipher === null ? null : await options.secrets.open(webhook.secretCipher, webhook.id);
      } catch {
        logger.error("webhook secret cannot be opened (VEXIL_SECRETS_KEY changed?)", { webhookId: webhook.id });
        result = { ok: false, statusCode: null, error: "the webhook's secret cannot be read with this server's key", response: null, latencyMs: 0 };
        return record(claimed, startedAt, result);
      }
      const headers = deliveryHeaders({ id: delivery.id, body, secret, timestampSeconds: Math.floor(startedAt / 1000) });
      result = await options.send(webhook.url, body, headers);
    }
    await record(claimed, startedAt, result);
  }

  async function record(claimed: ClaimedDelivery, startedAt: number, result: AttemptResult): Promise<void> {
    const { delivery, leaseToken } = claimed;
    const n = delivery.attempts;
    const outcome = result.ok
      ? { state: "delivered" as const, nextAttemptAt: delivery.nextAttemptAt }
      : n >= options.retry.maxAttempts
        ? { state: "failed" as const, nextAttemptAt: delivery.nextAttemptAt }
        : { state: "pending" as const, nextAttemptAt: now() + retryDelay(options.retry, n) };
    if (outcome.state === "failed") logger.warn("webhook delivery failed for good", { deliveryId: delivery.id, webhookId: delivery.webhookId, attempts: n, error: result.error, statusCode: result.statusCode });
    // The outcome must be written; a database that is briefly away gets a few tries, then the lease decides.
    for (let tries = 0; ; tries++) {
      try {
        await queue.finish(
          delivery.id,
          leaseToken,
          { attempt: n, startedAt, latencyMs: result.latencyMs, statusCode: result.statusCode, error: result.error, response: result.response, worker: options.instance },
          outcome,
        );
        return;
      } catch (e) {
        if (tries >= 4 || stopped) {
          logger.warn("webhook attempt outcome not recorded; the delivery will be attempted again", { deliveryId: delivery.id, error: String(e) });
          return;
        }
        await Bun.sleep(200 * (tries + 1));
      }
    }
  }

  async function pass(): Promise<void> {
    if (now() - prunedAt >= PRUNE_EVERY_MS) {
      prunedAt = now();
      while ((await queue.prune(now() - LOG_KEPT_MS, 1_000)) === 1_000 && !stopped);
    }
    try {
      await options.intake();
    } catch (e) {
      logger.warn("webhook feed not taken in; trying again", { error: String(e) });
    }
    while (!stopped) {
      const free = options.concurrency - inFlight.size;
      if (free <= 0) return;
      const skip = [...inFlightOf].filter(([, n]) => n >= perWebhook).map(([id]) => id);
      const share = { perWebhook, skip };
      const claimed = await queue.claim(`${options.instance}:${crypto.randomUUID()}`, now(), options.timeoutMs + LEASE_MARGIN_MS, free, share);
      for (const c of claimed) {
        const webhookId = c.delivery.webhookId;
        inFlightOf.set(webhookId, (inFlightOf.get(webhookId) ?? 0) + 1);
        const p: Promise<void> = attempt(c)
          .catch((e) => logger.error("webhook attempt crashed", { deliveryId: c.delivery.id, error: String(e) }))
          .finally(() => {
            inFlight.delete(p);
            const left = (inFlightOf.get(webhookId) ?? 1) - 1;
            if (left > 0) inFlightOf.set(webhookId, left);
            else inFlightOf.delete(webhookId);
            // The next delivery of this webhook and resource may be due now.
            nudge();
          });
        inFlight.add(p);
      }
      if (claimed.length < free) return;
    }
  }

  async function loop(): Promise<void> {
    do {
      again = false;
      try {
        await pass();
        if (failures > 0) logger.info("webhook deliveries going again");
        failures = 0;
      } catch (e) {
        if (failures++ === 0) logger.warn("webhook delivery pass failed; retrying", { error: String(e) });
      }
    } while (again && !stopped);
    if (stopped) return;
    let busy = true;
    try {
      busy = inFlight.size > 0 || (await queue.busy());
    } catch {
      // The database is away: look again soon.
    }
    schedule(failures > 0 ? Math.min(5_000, 250 * failures) : busy ? busyPollMs : idlePollMs);
  }

  function schedule(ms: number) {
    clearTimeout(timer);
    timer = setTimeout(nudge, ms);
    // An idle embedded process is not kept alive by this timer.
    if (options.database.kind === "pglite") timer.unref?.();
  }

  function nudge() {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = loop().finally(() => {
      running = undefined;
    });
  }

  const unlisten = await options.database.listen(WEBHOOKS_CHANNEL, nudge, nudge);
  nudge();

  return {
    nudge,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await unlisten();
      await running;
      await Promise.all([...inFlight]);
    },
  };
}
