/**
 * Environment SDK keys and mobile keys: issued with new environments, reset on request. Values are
 * returned once; only verifiers are stored. A reset SDK key may keep working until an expiry;
 * a reset mobile key dies at once.
 */
import type { IssuedEnvironmentKeys } from "@vexil/shared/auth-messages";
import { auditEntry } from "@vexil/shared/audit/audit";
import type { Caller } from "@vexil/shared/caller";
import { invalidRequest } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { issueCredential, matchesVerifier, parseCredential } from "@vexil/shared/secrets";
import type { AuthStore, EnvironmentKeyRecord } from "../storage/auth-store.ts";
import type { AuthContext } from "./context.ts";

const ENVIRONMENT_ID = /^[0-9a-f]{24}$/;

function keyRecord(environmentId: string, kind: "sdk" | "mob", now: number) {
  const c = issueCredential(kind);
  const record: EnvironmentKeyRecord = { id: resourceId(), environmentId, kind, selector: c.selector, verifier: c.verifier, last4: c.last4, createdAt: now, expiresAt: null };
  return { record, value: c.value };
}

export async function issueEnvironmentKeys(store: AuthStore, environmentIds: string[], now = Date.now()): Promise<IssuedEnvironmentKeys[]> {
  if (environmentIds.length === 0 || environmentIds.length > 100 || !environmentIds.every((id) => ENVIRONMENT_ID.test(id))) {
    throw invalidRequest("environmentIds must be 1 to 100 environment ids");
  }
  const records: EnvironmentKeyRecord[] = [];
  const issued: IssuedEnvironmentKeys[] = [];
  for (const environmentId of environmentIds) {
    const sdk = keyRecord(environmentId, "sdk", now);
    const mob = keyRecord(environmentId, "mob", now);
    records.push(sdk.record, mob.record);
    issued.push({ environmentId, sdkKey: sdk.value, mobileKey: mob.value });
  }
  await store.insertEnvironmentKeys(records);
  return issued;
}

export interface ResetInput {
  environmentId: string;
  kind: "sdk" | "mob";
  /** Unix ms when the old key stops working; now when absent (always now for mobile keys). */
  expiry?: number;
  caller: Caller;
  spec: string;
}

export async function resetEnvironmentKey(ctx: AuthContext, input: ResetInput): Promise<string> {
  if (!ENVIRONMENT_ID.test(input.environmentId)) throw invalidRequest("environmentId must be an environment id");
  if (input.kind !== "sdk" && input.kind !== "mob") throw invalidRequest("kind must be sdk or mob");
  const now = ctx.now();
  const expireAt = input.kind === "sdk" && input.expiry !== undefined && input.expiry > now ? input.expiry : now;
  const old = await ctx.store.liveEnvironmentKeys(input.environmentId, input.kind, now);
  const { record, value } = keyRecord(input.environmentId, input.kind, now);
  const action = input.kind === "sdk" ? "updateApiKey" : "updateMobileKey";
  const audit = auditEntry({
    caller: input.caller,
    kind: "environment",
    spec: input.spec,
    name: input.spec,
    verb: input.kind === "sdk" ? "reset the SDK key of" : "reset the mobile key of",
    actions: [action],
    description: expireAt > now ? `The old key works until ${new Date(expireAt).toISOString()}` : "The old key stopped working at once",
    now,
  });
  await ctx.store.rotateEnvironmentKey(record, expireAt, audit);
  if (old.length > 0) await ctx.events.environmentKeysRevoked({ environmentId: input.environmentId, kind: input.kind, selectors: old.map((k) => k.selector), at: expireAt });
  return value;
}

export type SdkKeyVerdict = { v: 1; ok: true; environmentId: string; kind: "sdk" | "mob" } | { v: 1; ok: false; reason: string };

/** Whether an SDK key or mobile key works now, and for which environment. */
export async function verifyEnvironmentKey(store: AuthStore, presented: string, now = Date.now()): Promise<SdkKeyVerdict> {
  const refuse: SdkKeyVerdict = { v: 1, ok: false, reason: "Invalid SDK key" };
  const parsed = parseCredential(presented.trim());
  if (!parsed || parsed.kind === "api") return refuse;
  const key = await store.environmentKeyBySelector(parsed.selector);
  if (!key || key.kind !== parsed.kind || !matchesVerifier(presented.trim(), key.verifier)) return refuse;
  if (key.expiresAt !== null && key.expiresAt <= now) return { v: 1, ok: false, reason: "This key has been reset and no longer works" };
  return { v: 1, ok: true, environmentId: key.environmentId, kind: key.kind };
}
