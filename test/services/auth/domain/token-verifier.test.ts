import { describe, expect, test } from "bun:test";
import type { Verdict } from "@vexil/shared/auth-messages";
import { resourceId } from "@vexil/shared/ids";
import { freeformSelector, issueCredential, verifierOf } from "@vexil/shared/secrets";
import { bootstrapAuth } from "@vexil/auth/domain/bootstrap";
import { builtInGrant, memberGrant } from "@vexil/auth/domain/grants";
import { verifyAccessToken } from "@vexil/auth/domain/token-verifier";
import type { MemberRecord, TokenRecord } from "@vexil/auth/storage/auth-store";
import { buildCredential } from "../../../shared/credential-format.ts";
import { allow, memberRecord, placeholderAudit, roleRecord } from "../auth-context.ts";
import { RecordingStore } from "../recording-store.ts";

const NOW = 1_760_000_000_000;

/** A store holding one generated api- token; `value` is what its holder presents. */
async function storeWithToken(over: Partial<TokenRecord> = {}) {
  const store = new RecordingStore();
  const owner: MemberRecord = memberRecord({ email: "o@vexil.local", role: "owner" });
  const c = issueCredential("api");
  const record: TokenRecord = {
    id: resourceId(),
    selector: c.selector,
    verifier: c.verifier,
    last4: c.last4,
    name: "deploy bot",
    description: "",
    ownerId: owner.id,
    memberId: owner.id,
    role: "writer",
    customRoleIds: [],
    inlineRole: null,
    serviceToken: false,
    defaultApiVersion: 20240415,
    createdAt: NOW,
    lastModified: NOW,
    lastUsed: null,
    expiresAt: null,
    version: 1,
    ...over,
  };
  await store.bootstrap(owner, record);
  store.calls.length = 0;
  return { store, value: c.value, record, owner };
}

function refused(verdict: Verdict): string {
  expect(verdict.ok).toBe(false);
  expect(verdict.v).toBe(1);
  return (verdict as { reason: string }).reason;
}

