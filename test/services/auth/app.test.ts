import { describe, expect, test } from "bun:test";
import { CALLER_HEADER, encodeCaller, type Caller } from "@vexil/shared/caller";
import { silentLogger } from "@vexil/shared/logger";
import { createAuthApp } from "@vexil/auth/app";
import { bootstrapAuth } from "@vexil/auth/domain/bootstrap";
import { MemoryAuthStore } from "@vexil/auth/storage/memory-auth-store";
import { RecordingStore } from "./recording-store.ts";

const caller = (over: Partial<Caller> = {}): Caller => ({
  tokenId: "0123456789abcdef01234567",
  tokenName: "deploy bot",
  memberId: null,
  role: "writer",
  serviceToken: true,
  ...over,
});

const identity = (headers: Record<string, string> = {}) => new Request("http://vexil.internal/api/v2/caller-identity", { headers });

async function unauthorizedBody(response: Response) {
  expect(response.status).toBe(401);
  expect(response.headers.get("content-type")).toContain("application/json");
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toEqual({ code: "unauthorized", message: "Invalid access token", id: expect.any(String) });
  return body;
}

describe("GET /api/v2/caller-identity", () => {
  test("without the caller header is 401 with a JSON error", async () => {
    const app = createAuthApp({ store: new MemoryAuthStore(), logger: silentLogger });
    const body = await unauthorizedBody(await app.handle(identity({ "x-request-id": "auth-req-0001" })));
    expect(body.id).toBe("auth-req-0001");
  });

  test.each([
    ["not base64 JSON", "%%%not-base64%%%"],
    ["JSON without tokenId", Buffer.from(JSON.stringify({ role: "admin" })).toString("base64url")],
    ["JSON without role", Buffer.from(JSON.stringify({ tokenId: "t" })).toString("base64url")],
    ["a JSON string", Buffer.from(JSON.stringify("admin")).toString("base64url")],
  ])("a caller header that is %s is 401", async (_, header) => {
    const app = createAuthApp({ store: new MemoryAuthStore(), logger: silentLogger });
    await unauthorizedBody(await app.handle(identity({ [CALLER_HEADER]: header })));
  });

  test("a service token's identity has no member and looks nothing up", async () => {
    const store = new RecordingStore();
    const app = createAuthApp({ store, logger: silentLogger });
    const response = await app.handle(identity({ [CALLER_HEADER]: encodeCaller(caller()) }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      authKind: "token",
      tokenKind: "service",
      tokenId: "0123456789abcdef01234567",
      tokenName: "deploy bot",
      serviceToken: true,
      role: "writer",
      _links: { self: { href: "/api/v2/caller-identity", type: "application/json" } },
    });
    expect(store.calls).toEqual([]);
  });

  test("a personal token's identity includes its member", async () => {
    const store = new RecordingStore();
    await bootstrapAuth(store, "my-own-admin-token-123", 1_000);
    const owner = store.calls[0]!.args[0] as { id: string };
    const app = createAuthApp({ store, logger: silentLogger });
    const response = await app.handle(
      identity({ [CALLER_HEADER]: encodeCaller(caller({ memberId: owner.id, serviceToken: false, role: "admin", tokenName: "bootstrap admin token" })) }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      authKind: "token",
      tokenKind: "personal",
      tokenId: "0123456789abcdef01234567",
      tokenName: "bootstrap admin token",
      memberId: owner.id,
      serviceToken: false,
      role: "admin",
      member: { _id: owner.id, email: "owner@vexil.local", role: "owner" },
    });
  });

  test("a member that no longer exists is left out", async () => {
    const app = createAuthApp({ store: new MemoryAuthStore(), logger: silentLogger });
    const response = await app.handle(identity({ [CALLER_HEADER]: encodeCaller(caller({ memberId: "ffffffffffffffffffffffff", serviceToken: false })) }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.memberId).toBe("ffffffffffffffffffffffff");
    expect(body).not.toHaveProperty("member");
  });
});

describe("createAuthApp", () => {
  test("an unknown route is a JSON 404", async () => {
    const app = createAuthApp({ store: new MemoryAuthStore(), logger: silentLogger });
    const response = await app.handle(new Request("http://vexil.internal/api/v2/nothing"));
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: "not_found" });
  });
});
