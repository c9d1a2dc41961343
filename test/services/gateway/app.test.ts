/** The gateway's own rules, through `handle` with in-memory parts. */
import { afterEach, describe, expect, test } from "bun:test";
import type { Verdict, VerifyRequest } from "@vexil/shared/auth-messages";
import { createAssertions } from "@vexil/shared/assertion";
import { encodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { serveJson } from "@vexil/shared/bus/rpc";
import { CALLER_HEADER, type Caller } from "@vexil/shared/caller";
import { DEADLINE_HEADER } from "@vexil/shared/deadline";
import { SESSION_COOKIE } from "@vexil/shared/http/cookies";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { inProcessServiceClient, type Forwarded, type ServiceClient } from "@vexil/shared/transport/http-over-bus";
import { createGateway, presentedToken } from "@vexil/gateway/app";
import { busCallerVerifier } from "@vexil/gateway/caller-verifier";
import { createFailureLimiter, type FailureLimiter } from "@vexil/gateway/failure-limiter";
import { routeOf } from "@vexil/gateway/routes";

const GOOD = "good-token-0123456789";
const OTHER_GOOD = "other-good-token-0123456789";
const SESSION = "session-jwt-0123456789";
const ORIGIN = "https://flags.example.com";

const tokenCaller: Caller = {
  kind: "token",
  tokenId: "t1",
  tokenName: "good",
  memberId: "m1",
  memberEmail: "m1@example.com",
  role: "admin",
  serviceToken: false,
  grants: [{ base: "reader", statements: [{ effect: "allow", resources: ["proj/*"], actions: ["*"] }] }],
};
const sessionCaller: Caller = { ...tokenCaller, kind: "session", tokenId: null, tokenName: null, role: "writer" };

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

interface Echoed {
  caller: Caller | { error: string };
  requestId: string | null;
  authorization: string | null;
  cookie: string | null;
  assertion: string | null;
}

function setup(options: { authUp?: boolean; authSlow?: boolean; flags?: ServiceClient; ready?: () => Promise<void>; failures?: FailureLimiter; trustedProxies?: string[] } = {}) {
  const bus = new MemoryBus();
  const asked: VerifyRequest[] = [];
  if (options.authUp !== false) {
    serveJson<VerifyRequest, Verdict>(bus, subjects.authVerify, "vexil-auth", silentLogger, async (request) => {
      asked.push(request);
      if (options.authSlow) await Bun.sleep(300);
      if (request.token === GOOD) return { v: 1, ok: true, caller: tokenCaller };
      if (request.token === OTHER_GOOD) return { v: 1, ok: true, caller: { ...tokenCaller, tokenId: "t2", memberId: "m2" } };
      if (request.session === SESSION) return { v: 1, ok: true, caller: sessionCaller, sessionId: "s1" };
      return { v: 1, ok: false, reason: request.session ? "The session has ended; sign in again" : "Invalid access token" };
    });
  }
  const assertions = createAssertions(crypto.getRandomValues(new Uint8Array(32)));
  // A service as it runs in the all-in-one process: it sees the Request the gateway forwards.
  const echo = inProcessServiceClient(
    "flags",
    async (r) =>
      Response.json({
        caller: await assertions.callerOf(r).catch((e: Error) => ({ error: e.message })),
        requestId: r.headers.get("x-request-id"),
        authorization: r.headers.get("authorization"),
        cookie: r.headers.get("cookie"),
        assertion: r.headers.get(CALLER_HEADER),
      } satisfies Echoed),
    5_000,
  );
  const verifier = busCallerVerifier(bus, { timeoutMs: 100, assertions });
  stops.push(verifier.stop);
  const gateway = createGateway({
    services: { auth: echo, flags: options.flags ?? echo },
    verifier,
    logger: silentLogger,
    readiness: { checks: { bus: options.ready ?? (async () => {}) }, isShuttingDown: () => false },
    publicOrigin: ORIGIN,
    failures: options.failures,
    trustedProxies: options.trustedProxies,
  });
  const call = (path: string, headers: Record<string, string> = {}, method = "GET", address?: string) =>
    gateway.handle(new Request(`http://localhost${path}`, { method, headers }), address);
  const echoed = async (res: Response) => (await res.json()) as Echoed;
  return { bus, asked, call, echoed, assertions };
}

describe("routes", () => {
  test("public paths go to their owners", () => {
    expect(routeOf("/api/v2/projects")).toEqual({ service: "flags" });
    expect(routeOf("/api/v2/projects/p/environments/e")).toEqual({ service: "flags" });
    expect(routeOf("/api/v2/flag-statuses/p/e")).toEqual({ service: "flags" });
    expect(routeOf("/api/v2/flag-statuses/p/e/f")).toEqual({ service: "flags" });
    expect(routeOf("/api/v2/flag-status/p/f")).toEqual({ service: "flags" });
    expect(routeOf("/api/v2/flag-statusesX/p/e")).toBeUndefined();
    expect(routeOf("/api/v2/caller-identity")).toEqual({ service: "auth" });
    expect(routeOf("/api/v2/tokens")).toEqual({ service: "auth" });
    expect(routeOf("/api/v2/tokens/abc/reset", "POST")).toEqual({ service: "auth" });
    expect(routeOf("/api/v2/members/m1", "PATCH")).toEqual({ service: "auth" });
    expect(routeOf("/api/v2/roles/ops", "DELETE")).toEqual({ service: "auth" });
    expect(routeOf("/api/v2/webhooks")).toEqual({ service: "webhooks" });
    expect(routeOf("/api/v2/webhooks/abc/deliveries/d/redeliver", "POST")).toEqual({ service: "webhooks" });
    expect(routeOf("/api/v2/webhooksX")).toBeUndefined();
    expect(routeOf("/api/v2/projectsX")).toBeUndefined();
    expect(routeOf("/api/v3/projects")).toBeUndefined();
    expect(routeOf("/api/v2/caller-identity/x")).toBeUndefined();
    expect(routeOf("/api/v2/projects/p/flags/f/environments/e/scheduled-changes/id", "PATCH")).toEqual({ service: "flags" });
    expect(routeOf("/api/v2/segments/p/s/expiring-targets/e", "PATCH")).toEqual({ service: "flags" });
    expect(routeOf("/api/v2/users/p/alice/expiring-user-targets/e")).toEqual({ service: "flags" });
    expect(routeOf("/api/v2/users/p/alice")).toBeUndefined();
  });

  test("signing in and out needs no credential; nothing else under sessions is public", () => {
    expect(routeOf("/api/v2/sessions", "POST")).toEqual({ service: "auth", public: true });
    expect(routeOf("/api/v2/sessions", "DELETE")).toEqual({ service: "auth", public: true });
    expect(routeOf("/api/v2/sessions", "GET")).toEqual({ service: "auth" });
    expect(routeOf("/api/v2/sessions/x", "POST")).toBeUndefined();
    expect(routeOf("/api/v2/tokens", "POST")).toEqual({ service: "auth" });
  });
});

describe("presentedToken", () => {
  test("reads the token raw or after Bearer", () => {
    const req = (v: string) => new Request("http://x", { headers: { authorization: v } });
    expect(presentedToken(req("abc"))).toBe("abc");
    expect(presentedToken(req("Bearer abc"))).toBe("abc");
    expect(presentedToken(req("bearer   abc "))).toBe("abc");
    expect(presentedToken(req("Bearer "))).toBeUndefined();
    expect(presentedToken(new Request("http://x"))).toBeUndefined();
  });
});

describe("forwarding", () => {
  test("carries a signed assertion of the verified caller, drops one the client sent, and keeps credentials at the edge", async () => {
    const { call, echoed, assertions } = setup();
    const forged = await createAssertions(crypto.getRandomValues(new Uint8Array(32))).sign({ ...tokenCaller, role: "owner" });
    const res = await call("/api/v2/projects", { authorization: `Bearer ${GOOD}`, cookie: "a=b", [CALLER_HEADER]: forged, "x-request-id": "req-12345678" });
    expect(res.status).toBe(200);
    const body = await echoed(res);
    expect(body.caller).toEqual(tokenCaller);
    expect(body.authorization).toBeNull();
    expect(body.cookie).toBeNull();
    expect(body.assertion).not.toBe(forged);
    expect(body.requestId).toBe("req-12345678");
    expect(res.headers.get("x-request-id")).toBe("req-12345678");
    // The assertion verifies only with the gateway's key.
    const request = new Request("http://svc", { headers: { [CALLER_HEADER]: body.assertion! } });
    expect(await assertions.callerOf(request)).toEqual(tokenCaller);
    await expect(createAssertions(crypto.getRandomValues(new Uint8Array(32))).callerOf(request)).rejects.toThrow();
  });

  test("the service gets each header only the gateway sets once, with the gateway's value, and the rest of the request as sent", async () => {
    const seen: Forwarded[] = [];
    const { call } = setup({ flags: { handle: async (forwarded) => (seen.push(forwarded), Response.json({})) } });
    const res = await call(
      "/api/v2/projects?limit=5#top",
      { authorization: `Bearer ${GOOD}`, cookie: "a=b", [CALLER_HEADER]: "forged", [DEADLINE_HEADER]: "99999999999999", "x-request-id": "bad id!", "x-note": "kept" },
      "GET",
    );
    expect(res.status).toBe(200);
    const [forwarded] = seen;
    expect(forwarded).toMatchObject({ method: "GET", path: "/api/v2/projects?limit=5", body: undefined });
    const names = forwarded!.headers.map(([name]) => name);
    for (const name of [CALLER_HEADER, "x-request-id"]) expect(names.filter((n) => n === name)).toHaveLength(1);
    expect(names).not.toContain(DEADLINE_HEADER);
    expect(names).not.toContain("authorization");
    expect(names).not.toContain("cookie");
    const header = (name: string) => forwarded!.headers.find(([n]) => n === name)?.[1];
    expect(header("x-request-id")).toBe(res.headers.get("x-request-id")!);
    expect(header("x-request-id")).not.toBe("bad id!");
    expect(header(CALLER_HEADER)).not.toBe("forged");
    expect(header("x-note")).toBe("kept");
  });

  test("a missing or refused token is a JSON 401 with a challenge, and the service is not called", async () => {
    let reached = 0;
    const { call } = setup({ flags: { handle: async () => (reached++, new Response("no")) } });
    for (const headers of [{}, { authorization: "wrong-token-0123456789" }, { authorization: "Bearer " }, { cookie: "other=1" }] as Record<string, string>[]) {
      const res = await call("/api/v2/projects", headers);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      const body = (await res.json()) as { code: string; id: string };
      expect(body.code).toBe("unauthorized");
      expect(body.id).toBeTruthy();
    }
    expect(reached).toBe(0);
  });

  test("a gateway without a webhooks service answers its paths 503 with the request id", async () => {
    const { call } = setup();
    const res = await call("/api/v2/webhooks", { authorization: GOOD, "x-request-id": "req-webhooks-1" });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ code: "service_unavailable", message: "This part of the API is not running here", id: "req-webhooks-1" });
  });

  test("the refusal reason from auth reaches the client", async () => {
    const { call } = setup();
    const res = await call("/api/v2/projects", { cookie: `${SESSION_COOKIE}=expired`, origin: ORIGIN });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toBe("The session has ended; sign in again");
  });
});

