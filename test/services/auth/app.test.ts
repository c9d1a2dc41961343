/** The auth service's HTTP routes through `handle`, with an in-memory store and signed caller assertions. */
import { beforeAll, describe, expect, test } from "bun:test";
import { createAssertions } from "@vexil/shared/assertion";
import { CALLER_HEADER, type Caller } from "@vexil/shared/caller";
import { SESSION_COOKIE } from "@vexil/shared/http/cookies";
import { CREDENTIAL_SHAPE } from "@vexil/shared/secrets";
import { createAuthApp } from "@vexil/auth/app";
import { bootstrapAuth } from "@vexil/auth/domain/bootstrap";
import { verifyAccessToken } from "@vexil/auth/domain/token-verifier";
import { actor, addMember, serviceCaller, testAuth, tokenCallerOf, type TestAuth } from "./auth-context.ts";

const assertions = createAssertions(crypto.getRandomValues(new Uint8Array(32)));
const elsewhere = createAssertions(crypto.getRandomValues(new Uint8Array(32)));

function app(t: TestAuth = testAuth()) {
  const auth = createAuthApp(t.ctx, assertions);
  async function call(method: string, path: string, options: { caller?: Caller; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.caller) headers[CALLER_HEADER] = await assertions.sign(options.caller);
    if (options.body !== undefined) headers["content-type"] ??= "application/json";
    const response = await auth.handle(
      new Request(`http://vexil.internal${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) }),
    );
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }
  return { t, call };
}

describe("GET /api/v2/caller-identity", () => {
  test("without an assertion is a JSON 401 carrying the request id", async () => {
    const { call } = app();
    const res = await call("GET", "/api/v2/caller-identity", { headers: { "x-request-id": "auth-req-0001" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.body).toEqual({ code: "unauthorized", message: expect.stringContaining("No verified caller"), id: "auth-req-0001" });
  });

  test.each([
    ["not a JWT", async () => "not-a-jwt"],
    ["signed with another key", async (c: Caller) => elsewhere.sign(c)],
    ["an old-style base64 caller", async (c: Caller) => Buffer.from(JSON.stringify(c)).toString("base64url")],
  ])("an assertion that is %s is a 401", async (_, make) => {
    const t = testAuth();
    const { call } = app(t);
    const caller = await serviceCaller(t, "admin");
    const res = await call("GET", "/api/v2/caller-identity", { headers: { [CALLER_HEADER]: await make(caller) } });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("unauthorized");
  });

  test("a service token's identity has no member and looks nothing up", async () => {
    const t = testAuth();
    const { call } = app(t);
    const caller = await serviceCaller(t, "writer", { name: "deploy bot" });
    t.store.calls.length = 0;
    const res = await call("GET", "/api/v2/caller-identity", { caller });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      authKind: "token",
      tokenKind: "service",
      tokenId: caller.tokenId,
      tokenName: "deploy bot",
      serviceToken: true,
      role: "writer",
      _links: { self: { href: "/api/v2/caller-identity", type: "application/json" } },
    });
    expect(t.store.calls).toEqual([]);
  });

  test("a personal token's and a session's identity name the member", async () => {
    const t = testAuth();
    await bootstrapAuth(t.store, "my-own-admin-token-123", 1_000);
    const { call } = app(t);
    const token = await tokenCallerOf(t, "my-own-admin-token-123");
    expect((await call("GET", "/api/v2/caller-identity", { caller: token })).body).toMatchObject({
      authKind: "token",
      tokenKind: "personal",
      tokenName: "bootstrap admin token",
      memberId: token.memberId,
      memberEmail: "owner@vexil.local",
      serviceToken: false,
      role: "admin",
    });
    const { member, caller } = await actor(t, "writer");
    const session = (await call("GET", "/api/v2/caller-identity", { caller })).body;
    expect(session).toMatchObject({ authKind: "session", memberId: member.id, memberEmail: member.email, role: "writer", serviceToken: false });
    expect(session).not.toHaveProperty("tokenKind");
    expect(session).not.toHaveProperty("tokenId");
  });
});

describe("routes", () => {
  test("an unknown route is a JSON 404", async () => {
    const { call } = app();
    const res = await call("GET", "/api/v2/nothing");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: "not_found" });
  });

  test("every resource route wants a verified caller", async () => {
    const { call } = app();
    for (const [method, path] of [
      ["GET", "/api/v2/tokens"],
      ["POST", "/api/v2/tokens"],
      ["GET", "/api/v2/members"],
      ["DELETE", "/api/v2/members/ffffffffffffffffffffffff"],
      ["GET", "/api/v2/roles"],
      ["PATCH", "/api/v2/roles/ops"],
    ]) {
      const res = await call(method!, path!, method === "GET" || method === "DELETE" ? {} : { body: {} });
      expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 401`);
    }
  });
});

