/** Everything the auth service runs, wired from its parts; used by `main.ts` and by the all-in-one process. */
import type { Assertions } from "@vexil/shared/assertion";
import type { Bus } from "@vexil/shared/bus/bus";
import type { Database } from "@vexil/shared/db/connector";
import { measuredHandle } from "@vexil/shared/http/measured";
import type { Logger } from "@vexil/shared/logger";
import { createAuthApp } from "./app.ts";
import { busAuthEvents, serveAuthBus } from "./bus-handlers.ts";
import { bootstrapAuth } from "./domain/bootstrap.ts";
import type { AuthContext, SessionKey } from "./domain/context.ts";
import { DrizzleAuthStore } from "./storage/drizzle-auth-store.ts";

export interface AuthServiceOptions {
  database: Database;
  bus: Bus;
  logger: Logger;
  assertions: Assertions;
  adminToken: string | undefined;
  sessionKeys: SessionKey[];
  publicOrigin: string;
  /** Where the generated bootstrap token is shown, once. */
  announce: (message: string) => void;
}

/** Session keys from configuration, or one derived from the internal key. */
export function sessionKeysFrom(configured: Array<{ kid: string; secret: string }>, internalKey: Uint8Array): SessionKey[] {
  if (configured.length > 0) return configured.map((k) => ({ kid: k.kid, secret: new TextEncoder().encode(k.secret) }));
  const derived = new Bun.CryptoHasher("sha256").update("vexil-session-key:").update(internalKey).digest();
  return [{ kid: "derived", secret: new Uint8Array(derived) }];
}

export async function startAuthService(options: AuthServiceOptions) {
  const store = new DrizzleAuthStore(options.database.db);
  const ctx: AuthContext = {
    store,
    events: busAuthEvents(options.bus),
    logger: options.logger,
    now: Date.now,
    sessionKeys: options.sessionKeys,
    publicOrigin: options.publicOrigin,
  };
  const result = await bootstrapAuth(store, options.adminToken);
  if (result.created) {
    options.logger.info("bootstrap: owner member and admin token created");
    if (result.generatedToken) {
      options.announce(`\nVexil admin access token (shown once, store it now):\n\n    ${result.generatedToken}\n\nSend it as the Authorization header of API calls.\n`);
    }
  }
  // Draining the bus at shutdown ends these subscriptions after their in-flight replies.
  serveAuthBus(options.bus, ctx);
  const app = createAuthApp(ctx, options.assertions);
  return {
    handle: measuredHandle("auth", app.routes, (request) => app.handle(request)),
    stop: () => {},
  };
}
