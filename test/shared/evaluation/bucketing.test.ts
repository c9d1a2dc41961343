import { describe, expect, test } from "bun:test";
import { attributeReference, KEY_REFERENCE } from "@vexil/shared/evaluation/attribute-reference";
import { bucketContext, bucketOf } from "@vexil/shared/evaluation/bucketing";
import { parseContext, type EvaluationContext } from "@vexil/shared/evaluation/context";

function context(raw: unknown): EvaluationContext {
  const parsed = parseContext(raw);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.context;
}

describe("bucketing", () => {
  // The vectors LaunchDarkly's SDK test suites share (flag "hashKey", salt "saltyA", seed 61).
  test.each([
    ["userKeyA", 0.42157587, 0.09801207],
    ["userKeyB", 0.6708485, 0.14483777],
    ["userKeyC", 0.10343106, 0.9242641],
  ])("%s lands in %d, or %d with seed 61", (key, bucket, seeded) => {
    const ctx = context({ kind: "user", key });
    expect(bucketContext(ctx, "hashKey", KEY_REFERENCE, "saltyA", "user").bucket).toBeCloseTo(bucket, 7);
    expect(bucketContext(ctx, "hashKey", KEY_REFERENCE, "saltyA", "user", 61).bucket).toBeCloseTo(seeded, 7);
  });

  test("integers bucket like their decimal text; other values land in bucket 0", () => {
    const by = attributeReference("intAttr", true);
    const asInt = bucketContext(context({ key: "k", custom: { intAttr: 33333 } }), "hashKey", by, "saltyA", "user").bucket;
    const asText = bucketContext(context({ key: "k", custom: { intAttr: "33333" } }), "hashKey", by, "saltyA", "user").bucket;
    expect(asInt).toBeCloseTo(0.54771423, 7);
    expect(asText).toBe(asInt);
    for (const value of [999.999, true, null, ["33333"], { a: 1 }]) {
      expect(bucketContext(context({ key: "k", custom: { intAttr: value } }), "hashKey", by, "saltyA", "user")).toEqual({ bucket: 0, hadContext: true });
    }
  });

  test("a context without the rollout's kind lands in bucket 0 and is not counted as present", () => {
    expect(bucketContext(context({ kind: "user", key: "userKeyA" }), "hashKey", KEY_REFERENCE, "saltyA", "org")).toEqual({ bucket: 0, hadContext: false });
  });

  test("a zero seed falls back to key and salt", () => {
    const ctx = context({ kind: "user", key: "userKeyA" });
    expect(bucketContext(ctx, "hashKey", KEY_REFERENCE, "saltyA", "user", 0).bucket).toBeCloseTo(0.42157587, 7);
  });

  test("the 60-bit hash is rounded once, exactly", () => {
    for (let i = 0; i < 2_000; i++) {
      const hashKey = `flag.salt.user-${i}`;
      const exact = Number(BigInt(`0x${Bun.SHA1.hash(hashKey, "hex").slice(0, 15)}`)) / 0xfffffffffffffff;
      expect(bucketOf(hashKey)).toBe(exact);
    }
  });
});
