import { describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { matchesVerifier, parseCredential } from "@vexil/shared/secrets";
import { issueEnvironmentKeys } from "@vexil/auth/domain/environment-keys";
import type { EnvironmentKeyRecord } from "@vexil/auth/storage/auth-store";
import { RecordingStore } from "../recording-store.ts";

const NOW = 1_760_000_000_000;

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
