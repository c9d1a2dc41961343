/** Browser sessions: signing in and out, the cookie, the JWT and its keys. */
import { beforeAll, describe, expect, test } from "bun:test";
import { SignJWT, decodeProtectedHeader } from "jose";
import { SESSION_COOKIE } from "@vexil/shared/http/cookies";
import { SESSION_TTL_SECONDS, login, logout, sessionCookie, verifySession } from "@vexil/auth/domain/sessions";
import { NOW, addMember, placeholderAudit, rejection, sessionKey, testAuth, type TestAuth } from "../auth-context.ts";

const PASSWORD = "open sesame, please";
let passwordHash: string;
// A low-cost argon2id hash: verification takes its cost from the hash, so tests stay quick.
beforeAll(async () => {
  passwordHash = await Bun.password.hash(PASSWORD, { algorithm: "argon2id", memoryCost: 1024, timeCost: 1 });
});

async function withMember(role = "writer", over: Parameters<typeof testAuth>[0] = {}) {
  const t = testAuth(over);
  const member = await addMember(t, { email: "dee@example.com", role, passwordHash });
  return { t, member };
}

const refused = async (t: TestAuth, jwt: string) => {
  const verdict = await verifySession(t.ctx, jwt);
  expect(verdict).toEqual({ v: 1, ok: false, reason: "The session has ended; sign in again" });
};

describe("login", () => {
  test("the right password opens a session: an HttpOnly, SameSite=Strict, Secure cookie holding a JWT", async () => {
    const { t, member } = await withMember("writer");
    const { jwt, cookie } = await login(t.ctx, "Dee@Example.com", PASSWORD);
    expect(cookie).toBe(`${SESSION_COOKIE}=${jwt}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_SECONDS}; Secure`);
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: "HS256", kid: "k1" });

    const insert = t.store.calls.find((c) => c.method === "insertSession")!;
    const session = insert.args[0] as { id: string; memberId: string; createdAt: number; expiresAt: number };
    expect(session).toEqual({ id: expect.stringMatching(/^[0-9a-f]{24}$/), memberId: member.id, createdAt: NOW, expiresAt: NOW + SESSION_TTL_SECONDS * 1000 });
    expect(t.store.received()).not.toContain(PASSWORD);

    const verdict = await verifySession(t.ctx, jwt);
    expect(verdict).toMatchObject({
      v: 1,
      ok: true,
      sessionId: session.id,
      caller: { kind: "session", tokenId: null, tokenName: null, memberId: member.id, memberEmail: "dee@example.com", role: "writer", serviceToken: false },
    });
  });

  test("a wrong password, an unknown email and a member without a password get the same 401", async () => {
    const { t } = await withMember();
    await addMember(t, { email: "nopass@example.com", passwordHash: null });
    const messages = [];
    for (const [email, password] of [
      ["dee@example.com", "not the password"],
      ["nobody@example.com", PASSWORD],
      ["nopass@example.com", PASSWORD],
    ] as const) {
      const error = await rejection(login(t.ctx, email, password), "unauthorized");
      expect(error.status).toBe(401);
      messages.push(error.message);
    }
    expect(new Set(messages)).toEqual(new Set(["Wrong email or password"]));
    expect(t.store.methods()).not.toContain("insertSession");
  });

  test("a member with no access and no custom roles cannot sign in", async () => {
    const { t } = await withMember("no_access");
    await rejection(login(t.ctx, "dee@example.com", PASSWORD), "unauthorized");
  });

  test("the cookie is Secure only for an https public origin", async () => {
    expect(sessionCookie(testAuth({ publicOrigin: "https://flags.example.com" }).ctx, "v", 60)).toBe(`${SESSION_COOKIE}=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure`);
    expect(sessionCookie(testAuth({ publicOrigin: "http://localhost:8080" }).ctx, "v", 60)).toBe(`${SESSION_COOKIE}=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60`);
  });
});

