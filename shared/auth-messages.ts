/** Messages between the gateway, the flags service and the auth service (version 1). */
import type { Caller } from "./caller.ts";

/** An access token from `Authorization`, or a session cookie's JWT. */
export interface VerifyRequest {
  v: 1;
  token?: string;
  session?: string;
}

export type Verdict = { v: 1; ok: true; caller: Caller; sessionId?: string } | { v: 1; ok: false; reason: string };

export interface IssueEnvironmentKeysRequest {
  v: 1;
  environmentIds: string[];
}

export interface IssuedEnvironmentKeys {
  environmentId: string;
  sdkKey: string;
  mobileKey: string;
}

export interface IssueEnvironmentKeysReply {
  v: 1;
  keys: IssuedEnvironmentKeys[];
}

export interface DeleteEnvironmentKeysRequest {
  v: 1;
  environmentIds: string[];
}

/** Published by auth: cached verdicts naming these tokens, members or sessions (or all) are void. */
export interface RevokedEvent {
  v: 1;
  tokenIds?: string[];
  memberIds?: string[];
  sessionIds?: string[];
  all?: boolean;
}

/** Published by the gateways: when tokens were last used and members last seen, in batches. */
export interface UsageEvent {
  v: 1;
  tokens: Record<string, number>;
  members: Record<string, number>;
}

/** Flags → auth: a new SDK key (`sdk`) or mobile key (`mob`) for an environment. */
export interface ResetEnvironmentKeyRequest {
  v: 1;
  environmentId: string;
  kind: "sdk" | "mob";
  /** When the old key stops working (unix ms); now when absent. */
  expiry?: number;
  /** For the audit entry. */
  caller: Caller;
  spec: string;
}

export interface ResetEnvironmentKeyReply {
  v: 1;
  key: string;
}

/** Published by auth when environment keys stop working, so streams using them close. */
export interface EnvironmentKeysRevokedEvent {
  v: 1;
  environmentId: string;
  kind: "sdk" | "mob";
  selectors: string[];
  /** When they stop working (unix ms). */
  at: number;
}

/** Bus replies that failed carry `{error: {code, message}}` instead. */
export interface BusFailure {
  error: { code: string; message: string };
}
