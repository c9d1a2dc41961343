/** The API's cross-cutting conventions at the gateway: CORS, method override, versions, bodies, the root. */
import { describe, expect, test } from "bun:test";
import type { Verdict, VerifyRequest } from "@vexil/shared/auth-messages";
import { createAssertions } from "@vexil/shared/assertion";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { serveJson } from "@vexil/shared/bus/rpc";
import type { Caller } from "@vexil/shared/caller";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { inProcessServiceClient } from "@vexil/shared/transport/http-over-bus";
import { createGateway } from "@vexil/gateway/app";
import { busCallerVerifier } from "@vexil/gateway/caller-verifier";
import { API_VERSIONS, CURRENT_VERSION, MAX_BODY_BYTES, jsonDepth } from "@vexil/gateway/conventions";

const TOKEN = "conventions-token-0123456789";
const PUBLIC_ORIGIN = "https://flags.example.com";
const caller: Caller = {
  kind: "token",
  tokenId: "t1",
  tokenName: "t",
  memberId: "m1",
  memberEmail: "m1@example.com",
  role: "admin",
  serviceToken: false,
  grants: [{ base: "reader", statements: [{ effect: "allow", resources: ["*"], actions: ["*"] }] }],
};

interface Seen {
  method: string;
  body: string;
  contentType: string | null;
}

function gateway(corsOrigins: string[] = []) {
  const bus = new MemoryBus();
  serveJson<VerifyRequest, Verdict>(bus, subjects.authVerify, "vexil-auth", silentLogger, async (r) => (r.token === TOKEN ? { v: 1, ok: true, caller } : { v: 1, ok: false, reason: "Invalid access token" }));
  const assertions = createAssertions(crypto.getRandomValues(new Uint8Array(32)));
  const seen: Seen[] = [];
  const echo = inProcessServiceClient(
    "flags",
    async (r) => {
      const s = { method: r.method, body: await r.text(), contentType: r.headers.get("content-type") };
      seen.push(s);
      return Response.json(s);
    },
    5_000,
  );
  const gw = createGateway({
    services: { auth: echo, flags: echo },
    verifier: busCallerVerifier(bus, { timeoutMs: 200, assertions }),
    logger: silentLogger,
    readiness: { checks: {}, isShuttingDown: () => false },
    publicOrigin: PUBLIC_ORIGIN,
    corsOrigins,
  });
  const call = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    gw.handle(new Request(`http://localhost${path}`, { ...init, headers: { authorization: TOKEN, ...init.headers } }));
  return { call, seen };
}

