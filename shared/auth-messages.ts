/** Messages between the gateway, the flags service and the auth service (version 1). */
import type { Caller } from "./caller.ts";

export interface VerifyRequest {
  v: 1;
  token: string;
}

export type Verdict = { v: 1; ok: true; caller: Caller } | { v: 1; ok: false; reason: string };

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

/** Published by auth: cached verdicts for these token ids or credential verifiers are void. */
export interface RevokedEvent {
  v: 1;
  tokenIds: string[];
}

/** Bus replies that failed carry `{error: {code, message}}` instead. */
export interface BusFailure {
  error: { code: string; message: string };
}
