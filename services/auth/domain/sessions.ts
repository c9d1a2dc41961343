/**
 * Browser sessions: email and password give an HttpOnly cookie holding a short-lived JWT
 * (HS256 with `jose`, key chosen by `kid` so keys can rotate). The JWT names a session row, so
 * logging out ends the session everywhere at once.
 */
import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { SignJWT, decodeProtectedHeader, jwtVerify } from "jose";
import type { Verdict } from "@vexil/shared/auth-messages";
import { unauthorized } from "@vexil/shared/errors";
import { SESSION_COOKIE } from "@vexil/shared/http/cookies";
import { resourceId } from "@vexil/shared/ids";
import type { AuthContext } from "./context.ts";
import { sessionCaller } from "./grants.ts";

export const SESSION_TTL_SECONDS = 3600;
const ISSUER = "vexil-auth";

const Claims = T.Object({ sid: T.String({ pattern: "^[0-9a-f]{24}$" }), sub: T.String(), exp: T.Number() });

/** A fixed hash to verify against when the email is unknown, so both paths take as long. */
let dummyHash: Promise<string> | undefined;

export async function login(ctx: AuthContext, email: string, password: string): Promise<{ jwt: string; cookie: string }> {
  const member = await ctx.store.memberByEmail(email.toLowerCase());
  dummyHash ??= Bun.password.hash("not a real password", "argon2id");
  const hash = member?.passwordHash ?? (await dummyHash);
  const ok = await Bun.password.verify(password, hash);
  if (!member || !member.passwordHash || !ok || member.role === "no_access" && member.customRoles.length === 0) {
    throw unauthorized("Wrong email or password");
  }
  const now = ctx.now();
  const session = { id: resourceId(), memberId: member.id, createdAt: now, expiresAt: now + SESSION_TTL_SECONDS * 1000 };
  await ctx.store.insertSession(session);
  const key = ctx.sessionKeys[0]!;
  const jwt = await new SignJWT({ sid: session.id })
    .setProtectedHeader({ alg: "HS256", kid: key.kid })
    .setSubject(member.id)
    .setIssuer(ISSUER)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(session.expiresAt / 1000))
    .sign(key.secret);
  return { jwt, cookie: sessionCookie(ctx, jwt, SESSION_TTL_SECONDS) };
}

export function sessionCookie(ctx: AuthContext, value: string, maxAge: number): string {
  const secure = ctx.publicOrigin.startsWith("https:") ? "; Secure" : "";
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`;
}

async function claimsOf(ctx: AuthContext, jwt: string): Promise<{ sid: string; sub: string } | undefined> {
  try {
    const { kid } = decodeProtectedHeader(jwt);
    const key = ctx.sessionKeys.find((k) => k.kid === kid);
    if (!key) return undefined;
    const { payload } = await jwtVerify(jwt, key.secret, { issuer: ISSUER, algorithms: ["HS256"], currentDate: new Date(ctx.now()) });
    return Value.Check(Claims, payload) ? { sid: payload.sid, sub: payload.sub } : undefined;
  } catch {
    return undefined;
  }
}

export async function verifySession(ctx: AuthContext, jwt: string): Promise<Verdict> {
  const claims = await claimsOf(ctx, jwt);
  const refuse: Verdict = { v: 1, ok: false, reason: "The session has ended; sign in again" };
  if (!claims) return refuse;
  const session = await ctx.store.sessionById(claims.sid);
  if (!session || session.memberId !== claims.sub || session.expiresAt <= ctx.now()) return refuse;
  const member = await ctx.store.memberById(session.memberId);
  if (!member) return refuse;
  const roles = member.customRoles.length > 0 ? await ctx.store.rolesByKeysOrIds(member.customRoles) : [];
  return { v: 1, ok: true, caller: sessionCaller(member, roles), sessionId: session.id };
}

/** Ends the session named by the cookie, if any; the cookie is cleared either way. */
export async function logout(ctx: AuthContext, jwt: string | undefined): Promise<string> {
  const claims = jwt ? await claimsOf(ctx, jwt) : undefined;
  if (claims && (await ctx.store.deleteSession(claims.sid))) await ctx.events.revoked({ sessionIds: [claims.sid] });
  return sessionCookie(ctx, "", 0);
}