describe("verifyAccessToken", () => {
  test("a valid generated api- token opens the API with the caller's fields", async () => {
    const { store, value, record, owner } = await storeWithToken();
    expect(await verifyAccessToken(store, value, NOW)).toEqual({
      v: 1,
      ok: true,
      caller: {
        kind: "token",
        tokenId: record.id,
        tokenName: "deploy bot",
        memberId: owner.id,
        memberEmail: "o@vexil.local",
        role: "writer",
        serviceToken: false,
        grants: [builtInGrant("writer", owner.id), builtInGrant("owner", owner.id)],
        apiVersion: 20240415,
      },
    });
    // No custom roles: no role lookups.
    expect(store.calls.map((c) => c.method)).toEqual(["tokenBySelector", "memberById"]);
    expect(store.calls[0]!.args).toEqual([record.selector]);
  });

  test("surrounding whitespace is ignored", async () => {
    const { store, value } = await storeWithToken();
    expect((await verifyAccessToken(store, `  ${value}\n`, NOW)).ok).toBe(true);
  });

  test("a service token has no member", async () => {
    const { store, value, record } = await storeWithToken({ serviceToken: true, role: "reader" });
    const verdict = await verifyAccessToken(store, value, NOW);
    expect(verdict).toEqual({
      v: 1,
      ok: true,
      caller: { kind: "token", tokenId: record.id, tokenName: "deploy bot", memberId: null, memberEmail: null, role: "reader", serviceToken: true, grants: [builtInGrant("reader", null)], apiVersion: 20240415 },
    });
    expect(store.calls.map((c) => c.method)).not.toContain("memberById");
  });

  test("the right selector with a wrong secret is refused", async () => {
    const { store, value, record } = await storeWithToken();
    const forged = buildCredential("api", record.selector, "0000000000000000000000");
    expect(forged.slice(4, 16)).toBe(value.slice(4, 16));
    expect(forged).not.toBe(value);
    expect(refused(await verifyAccessToken(store, forged, NOW))).toBe("Invalid access token");
    expect(store.calls.map((c) => c.method)).toEqual(["tokenBySelector"]);
  });

  test("a checksum-corrupted token is refused without touching the store", async () => {
    const { store, value } = await storeWithToken();
    const last = value.at(-1)!;
    const corrupted = value.slice(0, -1) + (last === "A" ? "B" : "A");
    const secretChanged = value.slice(0, 20) + (value[20] === "x" ? "y" : "x") + value.slice(21);
    for (const bad of [corrupted, secretChanged]) {
      expect(refused(await verifyAccessToken(store, bad, NOW))).toBe("Invalid access token");
    }
    expect(store.calls).toEqual([]);
  });

  test.each(["sdk", "mob"] as const)("a valid %s credential is refused as not usable on the REST API, with no lookup", async (kind) => {
    const { store } = await storeWithToken();
    const reason = refused(await verifyAccessToken(store, issueCredential(kind).value, NOW));
    expect(reason).toContain("cannot be used on the REST API");
    expect(store.calls).toEqual([]);
  });

  test.each([
    ["empty", ""],
    ["too short", "short-token"],
    ["blank", " ".repeat(40)],
    ["too long", "x".repeat(257)],
  ])("a %s token is refused with no lookup", async (_, presented) => {
    const { store } = await storeWithToken();
    expect(refused(await verifyAccessToken(store, presented, NOW))).toBe("Invalid access token");
    expect(store.calls).toEqual([]);
  });

  test("a well-formed api- token nobody issued is refused", async () => {
    const { store } = await storeWithToken();
    expect(refused(await verifyAccessToken(store, issueCredential("api").value, NOW))).toBe("Invalid access token");
    // The selector is neither a current token's nor a retired secret's.
    expect(store.calls.map((c) => c.method)).toEqual(["tokenBySelector", "retiredSecret"]);
  });

  test("an expired token is refused from its expiry on", async () => {
    const expiresAt = NOW + 60_000;
    const { store, value } = await storeWithToken({ expiresAt });
    expect((await verifyAccessToken(store, value, expiresAt - 1)).ok).toBe(true);
    expect(refused(await verifyAccessToken(store, value, expiresAt))).toBe("This access token has expired");
    expect(refused(await verifyAccessToken(store, value, expiresAt + 1))).toBe("This access token has expired");
  });

  test("an expired token with a wrong secret says nothing about expiry", async () => {
    const { store, record } = await storeWithToken({ expiresAt: NOW - 1 });
    const forged = buildCredential("api", record.selector, "1111111111111111111111");
    expect(refused(await verifyAccessToken(store, forged, NOW))).toBe("Invalid access token");
  });

  test("the current time is the default", async () => {
    const { store, value } = await storeWithToken({ expiresAt: Date.now() - 1000 });
    expect(refused(await verifyAccessToken(store, value))).toBe("This access token has expired");
  });
});