describe("verifySession", () => {
  test("a session reflects its member as stored now", async () => {
    const { t, member } = await withMember("writer");
    const { jwt } = await login(t.ctx, "dee@example.com", PASSWORD);
    await t.store.inner.updateMember({ ...member, role: "reader", version: 2 }, 1, placeholderAudit());
    expect(await verifySession(t.ctx, jwt)).toMatchObject({ ok: true, caller: { role: "reader" } });
  });

  test("a session ends at its expiry, when its member is removed, and for a tampered or foreign JWT", async () => {
    const { t, member } = await withMember();
    const { jwt } = await login(t.ctx, "dee@example.com", PASSWORD);
    t.clock.now = NOW + SESSION_TTL_SECONDS * 1000 - 1;
    expect((await verifySession(t.ctx, jwt)).ok).toBe(true);
    t.clock.now = NOW + SESSION_TTL_SECONDS * 1000;
    await refused(t, jwt);
    t.clock.now = NOW;

    const [header, payload, signature] = jwt.split(".");
    const flipped = signature!.startsWith("A") ? `B${signature!.slice(1)}` : `A${signature!.slice(1)}`;
    await refused(t, `${header}.${payload}.${flipped}`);
    await refused(t, "not-a-jwt");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as { sid: string; sub: string; iss: string };
    const foreign = await new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setSubject(claims.sub)
      .setIssuer(claims.iss)
      .setExpirationTime(Math.floor(NOW / 1000) + 60)
      .sign(crypto.getRandomValues(new Uint8Array(32)));
    await refused(t, foreign);

    await t.store.inner.deleteMember(member.id, placeholderAudit());
    await refused(t, jwt);
  });

  test("a JWT naming another member's session is refused", async () => {
    const { t } = await withMember();
    const { jwt } = await login(t.ctx, "dee@example.com", PASSWORD);
    const [, payload] = jwt.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as { sid: string; iss: string };
    const key = t.ctx.sessionKeys[0]!;
    const other = await addMember(t);
    const swapped = await new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: "HS256", kid: key.kid })
      .setSubject(other.id)
      .setIssuer(claims.iss)
      .setExpirationTime(Math.floor(NOW / 1000) + 60)
      .sign(key.secret);
    await refused(t, swapped);
  });

  test("key rotation: an older key verifies while it is listed, and not after it is removed", async () => {
    const { t } = await withMember();
    const older = await login(t.ctx, "dee@example.com", PASSWORD);
    const k1 = t.ctx.sessionKeys[0]!;
    const k2 = sessionKey("k2");

    t.ctx.sessionKeys = [k2, k1];
    expect((await verifySession(t.ctx, older.jwt)).ok).toBe(true);
    const newer = await login(t.ctx, "dee@example.com", PASSWORD);
    expect(decodeProtectedHeader(newer.jwt).kid).toBe("k2");

    t.ctx.sessionKeys = [k2];
    await refused(t, older.jwt);
    expect((await verifySession(t.ctx, newer.jwt)).ok).toBe(true);
  });
});

describe("logout", () => {
  test("ends the session everywhere and clears the cookie", async () => {
    const { t } = await withMember();
    const { jwt } = await login(t.ctx, "dee@example.com", PASSWORD);
    const verdict = (await verifySession(t.ctx, jwt)) as { sessionId: string };
    const cleared = await logout(t.ctx, jwt);
    expect(cleared).toBe(`${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure`);
    expect(t.events.revocations).toEqual([{ sessionIds: [verdict.sessionId] }]);
    expect(await t.store.inner.sessionById(verdict.sessionId)).toBeUndefined();
    await refused(t, jwt);

    // Signing out again, or without a cookie, only clears the cookie.
    expect(await logout(t.ctx, jwt)).toBe(cleared);
    expect(await logout(t.ctx, undefined)).toBe(cleared);
    expect(await logout(t.ctx, "garbage")).toBe(cleared);
    expect(t.events.revocations).toHaveLength(1);
  });
});
