/**
 * The common composition root of a service started on its own (`bun services/<name>/main.ts`):
 * config, Postgres (migrated) when the service has tables, NATS, its HTTP routes served over the
 * bus in its queue group, `/healthz` and `/readyz` on PORT, and graceful shutdown.
 */
import { Elysia } from "elysia";
import { createAssertions, keyFrom, type Assertions } from "./assertion.ts";
import type { Bus } from "./bus/bus.ts";
import { connectNatsBus } from "./bus/nats-bus.ts";
import { loadConfig, type Config } from "./config.ts";
import { openDatabase, type Database } from "./db/connector.ts";
import { containDriverFailures } from "./db/driver-failures.ts";
import { migrate } from "./db/migrate.ts";
import { healthRoutes, type Check } from "./http/health.ts";
import { listen, onShutdown, runMain, within } from "./lifecycle.ts";
import { createLogger, type Logger } from "./logger.ts";
import type { ServiceName } from "./subjects.ts";
import { serveHttpOverBus } from "./transport/http-over-bus.ts";

export interface StandaloneDeps {
  config: Config;
  assertions: Assertions;
  logger: Logger;
  bus: Bus;
  database: Database | undefined;
}

export interface StartedService {
  /** The service's HTTP app, answered over the bus. */
  handle?: (request: Request) => Promise<Response>;
  /** Routes the service answers on its own port, next to `/healthz` and `/readyz` (the streaming service's SDK endpoints). */
  publicHandle?: (request: Request) => Promise<Response>;
  /** Called first on shutdown, before the HTTP server stops (e.g. to close open streams). */
  beforeStop?: () => void;
  /** Stop taking new work (timers, subscriptions of its own). */
  stop(): void | Promise<void>;
}

export interface StandaloneSpec {
  name: Exclude<ServiceName, "gateway">;
  usesDatabase: boolean;
  start(deps: StandaloneDeps): Promise<StartedService>;
}

export function runStandalone(spec: StandaloneSpec): Promise<void> {
  return runMain(async () => {
    const config = loadConfig(process.env, { nats: true, database: spec.usesDatabase });
    const logger = createLogger(config.logLevel, { service: spec.name, pid: process.pid });
    let database: Database | undefined;
    if (spec.usesDatabase) {
      database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
      const opened = database;
      // A database outage must never end the process (the driver can throw outside any query).
      containDriverFailures(logger, () => opened.renewPool());
      await migrate(database.db);
    }
    const bus = await connectNatsBus(config.natsUrl!, `vexil-${spec.name}`, logger);
    const assertions = createAssertions(keyFrom(config.internalKey!));
    const service = await spec.start({ config, logger, bus, database, assertions });
    if (service.handle) serveHttpOverBus(bus, spec.name, service.handle, logger);

    const checks: Record<string, Check> = { bus: () => bus.ping() };
    if (database) checks.database = () => database!.ping();
    let shutdown = { isShuttingDown: () => false };
    const health = new Elysia().use(healthRoutes({ checks, isShuttingDown: () => shutdown.isShuttingDown() }));
    const publicHandle = service.publicHandle;
    const isHealth = (r: Request) => /^\/(healthz|readyz)$/.test(new URL(r.url).pathname);
    const server = listen({ port: config.port, host: config.host, logger, fetch: (r) => (publicHandle && !isHealth(r) ? publicHandle(r) : health.handle(r)) });
    shutdown = onShutdown(logger, config.shutdownTimeoutMs, async () => {
      service.beforeStop?.();
      await service.stop();
      await within(config.shutdownTimeoutMs, bus.drain());
      await server.stop();
      await database?.close();
    });
    logger.info("started", { port: server.port, database: database?.kind, bus: bus.kind });
  });
}
