/**
 * Decides whether a presented access token opens the REST API, and as whom. The cheap format
 * check runs before any lookup; SDK keys and mobile keys are refused here whatever their validity.
 * A reset token's earlier secret works until the expiry given at the reset.
 */
import type { Verdict } from "@vexil/shared/auth-messages";
import { CREDENTIAL_SHAPE, freeformSelector, matchesVerifier, parseCredential } from "@vexil/shared/secrets";
import type { AuthStore, TokenRecord } from "../storage/auth-store.ts";
import { tokenCaller } from "./grants.ts";

const refuse = (reason: string): Verdict => ({ v: 1, ok: false, reason });
const INVALID = "Invalid access token";

async function findToken(store: AuthStore, token: string, selector: string, now: number): Promise<TokenRecord | undefined> {
  const current = await store.tokenBySelector(selector);
  if (current) return matchesVerifier(token, current.verifier) ? current : undefined;
  const retired = await store.retiredSecret(selector);
  if (!retired || retired.expiresAt <= now || !matchesVerifier(token, retired.verifier)) return undefined;
  return store.tokenById(retired.tokenId);
}

export async function verifyAccessToken(store: AuthStore, presented: string, now = Date.now()): Promise<Verdict> {
  const token = presented.trim();
  if (token.length < 16 || token.length > 256) return refuse(INVALID);
  const parsed = parseCredential(token);
  if (parsed && parsed.kind !== "api") return refuse("SDK keys and mobile keys cannot be used on the REST API; use an access token");
  // The shape of a generated credential with a wrong checksum: garbage, no lookup.
  if (!parsed && CREDENTIAL_SHAPE.test(token)) return refuse(INVALID);
  const record = await findToken(store, token, parsed ? parsed.selector : freeformSelector(token), now);
  if (!record) return refuse(INVALID);
  if (record.expiresAt !== null && record.expiresAt <= now) return refuse("This access token has expired");
  const member = record.serviceToken ? undefined : await store.memberById(record.memberId);
  if (!record.serviceToken && !member) return refuse("This access token's member no longer exists");
  const tokenRoles = record.customRoleIds.length > 0 ? await store.rolesByKeysOrIds(record.customRoleIds) : [];
  const memberRoles = member && member.customRoles.length > 0 ? await store.rolesByKeysOrIds(member.customRoles) : [];
  return { v: 1, ok: true, caller: tokenCaller(record, member, { token: tokenRoles, member: memberRoles }) };
}
