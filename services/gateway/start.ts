/** A gateway started alone, from a validated config: NATS to the services, the public port. */
import { createAssertions, keyFrom, type Assertions } from "@vexil/shared/assertion";
import { connectNatsBus } from "@vexil/shared/bus/nats-bus";
import type { Config } from "@vexil/shared/config";
import { listen, onShutdown, within } from "@vexil/shared/lifecycle";
import { createLogger } from "@vexil/shared/logger";
import { collectProcessMetrics } from "@vexil/shared/metrics";
import { busServiceClient } from "@vexil/shared/transport/http-over-bus";
import { ensureConsoleBuilt } from "@vexil/console/build";
import { consoleHandler } from "@vexil/console/serve";
import { createGateway } from "./app.ts";
import { busCallerVerifier, type CallerVerifier } from "./caller-verifier.ts";
import { createFailureLimiter } from "./failure-limiter.ts";
import { createRateLimiter } from "./rate-limiter.ts";
import { createLiveFeed } from "./live.ts";

export interface GatewayOverrides {
  /** Replaces the credential check (benchmarks measure the cost of authentication with it). */
  verifier?: (assertions: Assertions) => CallerVerifier;
}

export async function startGateway(config: Config, overrides: GatewayOverrides = {}) {
  const logger = createLogger(config.logLevel, { service: "gateway", pid: process.pid });
  collectProcessMetrics();
  // Nothing the gateway publishes is for itself: its rate counts are for the other gateways.
  const bus = await connectNatsBus(config.natsUrl!, "vexil-gateway", logger, { echo: false });
  const assertions = createAssertions(keyFrom(config.internalKey!));
  const busVerifier = busCallerVerifier(bus, { timeoutMs: config.serviceTimeoutMs, assertions });
  const rateLimiter = config.rateLimitGlobal > 0 || config.rateLimitRoute > 0 ? createRateLimiter({ global: config.rateLimitGlobal, route: config.rateLimitRoute }, bus) : undefined;
  let shutdown = { isShuttingDown: () => false };
  const verifier = overrides.verifier ? overrides.verifier(assertions) : busVerifier;
  const live = createLiveFeed({ bus, verifier, logger, replayTimeoutMs: config.serviceTimeoutMs });
  const gateway = createGateway({
    services: {
      auth: busServiceClient(bus, "auth", config.serviceTimeoutMs),
      flags: busServiceClient(bus, "flags", config.serviceTimeoutMs),
      webhooks: busServiceClient(bus, "webhooks", config.serviceTimeoutMs),
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
    readiness: { checks: { bus: () => bus.ping() }, isShuttingDown: () => shutdown.isShuttingDown() },
  });
  const server = listen({ port: config.port, host: config.host, logger, fetch: (r, s) => gateway.handle(r, () => s.requestIP(r)?.address) });
  shutdown = onShutdown(logger, config.shutdownTimeoutMs, async () => {
    // Open feeds would hold the server's stop forever: end them first (browsers reconnect).
    live.close();
    await within(config.shutdownTimeoutMs, server.stop());
    busVerifier.stop();
    rateLimiter?.stop();
    await bus.drain();
  });
  logger.info("started", { port: server.port });
  return server;
}
