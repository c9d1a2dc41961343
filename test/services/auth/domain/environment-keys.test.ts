import { describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { issueCredential, matchesVerifier, parseCredential } from "@vexil/shared/secrets";
import { issueEnvironmentKeys, resetEnvironmentKey, verifyEnvironmentKey, type SdkKeyVerdict } from "@vexil/auth/domain/environment-keys";
import type { EnvironmentKeyRecord } from "@vexil/auth/storage/auth-store";
import { buildCredential } from "../../../shared/credential-format.ts";
import { NOW, auditOf, serviceCaller, testAuth, type TestAuth } from "../auth-context.ts";
import { RecordingStore } from "../recording-store.ts";

async function invalid(work: Promise<unknown>): Promise<VexilError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VexilError);
  expect((error as VexilError).code).toBe("invalid_request");
  expect((error as VexilError).status).toBe(400);
  return error as VexilError;
}

describe("issueEnvironmentKeys", () => {
  test("returns an SDK key and a mobile key per environment, once", async () => {
    const store = new RecordingStore();
    const ids = [resourceId(), resourceId()];
    const issued = await issueEnvironmentKeys(store, ids, NOW);
    expect(issued.map((k) => k.environmentId)).toEqual(ids);
    for (const k of issued) {
      expect(parseCredential(k.sdkKey)?.kind).toBe("sdk");
      expect(parseCredential(k.mobileKey)?.kind).toBe("mob");
    }
    const values = issued.flatMap((k) => [k.sdkKey, k.mobileKey]);
    expect(new Set(values).size).toBe(4);
  });

  test("stores only selectors, verifiers and last four characters, in one write", async () => {
    const store = new RecordingStore();
    const env = resourceId();
    const [issued] = await issueEnvironmentKeys(store, [env], NOW);
    expect(store.calls.map((c) => c.method)).toEqual(["insertEnvironmentKeys"]);
    const records = store.calls[0]!.args[0] as EnvironmentKeyRecord[];
    expect(records).toHaveLength(2);

    for (const [kind, value] of [
      ["sdk", issued!.sdkKey],
      ["mob", issued!.mobileKey],
    ] as const) {
      const selector = parseCredential(value)!.selector;
      const record = records.find((r) => r.kind === kind)!;
      expect(record).toMatchObject({ environmentId: env, selector, last4: value.slice(-4), createdAt: NOW, expiresAt: null });
      expect(record.id).toMatch(/^[0-9a-f]{24}$/);
      expect(matchesVerifier(value, record.verifier)).toBe(true);
      expect(await store.inner.environmentKeyBySelector(selector)).toEqual(record);
      expect(store.received()).not.toContain(value);
      expect(store.received()).not.toContain(value.slice(17, 39));
    }
  });

  test.each([
    ["no ids", []],
    ["a non-hex id", ["not-an-environment-id!!"]],
    ["an upper-case id", ["ABCDEF0123456789ABCDEF01"]],
    ["a short id", ["abcdef"]],
    ["one bad id among good ones", [resourceId(), "nope"]],
    ["101 ids", Array.from({ length: 101 }, () => resourceId())],
  ])("%s is refused as invalid_request and nothing is stored", async (_, ids) => {
    const store = new RecordingStore();
    await invalid(issueEnvironmentKeys(store, ids as string[], NOW));
    expect(store.calls).toEqual([]);
  });

  test("100 ids are accepted", async () => {
    const store = new RecordingStore();
    const issued = await issueEnvironmentKeys(store, Array.from({ length: 100 }, () => resourceId()), NOW);
    expect(issued).toHaveLength(100);
    expect((store.calls[0]!.args[0] as EnvironmentKeyRecord[]).length).toBe(200);
  });
});

