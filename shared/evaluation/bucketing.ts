/**
 * Percentage rollout buckets, bit-for-bit as server SDKs compute them: the SHA-1 of
 * `<flagKey>.<salt>.<value>` (or `<seed>.<value>` when the rollout has a non-zero seed), its first
 * 15 hex digits as an integer, divided by 0xFFFFFFFFFFFFFFF, giving a bucket in [0, 1).
 *
 * The 60-bit integer is rounded to a double exactly once, as Node's `parseInt` does. (JavaScriptCore's
 * `parseInt` truncates past 53 bits instead, so an SDK running on Bun can differ in the last bit;
 * no rollout weight is fine-grained enough for that to change a variation.)
 */
import type { AttributeReference } from "./attribute-reference.ts";
import type { EvaluationContext } from "./context.ts";

const SCALE = 0xfffffffffffffff;

/** Only strings and integers are bucketable; integers by their decimal text. */
function bucketableText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Number.isInteger(value)) return String(value);
  return undefined;
}

/** The bucket of `hashKey` in [0, 1). */
export function bucketOf(hashKey: string): number {
  const hex = Bun.SHA1.hash(hashKey, "hex");
  return (Number.parseInt(hex.slice(0, 8), 16) * 2 ** 28 + Number.parseInt(hex.slice(8, 15), 16)) / SCALE;
}

export interface Bucket {
  bucket: number;
  /** False when the context has no part of the rollout's kind; such a context is not in an experiment. */
  hadContext: boolean;
}

/**
 * Buckets the `kind` part of `context` by the attribute `by`. `key` and `salt` are the flag's (or
 * the segment's); a missing or unbucketable value lands in bucket 0.
 */
export function bucketContext(context: EvaluationContext, key: string, by: AttributeReference, salt: string, kind: string, seed?: number | null): Bucket {
  const text = bucketableText(context.value(by, kind));
  if (text === undefined) return { bucket: 0, hadContext: context.kinds.includes(kind) };
  const prefix = seed ? String(Number(seed)) : `${key}.${salt}`;
  return { bucket: bucketOf(`${prefix}.${text}`), hadContext: true };
}