describe("CORS", () => {
  test("a preflight is answered without a credential, echoing the origin and allowing the API's headers", async () => {
    const { call } = gateway();
    const res = await call("/api/v2/flags/p", { method: "OPTIONS", headers: { authorization: "", origin: "https://tools.example", "access-control-request-method": "PATCH" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://tools.example");
    for (const h of ["Authorization", "Content-Type", "LD-API-Version", "X-HTTP-Method-Override"]) expect(res.headers.get("access-control-allow-headers")).toContain(h);
    expect(res.headers.get("access-control-allow-methods")).toContain("PATCH");
    // Credentials (cookies) only for the configured public origin.
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    const own = await call("/api/v2/flags/p", { method: "OPTIONS", headers: { origin: PUBLIC_ORIGIN } });
    expect(own.headers.get("access-control-allow-credentials")).toBe("true");
  });

  test("answers carry the CORS headers, errors included; configured origins restrict who gets them", async () => {
    const open = gateway();
    expect((await open.call("/api/v2/projects", { headers: { origin: "https://a.example" } })).headers.get("access-control-allow-origin")).toBe("https://a.example");
    const denied = await open.call("/api/v2/projects", { headers: { origin: "https://a.example", authorization: "wrong" } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe("https://a.example");
    const closed = gateway(["https://allowed.example"]);
    expect((await closed.call("/api/v2/projects", { headers: { origin: "https://allowed.example" } })).headers.get("access-control-allow-origin")).toBe("https://allowed.example");
    expect((await closed.call("/api/v2/projects", { headers: { origin: "https://other.example" } })).headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("method override", () => {
  test("X-HTTP-Method-Override: PATCH, PUT or DELETE on a POST is that method, with its body", async () => {
    const { call, seen } = gateway();
    for (const method of ["PATCH", "put", "DELETE"]) {
      const res = await call("/api/v2/flags/p/f", { method: "POST", headers: { "x-http-method-override": method, "content-type": "application/json" }, body: "[]" });
      expect(res.status).toBe(200);
      expect(seen.at(-1)).toEqual({ method: method.toUpperCase(), body: "[]", contentType: "application/json" });
    }
  });

  test("any other method, or the header on anything but POST, is 400 and reaches no service", async () => {
    const { call, seen } = gateway();
    for (const [method, override] of [["POST", "GET"], ["POST", "TRACE"], ["POST", ""], ["GET", "DELETE"], ["PATCH", "DELETE"]] as const) {
      const res = await call("/api/v2/flags/p/f", { method, headers: { "x-http-method-override": override, "content-type": "application/json" }, body: method === "GET" ? undefined : "{}" });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "invalid_request" });
    }
    expect(seen).toEqual([]);
  });
});

describe("versions", () => {
  test("GET /api/v2/versions lists the versions, the one in use, and beta when asked for", async () => {
    const { call } = gateway();
    expect(await (await call("/api/v2/versions")).json()).toEqual({ validVersions: [...API_VERSIONS], latestVersion: CURRENT_VERSION, currentVersion: CURRENT_VERSION, beta: false });
    expect(await (await call("/api/v2/versions", { headers: { "ld-api-version": "20220603" } })).json()).toMatchObject({ currentVersion: 20220603, beta: false });
    expect(await (await call("/api/v2/versions", { headers: { "ld-api-version": "beta" } })).json()).toMatchObject({ beta: true });
    expect((await call("/api/v2/versions", { method: "POST" })).status).toBe(405);
    expect((await call("/api/v2/versions", { headers: { authorization: "" } })).status).toBe(401);
  });

  test("an unknown version is 400 on any route, before any service sees it", async () => {
    const { call, seen } = gateway();
    for (const v of ["20200101", "2024-04-15", "latest", "9".repeat(200)]) {
      const res = await call("/api/v2/projects", { headers: { "ld-api-version": v } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toContain("LD-API-Version");
    }
    expect(seen).toEqual([]);
  });
});

describe("bodies", () => {
  test("a body that is not JSON is 415; an empty body is never refused for its content type", async () => {
    const { call, seen } = gateway();
    const text = await call("/api/v2/projects", { method: "POST", headers: { "content-type": "text/plain" }, body: "key=x" });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ code: "unsupported_media_type" });
    expect((await call("/api/v2/projects", { method: "POST", body: "{}" })).status).toBe(415);
    expect(seen).toEqual([]);
    const form = await call("/api/v2/projects/p/environments/e/apiKey", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(200);
    for (const type of ["application/json", "application/json; charset=utf-8", "application/merge-patch+json", "application/json-patch+json", "application/json; domain-model=launchdarkly.semanticpatch"]) {
      expect((await call("/api/v2/flags/p/f", { method: "PATCH", headers: { "content-type": type }, body: "{}" })).status).toBe(200);
    }
  });

  test("JSON nested deeper than 64 levels is 400; strings that look nested do not count", async () => {
    const { call, seen } = gateway();
    const deep = "[".repeat(10_000) + "]".repeat(10_000);
    const res = await call("/api/v2/projects", { method: "POST", headers: { "content-type": "application/json" }, body: deep });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain("nested");
    expect(seen).toEqual([]);
    const shallow = JSON.stringify({ a: [{ b: [[["x"]]] }], s: "[[[[[[".repeat(50), q: '\\"[{' });
    expect(jsonDepth(new TextEncoder().encode(shallow))).toBe(6);
    expect((await call("/api/v2/projects", { method: "POST", headers: { "content-type": "application/json" }, body: `${"[".repeat(64)}${"]".repeat(64)}` })).status).toBe(200);
  });

  test("a body over 1 MiB is 413, declared or not", async () => {
    const { call, seen } = gateway();
    const big = `"${"x".repeat(MAX_BODY_BYTES)}"`;
    const res = await call("/api/v2/projects", { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "payload_too_large" });
    const streamed = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    expect((await call("/api/v2/projects", { method: "POST", headers: { "content-type": "application/json" }, body: streamed, duplex: "half" } as RequestInit & { headers: Record<string, string> })).status).toBe(413);
    expect(seen).toEqual([]);
  });
});

test("GET /api/v2 lists the collections", async () => {
  const { call } = gateway();
  const root = (await (await call("/api/v2")).json()) as { links: Record<string, { href: string }> };
  expect(root.links.projects!.href).toBe("/api/v2/projects");
  expect(root.links.tokens!.href).toBe("/api/v2/tokens");
  expect(root.links.auditLog!.href).toBe("/api/v2/auditlog");
});
