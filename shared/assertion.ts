/**
 * The caller assertion: a short-lived JWT (HS256, `jose`) the gateway signs for each verified
 * caller and the services check, so a service reached on the bus without the gateway cannot be
 * told who is calling. The payload's shape is checked after the signature.
 */
import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { SignJWT, jwtVerify } from "jose";
import { CALLER_HEADER, type Caller } from "./caller.ts";
import { unauthorized } from "./errors.ts";

const ISSUER = "vexil-gateway";
const AUDIENCE = "vexil-services";
/** Lifetime of an assertion; the gateway reuses one for at most its verdict cache time, well within this. */
export const ASSERTION_TTL_SECONDS = 120;

const StatementSchema = T.Object({
  effect: T.Union([T.Literal("allow"), T.Literal("deny")]),
  resources: T.Optional(T.Array(T.String())),
  notResources: T.Optional(T.Array(T.String())),
  actions: T.Optional(T.Array(T.String())),
  notActions: T.Optional(T.Array(T.String())),
});

const CallerSchema = T.Object({
  kind: T.Union([T.Literal("token"), T.Literal("session")]),
  tokenId: T.Union([T.String(), T.Null()]),
  tokenName: T.Union([T.String(), T.Null()]),
  memberId: T.Union([T.String(), T.Null()]),
  memberEmail: T.Union([T.String(), T.Null()]),
  role: T.String(),
  serviceToken: T.Boolean(),
  grants: T.Array(T.Object({ base: T.Union([T.Literal("reader"), T.Literal("no_access")]), statements: T.Array(StatementSchema) })),
});

export interface Assertions {
  sign(caller: Caller): Promise<string>;
  /** The caller of a request forwarded by the gateway; 401 when absent or not genuine. */
  callerOf(request: Request): Promise<Caller>;
}

export function keyFrom(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export function createAssertions(secret: Uint8Array): Assertions {
  const verified = new Map<string, { caller: Caller; exp: number }>();
  return {
    sign: (caller) =>
      new SignJWT({ caller })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ASSERTION_TTL_SECONDS}s`)
        .sign(secret),
    async callerOf(request) {
      const jwt = request.headers.get(CALLER_HEADER);
      if (!jwt) throw unauthorized("No verified caller: call through the gateway with an access token");
      const hit = verified.get(jwt);
      if (hit && hit.exp * 1000 > Date.now()) return hit.caller;
      let payload;
      try {
        ({ payload } = await jwtVerify(jwt, secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ["HS256"] }));
      } catch {
        throw unauthorized("The caller assertion is not valid");
      }
      if (!Value.Check(CallerSchema, payload.caller) || typeof payload.exp !== "number") throw unauthorized("The caller assertion is malformed");
      const caller = payload.caller as Caller;
      if (verified.size > 10_000) verified.clear();
      verified.set(jwt, { caller, exp: payload.exp });
      return caller;
    },
  };
}