describe("resetEnvironmentKey", () => {
  async function issued() {
    const t = testAuth();
    const caller = await serviceCaller(t, "admin");
    const env = resourceId();
    const [keys] = await issueEnvironmentKeys(t.store, [env], NOW);
    t.store.calls.length = 0;
    return { t, caller, env, sdkKey: keys!.sdkKey, mobileKey: keys!.mobileKey };
  }
  const live = async (t: TestAuth, key: string, at: number) => (await verifyEnvironmentKey(t.store.inner, key, at)).ok;

  test("an SDK key reset with a future expiry keeps the old key working until then", async () => {
    const { t, caller, env, sdkKey, mobileKey } = await issued();
    const expiry = NOW + 3_600_000;
    const fresh = await resetEnvironmentKey(t.ctx, { environmentId: env, kind: "sdk", expiry, caller, spec: "proj/p:env/e" });
    expect(parseCredential(fresh)?.kind).toBe("sdk");
    expect(fresh).not.toBe(sdkKey);
    expect(await live(t, fresh, NOW)).toBe(true);
    expect(await live(t, sdkKey, NOW)).toBe(true);
    expect(await live(t, sdkKey, expiry - 1)).toBe(true);
    expect(await live(t, sdkKey, expiry)).toBe(false);
    expect(await live(t, fresh, expiry)).toBe(true);
    expect(await live(t, mobileKey, expiry)).toBe(true);
    expect((await t.store.inner.liveEnvironmentKeys(env, "sdk", NOW)).map((k) => k.selector).sort()).toEqual([parseCredential(fresh)!.selector, parseCredential(sdkKey)!.selector].sort());

    expect(t.events.keyRevocations).toEqual([{ environmentId: env, kind: "sdk", selectors: [parseCredential(sdkKey)!.selector], at: expiry }]);
    const audit = await auditOf(t, "updateApiKey");
    expect(audit).toMatchObject({ kind: "environment", spec: "proj/p:env/e", date: NOW, serviceToken: true });
    expect(audit.description).toContain(new Date(expiry).toISOString());
    expect(t.store.received()).not.toContain(fresh);
  });

  test("an SDK key reset without an expiry, or with one in the past, ends the old key at once", async () => {
    for (const expiry of [undefined, NOW - 1, NOW]) {
      const { t, caller, env, sdkKey } = await issued();
      await resetEnvironmentKey(t.ctx, { environmentId: env, kind: "sdk", expiry, caller, spec: "proj/p:env/e" });
      expect(await live(t, sdkKey, NOW)).toBe(false);
      expect(t.events.keyRevocations).toEqual([{ environmentId: env, kind: "sdk", selectors: [parseCredential(sdkKey)!.selector], at: NOW }]);
    }
  });

  test("a mobile key reset ends the old key at once, whatever the expiry", async () => {
    const { t, caller, env, sdkKey, mobileKey } = await issued();
    const fresh = await resetEnvironmentKey(t.ctx, { environmentId: env, kind: "mob", expiry: NOW + 3_600_000, caller, spec: "proj/p:env/e" });
    expect(parseCredential(fresh)?.kind).toBe("mob");
    expect(await live(t, mobileKey, NOW)).toBe(false);
    expect(await live(t, fresh, NOW)).toBe(true);
    expect(await live(t, sdkKey, NOW)).toBe(true);
    expect(t.events.keyRevocations).toEqual([{ environmentId: env, kind: "mob", selectors: [parseCredential(mobileKey)!.selector], at: NOW }]);
    expect((await auditOf(t, "updateMobileKey")).description).toBe("The old key stopped working at once");
  });

  test("a second reset during a grace period ends every older key no later than before", async () => {
    const { t, caller, env, sdkKey } = await issued();
    const first = await resetEnvironmentKey(t.ctx, { environmentId: env, kind: "sdk", expiry: NOW + 60_000, caller, spec: "s" });
    t.clock.now = NOW + 1_000;
    await resetEnvironmentKey(t.ctx, { environmentId: env, kind: "sdk", expiry: NOW + 600_000, caller, spec: "s" });
    expect(await live(t, sdkKey, NOW + 59_999)).toBe(true);
    expect(await live(t, sdkKey, NOW + 60_000)).toBe(false);
    expect(await live(t, first, NOW + 599_999)).toBe(true);
    expect(await live(t, first, NOW + 600_000)).toBe(false);
    expect(t.events.keyRevocations[1]!.selectors.sort()).toEqual([parseCredential(sdkKey)!.selector, parseCredential(first)!.selector].sort());
  });

  test("an environment without keys gets one and nothing is published", async () => {
    const t = testAuth();
    const caller = await serviceCaller(t, "admin");
    const env = resourceId();
    const fresh = await resetEnvironmentKey(t.ctx, { environmentId: env, kind: "sdk", caller, spec: "s" });
    expect(await live(t, fresh, NOW)).toBe(true);
    expect(t.events.keyRevocations).toEqual([]);
  });

  test("a bad environment id or kind is a 400 and nothing changes", async () => {
    const { t, caller, env } = await issued();
    await invalid(resetEnvironmentKey(t.ctx, { environmentId: "nope", kind: "sdk", caller, spec: "s" }));
    await invalid(resetEnvironmentKey(t.ctx, { environmentId: env, kind: "api" as "sdk", caller, spec: "s" }));
    expect(t.store.methods()).not.toContain("rotateEnvironmentKey");
  });
});

describe("verifyEnvironmentKey", () => {
  test("a live key names its environment; access tokens, forged and unknown keys do not", async () => {
    const store = new RecordingStore();
    const env = resourceId();
    const [keys] = await issueEnvironmentKeys(store, [env], NOW);
    expect(await verifyEnvironmentKey(store, keys!.sdkKey, NOW)).toEqual({ v: 1, ok: true, environmentId: env, kind: "sdk" });
    expect(await verifyEnvironmentKey(store, ` ${keys!.mobileKey} `, NOW)).toEqual({ v: 1, ok: true, environmentId: env, kind: "mob" });
    const refused: SdkKeyVerdict = { v: 1, ok: false, reason: "Invalid SDK key" };
    expect(await verifyEnvironmentKey(store, issueCredential("api").value, NOW)).toEqual(refused);
    expect(await verifyEnvironmentKey(store, issueCredential("sdk").value, NOW)).toEqual(refused);
    expect(await verifyEnvironmentKey(store, "sdk-garbage", NOW)).toEqual(refused);
    const selector = parseCredential(keys!.sdkKey)!.selector;
    expect(await verifyEnvironmentKey(store, buildCredential("sdk", selector, "0".repeat(22)), NOW)).toEqual(refused);
    // The mobile prefix on an SDK key's selector is refused.
    expect(await verifyEnvironmentKey(store, buildCredential("mob", selector, keys!.sdkKey.slice(17, 39)), NOW)).toEqual(refused);
  });
});
