/** Everything the auth service runs, wired from its parts; used by `main.ts` and by the all-in-one process. */
import type { Bus } from "@vexil/shared/bus/bus";
import type { Database } from "@vexil/shared/db/connector";
import type { Logger } from "@vexil/shared/logger";
import { createAuthApp } from "./app.ts";
import { serveAuthBus } from "./bus-handlers.ts";
import { bootstrapAuth } from "./domain/bootstrap.ts";
import { DrizzleAuthStore } from "./storage/drizzle-auth-store.ts";

export interface AuthServiceOptions {
  database: Database;
  bus: Bus;
  logger: Logger;
  adminToken: string | undefined;
  /** Where the generated bootstrap token is shown, once. */
  announce: (message: string) => void;
}

export async function startAuthService(options: AuthServiceOptions) {
  const store = new DrizzleAuthStore(options.database.db);
  const result = await bootstrapAuth(store, options.adminToken);
  if (result.created) {
    options.logger.info("bootstrap: owner member and admin token created");
    if (result.generatedToken) {
      options.announce(`\nVexil admin access token (shown once, store it now):\n\n    ${result.generatedToken}\n\nSend it as the Authorization header of API calls.\n`);
    }
  }
  // Draining the bus at shutdown ends these subscriptions after their in-flight replies.
  serveAuthBus(options.bus, store, options.logger);
  const app = createAuthApp({ store, logger: options.logger });
  return {
    handle: (request: Request) => app.handle(request),
    stop: () => {},
  };
}
