/** The auth service on its own: `DATABASE_URL=… NATS_URL=… bun services/auth/main.ts`. */
import { runStandalone } from "@vexil/shared/standalone";
import { startAuthService } from "./service.ts";

await runStandalone({
  name: "auth",
  usesDatabase: true,
  start: ({ config, logger, bus, database }) =>
    startAuthService({ database: database!, bus, logger, adminToken: config.adminToken, announce: (m) => process.stdout.write(m + "\n") }),
});
