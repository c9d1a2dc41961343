import { describe, expect, test } from "bun:test";
import { evaluate, type SdkSegment } from "@vexil/shared/evaluation/evaluate";
import { clause, flag, segment, storeOf, user } from "./fixtures.ts";

/** A flag serving "b" to contexts in any of `keys` (negated: not in any). */
const inSegments = (keys: string[], negate = false) => flag({ rules: [{ id: "seg", clauses: [clause("", "segmentMatch", keys, { negate })], variation: 1 }] });

function served(segments: SdkSegment[], context: unknown, keys = segments.slice(0, 1).map((s) => s.key), negate = false) {
  const result = evaluate(inSegments(keys, negate), context, storeOf([], segments));
  return result.reason.kind === "ERROR" ? result.reason : result.value;
}

describe("segment targets", () => {
  const s = segment({ key: "s", included: ["alice", "both"], excluded: ["bob", "both"], includedContexts: [{ contextKind: "org", values: ["acme"] }], excludedContexts: [{ contextKind: "org", values: ["evil"] }], rules: [{ clauses: [] }] });

  test("included keys are in, and inclusion beats exclusion", () => {
    expect(served([s], user("alice"))).toBe("b");
    expect(served([s], user("both"))).toBe("b");
  });

  test("excluded keys are out, whatever the rules say", () => {
    expect(served([s], user("bob"))).toBe("a");
    expect(served([s], { kind: "org", key: "evil" })).toBe("a");
  });

  test("context targets name a kind; plain lists name users", () => {
    expect(served([s], { kind: "org", key: "acme" })).toBe("b");
    expect(served([s], { kind: "org", key: "alice" })).toBe("b"); // not a target, but the rule matches all
    const noRules = segment({ ...s, rules: [] });
    expect(served([noRules], { kind: "org", key: "alice" })).toBe("a");
    expect(served([noRules], { kind: "multi", user: { key: "x" }, org: { key: "acme" } })).toBe("b");
  });

  test("long target lists work the same", () => {
    const big = segment({ key: "big", included: [...Array.from({ length: 500 }, (_, i) => `k${i}`), "alice"] });
    expect(served([big], user("alice"))).toBe("b");
    expect(served([big], user("k499"))).toBe("b");
    expect(served([big], user("zed"))).toBe("a");
  });
});

describe("segment rules", () => {
  test("a rule matches when all its clauses do", () => {
    const s = segment({ key: "s", rules: [{ clauses: [clause("plan", "in", ["pro"]), clause("country", "in", ["FR"])] }] });
    expect(served([s], user("u", { plan: "pro", country: "FR" }))).toBe("b");
    expect(served([s], user("u", { plan: "pro", country: "US" }))).toBe("a");
  });

  test("a weight buckets by segment key and salt", () => {
    // Key "hashKey" and salt "saltyA": userKeyA falls at 0.42, userKeyB at 0.67.
    const half = segment({ key: "hashKey", salt: "saltyA", rules: [{ clauses: [], weight: 50_000 }] });
    expect(served([half], user("userKeyA"))).toBe("b");
    expect(served([half], user("userKeyB"))).toBe("a");
    expect(served([segment({ ...half, rules: [{ clauses: [], weight: 0 }] })], user("userKeyA"))).toBe("a");
  });

  test("a weighted rule may bucket by another attribute or kind", () => {
    const byAttribute = segment({ key: "hashKey", salt: "saltyA", rules: [{ clauses: [], weight: 50_000, bucketBy: "team" }] });
    expect(served([byAttribute], user("x", { team: "userKeyB" }))).toBe("a");
    expect(served([byAttribute], user("x", { team: "userKeyA" }))).toBe("b");
    const byOrg = segment({ key: "hashKey", salt: "saltyA", rules: [{ clauses: [], weight: 50_000, rolloutContextKind: "org" }] });
    expect(served([byOrg], { kind: "multi", user: { key: "userKeyA" }, org: { key: "userKeyB" } })).toBe("a");
  });

  test("an invalid bucketBy reference is malformed", () => {
    const s = segment({ key: "s", rules: [{ clauses: [], weight: 50_000, bucketBy: "//x", rolloutContextKind: "user" }] });
    expect(served([s], user("u"))).toEqual({ kind: "ERROR", errorKind: "MALFORMED_FLAG" });
  });
});