describe("/api/v2/members", () => {
  test("1 to 50 members per request; 201 with the created ones", async () => {
    const t = testAuth();
    const { call } = app(t);
    const { caller } = await actor(t, "admin");
    expect((await call("POST", "/api/v2/members", { caller, body: [] })).status).toBe(400);
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ email: `m${i}@example.com` }));
    expect((await call("POST", "/api/v2/members", { caller, body: tooMany })).status).toBe(400);
    expect((await call("POST", "/api/v2/members", { caller, body: [{ email: "no-at-sign" }] })).status).toBe(400);
    expect((await call("POST", "/api/v2/members", { caller, body: [{ email: "a@example.com", role: "owner" }] })).status).toBe(400);
    const created = await call("POST", "/api/v2/members", { caller, body: [{ email: "a@example.com" }, { email: "b@example.com", role: "writer" }] });
    expect(created.status).toBe(201);
    expect(created.body.items.map((m: { email: string }) => m.email)).toEqual(["a@example.com", "b@example.com"]);
    const dup = await call("POST", "/api/v2/members", { caller, body: [{ email: "c@example.com" }, { email: "c@example.com" }] });
    expect([dup.status, dup.body.code]).toEqual([400, "duplicate_email"]);
    const taken = await call("POST", "/api/v2/members", { caller, body: [{ email: "a@example.com" }] });
    expect([taken.status, taken.body.code]).toEqual([400, "email_already_exists_in_account"]);
  });

  test("sort orders the list by display name or email, either way", async () => {
    const t = testAuth();
    const { call } = app(t);
    const { caller } = await actor(t, "admin", { email: "admin@example.com", firstName: "Zed" });
    await addMember(t, { email: "b@example.com", firstName: "Ann", lastName: "Lee" });
    await addMember(t, { email: "c@example.com" });
    const emails = async (query: string) => {
      const res = await call("GET", `/api/v2/members${query}`, { caller });
      expect(res.status).toBe(200);
      return res.body.items.map((m: { email: string }) => m.email);
    };
    expect(await emails("?sort=displayName")).toEqual(["b@example.com", "admin@example.com", "c@example.com"]);
    expect(await emails("?sort=-displayName")).toEqual(["c@example.com", "admin@example.com", "b@example.com"]);
    expect(await emails("?sort=-email")).toEqual(["c@example.com", "b@example.com", "admin@example.com"]);
    expect(await emails("")).toEqual(["admin@example.com", "b@example.com", "c@example.com"]);
    expect((await call("GET", "/api/v2/members?sort=lastSeen", { caller })).status).toBe(400);
  });

  test("a merge patch's null clears a name", async () => {
    const t = testAuth();
    const { call } = app(t);
    const { member, caller } = await actor(t, "reader", { firstName: "Ann", lastName: "Lee" });
    const patched = await call("PATCH", `/api/v2/members/${member.id}`, { caller, body: { lastName: null }, headers: { "content-type": "application/merge-patch+json" } });
    expect(patched.status).toBe(200);
    expect(patched.body).not.toHaveProperty("lastName");
    expect(patched.body.firstName).toBe("Ann");
  });

  test("lists, gets, patches with merge-patch+json and deletes", async () => {
    const t = testAuth();
    const { call } = app(t);
    const { caller } = await actor(t, "admin", { email: "admin@example.com" });
    const other = await addMember(t, { email: "b@example.com", role: "writer" });
    const list = await call("GET", "/api/v2/members?filter=role:writer", { caller });
    expect(list.body).toMatchObject({ totalCount: 1, items: [{ _id: other.id }] });
    expect((await call("GET", `/api/v2/members/${other.id}`, { caller })).body.email).toBe("b@example.com");
    const patched = await call("PATCH", `/api/v2/members/${other.id}`, { caller, body: { role: "reader" }, headers: { "content-type": "application/merge-patch+json" } });
    expect([patched.status, patched.body.role]).toEqual([200, "reader"]);
    expect(t.events.revocations).toEqual([{ memberIds: [other.id] }]);
    expect((await call("DELETE", `/api/v2/members/${other.id}`, { caller })).status).toBe(204);
    expect((await call("GET", `/api/v2/members/${other.id}`, { caller })).status).toBe(404);
  });
});

