/** The flags service on its own: `DATABASE_URL=… NATS_URL=… bun services/flags/main.ts`. */
import { runStandalone } from "@vexil/shared/standalone";
import { startFlagsService } from "./service.ts";

await runStandalone({
  name: "flags",
  usesDatabase: true,
  start: ({ config, logger, bus, database, assertions }) =>
    startFlagsService({
      database: database!,
      bus,
      logger,
      assertions,
      requestTimeoutMs: config.serviceTimeoutMs,
      unleash: { project: config.unleashProject, environment: config.unleashEnvironment },
    }),
});