describe("session cookies", () => {
  test("are accepted from the public origin, and forwarded as a session assertion without the cookie", async () => {
    const { call, echoed, asked } = setup();
    const res = await call("/api/v2/projects", { cookie: `theme=dark; ${SESSION_COOKIE}=${SESSION}`, origin: ORIGIN }, "POST");
    expect(res.status).toBe(200);
    const body = await echoed(res);
    expect(body.caller).toEqual(sessionCaller);
    expect(body.cookie).toBeNull();
    expect(asked).toEqual([{ v: 1, session: SESSION }]);
  });

  test("from another origin are refused with 403 before auth is asked", async () => {
    const { call, asked } = setup();
    for (const method of ["GET", "POST", "DELETE"]) {
      const res = await call("/api/v2/projects", { cookie: `${SESSION_COOKIE}=${SESSION}`, origin: "https://evil.example.com" }, method);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("forbidden");
    }
    expect((await call("/api/v2/projects", { cookie: `${SESSION_COOKIE}=${SESSION}`, origin: "http://flags.example.com" })).status).toBe(403);
    expect(asked).toEqual([]);
  });

  test("without an Origin header: allowed on GET, refused on changes", async () => {
    const { call } = setup();
    const cookie = { cookie: `${SESSION_COOKIE}=${SESSION}` };
    expect((await call("/api/v2/projects", cookie, "GET")).status).toBe(200);
    expect((await call("/api/v2/projects", cookie, "HEAD")).status).toBe(200);
    for (const method of ["POST", "PATCH", "PUT", "DELETE"]) expect((await call("/api/v2/projects", cookie, method)).status).toBe(403);
  });

  test("an access token wins over a cookie, whatever the origin", async () => {
    const { call, echoed } = setup();
    const res = await call("/api/v2/projects", { authorization: GOOD, cookie: `${SESSION_COOKIE}=${SESSION}`, origin: "https://evil.example.com" }, "POST");
    expect(res.status).toBe(200);
    expect((await echoed(res)).caller).toEqual(tokenCaller);
  });
});

