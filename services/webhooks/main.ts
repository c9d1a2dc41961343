/** The webhooks service on its own: `DATABASE_URL=… NATS_URL=… VEXIL_INTERNAL_KEY=… bun services/webhooks/main.ts`. Run as many as you like. */
import { runStandalone } from "@vexil/shared/standalone";
import { secretsKeyFrom, startWebhooksService } from "./service.ts";

await runStandalone({
  name: "webhooks",
  usesDatabase: true,
  start: ({ config, logger, database, bus, assertions }) =>
    startWebhooksService({
      database: database!,
      bus,
      assertions,
      logger,
      secretsKey: secretsKeyFrom(config)!,
      allowedNetworks: config.webhookAllowedNetworks,
      timeoutMs: config.webhookTimeoutMs,
      maxAttempts: config.webhookMaxAttempts,
      retryBaseMs: config.webhookRetryBaseMs,
      retryMaxMs: config.webhookRetryMaxMs,
      concurrency: config.webhookConcurrency,
    }),
});
