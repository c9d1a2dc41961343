/** What the auth use cases need, passed in: storage, event publishing, session keys, a clock. */
import type { EnvironmentKeysRevokedEvent, RevokedEvent } from "@vexil/shared/auth-messages";
import type { Logger } from "@vexil/shared/logger";
import type { AuthStore } from "../storage/auth-store.ts";

export interface AuthEvents {
  /** Every gateway and streaming instance drops these verdicts; resolves once the bus has it. */
  revoked(event: Omit<RevokedEvent, "v">): Promise<void>;
  environmentKeysRevoked(event: Omit<EnvironmentKeysRevokedEvent, "v">): Promise<void>;
}

export interface SessionKey {
  kid: string;
  secret: Uint8Array;
}

export interface AuthContext {
  store: AuthStore;
  events: AuthEvents;
  logger: Logger;
  now: () => number;
  /** The first key signs new sessions; all of them verify. */
  sessionKeys: SessionKey[];
  /** Cookies are `Secure` when the public origin is https. */
  publicOrigin: string;
}

export { API_VERSIONS, CURRENT_API_VERSION } from "@vexil/shared/api-versions";
