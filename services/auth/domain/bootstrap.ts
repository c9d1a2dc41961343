/**
 * First start: an owner member and an admin access token. The token is `VEXIL_ADMIN_TOKEN`
 * as given, or a generated one that the caller prints once. Only its verifier is stored.
 */
import { resourceId } from "@vexil/shared/ids";
import { freeformSelector, issueCredential, parseCredential, verifierOf } from "@vexil/shared/secrets";
import type { AuthStore, MemberRecord, TokenRecord } from "../storage/auth-store.ts";

import { CURRENT_API_VERSION } from "./context.ts";

export { CURRENT_API_VERSION };

export interface BootstrapResult {
  created: boolean;
  /** Set only when Vexil generated the token: the one time it is shown. */
  generatedToken?: string;
}

export async function bootstrapAuth(store: AuthStore, adminToken: string | undefined, now = Date.now()): Promise<BootstrapResult> {
  const owner: MemberRecord = {
    id: resourceId(),
    email: "owner@vexil.local",
    firstName: "Owner",
    lastName: null,
    role: "owner",
    customRoles: [],
    passwordHash: null,
    createdAt: now,
    lastSeen: null,
    version: 1,
  };
  let value: string;
  let selector: string;
  if (adminToken) {
    value = adminToken;
    const parsed = parseCredential(adminToken);
    selector = parsed?.kind === "api" ? parsed.selector : freeformSelector(adminToken);
  } else {
    const issued = issueCredential("api");
    value = issued.value;
    selector = issued.selector;
  }
  const token: TokenRecord = {
    id: resourceId(),
    selector,
    verifier: verifierOf(value),
    last4: value.slice(-4),
    name: "bootstrap admin token",
    description: "Created on first start",
    ownerId: owner.id,
    memberId: owner.id,
    role: "admin",
    customRoleIds: [],
    inlineRole: null,
    serviceToken: false,
    defaultApiVersion: CURRENT_API_VERSION,
    createdAt: now,
    lastModified: now,
    lastUsed: null,
    expiresAt: null,
    version: 1,
  };
  const created = await store.bootstrap(owner, token);
  return created && !adminToken ? { created, generatedToken: value } : { created };
}
