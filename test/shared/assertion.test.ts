/** The signed caller assertion between the gateway and the services. */
import { describe, expect, test } from "bun:test";
import { SignJWT, decodeJwt, decodeProtectedHeader } from "jose";
import { ASSERTION_TTL_SECONDS, createAssertions, keyFrom } from "@vexil/shared/assertion";
import { CALLER_HEADER, type Caller } from "@vexil/shared/caller";
import { VexilError } from "@vexil/shared/errors";

const ISSUER = "vexil-gateway";
const AUDIENCE = "vexil-services";

const key = () => crypto.getRandomValues(new Uint8Array(32));

const caller: Caller = {
  kind: "token",
  tokenId: "0123456789abcdef01234567",
  tokenName: "ci ✓ ünïcode",
  memberId: "76543210fedcba9876543210",
  memberEmail: "dee@example.com",
  role: "writer",
  serviceToken: false,
  grants: [
    { base: "reader", statements: [{ effect: "allow", resources: ["proj/*:env/*:flag/*"], actions: ["*"] }] },
    { base: "no_access", statements: [{ effect: "deny", notResources: ["proj/a"], notActions: ["read*"] }] },
  ],
};

const requestWith = (value?: string) => new Request("http://vexil.internal/x", { headers: value === undefined ? {} : { [CALLER_HEADER]: value } });

/** The VexilError `callerOf` rejects with, which must be a 401. */
async function unauthorized(work: Promise<unknown>): Promise<VexilError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VexilError);
  expect((error as VexilError).code).toBe("unauthorized");
  expect((error as VexilError).status).toBe(401);
  return error as VexilError;
}

/** A JWT with the assertion's issuer and audience, signed with `secret`, built by hand. */
function jwt(payload: Record<string, unknown>, secret: Uint8Array, options: { expiresAt?: number; issuer?: string; audience?: string } = {}) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 60)
    .sign(secret);
}

describe("createAssertions", () => {
  test("sign then callerOf gives the caller back", async () => {
    const assertions = createAssertions(key());
    const signed = await assertions.sign(caller);
    expect(await assertions.callerOf(requestWith(signed))).toEqual(caller);
    // Again, from the verified cache.
    expect(await assertions.callerOf(requestWith(signed))).toEqual(caller);
    const session: Caller = { ...caller, kind: "session", tokenId: null, tokenName: null, memberEmail: null };
    expect(await assertions.callerOf(requestWith(await assertions.sign(session)))).toEqual(session);
  });

  test("an assertion is an HS256 JWT from the gateway to the services, living two minutes", async () => {
    const signed = await createAssertions(key()).sign(caller);
    expect(decodeProtectedHeader(signed)).toEqual({ alg: "HS256" });
    const claims = decodeJwt(signed);
    expect(claims).toMatchObject({ iss: ISSUER, aud: AUDIENCE });
    expect(claims.exp! - claims.iat!).toBe(ASSERTION_TTL_SECONDS);
    expect(ASSERTION_TTL_SECONDS).toBe(120);
  });

  test("another instance with the same key accepts it", async () => {
    const secret = keyFrom("a shared internal key of at least 32 chars");
    const signed = await createAssertions(secret).sign(caller);
    expect(await createAssertions(keyFrom("a shared internal key of at least 32 chars")).callerOf(requestWith(signed))).toEqual(caller);
  });

  test("a missing or empty header is a 401", async () => {
    const assertions = createAssertions(key());
    const error = await unauthorized(assertions.callerOf(requestWith()));
    expect(error.message).toContain("No verified caller");
    await unauthorized(assertions.callerOf(requestWith("")));
  });

  test("a tampered JWT is a 401", async () => {
    const assertions = createAssertions(key());
    const signed = await assertions.sign(caller);
    const [header, payload, signature] = signed.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    claims.caller.role = "owner";
    const forgedPayload = Buffer.from(JSON.stringify(claims)).toString("base64url");
    await unauthorized(assertions.callerOf(requestWith(`${header}.${forgedPayload}.${signature}`)));
    const flipped = signature!.startsWith("A") ? `B${signature!.slice(1)}` : `A${signature!.slice(1)}`;
    await unauthorized(assertions.callerOf(requestWith(`${header}.${payload}.${flipped}`)));
    await unauthorized(assertions.callerOf(requestWith("not.a.jwt")));
    // The genuine one still works after the forgeries.
    expect(await assertions.callerOf(requestWith(signed))).toEqual(caller);
  });

  test("a JWT signed with another key is a 401", async () => {
    const signed = await createAssertions(key()).sign(caller);
    const error = await unauthorized(createAssertions(key()).callerOf(requestWith(signed)));
    expect(error.message).toBe("The caller assertion is not valid");
  });

  test("an expired JWT is a 401", async () => {
    const secret = key();
    const expired = await jwt({ caller }, secret, { expiresAt: Math.floor(Date.now() / 1000) - 1 });
    await unauthorized(createAssertions(secret).callerOf(requestWith(expired)));
  });

  test("a JWT for another issuer or audience is a 401", async () => {
    const secret = key();
    await unauthorized(createAssertions(secret).callerOf(requestWith(await jwt({ caller }, secret, { issuer: "vexil-auth" }))));
    await unauthorized(createAssertions(secret).callerOf(requestWith(await jwt({ caller }, secret, { audience: "someone-else" }))));
  });

  test("an unsigned JWT (alg none) is a 401", async () => {
    const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
    const payload = Buffer.from(JSON.stringify({ caller, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 })).toString("base64url");
    await unauthorized(createAssertions(key()).callerOf(requestWith(`${header}.${payload}.`)));
  });

  test.each<[string, unknown]>([
    ["no caller", undefined],
    ["a caller without grants", { ...caller, grants: undefined }],
    ["an unknown kind", { ...caller, kind: "robot" }],
    ["a numeric tokenId", { ...caller, tokenId: 7 }],
    ["a grant with an unknown base", { ...caller, grants: [{ base: "admin", statements: [] }] }],
    ["a statement with an unknown effect", { ...caller, grants: [{ base: "reader", statements: [{ effect: "maybe" }] }] }],
    ["a string", "admin"],
  ])("a genuine JWT whose caller is malformed (%s) is a 401", async (_, payloadCaller) => {
    const secret = key();
    const signed = await jwt(payloadCaller === undefined ? {} : { caller: payloadCaller }, secret);
    const error = await unauthorized(createAssertions(secret).callerOf(requestWith(signed)));
    expect(error.message).toBe("The caller assertion is malformed");
  });
});

describe("keyFrom", () => {
  test("is the UTF-8 bytes of the secret", () => {
    expect([...keyFrom("ab✓")]).toEqual([0x61, 0x62, 0xe2, 0x9c, 0x93]);
  });
});