describe("signing in and out", () => {
  test("POST and DELETE /api/v2/sessions reach auth without a credential or an assertion", async () => {
    const { call, echoed, asked } = setup();
    const forged = "forged.assertion.value";
    const login = await call("/api/v2/sessions", { [CALLER_HEADER]: forged }, "POST");
    expect(login.status).toBe(200);
    expect((await echoed(login)).assertion).toBeNull();
    const logout = await call("/api/v2/sessions", { cookie: `${SESSION_COOKIE}=${SESSION}` }, "DELETE");
    expect(logout.status).toBe(200);
    // Auth needs the cookie to end the session.
    expect((await echoed(logout)).cookie).toBe(`${SESSION_COOKIE}=${SESSION}`);
    expect(asked).toEqual([]);
    expect((await call("/api/v2/sessions", {}, "GET")).status).toBe(401);
  });
});

describe("verdicts", () => {
  test("are cached, and a revocation event drops them at once", async () => {
    const { bus, asked, call } = setup();
    for (let i = 0; i < 5; i++) expect((await call("/api/v2/projects", { authorization: GOOD })).status).toBe(200);
    expect(asked.length).toBe(1);
    bus.publish(subjects.authRevoked, encodeJson({ v: 1, tokenIds: ["t1"] }));
    await Bun.sleep(5);
    expect((await call("/api/v2/projects", { authorization: GOOD })).status).toBe(200);
    expect(asked.length).toBe(2);
  });

  test.each([
    ["memberIds", { memberIds: ["m1"] }],
    ["sessionIds", { sessionIds: ["s1"] }],
    ["all", { all: true }],
  ])("a session verdict is dropped by %s", async (_, event) => {
    const { bus, asked, call } = setup();
    const headers = { cookie: `${SESSION_COOKIE}=${SESSION}`, origin: ORIGIN };
    await call("/api/v2/projects", headers);
    await call("/api/v2/projects", headers);
    expect(asked).toHaveLength(1);
    bus.publish(subjects.authRevoked, encodeJson({ v: 1, ...event }));
    await Bun.sleep(5);
    await call("/api/v2/projects", headers);
    expect(asked).toHaveLength(2);
  });
});

