/** Everything the webhooks service runs, wired from its parts; used by `main.ts` and by the all-in-one process. */
import type { Assertions } from "@vexil/shared/assertion";
import type { Bus } from "@vexil/shared/bus/bus";
import type { Database } from "@vexil/shared/db/connector";
import type { Logger } from "@vexil/shared/logger";
import { createWebhooksApp } from "./app.ts";
import type { WebhooksContext } from "./domain/context.ts";
import { lookupWithin, parseNetworks, resolveDestination, systemLookup, type Lookup } from "./domain/destination.ts";
import { createSecretBox } from "./domain/secret-box.ts";
import { sendAttempt } from "./delivery/sender.ts";
import { startAuditStream, type AuditStream } from "./delivery/audit-stream.ts";
import { feedIntake, startDeliveryWorker, type DeliveryWorker } from "./delivery/worker.ts";
import { DrizzleWebhookStore } from "./storage/drizzle-webhook-store.ts";

export interface WebhooksServiceOptions {
  database: Database;
  /** With durable streams, committed audit entries travel through the audit stream; without, straight from the feed. */
  bus: Pick<Bus, "streams">;
  assertions: Assertions;
  logger: Logger;
  /** Key material of the secret box (`VEXIL_SECRETS_KEY`, else the internal key). */
  secretsKey: string | Uint8Array;
  allowedNetworks: string[];
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  concurrency: number;
  /** Tests resolve names their own way. */
  lookup?: Lookup;
}

export async function startWebhooksService(options: WebhooksServiceOptions) {
  const streams = options.bus.streams;
  const store = new DrizzleWebhookStore(options.database.db, streams ? "stream" : "feed");
  const secrets = await createSecretBox(options.secretsKey);
  const allowed = parseNetworks(options.allowedNetworks);
  const lookup = options.lookup ?? systemLookup;
  const instance = `${(await import("node:os")).hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
  let worker: DeliveryWorker | undefined;
  const nudge = () => worker?.nudge();
  let auditStream: AuditStream | undefined;
  if (streams) auditStream = await startAuditStream({ streams, queue: store, logger: options.logger, now: Date.now, onPlanned: nudge });
  worker = await startDeliveryWorker({
    queue: store,
    intake: auditStream ? auditStream.relay : feedIntake(store),
    database: options.database,
    secrets,
    send: (url, body, headers) => sendAttempt(url, body, headers, { timeoutMs: options.timeoutMs, allowed, lookup }),
    retry: { baseMs: options.retryBaseMs, maxMs: options.retryMaxMs, maxAttempts: options.maxAttempts },
    timeoutMs: options.timeoutMs,
    concurrency: options.concurrency,
    logger: options.logger,
    instance,
  });
  const ctx: WebhooksContext = {
    store,
    secrets,
    // A name that cannot be resolved within 3 s is refused at creation, well inside the request's time.
    checkDestination: (url) => resolveDestination(url, allowed, lookupWithin(lookup, 3_000)),
    logger: options.logger,
    now: Date.now,
    nudge,
  };
  const app = createWebhooksApp(ctx, options.assertions);
  return {
    handle: (request: Request) => app.handle(request),
    nudge,
    async stop() {
      await auditStream?.stop();
      await worker?.stop();
    },
  };
}

/** The key material of the secret box from configuration. */
export function secretsKeyFrom(config: { secretsKey: string | undefined; internalKey: string | undefined }): string | undefined {
  return config.secretsKey ?? config.internalKey;
}
