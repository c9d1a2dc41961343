/** The auth service's bus handlers, over the in-process bus, called the way the gateway and flags call them. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { IssueEnvironmentKeysReply, Verdict } from "@vexil/shared/auth-messages";
import { encodeJson, decodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { requestJson } from "@vexil/shared/bus/rpc";
import { VexilError } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { silentLogger } from "@vexil/shared/logger";
import { matchesVerifier, parseCredential } from "@vexil/shared/secrets";
import { subjects } from "@vexil/shared/subjects";
import { serveAuthBus } from "@vexil/auth/bus-handlers";
import { bootstrapAuth } from "@vexil/auth/domain/bootstrap";
import { RecordingStore } from "./recording-store.ts";

let bus: MemoryBus;
let store: RecordingStore;
beforeEach(() => {
  bus = new MemoryBus();
  store = new RecordingStore();
  serveAuthBus(bus, store, silentLogger);
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

  test("handlers serve in the auth queue group", async () => {
    // A second instance in the same queue group shares the requests instead of duplicating them.
    const second = new RecordingStore();
    serveAuthBus(bus, second, silentLogger);
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
    serveAuthBus(other, failing, silentLogger);
    const reply = await other.request(subjects.authVerify, encodeJson({ v: 1, token: "some-free-form-token" }), { timeoutMs: 1_000 });
    expect(decodeJson(reply.data)).toEqual({ error: { code: "internal_error", message: "The handler failed" } });
  } finally {
    await other.drain();
  }
});
