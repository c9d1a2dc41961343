import { describe, expect, test } from "bun:test";
import { issueCredential, parseCredential, verifierOf } from "@vexil/shared/secrets";
import { CURRENT_API_VERSION, bootstrapAuth } from "@vexil/auth/domain/bootstrap";
import { verifyAccessToken } from "@vexil/auth/domain/token-verifier";
import type { MemberRecord, TokenRecord } from "@vexil/auth/storage/auth-store";
import { RecordingStore } from "../recording-store.ts";

const NOW = 1_760_000_000_000;

function written(store: RecordingStore): { owner: MemberRecord; token: TokenRecord } {
  const call = store.calls.find((c) => c.method === "bootstrap")!;
  const [owner, token] = call.args as [MemberRecord, TokenRecord];
  return { owner, token };
}

describe("bootstrapAuth", () => {
  test("creates an owner and an admin token owned by it", async () => {
    const store = new RecordingStore();
    await bootstrapAuth(store, "my-own-admin-token-123", NOW);
    const { owner, token } = written(store);
    expect(owner).toMatchObject({ email: "owner@vexil.local", role: "owner", customRoles: [], passwordHash: null, createdAt: NOW, lastSeen: null, version: 1 });
    expect(owner.id).toMatch(/^[0-9a-f]{24}$/);
    expect(token).toMatchObject({
      name: "bootstrap admin token",
      ownerId: owner.id,
      memberId: owner.id,
      role: "admin",
      customRoleIds: [],
      inlineRole: null,
      serviceToken: false,
      version: 1,
      defaultApiVersion: CURRENT_API_VERSION,
      createdAt: NOW,
      lastModified: NOW,
      lastUsed: null,
      expiresAt: null,
      verifier: verifierOf("my-own-admin-token-123"),
      last4: "-123",
    });
    expect(token.id).toMatch(/^[0-9a-f]{24}$/);
    expect(token.id).not.toBe(owner.id);
    expect(await store.inner.memberById(owner.id)).toEqual(owner);
  });

  test("runs once: a second start creates nothing and keeps the first token", async () => {
    const store = new RecordingStore();
    expect(await bootstrapAuth(store, "first-admin-token-0001", NOW)).toEqual({ created: true });
    expect(await bootstrapAuth(store, "second-admin-token-0002", NOW)).toEqual({ created: false });
    expect(await bootstrapAuth(store, undefined, NOW)).toEqual({ created: false });
    expect((await verifyAccessToken(store, "first-admin-token-0001", NOW)).ok).toBe(true);
    expect((await verifyAccessToken(store, "second-admin-token-0002", NOW)).ok).toBe(false);
  });

  test("a generated token is shown only when it was created", async () => {
    const store = new RecordingStore();
    const first = await bootstrapAuth(store, undefined, NOW);
    expect(first.created).toBe(true);
    expect(parseCredential(first.generatedToken!)).toMatchObject({ kind: "api" });
    const second = await bootstrapAuth(store, undefined, NOW);
    expect(second).toEqual({ created: false });
  });

  test("an api- credential given as VEXIL_ADMIN_TOKEN is looked up by its own selector", async () => {
    const store = new RecordingStore();
    const c = issueCredential("api");
    expect(await bootstrapAuth(store, c.value, NOW)).toEqual({ created: true });
    const { token } = written(store);
    expect(token.selector).toBe(c.selector);
    expect(token.verifier).toBe(c.verifier);
    expect((await verifyAccessToken(store, c.value, NOW)).ok).toBe(true);
  });
});