describe("/api/v2/tokens", () => {
  test("create shows the secret once; list and get show its last four characters; reset and delete", async () => {
    const t = testAuth();
    const { call } = app(t);
    const { caller } = await actor(t, "writer");
    const created = await call("POST", "/api/v2/tokens", { caller, body: { name: "ci", role: "writer" } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(CREDENTIAL_SHAPE);
    const value: string = created.body.token;
    const id: string = created.body._id;

    const list = await call("GET", "/api/v2/tokens", { caller });
    expect(list.body.items.map((i: { token: string }) => i.token)).toEqual([value.slice(-4)]);
    expect(JSON.stringify(list.body)).not.toContain(value);
    expect((await call("GET", `/api/v2/tokens/${id}`, { caller })).body.token).toBe(value.slice(-4));
    expect((await call("GET", "/api/v2/tokens?showAll=true", { caller })).status).toBe(403);

    const reset = await call("POST", `/api/v2/tokens/${id}/reset?expiry=${t.clock.now + 1_000}`, { caller });
    expect(reset.status).toBe(200);
    expect(reset.body.token).toMatch(CREDENTIAL_SHAPE);
    expect((await verifyAccessToken(t.store.inner, value, t.clock.now)).ok).toBe(true);
    expect((await verifyAccessToken(t.store.inner, value, t.clock.now + 1_000)).ok).toBe(false);

    expect((await call("DELETE", `/api/v2/tokens/${id}`, { caller })).status).toBe(204);
    expect((await verifyAccessToken(t.store.inner, reset.body.token, t.clock.now)).ok).toBe(false);
  });

  test("a merge patch's null clears the expiry and the inline policy; on a required field it is a 400", async () => {
    const t = testAuth();
    const { call } = app(t);
    const { caller } = await actor(t, "admin");
    const policy = [{ effect: "allow", resources: ["proj/*"], actions: ["*"] }];
    const created = await call("POST", "/api/v2/tokens", { caller, body: { name: "ci", inlineRole: policy, expiresAt: t.clock.now + 60_000 } });
    const path = `/api/v2/tokens/${created.body._id}`;
    const merge = { "content-type": "application/merge-patch+json" };
    const noExpiry = await call("PATCH", path, { caller, body: { expiresAt: null }, headers: merge });
    expect(noExpiry.status).toBe(200);
    expect(noExpiry.body).not.toHaveProperty("expiresAt");
    expect(noExpiry.body.inlineRole).toEqual(policy);
    const noPolicy = await call("PATCH", path, { caller, body: { comment: "back to a role", merge: { inlineRole: null } } });
    expect(noPolicy.status).toBe(200);
    expect(noPolicy.body).not.toHaveProperty("inlineRole");
    expect(noPolicy.body.role).toBe("reader");
    const required = await call("PATCH", path, { caller, body: { name: null }, headers: merge });
    expect([required.status, required.body.code, required.body.message]).toEqual([400, "invalid_request", "Invalid name: it is required and cannot be removed or set to null"]);
    expect((await call("GET", path, { caller })).body).toMatchObject({ name: "ci", role: "reader" });
  });

  test("the body is checked against the schema", async () => {
    const t = testAuth();
    const { call } = app(t);
    const { caller } = await actor(t, "admin");
    expect((await call("POST", "/api/v2/tokens", { caller, body: { role: "owner" } })).status).toBe(400);
    expect((await call("POST", "/api/v2/tokens", { caller, body: { unknown: 1 } })).status).toBe(400);
    expect((await call("POST", "/api/v2/tokens", { caller, body: { inlineRole: [{ effect: "maybe" }] } })).status).toBe(400);
  });
});

describe("/api/v2/roles", () => {
  test("create, read, patch with JSON Patch, delete", async () => {
    const t = testAuth();
    const { call } = app(t);
    const { caller } = await actor(t, "admin");
    const policy = [{ effect: "allow", resources: ["proj/*"], actions: ["*"] }];
    const created = await call("POST", "/api/v2/roles", { caller, body: { key: "ops", name: "Ops", policy } });
    expect(created.status).toBe(201);
    expect((await call("POST", "/api/v2/roles", { caller, body: { key: "bad key!", name: "x", policy } })).status).toBe(400);
    expect((await call("GET", "/api/v2/roles/ops", { caller })).body).toMatchObject({ key: "ops", policy });
    const patched = await call("PATCH", "/api/v2/roles/ops", {
      caller,
      body: [{ op: "replace", path: "/name", value: "Operations" }],
      headers: { "content-type": "application/json-patch+json" },
    });
    expect([patched.status, patched.body.name]).toEqual([200, "Operations"]);
    expect((await call("GET", "/api/v2/roles", { caller })).body.totalCount).toBe(1);
    expect((await call("DELETE", "/api/v2/roles/ops", { caller })).status).toBe(204);
    expect((await call("GET", "/api/v2/roles/ops", { caller })).status).toBe(404);
  });
});

describe("/api/v2/sessions", () => {
  let passwordHash: string;
  beforeAll(async () => {
    passwordHash = await Bun.password.hash("pass-word-1", { algorithm: "argon2id", memoryCost: 1024, timeCost: 1 });
  });

  test("POST signs in with a cookie and no caller; DELETE signs out and clears it", async () => {
    const t = testAuth();
    const { call } = app(t);
    await addMember(t, { email: "s@example.com", role: "writer", passwordHash });
    const wrong = await call("POST", "/api/v2/sessions", { body: { email: "s@example.com", password: "nope-nope" } });
    expect([wrong.status, wrong.body.code]).toEqual([401, "unauthorized"]);
    expect(wrong.headers.get("set-cookie")).toBeNull();

    const res = await call("POST", "/api/v2/sessions", { body: { email: "s@example.com", password: "pass-word-1" } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ expiresIn: 3600 });
    expect(res.headers.get("cache-control")).toBe("no-store");
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[^;]+; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure$`));
    const jwt = cookie.slice(SESSION_COOKIE.length + 1, cookie.indexOf(";"));

    const out = await call("DELETE", "/api/v2/sessions", { headers: { cookie: `other=1; ${SESSION_COOKIE}=${jwt}` } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect(t.events.revocations).toHaveLength(1);
    expect(t.events.revocations[0]!.sessionIds).toHaveLength(1);
  });

  test("a malformed sign-in body is a 400", async () => {
    const { call } = app();
    expect((await call("POST", "/api/v2/sessions", { body: { email: "s@example.com" } })).status).toBe(400);
    expect((await call("POST", "/api/v2/sessions", { body: { email: "s@example.com", password: "x", extra: 1 } })).status).toBe(400);
  });
});