describe("failed authentications", () => {
  test("after N failures from one address, wrong credentials get 429 with Retry-After; valid ones, known here or not, still pass", async () => {
    const { call, asked } = setup({ failures: createFailureLimiter(3) });
    const from = (headers: Record<string, string>, address = "192.0.2.7") => call("/api/v2/projects", headers, "GET", address);
    expect((await from({ authorization: GOOD })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await from({ authorization: `guess-${i}-0123456789abcdef` })).status).toBe(401);

    const limited = await from({ authorization: "guess-4-0123456789abcdef" });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(((await limited.json()) as { code: string }).code).toBe("rate_limited");
    // A valid token whose verdict is not cached here is checked with auth and served, never refused by the limiter.
    const before = asked.length;
    expect((await from({ authorization: OTHER_GOOD })).status).toBe(200);
    expect(asked.length).toBe(before + 1);
    expect((await from({ cookie: `${SESSION_COOKIE}=${SESSION}`, origin: ORIGIN })).status).toBe(200);
    expect((await from({ authorization: GOOD })).status).toBe(200);
    expect((await from({ authorization: "guess-5-0123456789abcdef" })).status).toBe(429);
    expect((await from({ authorization: "guess-5-0123456789abcdef" }, "198.51.100.1")).status).toBe(401);
  });

  test("a valid token whose cached verdict expired is served even while its address is over the limit", async () => {
    const bus = new MemoryBus();
    serveJson<VerifyRequest, Verdict>(bus, subjects.authVerify, "vexil-auth", silentLogger, async (request) =>
      request.token === GOOD ? { v: 1, ok: true, caller: tokenCaller } : { v: 1, ok: false, reason: "Invalid access token" },
    );
    const assertions = createAssertions(crypto.getRandomValues(new Uint8Array(32)));
    const verifier = busCallerVerifier(bus, { timeoutMs: 100, assertions, ttlMs: 20 });
    stops.push(verifier.stop);
    const ok: ServiceClient = { handle: async () => Response.json({}) };
    const gateway = createGateway({ services: { auth: ok, flags: ok }, verifier, logger: silentLogger, readiness: { checks: {}, isShuttingDown: () => false }, publicOrigin: ORIGIN, failures: createFailureLimiter(2) });
    const call = (token: string) => gateway.handle(new Request("http://localhost/api/v2/projects", { headers: { authorization: token } }), "10.0.0.1");
    expect((await call(GOOD)).status).toBe(200);
    for (let i = 0; i < 5; i++) await call(`wrong-token-${i}-0123456789`);
    expect((await call("wrong-token-x-0123456789")).status).toBe(429);
    await Bun.sleep(30);
    expect(verifier.isKnownGood({ token: GOOD })).toBe(false);
    expect((await call(GOOD)).status).toBe(200);
  });

  test("X-Forwarded-For names the caller only when the peer is a trusted proxy", async () => {
    const { call } = setup({ failures: createFailureLimiter(2), trustedProxies: ["10.0.0.0/8"] });
    const via = (peer: string, forwardedFor: string, token = "guess-0123456789abcdef") => call("/api/v2/projects", { authorization: token, "x-forwarded-for": forwardedFor }, "GET", peer);
    // Through the trusted proxy: two callers behind it are counted apart.
    expect((await via("10.1.1.1", "203.0.113.1")).status).toBe(401);
    expect((await via("10.1.1.1", "203.0.113.1")).status).toBe(401);
    expect((await via("10.1.1.1", "203.0.113.1")).status).toBe(429);
    expect((await via("10.1.1.1", "203.0.113.2")).status).toBe(401);
    // A spoofed entry left of the proxy's own is not believed: the nearest untrusted address counts.
    expect((await via("10.1.1.1", "198.51.100.7, 203.0.113.1")).status).toBe(429);
    // Not from a trusted proxy: the header is ignored and the peer is counted.
    expect((await via("192.0.2.50", "198.51.100.8")).status).toBe(401);
    expect((await via("192.0.2.50", "198.51.100.9")).status).toBe(401);
    expect((await via("192.0.2.50", "198.51.100.10")).status).toBe(429);
    expect((await via("192.0.2.50", "198.51.100.10", GOOD)).status).toBe(200);
  });

  test("without trusted proxies X-Forwarded-For is ignored", async () => {
    const { call } = setup({ failures: createFailureLimiter(1) });
    expect((await call("/api/v2/projects", { authorization: "guess-0123456789abcdef", "x-forwarded-for": "203.0.113.1" }, "GET", "127.0.0.1")).status).toBe(401);
    expect((await call("/api/v2/projects", { authorization: "guess-0123456789abcdef", "x-forwarded-for": "203.0.113.2" }, "GET", "127.0.0.1")).status).toBe(429);
  });

  test("a missing credential is not counted as a failure", async () => {
    const { call } = setup({ failures: createFailureLimiter(1) });
    for (let i = 0; i < 3; i++) expect((await call("/api/v2/projects", {}, "GET", "192.0.2.8")).status).toBe(401);
    expect((await call("/api/v2/projects", { authorization: GOOD }, "GET", "192.0.2.8")).status).toBe(200);
  });

  test("without a limiter the default allows 30 failures a minute", async () => {
    const { call } = setup();
    for (let i = 0; i < 30; i++) expect((await call("/api/v2/projects", { authorization: `guess-${i}-0123456789abcdef` }, "GET", "192.0.2.9")).status).toBe(401);
    expect((await call("/api/v2/projects", { authorization: "guess-x-0123456789abcdef" }, "GET", "192.0.2.9")).status).toBe(429);
  });
});

