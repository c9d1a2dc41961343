import { describe, expect, test } from "bun:test";
import { evaluate, parseContext, type SdkFlag, type SdkRollout } from "@vexil/shared/evaluation/evaluate";
import { clause, detail, flag, storeOf, user } from "./fixtures.ts";

const EMPTY = storeOf();
const run = (f: SdkFlag | undefined, context: unknown, store = EMPTY, options = {}) => detail(evaluate(f, context, store, options));

describe("off", () => {
  test("serves the off variation", () => {
    expect(run(flag({ on: false }), user("u"))).toEqual({ value: "c", variationIndex: 2, reason: { kind: "OFF" } });
  });

  test("without an off variation there is no value: the default is returned", () => {
    expect(run(flag({ on: false, offVariation: undefined }), user("u"))).toEqual({ value: null, variationIndex: null, reason: { kind: "OFF" } });
    expect(run(flag({ on: false, offVariation: null }), user("u"), EMPTY, { defaultValue: "dflt" })).toEqual({ value: "dflt", variationIndex: null, reason: { kind: "OFF" } });
  });

  test("an off variation out of range is malformed", () => {
    expect(run(flag({ on: false, offVariation: 3 }), user("u")).reason).toEqual({ kind: "ERROR", errorKind: "MALFORMED_FLAG" });
  });
});

describe("fallthrough", () => {
  test("serves its variation", () => {
    expect(run(flag({ fallthrough: { variation: 1 } }), user("u"))).toEqual({ value: "b", variationIndex: 1, reason: { kind: "FALLTHROUGH" } });
  });

  test.each([
    ["missing", undefined],
    ["empty", {}],
    ["out of range", { variation: 3 }],
    ["a rollout without variations", { rollout: { variations: [] } }],
  ])("%s is malformed", (_name, fallthrough) => {
    expect(run(flag({ fallthrough }), user("u"), EMPTY, { defaultValue: 0 })).toEqual({ value: 0, variationIndex: null, reason: { kind: "ERROR", errorKind: "MALFORMED_FLAG" } });
  });
});

describe("targets", () => {
  const targeted = flag({ targets: [{ values: ["alice"], variation: 1 }], rules: [{ id: "r", clauses: [], variation: 2 }] });

  test("a user key in targets wins over rules", () => {
    expect(run(targeted, user("alice"))).toEqual({ value: "b", variationIndex: 1, reason: { kind: "TARGET_MATCH" } });
    expect(run(targeted, { key: "alice" }).reason).toEqual({ kind: "TARGET_MATCH" });
    expect(run(targeted, user("bob")).reason.kind).toBe("RULE_MATCH");
  });

  test("targets only ever name users", () => {
    expect(run(targeted, { kind: "org", key: "alice" }).reason.kind).toBe("RULE_MATCH");
  });

  test("contextTargets set the order; a user entry stands for the targets entry of its variation", () => {
    const f = flag({
      targets: [{ values: ["alice"], variation: 1 }],
      contextTargets: [
        { contextKind: "org", values: ["acme"], variation: 2 },
        { contextKind: "user", values: [], variation: 1 },
      ],
    });
    expect(run(f, { kind: "multi", user: { key: "alice" }, org: { key: "acme" } }).variationIndex).toBe(2);
    expect(run(f, user("alice")).variationIndex).toBe(1);
    expect(run(f, { kind: "org", key: "acme" }).variationIndex).toBe(2);
  });

  test("with contextTargets, user targets without a user entry are ignored", () => {
    const f = flag({ targets: [{ values: ["alice"], variation: 1 }], contextTargets: [{ contextKind: "org", values: ["acme"], variation: 2 }] });
    expect(run(f, user("alice")).reason).toEqual({ kind: "FALLTHROUGH" });
  });

  test("a target with a variation out of range is malformed", () => {
    expect(run(flag({ targets: [{ values: ["alice"], variation: 7 }] }), user("alice")).reason).toEqual({ kind: "ERROR", errorKind: "MALFORMED_FLAG" });
  });
});

