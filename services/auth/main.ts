/** The auth service on its own: `DATABASE_URL=… NATS_URL=… bun services/auth/main.ts`. */
import { runStandalone } from "@vexil/shared/standalone";
import { keyFrom } from "@vexil/shared/assertion";
import { sessionKeysFrom, startAuthService } from "./service.ts";

await runStandalone({
  name: "auth",
  usesDatabase: true,
  start: ({ config, logger, bus, database, assertions }) =>
    startAuthService({
      database: database!,
      bus,
      logger,
      assertions,
      adminToken: config.adminToken,
      sessionKeys: sessionKeysFrom(config.sessionKeys, keyFrom(config.internalKey!)),
      publicOrigin: config.publicOrigin,
      announce: (m) => process.stdout.write(m + "\n"),
    }),
});