describe("failures of the parts", () => {
  test("when auth does not answer, callers get a JSON 503 to retry, not a 401", async () => {
    const { call } = setup({ authUp: false });
    const res = await call("/api/v2/projects", { authorization: GOOD });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(((await res.json()) as { code: string }).code).toBe("service_unavailable");
  });

  test("when auth answers too late, callers get a JSON 504", async () => {
    const { call } = setup({ authSlow: true });
    const res = await call("/api/v2/projects", { authorization: GOOD });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { code: string }).code).toBe("gateway_timeout");
  });

  test("a service that throws gives a JSON 500 with an id", async () => {
    const { call } = setup({ flags: { handle: async () => Promise.reject(new Error("boom: secret detail")) } });
    const res = await call("/api/v2/projects", { authorization: GOOD });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("secret detail");
    expect(JSON.parse(text).code).toBe("internal_error");
  });

  test("unknown paths are a JSON 404; health and readiness answer without a token", async () => {
    let healthy = true;
    const { call } = setup({
      ready: async () => {
        if (!healthy) throw new Error("bus down");
      },
    });
    const missing = await call("/nowhere", { authorization: GOOD });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe("not_found");
    expect((await call("/healthz")).status).toBe(200);
    expect((await call("/readyz")).status).toBe(200);
    healthy = false;
    const notReady = await call("/readyz");
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { message: string }).message).toContain("bus down");
  });

  test("failed sign-ins count against the address: past the limit they get 429 before reaching auth", async () => {
    let reached = 0;
    const auth: ServiceClient = {
      handle: async () => {
        reached++;
        return Response.json({ code: "unauthorized", message: "Wrong email or password", id: "x" }, { status: 401 });
      },
    };
    const bus = new MemoryBus();
    const assertions = createAssertions(crypto.getRandomValues(new Uint8Array(32)));
    const verifier = busCallerVerifier(bus, { timeoutMs: 100, assertions });
    stops.push(verifier.stop);
    const gateway = createGateway({
      services: { auth, flags: auth },
      verifier,
      logger: silentLogger,
      readiness: { checks: {}, isShuttingDown: () => false },
      publicOrigin: ORIGIN,
      failures: createFailureLimiter(2),
    });
    const signIn = (address: string) =>
      gateway.handle(new Request("http://localhost/api/v2/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: '{"email":"a@b.c","password":"guess"}' }), address);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await signIn("10.9.9.9")).status);
    expect(statuses).toEqual([401, 401, 429, 429, 429]);
    expect(reached).toBe(2);
    expect((await signIn("10.9.9.8")).status).toBe(401);
  });
});
