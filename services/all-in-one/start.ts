/**
 * Every service in one process on one port. With no DATABASE_URL it keeps its data in
 * embedded PGlite under VEXIL_DATA_DIR; with no NATS_URL it uses the in-process bus.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createGateway } from "@vexil/gateway/app";
import { busCallerVerifier } from "@vexil/gateway/caller-verifier";
import { sessionKeysFrom, startAuthService } from "@vexil/auth/service";
import { createFailureLimiter } from "@vexil/gateway/failure-limiter";
import { createRateLimiter } from "@vexil/gateway/rate-limiter";
import { createLiveFeed } from "@vexil/gateway/live";
import { createAssertions, keyFrom } from "@vexil/shared/assertion";
import { startFlagsService } from "@vexil/flags/service";
import { ensureConsoleBuilt } from "@vexil/console/build";
import { consoleHandler } from "@vexil/console/serve";
import { STREAMING_PATHS, startStreamingService } from "@vexil/streaming/service";
import { secretsKeyFrom, startWebhooksService } from "@vexil/webhooks/service";
import type { Bus } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import type { Config } from "@vexil/shared/config";
import type { Assertions } from "@vexil/shared/assertion";
import type { CallerVerifier } from "@vexil/gateway/caller-verifier";
import { openDatabase } from "@vexil/shared/db/connector";
import { containDriverFailures } from "@vexil/shared/db/driver-failures";
import { migrate } from "@vexil/shared/db/migrate";
import { listen, onShutdown, within } from "@vexil/shared/lifecycle";
import { createLogger } from "@vexil/shared/logger";
import { collectProcessMetrics } from "@vexil/shared/metrics";
import { inProcessServiceClient } from "@vexil/shared/transport/http-over-bus";

/**
 * Key material kept in the data directory, made on first use (mode 0600): what encrypts stored
 * secrets when neither VEXIL_SECRETS_KEY nor VEXIL_INTERNAL_KEY is set, so they survive a restart.
 */
function storedKey(dataDir: string, name: string): string {
  const path = join(dataDir, name);
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
  writeFileSync(path, key + "\n", { mode: 0o600, flag: "wx" });
  return key;
}

/** The all-in-one process, started from a validated config. `overrides` lets benchmarks swap parts. */
export interface AllInOneOverrides {
  /** Replaces the gateway's credential check (benchmarks measure the cost of authentication with it). */
  verifier?: (assertions: Assertions) => CallerVerifier;
}

export async function startAllInOne(config: Config, overrides: AllInOneOverrides = {}) {
  const logger = createLogger(config.logLevel, { service: "vexil", pid: process.pid });
  collectProcessMetrics();
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  // A database outage must never end the process (the driver can throw outside any query).
  containDriverFailures(logger, () => database.renewPool());
  await migrate(database.db);
  // The NATS client is loaded only when there is a server to use (it is megabytes of an idle process).
  const bus: Bus = config.natsUrl ? await (await import("@vexil/shared/bus/nats-bus")).connectNatsBus(config.natsUrl, "vexil-all-in-one", logger) : new MemoryBus();

  // Without VEXIL_INTERNAL_KEY the assertions and sessions of this process use a key of its own.
  const internalKey = config.internalKey ? keyFrom(config.internalKey) : crypto.getRandomValues(new Uint8Array(32));
  const assertions = createAssertions(internalKey);
  const auth = await startAuthService({
    database,
    bus,
    logger: logger.child({ component: "auth" }),
    assertions,
    adminToken: config.adminToken,
    sessionKeys: sessionKeysFrom(config.sessionKeys, internalKey),
    publicOrigin: config.publicOrigin,
    announce: (m) =>
      process.stdout.write(
        `${m}For example: curl -H 'Authorization: <token>' http://localhost:${config.port}/api/v2/projects\n\n` +
          `The console is at ${config.publicOrigin}/. To sign in, give a member a password with the token: find the owner's id with\n` +
          `GET /api/v2/members, then PATCH /api/v2/members/<id> with [{"op":"add","path":"/password","value":"<password>"}].\n\n`,
      ),
  });
  const flags = await startFlagsService({
    database,
    bus,
    assertions,
    logger: logger.child({ component: "flags" }),
    requestTimeoutMs: config.serviceTimeoutMs,
    unleash: { project: config.unleashProject, environment: config.unleashEnvironment },
  });
  const streaming = await startStreamingService({
    bus,
    logger: logger.child({ component: "streaming" }),
    requestTimeoutMs: config.serviceTimeoutMs,
    streamLimit: config.streamLimit,
    heartbeatMs: config.streamHeartbeatMs,
    evaluationsFlushMs: config.evaluationsFlushMs,
  });
  const webhooks = await startWebhooksService({
    database,
    bus,
    assertions,
    logger: logger.child({ component: "webhooks" }),
    secretsKey: secretsKeyFrom(config) ?? storedKey(config.dataDir, "secrets.key"),
    allowedNetworks: config.webhookAllowedNetworks,
    timeoutMs: config.webhookTimeoutMs,
    maxAttempts: config.webhookMaxAttempts,
    retryBaseMs: config.webhookRetryBaseMs,
    retryMaxMs: config.webhookRetryMaxMs,
    concurrency: config.webhookConcurrency,
  });
  await flags.bootstrapped;

  let shutdown = { isShuttingDown: () => false };
  const busVerifier = busCallerVerifier(bus, { timeoutMs: config.serviceTimeoutMs, assertions });
  const rateLimiter = config.rateLimitGlobal > 0 || config.rateLimitRoute > 0 ? createRateLimiter({ global: config.rateLimitGlobal, route: config.rateLimitRoute }, bus) : undefined;
  const verifier = overrides.verifier ? overrides.verifier(assertions) : busVerifier;
  const live = createLiveFeed({ bus, verifier, logger, replayTimeoutMs: config.serviceTimeoutMs });
  const gateway = createGateway({
    services: {
      auth: inProcessServiceClient("auth", auth.handle, config.serviceTimeoutMs),
      flags: inProcessServiceClient("flags", flags.handle, config.serviceTimeoutMs),
      webhooks: inProcessServiceClient("webhooks", webhooks.handle, config.serviceTimeoutMs),
    },
    verifier,
    logger,
    publicOrigin: config.publicOrigin,
    corsOrigins: config.corsOrigins,
    rateLimiter,
    console: consoleHandler(await ensureConsoleBuilt()),
    live,
    failures: createFailureLimiter(config.authFailureLimit),
    metricsToken: config.metricsToken,
    trustedProxies: config.trustedProxies,
    readiness: { checks: { database: () => database.ping(), bus: () => bus.ping() }, isShuttingDown: () => shutdown.isShuttingDown() },
  });
  // SDK requests go straight to the streaming service; the REST API goes through the gateway.
  const server = listen({
    port: config.port,
    host: config.host,
    logger,
    fetch: (r, s) => (STREAMING_PATHS.test(new URL(r.url).pathname) ? streaming.handle(r) : gateway.handle(r, () => s.requestIP(r)?.address)),
  });
  shutdown = onShutdown(logger, config.shutdownTimeoutMs, async () => {
    // Open streams would hold the server's stop forever: close them first (SDKs reconnect).
    streaming.closeStreams();
    live.close();
    await within(config.shutdownTimeoutMs, server.stop());
    busVerifier.stop();
    rateLimiter?.stop();
    await flags.stop();
    await webhooks.stop();
    auth.stop();
    streaming.stop();
    await bus.drain();
    await database.close();
  });
  logger.info("Vexil is listening", { url: `http://localhost:${server.port}`, database: database.kind, bus: bus.kind });
  return server;
}