describe("verifyAccessToken with members, roles and retired secrets", () => {
  test("a personal token whose member is gone is refused", async () => {
    const { store, value, record } = await storeWithToken();
    // A personal token naming a member that does not exist.
    const c = issueCredential("api");
    await store.inner.insertToken({ ...record, id: resourceId(), selector: c.selector, verifier: c.verifier, memberId: resourceId() }, placeholderAudit());
    expect(refused(await verifyAccessToken(store, c.value, NOW))).toBe("This access token's member no longer exists");
    expect((await verifyAccessToken(store, value, NOW)).ok).toBe(true);
  });

  test("removing a member removes its tokens with it", async () => {
    const { store, value, owner } = await storeWithToken();
    await store.inner.deleteMember(owner.id, placeholderAudit());
    expect(refused(await verifyAccessToken(store, value, NOW))).toBe("Invalid access token");
  });

  test("custom roles of the token and of its member are looked up by key or id", async () => {
    const ops = roleRecord({ key: "ops", policy: [allow(["proj/a"])] });
    const audit = roleRecord({ key: "audit", policy: [allow(["proj/b"])] });
    const { store, value, owner } = await storeWithToken({ customRoleIds: [ops.id] });
    await store.inner.insertRole(ops, placeholderAudit());
    await store.inner.insertRole(audit, placeholderAudit());
    await store.inner.updateMember({ ...owner, customRoles: ["audit"], version: 2 }, 1, placeholderAudit());
    store.calls.length = 0;
    const verdict = await verifyAccessToken(store, value, NOW);
    expect(verdict).toMatchObject({ ok: true, caller: { role: "custom" } });
    const grants = (verdict as { caller: { grants: unknown[] } }).caller.grants;
    expect(grants).toEqual([{ base: "reader", statements: ops.policy }, memberGrant({ ...owner, customRoles: ["audit"] }, [audit])]);
    expect(store.calls.filter((c) => c.method === "rolesByKeysOrIds").map((c) => c.args[0])).toEqual([[ops.id], ["audit"]]);
  });

  test("a retired secret works until its expiry and acts as its token", async () => {
    const { store, value, record } = await storeWithToken();
    const next = issueCredential("api");
    const expiresAt = NOW + 60_000;
    await store.inner.updateToken({ ...record, selector: next.selector, verifier: next.verifier, last4: next.last4, version: 2 }, 1, placeholderAudit(), {
      selector: record.selector,
      tokenId: record.id,
      verifier: record.verifier,
      expiresAt,
    });
    expect(await verifyAccessToken(store, value, expiresAt - 1)).toMatchObject({ ok: true, caller: { tokenId: record.id } });
    expect(refused(await verifyAccessToken(store, value, expiresAt))).toBe("Invalid access token");
    expect((await verifyAccessToken(store, next.value, expiresAt)).ok).toBe(true);
    // The retired selector with a wrong secret is refused.
    expect(refused(await verifyAccessToken(store, buildCredential("api", record.selector, "2".repeat(22)), NOW))).toBe("Invalid access token");
  });
});

describe("verifyAccessToken with bootstrap tokens", () => {
  test("a free-form VEXIL_ADMIN_TOKEN verifies as the admin token", async () => {
    const store = new RecordingStore();
    expect(await bootstrapAuth(store, "my-own-admin-token-123", NOW)).toEqual({ created: true });
    const verdict = await verifyAccessToken(store, "my-own-admin-token-123", NOW);
    expect(verdict.ok).toBe(true);
    expect(verdict).toMatchObject({ caller: { tokenName: "bootstrap admin token", role: "admin", serviceToken: false } });
    expect(store.calls.filter((c) => c.method === "tokenBySelector").at(-1)).toEqual({ method: "tokenBySelector", args: [freeformSelector("my-own-admin-token-123")] });
  });

  test("a different free-form token is refused", async () => {
    const store = new RecordingStore();
    await bootstrapAuth(store, "my-own-admin-token-123", NOW);
    expect(refused(await verifyAccessToken(store, "my-own-admin-token-124", NOW))).toBe("Invalid access token");
    expect(refused(await verifyAccessToken(store, "MY-OWN-ADMIN-TOKEN-123", NOW))).toBe("Invalid access token");
  });

  test("the free-form token itself is never handed to the store", async () => {
    const store = new RecordingStore();
    await bootstrapAuth(store, "my-own-admin-token-123", NOW);
    await verifyAccessToken(store, "my-own-admin-token-123", NOW);
    expect(store.received()).not.toContain("my-own-admin-token-123");
    expect(store.received()).toContain(verifierOf("my-own-admin-token-123"));
  });

  test("without VEXIL_ADMIN_TOKEN a generated token is returned once, verifies, and is never stored", async () => {
    const store = new RecordingStore();
    const result = await bootstrapAuth(store, undefined, NOW);
    expect(result.created).toBe(true);
    const generated = result.generatedToken!;
    expect(generated).toMatch(/^api-[0-9A-Za-z]{12}_[0-9A-Za-z]{28}$/);

    const verdict = await verifyAccessToken(store, generated, NOW);
    expect(verdict).toMatchObject({ ok: true, caller: { role: "admin" } });

    expect(store.received()).not.toContain(generated);
    expect(store.received()).not.toContain(generated.slice(17, 39));
    const record = (await store.inner.tokenBySelector(generated.slice(4, 16)))!;
    expect(JSON.stringify(record)).not.toContain(generated.slice(17));
    expect(record.verifier).toBe(verifierOf(generated));
    expect(record.last4).toBe(generated.slice(-4));
  });
});
