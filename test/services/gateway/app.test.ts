/** The gateway's own rules, through `handle` with in-memory parts. */
import { describe, expect, test } from "bun:test";
import type { Verdict } from "@vexil/shared/auth-messages";
import { encodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { serveJson } from "@vexil/shared/bus/rpc";
import { callerOf, encodeCaller } from "@vexil/shared/caller";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import type { ServiceClient } from "@vexil/shared/transport/http-over-bus";
import { createGateway, presentedToken } from "@vexil/gateway/app";
import { busCallerVerifier } from "@vexil/gateway/caller-verifier";
import { routeOf } from "@vexil/gateway/routes";

const GOOD = "good-token-0123456789";

function setup(options: { authUp?: boolean; flags?: ServiceClient; ready?: () => Promise<void> } = {}) {
  const bus = new MemoryBus();
  const calls: string[] = [];
  if (options.authUp !== false) {
    serveJson<{ token: string }, Verdict>(bus, subjects.authVerify, "vexil-auth", silentLogger, async ({ token }) => {
      calls.push(token);
      return token === GOOD
        ? { v: 1, ok: true, caller: { tokenId: "t1", tokenName: "good", memberId: "m1", role: "admin", serviceToken: false } }
        : { v: 1, ok: false, reason: "Invalid access token" };
    });
  }
  const echo: ServiceClient = {
    handle: async (r) =>
      Response.json({ caller: callerOf(r), requestId: r.headers.get("x-request-id"), credential: r.headers.get("authorization") ?? r.headers.get("cookie") }),
  };
  const gateway = createGateway({
    services: { auth: echo, flags: options.flags ?? echo },
    verifier: busCallerVerifier(bus, { timeoutMs: 200 }),
    logger: silentLogger,
    readiness: { checks: { bus: options.ready ?? (async () => {}) }, isShuttingDown: () => false },
  });
  const call = (path: string, headers: Record<string, string> = {}) => gateway.handle(new Request(`http://localhost${path}`, { headers }));
  return { bus, calls, call };
}

describe("gateway", () => {
  test("routes public paths to their owners", () => {
    expect(routeOf("/api/v2/projects")).toEqual({ service: "flags" });
    expect(routeOf("/api/v2/projects/p/environments/e")).toEqual({ service: "flags" });
    expect(routeOf("/api/v2/caller-identity")).toEqual({ service: "auth" });
    expect(routeOf("/api/v2/projectsX")).toBeUndefined();
    expect(routeOf("/api/v3/projects")).toBeUndefined();
  });

  test("reads the token raw or after Bearer", () => {
    const req = (v: string) => new Request("http://x", { headers: { authorization: v } });
    expect(presentedToken(req("abc"))).toBe("abc");
    expect(presentedToken(req("Bearer abc"))).toBe("abc");
    expect(presentedToken(req("bearer   abc "))).toBe("abc");
    expect(presentedToken(req("Bearer "))).toBeUndefined();
    expect(presentedToken(new Request("http://x"))).toBeUndefined();
  });

  test("forwards the verified caller, drops one the client sent, and keeps the credential at the edge", async () => {
    const { call } = setup();
    const forged = encodeCaller({ tokenId: "forged", tokenName: "x", memberId: null, role: "owner", serviceToken: true });
    const res = await call("/api/v2/projects", { authorization: GOOD, cookie: "a=b", "x-vexil-caller": forged, "x-request-id": "req-12345678" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { caller: { tokenId: string; role: string }; requestId: string; credential: string | null };
    expect(body.credential).toBeNull();
    expect(body.caller.tokenId).toBe("t1");
    expect(body.caller.role).toBe("admin");
    expect(body.requestId).toBe("req-12345678");
    expect(res.headers.get("x-request-id")).toBe("req-12345678");
  });

  test("a missing or refused token is a JSON 401 with a challenge, and the service is not called", async () => {
    let reached = 0;
    const { call } = setup({ flags: { handle: async () => (reached++, new Response("no")) } });
    for (const headers of [{}, { authorization: "wrong-token-0123456789" }, { authorization: "Bearer " }] as Record<string, string>[]) {
      const res = await call("/api/v2/projects", headers);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      const body = (await res.json()) as { code: string; id: string };
      expect(body.code).toBe("unauthorized");
      expect(body.id).toBeTruthy();
    }
    expect(reached).toBe(0);
  });

  test("verdicts are cached, and a revocation event drops them at once", async () => {
    const { bus, calls, call } = setup();
    for (let i = 0; i < 5; i++) expect((await call("/api/v2/projects", { authorization: GOOD })).status).toBe(200);
    expect(calls.length).toBe(1);
    bus.publish(subjects.authRevoked, encodeJson({ v: 1, tokenIds: ["t1"] }));
    await Bun.sleep(10);
    expect((await call("/api/v2/projects", { authorization: GOOD })).status).toBe(200);
    expect(calls.length).toBe(2);
  });

  test("when auth does not answer, callers get a JSON 503 to retry, not a 401", async () => {
    const { call } = setup({ authUp: false });
    const res = await call("/api/v2/projects", { authorization: GOOD });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(((await res.json()) as { code: string }).code).toBe("service_unavailable");
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
    const { call } = setup({ ready: async () => { if (!healthy) throw new Error("bus down"); } });
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
});
