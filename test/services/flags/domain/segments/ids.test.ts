/** withSegmentIds: segment rules and clauses get ids as flags' do; no trackEvents on segment rules. */
import { describe, expect, test } from "bun:test";
import { withSegmentIds } from "@vexil/flags/domain/segments/ids";
import type { Segment } from "@vexil/flags/domain/segments/model";
import { validateSegment } from "@vexil/flags/domain/segments/validate";
import { richSegment, segment, thrownBy } from "./segment-fixtures.ts";

type Doc = any;

function counter() {
  let n = 0;
  return () => `n${++n}`;
}

describe("segment ids", () => {
  test("LaunchDarkly's documented rule without ids: the rule and its clause get ids, nothing else is added", () => {
    const s: Doc = segment({ rules: [{ clauses: [{ contextKind: "user", attribute: "email", op: "endsWith", values: [".edu"], negate: false }] }] as never });
    const before = structuredClone(s);
    const done = withSegmentIds(s, counter());
    expect(s).toEqual(before);
    expect(done.rules).toEqual([{ _id: "n1", clauses: [{ _id: "n2", contextKind: "user", attribute: "email", op: "endsWith", values: [".edu"], negate: false }] }]);
    expect(() => validateSegment(done)).not.toThrow();
  });

  test("given ids are kept and an empty one replaced; negate defaults to false; a complete segment is returned as it is", () => {
    const s: Doc = richSegment();
    expect(withSegmentIds(s)).toBe(s);
    s.rules.unshift({ _id: "", clauses: [{ attribute: "a", op: "in", values: [1] }] });
    const done: Doc = withSegmentIds(s, counter());
    expect(done.rules.map((r: Doc) => r._id)).toEqual(["n1", "r1", "r2"]);
    expect(done.rules[0].clauses).toEqual([{ _id: "n2", attribute: "a", op: "in", values: [1], negate: false }]);
    expect(done.rules[1]).toBe(s.rules[1]);
  });

  test("duplicates are a 400 naming the id and both places", () => {
    const rules: Doc = richSegment();
    rules.rules[1]._id = "r1";
    expect(thrownBy(() => withSegmentIds(rules)).message).toBe('rules[1]._id: "r1" is already the id of rules[0]');
    const clauses: Doc = richSegment();
    clauses.rules[0].clauses[1]._id = "c1";
    expect(thrownBy(() => withSegmentIds(clauses)).message).toBe('rules[0].clauses[1]._id: "c1" is already the id of rules[0].clauses[0]');
  });

  test("misshapen segments pass through for validation to name", () => {
    for (const doc of [null, 5, { rules: "x" }, segment({ rules: [null, { clauses: 3 }] as never })] as Doc[]) {
      expect(() => withSegmentIds(doc as Segment)).not.toThrow();
    }
  });
});
