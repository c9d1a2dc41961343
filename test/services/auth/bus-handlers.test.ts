/** The auth service's bus handlers, over the in-process bus, called the way the gateway and flags call them. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { EnvironmentKeysRevokedEvent, IssueEnvironmentKeysReply, ResetEnvironmentKeyReply, RevokedEvent, Verdict } from "@vexil/shared/auth-messages";
import { encodeJson, decodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { requestJson } from "@vexil/shared/bus/rpc";
import { VexilError } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { silentLogger } from "@vexil/shared/logger";
import { matchesVerifier, parseCredential } from "@vexil/shared/secrets";
import { subjects } from "@vexil/shared/subjects";
import { busAuthEvents, serveAuthBus } from "@vexil/auth/bus-handlers";
import { bootstrapAuth } from "@vexil/auth/domain/bootstrap";
import { login } from "@vexil/auth/domain/sessions";
import { NOW, addMember, addToken, serviceCaller, testAuth, type TestAuth } from "./auth-context.ts";
import { RecordingStore } from "./recording-store.ts";

let bus: MemoryBus;
let t: TestAuth;
let store: RecordingStore;
beforeEach(() => {
  bus = new MemoryBus();
  t = testAuth({ logger: silentLogger });
  store = t.store;
  serveAuthBus(bus, t.ctx);
});
afterEach(async () => {
  await bus.drain();
});

async function failure(work: Promise<unknown>): Promise<VexilError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VexilError);
  return error as VexilError;
}

describe(subjects.authVerify, () => {
  test("answers a verdict for a valid token", async () => {
    await bootstrapAuth(store, "my-own-admin-token-123");
    const verdict = await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token: "my-own-admin-token-123" }, 1_000);
    expect(verdict).toMatchObject({ v: 1, ok: true, caller: { role: "admin", tokenName: "bootstrap admin token" } });
  });

  test("refuses a wrong token and a request without a token string", async () => {
    await bootstrapAuth(store, "my-own-admin-token-123");
    expect(await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token: "my-own-admin-token-999" }, 1_000)).toEqual({
      v: 1,
      ok: false,
      reason: "Invalid access token",
    });
    expect(await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token: 42 }, 1_000)).toEqual({ v: 1, ok: false, reason: "Invalid access token" });
    expect(await requestJson<Verdict>(bus, subjects.authVerify, { v: 1 }, 1_000)).toMatchObject({ ok: false });
  });

  test("answers a verdict for a session JWT, and refuses a bad one", async () => {
    const passwordHash = await Bun.password.hash("pass-word-1", { algorithm: "argon2id", memoryCost: 1024, timeCost: 1 });
    const member = await addMember(t, { email: "s@example.com", role: "writer", passwordHash });
    const { jwt } = await login(t.ctx, "s@example.com", "pass-word-1");
    const verdict = await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, session: jwt }, 1_000);
    expect(verdict).toMatchObject({ v: 1, ok: true, sessionId: expect.any(String), caller: { kind: "session", memberId: member.id, role: "writer" } });
    expect(await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, session: "x.y.z" }, 1_000)).toMatchObject({ ok: false });
  });

  test("uses the context's clock", async () => {
    const owner = await addMember(t, { role: "owner" });
    const { value } = await addToken(t, owner.id, { expiresAt: NOW + 10 });
    expect((await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token: value }, 1_000)).ok).toBe(true);
    t.clock.now = NOW + 10;
    expect(await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token: value }, 1_000)).toEqual({ v: 1, ok: false, reason: "This access token has expired" });
  });

  test("handlers serve in the auth queue group", async () => {
    // A second instance in the same queue group shares the requests instead of duplicating them.
    const second = testAuth().store;
    serveAuthBus(bus, { ...t.ctx, store: second });
    for (let i = 0; i < 4; i++) await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token: "some-free-form-token" }, 1_000);
    const lookups = (s: RecordingStore) => s.calls.filter((c) => c.method === "tokenBySelector").length;
    expect(lookups(store) + lookups(second)).toBe(4);
    expect(lookups(store)).toBeGreaterThan(0);
    expect(lookups(second)).toBeGreaterThan(0);
  });
});

describe(subjects.authIssueEnvironmentKeys, () => {
  test("issues keys and stores only their verifiers", async () => {
    const env = resourceId();
    const reply = await requestJson<IssueEnvironmentKeysReply>(bus, subjects.authIssueEnvironmentKeys, { v: 1, environmentIds: [env] }, 1_000);
    expect(reply.v).toBe(1);
    expect(reply.keys).toHaveLength(1);
    const { sdkKey, mobileKey, environmentId } = reply.keys[0]!;
    expect(environmentId).toBe(env);
    for (const value of [sdkKey, mobileKey]) {
      const stored = await store.inner.environmentKeyBySelector(parseCredential(value)!.selector);
      expect(stored?.environmentId).toBe(env);
      expect(matchesVerifier(value, stored!.verifier)).toBe(true);
      expect(store.received()).not.toContain(value);
    }
  });

  test.each([
    ["no environmentIds", { v: 1 }],
    ["environmentIds not an array", { v: 1, environmentIds: "abc" }],
    ["numbers in environmentIds", { v: 1, environmentIds: [1, 2] }],
    ["malformed ids", { v: 1, environmentIds: ["not-an-id"] }],
    ["an empty list", { v: 1, environmentIds: [] }],
  ])("%s is an invalid_request error carried over the bus", async (_, body) => {
    const error = await failure(requestJson(bus, subjects.authIssueEnvironmentKeys, body, 1_000));
    expect(error.code).toBe("invalid_request");
    expect(error.status).toBe(400);
    expect(store.calls.filter((c) => c.method === "insertEnvironmentKeys")).toEqual([]);
  });
});

describe(subjects.authDeleteEnvironmentKeys, () => {
  test("deletes the keys of the given environments and says how many", async () => {
    const [a, b] = [resourceId(), resourceId()];
    const issued = await requestJson<IssueEnvironmentKeysReply>(bus, subjects.authIssueEnvironmentKeys, { v: 1, environmentIds: [a, b] }, 1_000);
    expect(await requestJson(bus, subjects.authDeleteEnvironmentKeys, { v: 1, environmentIds: [a] }, 1_000)).toEqual({ deleted: 2 });
    expect(await store.inner.environmentKeyBySelector(parseCredential(issued.keys[0]!.sdkKey)!.selector)).toBeUndefined();
    expect(await store.inner.environmentKeyBySelector(parseCredential(issued.keys[1]!.sdkKey)!.selector)).toBeDefined();
    expect(await requestJson(bus, subjects.authDeleteEnvironmentKeys, { v: 1, environmentIds: [a] }, 1_000)).toEqual({ deleted: 0 });
  });

  test("a body without environmentIds is an invalid_request error", async () => {
    const error = await failure(requestJson(bus, subjects.authDeleteEnvironmentKeys, { v: 1, environmentIds: [null] }, 1_000));
    expect(error.code).toBe("invalid_request");
  });
});

test("a store failure is an internal_error reply without its details", async () => {
  const failing = new RecordingStore();
  failing.tokenBySelector = async () => {
    throw new Error("connection to 10.0.0.5 lost");
  };
  const other = new MemoryBus();
  try {
    serveAuthBus(other, { ...t.ctx, store: failing });
    const reply = await other.request(subjects.authVerify, encodeJson({ v: 1, token: "some-free-form-token" }), { timeoutMs: 1_000 });
    expect(decodeJson(reply.data)).toEqual({ error: { code: "internal_error", message: "The handler failed" } });
  } finally {
    await other.drain();
  }
});

describe(subjects.authVerifyEnvironmentKey, () => {
  test("says which environment a live key belongs to", async () => {
    const env = resourceId();
    const issued = await requestJson<IssueEnvironmentKeysReply>(bus, subjects.authIssueEnvironmentKeys, { v: 1, environmentIds: [env] }, 1_000);
    expect(await requestJson(bus, subjects.authVerifyEnvironmentKey, { key: issued.keys[0]!.sdkKey }, 1_000)).toEqual({ v: 1, ok: true, environmentId: env, kind: "sdk" });
    expect(await requestJson(bus, subjects.authVerifyEnvironmentKey, { key: 7 }, 1_000)).toEqual({ v: 1, ok: false, reason: "Invalid SDK key" });
  });
});

describe(subjects.authResetEnvironmentKey, () => {
  test("answers the new key; the old one stops at the expiry", async () => {
    const env = resourceId();
    const issued = await requestJson<IssueEnvironmentKeysReply>(bus, subjects.authIssueEnvironmentKeys, { v: 1, environmentIds: [env] }, 1_000);
    const caller = await serviceCaller(t, "admin");
    const reply = await requestJson<ResetEnvironmentKeyReply>(bus, subjects.authResetEnvironmentKey, { v: 1, environmentId: env, kind: "mob", caller, spec: "proj/p:env/e" }, 1_000);
    expect(reply.v).toBe(1);
    expect(parseCredential(reply.key)?.kind).toBe("mob");
    expect(await requestJson(bus, subjects.authVerifyEnvironmentKey, { key: issued.keys[0]!.mobileKey }, 1_000)).toMatchObject({ ok: false });
    expect(await requestJson(bus, subjects.authVerifyEnvironmentKey, { key: reply.key }, 1_000)).toMatchObject({ ok: true, environmentId: env });
    expect(t.events.keyRevocations).toHaveLength(1);
  });

  test("a bad request is an invalid_request error", async () => {
    const caller = await serviceCaller(t, "admin");
    const error = await failure(requestJson(bus, subjects.authResetEnvironmentKey, { v: 1, environmentId: "x", kind: "sdk", caller, spec: "s" }, 1_000));
    expect(error.code).toBe("invalid_request");
  });
});

describe(subjects.authUsage, () => {
  test("records when tokens were last used and members last seen, keeping the latest", async () => {
    const owner = await addMember(t, { role: "owner" });
    const { record } = await addToken(t, owner.id);
    bus.publish(subjects.authUsage, encodeJson({ v: 1, tokens: { [record.id]: NOW + 5 }, members: { [owner.id]: NOW + 7 } }));
    bus.publish(subjects.authUsage, encodeJson({ v: 1, tokens: { [record.id]: NOW + 1 }, members: {} }));
    bus.publish(subjects.authUsage, encodeJson({ v: 1 }));
    await Bun.sleep(5);
    expect((await store.inner.tokenById(record.id))!.lastUsed).toBe(NOW + 5);
    expect((await store.inner.memberById(owner.id))!.lastSeen).toBe(NOW + 7);
  });
});

describe("busAuthEvents", () => {
  test("publishes versioned revocations on their subjects", async () => {
    const revoked: RevokedEvent[] = [];
    const keys: EnvironmentKeysRevokedEvent[] = [];
    bus.subscribe(subjects.authRevoked, (m) => void revoked.push(decodeJson(m.data)));
    bus.subscribe(subjects.authEnvironmentKeysRevoked, (m) => void keys.push(decodeJson(m.data)));
    const events = busAuthEvents(bus);
    await events.revoked({ tokenIds: ["t1"], memberIds: ["m1"] });
    await events.environmentKeysRevoked({ environmentId: "e", kind: "sdk", selectors: ["s"], at: NOW });
    await Bun.sleep(1);
    expect(revoked).toEqual([{ v: 1, tokenIds: ["t1"], memberIds: ["m1"] }]);
    expect(keys).toEqual([{ v: 1, environmentId: "e", kind: "sdk", selectors: ["s"], at: NOW }]);
  });
});