describe("rules", () => {
  const rules = flag({
    rules: [
      { id: "gmail", clauses: [clause("email", "endsWith", ["@gmail.com"])], variation: 1 },
      { id: "beta", clauses: [clause("groups", "in", ["beta"]), clause("country", "in", ["FR"], { negate: true })], variation: 2 },
    ],
  });

  test("the first matching rule wins, with its index and id", () => {
    expect(run(rules, user("u", { email: "a@gmail.com", groups: ["beta"] }))).toEqual({ value: "b", variationIndex: 1, reason: { kind: "RULE_MATCH", ruleIndex: 0, ruleId: "gmail" } });
    expect(run(rules, user("u", { groups: ["x", "beta"], country: "US" })).reason).toEqual({ kind: "RULE_MATCH", ruleIndex: 1, ruleId: "beta" });
  });

  test("every clause must match; negation flips a clause", () => {
    expect(run(rules, user("u", { groups: ["beta"], country: "FR" })).reason).toEqual({ kind: "FALLTHROUGH" });
  });

  test("a missing attribute never matches, negated or not", () => {
    const f = flag({ rules: [{ id: "r", clauses: [clause("country", "in", ["FR"], { negate: true })], variation: 1 }] });
    expect(run(f, user("u")).reason.kind).toBe("FALLTHROUGH");
    expect(run(f, user("u", { country: null })).reason.kind).toBe("FALLTHROUGH");
    expect(run(f, user("u", { country: "US" })).reason.kind).toBe("RULE_MATCH");
  });

  test("a rule without an id reports only its index", () => {
    expect(run(flag({ rules: [{ clauses: [], variation: 1 }] }), user("u")).reason).toEqual({ kind: "RULE_MATCH", ruleIndex: 0 });
  });

  test("an empty clause list matches; a missing one never does", () => {
    expect(run(flag({ rules: [{ id: "r", clauses: null, variation: 1 }] }), user("u")).reason.kind).toBe("FALLTHROUGH");
    expect(run(flag({ rules: [{ id: "r", clauses: [], variation: 1 }] }), user("u")).reason.kind).toBe("RULE_MATCH");
  });

  test("the kind attribute lists the context's kinds, whatever the clause's kind", () => {
    const f = flag({ rules: [{ id: "r", clauses: [clause("kind", "in", ["org"])], variation: 1 }] });
    expect(run(f, { kind: "multi", user: { key: "u" }, org: { key: "o" } }).variationIndex).toBe(1);
    expect(run(f, user("u")).variationIndex).toBe(0);
  });

  test("clauses read the named kind; references walk into objects", () => {
    const f = flag({ rules: [{ id: "r", clauses: [clause("/address/city", "in", ["Paris"], { contextKind: "org" })], variation: 1 }] });
    expect(run(f, { kind: "multi", user: { key: "u", address: { city: "Paris" } }, org: { key: "o", address: { city: "Paris" } } }).variationIndex).toBe(1);
    expect(run(f, { kind: "multi", user: { key: "u", address: { city: "Paris" } }, org: { key: "o" } }).variationIndex).toBe(0);
  });

  test("without a contextKind the attribute is a literal user attribute name", () => {
    const f = flag({ rules: [{ id: "r", clauses: [{ attribute: "a/b", op: "in", values: [1] }], variation: 1 }] });
    expect(run(f, { key: "u", custom: { "a/b": 1 } }).variationIndex).toBe(1);
    expect(run(f, user("u", { a: { b: 1 } })).variationIndex).toBe(0);
  });

  test("anonymous reads as false when absent", () => {
    const f = flag({ rules: [{ id: "r", clauses: [clause("anonymous", "in", [false])], variation: 1 }] });
    expect(run(f, user("u")).variationIndex).toBe(1);
    expect(run(f, user("u", { anonymous: true })).variationIndex).toBe(0);
  });

  test("a catastrophic regular expression cannot stall evaluation", () => {
    const f = flag({ rules: [{ id: "r", clauses: [clause("name", "matches", ["^(a+)+$"], { negate: true })], variation: 1 }] });
    const started = performance.now();
    expect(run(f, user("u", { name: "a".repeat(50_000) + "b" })).variationIndex).toBe(1);
    expect(run(f, user("u", { name: "a".repeat(50_000) })).variationIndex).toBe(0);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test("an unknown operator never matches, but negation still applies", () => {
    expect(run(flag({ rules: [{ id: "r", clauses: [clause("key", "resembles", ["u"])], variation: 1 }] }), user("u")).variationIndex).toBe(0);
    expect(run(flag({ rules: [{ id: "r", clauses: [clause("key", "resembles", ["u"], { negate: true })], variation: 1 }] }), user("u")).variationIndex).toBe(1);
  });

  test("an invalid attribute reference is malformed, when it is the clause that decides", () => {
    const bad = clause("//city", "in", ["x"]);
    const yes = clause("key", "in", ["u"]);
    const no = clause("key", "in", ["nobody"]);
    const malformed = { kind: "ERROR", errorKind: "MALFORMED_FLAG" } as const;
    expect(run(flag({ rules: [{ id: "r", clauses: [bad], variation: 1 }] }), user("u")).reason).toEqual(malformed);
    expect(run(flag({ rules: [{ id: "r", clauses: [yes, bad], variation: 1 }] }), user("u")).reason).toEqual(malformed);
    // SDKs keep going after a bad clause and let the next one settle the rule.
    expect(run(flag({ rules: [{ id: "r", clauses: [bad, no], variation: 1 }] }), user("u")).reason).toEqual({ kind: "FALLTHROUGH" });
    expect(run(flag({ rules: [{ id: "r", clauses: [bad, yes], variation: 1 }] }), user("u")).reason).toEqual({ kind: "RULE_MATCH", ruleIndex: 0, ruleId: "r" });
  });
});

describe("prerequisites", () => {
  const main = (prerequisites: SdkFlag["prerequisites"], more: Partial<SdkFlag> = {}) => flag({ key: "main", prerequisites, ...more });

  test("a met prerequisite lets evaluation go on, and is reported", () => {
    const p = flag({ key: "p", fallthrough: { variation: 1 } });
    const result = evaluate(main([{ key: "p", variation: 1 }]), user("u"), storeOf([p]));
    expect(detail(result)).toEqual({ value: "a", variationIndex: 0, reason: { kind: "FALLTHROUGH" } });
    expect(result.prerequisites).toEqual(["p"]);
    expect(result.prerequisiteEvaluations).toEqual([{ flag: p, prerequisiteOf: "main", detail: { value: "b", variationIndex: 1, reason: { kind: "FALLTHROUGH" } } }]);
  });

  test.each([
    ["serves another variation", [flag({ key: "p", fallthrough: { variation: 0 } })]],
    ["is off, even on the required variation", [flag({ key: "p", on: false, offVariation: 1 })]],
    ["is missing", []],
    ["is deleted", [flag({ key: "p", fallthrough: { variation: 1 }, deleted: true })]],
  ])("fails when the prerequisite %s", (_name, flags) => {
    expect(run(main([{ key: "p", variation: 1 }]), user("u"), storeOf(flags))).toEqual({ value: "c", variationIndex: 2, reason: { kind: "PREREQUISITE_FAILED", prerequisiteKey: "p" } });
  });

  test("the first failing prerequisite is reported, and evaluation stops there", () => {
    const result = evaluate(main([{ key: "p", variation: 0 }, { key: "q", variation: 0 }, { key: "r", variation: 0 }]), user("u"), storeOf([flag({ key: "p" }), flag({ key: "q", on: false }), flag({ key: "r" })]));
    expect(result.reason).toEqual({ kind: "PREREQUISITE_FAILED", prerequisiteKey: "q" });
    expect(result.prerequisites).toEqual(["p", "q"]);
  });

  test("prerequisites nest; their evaluations come innermost first", () => {
    const q = flag({ key: "q", fallthrough: { variation: 1 } });
    const p = flag({ key: "p", prerequisites: [{ key: "q", variation: 1 }] });
    const result = evaluate(main([{ key: "p", variation: 0 }]), user("u"), storeOf([p, q]));
    expect(result.reason).toEqual({ kind: "FALLTHROUGH" });
    expect(result.prerequisites).toEqual(["p"]);
    expect(result.prerequisiteEvaluations.map((e) => [e.flag.key, e.prerequisiteOf])).toEqual([
      ["q", "p"],
      ["p", "main"],
    ]);
  });

  test("a prerequisite that failed its own prerequisite still passes on its off variation", () => {
    const p = flag({ key: "p", offVariation: 1, prerequisites: [{ key: "missing", variation: 0 }] });
    expect(run(main([{ key: "p", variation: 1 }]), user("u"), storeOf([p])).reason).toEqual({ kind: "FALLTHROUGH" });
  });

  test("an error in a prerequisite is the flag's error", () => {
    const p = flag({ key: "p", fallthrough: { variation: 9 } });
    expect(run(main([{ key: "p", variation: 0 }]), user("u"), storeOf([p])).reason).toEqual({ kind: "ERROR", errorKind: "MALFORMED_FLAG" });
  });

  test("cycles are malformed", () => {
    const malformed = { kind: "ERROR", errorKind: "MALFORMED_FLAG" } as const;
    const self = main([{ key: "main", variation: 0 }]);
    expect(run(self, user("u"), storeOf([self])).reason).toEqual(malformed);
    const a = flag({ key: "a", prerequisites: [{ key: "b", variation: 0 }] });
    const b = flag({ key: "b", prerequisites: [{ key: "a", variation: 0 }] });
    expect(run(a, user("u"), storeOf([a, b])).reason).toEqual(malformed);
  });

  test("after a cycle, later prerequisites are still checked and a failure among them wins", () => {
    const a = flag({ key: "a", prerequisites: [{ key: "b", variation: 0 }, { key: "gone", variation: 0 }] });
    const b = flag({ key: "b", prerequisites: [{ key: "a", variation: 0 }] });
    // Evaluated as b's prerequisite, a finds the cycle back to b, then fails on the missing
    // "gone"; so b fails on a, and the top-level a fails on b.
    expect(run(a, user("u"), storeOf([a, b])).reason).toEqual({ kind: "PREREQUISITE_FAILED", prerequisiteKey: "b" });
  });

  test("an off flag never looks at its prerequisites", () => {
    const result = evaluate(main([{ key: "p", variation: 0 }], { on: false }), user("u"), storeOf([flag({ key: "p" })]));
    expect(result.reason).toEqual({ kind: "OFF" });
    expect(result.prerequisiteEvaluations).toEqual([]);
  });
});

describe("rollouts", () => {
  // Buckets for flag key "hashKey", salt "saltyA": userKeyA 0.42, userKeyB 0.67, userKeyC 0.10;
  // with seed 61: userKeyA 0.098, userKeyB 0.145, userKeyC 0.92.
  const rolled = (rollout: SdkRollout, more: Partial<SdkFlag> = {}) => flag({ key: "hashKey", salt: "saltyA", fallthrough: { rollout }, ...more });
  const halves = (extra: Partial<SdkRollout> = {}): SdkRollout => ({ variations: [{ variation: 0, weight: 50_000 }, { variation: 1, weight: 50_000 }], ...extra });

  test("buckets by key", () => {
    expect(run(rolled(halves()), user("userKeyA"))).toEqual({ value: "a", variationIndex: 0, reason: { kind: "FALLTHROUGH" } });
    expect(run(rolled(halves()), user("userKeyB")).variationIndex).toBe(1);
    expect(run(rolled(halves()), user("userKeyC")).variationIndex).toBe(0);
  });

  test("weights short of 100% leave the rest to the last variation", () => {
    const short = rolled({ variations: [{ variation: 0, weight: 40_000 }, { variation: 1, weight: 10_000 }] });
    expect(run(short, user("userKeyB")).variationIndex).toBe(1);
  });

  test("a seed replaces key and salt in the hash", () => {
    const tenth = (seed?: number) => rolled({ variations: [{ variation: 0, weight: 10_000 }, { variation: 1, weight: 90_000 }], ...(seed === undefined ? {} : { seed }) });
    expect(run(tenth(), user("userKeyA")).variationIndex).toBe(1);
    expect(run(tenth(61), user("userKeyA")).variationIndex).toBe(0);
  });

  test("bucketBy and contextKind choose the value hashed", () => {
    expect(run(rolled(halves({ bucketBy: "company" })), { key: "x", custom: { company: "userKeyB" } }).variationIndex).toBe(1);
    expect(run(rolled(halves({ bucketBy: "/org/id", contextKind: "user" })), user("x", { org: { id: "userKeyB" } })).variationIndex).toBe(1);
    expect(run(rolled(halves({ contextKind: "org" })), { kind: "multi", user: { key: "userKeyA" }, org: { key: "userKeyB" } }).variationIndex).toBe(1);
  });

  test("a legacy secondary key no longer changes the bucket", () => {
    expect(run(rolled(halves()), { key: "userKeyB", secondary: "userKeyA" }).variationIndex).toBe(1);
    expect(run(rolled(halves({ bucketBy: "secondary" })), { key: "userKeyB", secondary: "userKeyB" }).variationIndex).toBe(0);
  });

  test("a context without the rollout's kind lands in the first bucket", () => {
    expect(run(rolled(halves({ contextKind: "org" })), user("userKeyB")).variationIndex).toBe(0);
  });

  test("an invalid bucketBy reference is malformed", () => {
    expect(run(rolled(halves({ bucketBy: "//x", contextKind: "user" })), user("u")).reason).toEqual({ kind: "ERROR", errorKind: "MALFORMED_FLAG" });
  });

  describe("experiments", () => {
    test("report inExperiment and always bucket by key", () => {
      const experiment = rolled(halves({ kind: "experiment", bucketBy: "//ignored", contextKind: "user" }));
      expect(run(experiment, user("userKeyB"))).toEqual({ value: "b", variationIndex: 1, reason: { kind: "FALLTHROUGH", inExperiment: true } });
    });

    test("untracked variations are not in the experiment", () => {
      const experiment = rolled({ kind: "experiment", variations: [{ variation: 0, weight: 50_000, untracked: true }, { variation: 1, weight: 50_000 }] });
      expect(run(experiment, user("userKeyA")).reason).toEqual({ kind: "FALLTHROUGH" });
      expect(run(experiment, user("userKeyB")).reason).toEqual({ kind: "FALLTHROUGH", inExperiment: true });
    });

    test("a context without the experiment's kind is not in it", () => {
      expect(run(rolled(halves({ kind: "experiment", contextKind: "org" })), user("userKeyB")).reason).toEqual({ kind: "FALLTHROUGH" });
    });

    test("the last-variation fallback counts as in the experiment, even without the kind", () => {
      const zero = rolled({ kind: "experiment", contextKind: "org", variations: [{ variation: 0, weight: 0 }, { variation: 1, weight: 0 }] });
      expect(run(zero, user("u"))).toEqual({ value: "b", variationIndex: 1, reason: { kind: "FALLTHROUGH", inExperiment: true } });
    });

    test("rules carry experiments too", () => {
      const f = flag({ key: "hashKey", salt: "saltyA", rules: [{ id: "r", clauses: [], rollout: halves({ kind: "experiment" }) }] });
      expect(run(f, user("userKeyB")).reason).toEqual({ kind: "RULE_MATCH", ruleIndex: 0, ruleId: "r", inExperiment: true });
    });
  });
});

describe("errors and options", () => {
  test("an unknown or deleted flag is FLAG_NOT_FOUND with the default", () => {
    expect(run(undefined, user("u"), EMPTY, { defaultValue: "d" })).toEqual({ value: "d", variationIndex: null, reason: { kind: "ERROR", errorKind: "FLAG_NOT_FOUND" } });
    expect(run(flag({ deleted: true }), user("u")).reason).toEqual({ kind: "ERROR", errorKind: "FLAG_NOT_FOUND" });
  });

  test("an invalid context is USER_NOT_SPECIFIED, checked before the flag", () => {
    expect(run(flag(), { kind: "user" }).reason).toEqual({ kind: "ERROR", errorKind: "USER_NOT_SPECIFIED" });
    expect(run(undefined, null).reason).toEqual({ kind: "ERROR", errorKind: "USER_NOT_SPECIFIED" });
  });

  test("expectedType turns a value of another type into WRONG_TYPE", () => {
    expect(run(flag(), user("u"), EMPTY, { expectedType: "boolean", defaultValue: false })).toEqual({ value: false, variationIndex: null, reason: { kind: "ERROR", errorKind: "WRONG_TYPE" } });
    expect(run(flag(), user("u"), EMPTY, { expectedType: "string" }).value).toBe("a");
    // With no variation the default is what gets checked.
    expect(run(flag({ on: false, offVariation: undefined }), user("u"), EMPTY, { expectedType: "boolean", defaultValue: true }).reason).toEqual({ kind: "OFF" });
  });

  test("a context parsed once evaluates like the raw one", () => {
    const raw = { kind: "multi", user: { key: "alice" }, org: { key: "acme" } };
    const parsed = parseContext(raw);
    if (!parsed.ok) throw new Error(parsed.message);
    const f = flag({ contextTargets: [{ contextKind: "org", values: ["acme"], variation: 1 }] });
    expect(run(f, parsed.context)).toEqual(run(f, raw));
  });

  test("evaluation neither changes nor copies the flag or the context", () => {
    const f = flag({ rules: [{ id: "r", clauses: [clause("email", "matches", ["@x\\.com$"])], variation: 1 }] });
    const context = user("u", { email: "a@x.com" });
    const before = JSON.stringify([f, context]);
    expect(evaluate(f, context, EMPTY).value).toBe("b");
    expect(JSON.stringify([f, context])).toBe(before);
  });
});
