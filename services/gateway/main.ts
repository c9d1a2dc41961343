/** The gateway on its own: `NATS_URL=… PORT=8080 bun services/gateway/main.ts`. Run as many as you like. */
import { connectNatsBus } from "@vexil/shared/bus/nats-bus";
import { loadConfig } from "@vexil/shared/config";
import { listen, onShutdown, runMain, within } from "@vexil/shared/lifecycle";
import { createLogger } from "@vexil/shared/logger";
import { busServiceClient } from "@vexil/shared/transport/http-over-bus";
import { createGateway } from "./app.ts";
import { busCallerVerifier } from "./caller-verifier.ts";
import { createFailureLimiter } from "./failure-limiter.ts";
import { createAssertions, keyFrom } from "@vexil/shared/assertion";

await runMain(async () => {
  const config = loadConfig(process.env, { nats: true, database: false });
  const logger = createLogger(config.logLevel, { service: "gateway", pid: process.pid });
  const bus = await connectNatsBus(config.natsUrl!, "vexil-gateway", logger);
  let shutdown = { isShuttingDown: () => false };
  const verifier = busCallerVerifier(bus, { timeoutMs: config.serviceTimeoutMs, assertions: createAssertions(keyFrom(config.internalKey!)) });
  const gateway = createGateway({
    services: {
      auth: busServiceClient(bus, "auth", config.serviceTimeoutMs),
      flags: busServiceClient(bus, "flags", config.serviceTimeoutMs),
    },
    verifier,
    logger,
    publicOrigin: config.publicOrigin,
    failures: createFailureLimiter(config.authFailureLimit),
    readiness: { checks: { bus: () => bus.ping() }, isShuttingDown: () => shutdown.isShuttingDown() },
  });
  const server = listen({ port: config.port, host: config.host, fetch: (r, s) => gateway.handle(r, s.requestIP(r)?.address) });
  shutdown = onShutdown(logger, config.shutdownTimeoutMs, async () => {
    await within(config.shutdownTimeoutMs, server.stop());
    verifier.stop();
    await bus.drain();
  });
  logger.info("started", { port: server.port });
});