describe("segmentMatch", () => {
  test("any listed segment will do; unknown and deleted segments never match", () => {
    const s2 = segment({ key: "s2", included: ["alice"] });
    expect(served([s2], user("alice"), ["nope", "s2"])).toBe("b");
    expect(served([segment({ key: "s2", included: ["alice"], deleted: true })], user("alice"), ["s2"])).toBe("a");
    expect(served([], user("alice"), ["nope"])).toBe("a");
    expect(served([], user("alice"), ["nope"], true)).toBe("b");
  });

  test("segments nest through their rules", () => {
    const outer = segment({ key: "outer", rules: [{ clauses: [clause("", "segmentMatch", ["inner"]), clause("plan", "in", ["pro"])] }] });
    const inner = segment({ key: "inner", included: ["alice"] });
    expect(served([outer, inner], user("alice", { plan: "pro" }))).toBe("b");
    expect(served([outer, inner], user("bob", { plan: "pro" }))).toBe("a");
  });

  test("a segment cycle is malformed", () => {
    const s1 = segment({ key: "s1", rules: [{ clauses: [clause("", "segmentMatch", ["s2"])] }] });
    const s2 = segment({ key: "s2", rules: [{ clauses: [clause("", "segmentMatch", ["s1"])] }] });
    expect(served([s1, s2], user("u"))).toEqual({ kind: "ERROR", errorKind: "MALFORMED_FLAG" });
    const self = segment({ key: "self", rules: [{ clauses: [clause("", "segmentMatch", ["self"])] }] });
    expect(served([self], user("u"))).toEqual({ kind: "ERROR", errorKind: "MALFORMED_FLAG" });
  });

  test("the same segment twice on one path is not a cycle", () => {
    const leaf = segment({ key: "leaf", included: ["alice"] });
    const a = segment({ key: "a", rules: [{ clauses: [clause("", "segmentMatch", ["leaf"]), clause("", "segmentMatch", ["leaf"])] }] });
    expect(served([a, leaf], user("alice"))).toBe("b");
  });
});

describe("unbounded segments", () => {
  // Vexil keeps no big-segment store; SDKs without one answer from rules and say so.
  const big = segment({ key: "big", unbounded: true, generation: 2, included: ["alice"], rules: [{ clauses: [clause("plan", "in", ["pro"])] }] });

  test("target lists are ignored, rules apply, and the reason reports NOT_CONFIGURED", () => {
    const run = (context: unknown) => evaluate(inSegments(["big"]), context, storeOf([], [big]));
    expect(run(user("alice")).reason).toEqual({ kind: "FALLTHROUGH", bigSegmentsStatus: "NOT_CONFIGURED" });
    expect(run(user("bob", { plan: "pro" })).reason).toEqual({ kind: "RULE_MATCH", ruleIndex: 0, ruleId: "seg", bigSegmentsStatus: "NOT_CONFIGURED" });
  });

  test("without a generation nothing matches; without the kind nothing is consulted", () => {
    const unversioned = segment({ ...big, generation: undefined });
    expect(evaluate(inSegments(["big"]), user("bob", { plan: "pro" }), storeOf([], [unversioned])).reason).toEqual({ kind: "FALLTHROUGH", bigSegmentsStatus: "NOT_CONFIGURED" });
    expect(evaluate(inSegments(["big"]), { kind: "org", key: "o", plan: "pro" }, storeOf([], [big])).reason).toEqual({ kind: "FALLTHROUGH" });
  });
});
