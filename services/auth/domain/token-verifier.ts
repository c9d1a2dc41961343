/**
 * Decides whether a presented access token opens the REST API. The cheap format check runs
 * before any lookup; SDK keys and mobile keys are refused here whatever their validity.
 */
import type { Verdict } from "@vexil/shared/auth-messages";
import { CREDENTIAL_SHAPE, freeformSelector, matchesVerifier, parseCredential } from "@vexil/shared/secrets";
import type { AuthStore } from "../storage/auth-store.ts";

const refuse = (reason: string): Verdict => ({ v: 1, ok: false, reason });

export async function verifyAccessToken(store: AuthStore, presented: string, now = Date.now()): Promise<Verdict> {
  const token = presented.trim();
  if (token.length < 16 || token.length > 256) return refuse("Invalid access token");
  const parsed = parseCredential(token);
  if (parsed && parsed.kind !== "api") return refuse("SDK keys and mobile keys cannot be used on the REST API; use an access token");
  // The shape of a generated credential with a wrong checksum: garbage, no lookup.
  if (!parsed && CREDENTIAL_SHAPE.test(token)) return refuse("Invalid access token");
  const record = await store.tokenBySelector(parsed ? parsed.selector : freeformSelector(token));
  if (!record || !matchesVerifier(token, record.verifier)) return refuse("Invalid access token");
  if (record.expiresAt !== null && record.expiresAt <= now) return refuse("This access token has expired");
  return {
    v: 1,
    ok: true,
    caller: {
      tokenId: record.id,
      tokenName: record.name,
      memberId: record.serviceToken ? null : record.memberId,
      role: record.role,
      serviceToken: record.serviceToken,
    },
  };
}
