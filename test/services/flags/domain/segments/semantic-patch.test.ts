/** Segment semantic patch: every instruction kind, its failures, atomicity and the actions it takes. */
import { describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import type { Segment } from "@vexil/flags/domain/segments/model";
import {
  SEGMENT_INSTRUCTION_KINDS,
  applySegmentInstructions,
  type SegmentSemanticContext,
  type SegmentSemanticResult,
} from "@vexil/flags/domain/segments/semantic-patch";
import { validateSegment } from "@vexil/flags/domain/segments/validate";
import { richSegment, seededRandom, segment, segmentContext, thrownBy } from "./segment-fixtures.ts";

type Instruction = Record<string, unknown> & { kind: string };

const base = richSegment;

/** Applies, checks the input is untouched and that the result validates. */
function apply(s: Segment, instructions: Instruction[], over: Partial<SegmentSemanticContext> = {}): SegmentSemanticResult {
  const before = structuredClone(s);
  const result = applySegmentInstructions(s, instructions, segmentContext(over));
  expect(s).toStrictEqual(before);
  expect(result.segment).not.toBe(s);
  validateSegment(result.segment);
  return result;
}

/** The error message of a refused patch; the input must be untouched. */
function refused(s: Segment, instructions: unknown, over: Partial<SegmentSemanticContext> = {}): string {
  const before = structuredClone(s);
  const message = thrownBy(() => applySegmentInstructions(s, instructions, segmentContext(over))).message;
  expect(s).toStrictEqual(before);
  return message;
}

const one = (kind: string, params: Record<string, unknown> = {}): Instruction[] => [{ kind, ...params }];
const clause = { attribute: "email", op: "endsWith", values: ["@example.com"] };

/** Each kind of the reference that can succeed, with parameters that work on `base()` and the action it takes. */
const EVERY_KIND: Array<[string, Record<string, unknown>, string]> = [
  ["updateName", { value: "Testers" }, "updateName"],
  ["updateDescription", { value: "d" }, "updateDescription"],
  ["addTags", { values: ["ui"] }, "updateTags"],
  ["removeTags", { values: ["beta"] }, "updateTags"],
  ["addIncludedTargets", { contextKind: "device", values: ["d2"] }, "updateIncluded"],
  ["removeIncludedTargets", { contextKind: "device", values: ["d1"] }, "updateIncluded"],
  ["addExcludedTargets", { contextKind: "org", values: ["o2"] }, "updateExcluded"],
  ["removeExcludedTargets", { contextKind: "org", values: ["o1"] }, "updateExcluded"],
  ["addIncludedUsers", { values: ["u9"] }, "updateIncluded"],
  ["removeIncludedUsers", { values: ["u1"] }, "updateIncluded"],
  ["addExcludedUsers", { values: ["u9"] }, "updateExcluded"],
  ["removeExcludedUsers", { values: ["u3"] }, "updateExcluded"],
  ["addRule", { clauses: [clause] }, "updateRules"],
  ["removeRule", { ruleId: "r1" }, "updateRules"],
  ["reorderRules", { ruleIds: ["r2", "r1"] }, "updateRules"],
  ["addClauses", { ruleId: "r2", clauses: [clause] }, "updateRules"],
  ["removeClauses", { ruleId: "r1", clauseIds: ["c1"] }, "updateRules"],
  ["updateClause", { ruleId: "r1", clauseId: "c1", clause }, "updateRules"],
  ["addValuesToClause", { ruleId: "r1", clauseId: "c1", values: ["DK"] }, "updateRules"],
  ["removeValuesFromClause", { ruleId: "r1", clauseId: "c1", values: ["SE"] }, "updateRules"],
  ["updateRuleDescription", { ruleId: "r1", description: "x" }, "updateRules"],
  ["updateRuleRolloutAndContextKind", { ruleId: "r1", weight: 25000, contextKind: "org" }, "updateRules"],
];

/** The big-segment kinds: recognised, always refused. */
const BIG_SEGMENT_KINDS: Array<[string, Record<string, unknown>]> = [
  ["addBigSegmentIncludedTargets", { values: ["u9"] }],
  ["removeBigSegmentIncludedTargets", { values: ["u1"] }],
  ["addBigSegmentExcludedTargets", { values: ["u9"] }],
  ["removeBigSegmentExcludedTargets", { values: ["u3"] }],
  ["processBigSegmentImport", { importId: "imp-1" }],
];

describe("every kind of the reference", () => {
  test("27 kinds, exactly those of the reference", () => {
    expect(EVERY_KIND.length + BIG_SEGMENT_KINDS.length).toBe(27);
    expect([...SEGMENT_INSTRUCTION_KINDS].sort()).toEqual([...EVERY_KIND, ...BIG_SEGMENT_KINDS].map(([kind]) => kind).sort());
  });

  for (const [kind, params, action] of EVERY_KIND) {
    test(`${kind} succeeds, changes the segment and takes ${action}`, () => {
      const result = apply(base(), one(kind, params));
      expect(result.actions).toEqual([action]);
      expect(result.segment).not.toStrictEqual(base());
    });

    test(`${kind} needs the segment's environmentKey`, () => {
      expect(refused(base(), one(kind, params), { environmentKey: undefined })).toBe("environmentKey: is required for a segment semantic patch");
      expect(refused(base(), one(kind, params), { environmentKey: "test" })).toBe('environmentKey: "test" is not the segment\'s environment "production"');
    });
  }

  for (const [kind, params] of BIG_SEGMENT_KINDS) {
    test(`${kind} is refused: big segments are not supported`, () => {
      expect(refused(base(), one(kind, params))).toBe(`instruction 0 (${kind}): big segments are not supported; use included/excluded targets`);
      expect(refused(base(), one(kind))).toBe(`instruction 0 (${kind}): big segments are not supported; use included/excluded targets`);
      expect(refused(segment({ unbounded: true }), [{ kind: "updateName", value: "n" }, { kind, ...params }])).toStartWith(`instruction 1 (${kind}): big segments`);
    });
  }

  test("versions, dates, salt and the other bookkeeping fields are left to the caller", () => {
    for (const [kind, params] of EVERY_KIND) {
      const { segment: s } = apply(base(), one(kind, params));
      const { key, version, lastModifiedDate, creationDate, generation, salt, deleted, unbounded } = base();
      expect({ key: s.key, version: s.version, lastModifiedDate: s.lastModifiedDate, creationDate: s.creationDate, generation: s.generation, salt: s.salt, deleted: s.deleted, unbounded: s.unbounded }).toEqual({
        key,
        version,
        lastModifiedDate,
        creationDate,
        generation,
        salt,
        deleted,
        unbounded,
      });
    }
  });
});

describe("the body", () => {
  test("environmentKey is required, and must be the segment's environment", () => {
    for (const environmentKey of [undefined, "", 3, null, ["production"]]) {
      expect(refused(base(), one("updateName", { value: "n" }), { environmentKey: environmentKey as string })).toBe("environmentKey: is required for a segment semantic patch");
    }
    expect(refused(base(), one("updateName", { value: "n" }), { environmentKey: "Production" })).toBe('environmentKey: "Production" is not the segment\'s environment "production"');
    apply(segment(), one("updateName", { value: "n" }), { environmentKey: "test", environment: "test" });
  });

  test("environmentKey is checked before the instructions", () => {
    expect(refused(base(), [], { environmentKey: undefined })).toBe("environmentKey: is required for a segment semantic patch");
  });

  test("instructions must be a non-empty array of objects with a string kind", () => {
    for (const junk of [undefined, null, {}, "updateName", { kind: "updateName" }, []]) {
      expect(refused(base(), junk)).toBe("instructions: must be a non-empty array");
    }
    expect(refused(base(), [{ kind: "updateName", value: "n" }, "removeRule"])).toBe("instruction 1: must be an object");
    expect(refused(base(), [null])).toBe("instruction 0: must be an object");
    expect(refused(base(), [{ kind: 3 }])).toBe("instruction 0: kind must be a string");
    expect(refused(base(), [{}])).toBe("instruction 0: kind must be a string");
  });

  test("unknown kinds are refused, flag-only kinds and names inherited by every object included", () => {
    for (const kind of ["turnFlagOn", "addTargets", "replaceRules", "toString", "__proto__", "constructor", "AddTags", ""]) {
      expect(refused(base(), [{ kind }])).toBe(`instruction 0 (${kind}): unknown instruction kind`);
    }
  });

  test("atomic: a failing third instruction leaves the input unchanged and names index 2", () => {
    const s = base();
    const message = refused(s, [
      { kind: "updateName", value: "Renamed" },
      { kind: "addIncludedUsers", values: ["u7"] },
      { kind: "removeRule", ruleId: 7 },
      { kind: "addTags", values: ["x"] },
    ]);
    expect(message).toBe("instruction 2 (removeRule): ruleId must be a non-empty string");
    expect(s.name).toBe("Beta testers");
    expect(s.included).toEqual(["u1", "u2"]);
  });

  test("later instructions see earlier ones", () => {
    const result = apply(base(), [
      { kind: "addRule", clauses: [clause] },
      { kind: "updateRuleDescription", ruleId: "id-1", description: "staff" },
      { kind: "addValuesToClause", ruleId: "id-1", clauseId: "id-2", values: ["@example.org"] },
      { kind: "addIncludedUsers", values: ["u8"] },
      { kind: "removeIncludedUsers", values: ["u8"] },
      { kind: "addExcludedUsers", values: ["u8"] },
    ]);
    expect(result.segment.rules[2]).toEqual({
      _id: "id-1",
      description: "staff",
      clauses: [{ _id: "id-2", contextKind: "user", attribute: "email", op: "endsWith", values: ["@example.com", "@example.org"], negate: false }],
    });
    expect(result.segment.excluded).toEqual(["u3", "u8"]);
  });

  test("the instructions themselves are not changed, even when a later one edits what an earlier one added", () => {
    const instructions: Instruction[] = [
      { kind: "addRule", clauses: [clause] },
      { kind: "addValuesToClause", ruleId: "id-1", clauseId: "id-2", values: ["@example.org"] },
      { kind: "addIncludedTargets", contextKind: "org", values: ["o9"] },
      { kind: "addIncludedTargets", contextKind: "org", values: ["o10"] },
    ];
    const before = structuredClone(instructions);
    const result = apply(base(), instructions);
    expect(instructions).toStrictEqual(before);
    expect(result.segment.includedContexts[1]).toEqual({ contextKind: "org", values: ["o9", "o10"] });
  });

  test("actions are deduplicated, in order of first use", () => {
    const result = apply(base(), [
      { kind: "addExcludedUsers", values: ["u9"] },
      { kind: "removeRule", ruleId: "r2" },
      { kind: "removeExcludedTargets", contextKind: "org", values: ["o1"] },
      { kind: "addTags", values: ["a"] },
      { kind: "reorderRules", ruleIds: ["r1"] },
      { kind: "addIncludedTargets", contextKind: "org", values: ["o1"] },
    ]);
    expect(result.actions).toEqual(["updateExcluded", "updateRules", "updateTags", "updateIncluded"]);
  });

  test("redundant instructions are no-ops but still name their action", () => {
    const s = base();
    const result = apply(s, [
      { kind: "updateName", value: s.name },
      { kind: "addTags", values: ["beta"] },
      { kind: "removeTags", values: ["absent"] },
      { kind: "addIncludedUsers", values: ["u1", "u2", "u1"] },
      { kind: "removeIncludedUsers", values: ["nobody"] },
      { kind: "addExcludedTargets", contextKind: "org", values: ["o1"] },
      { kind: "removeIncludedTargets", contextKind: "device", values: ["d9"] },
      { kind: "removeExcludedTargets", contextKind: "robot", values: ["x"] },
      { kind: "addIncludedTargets", contextKind: "user", values: ["u2"] },
      { kind: "removeRule", ruleId: "gone" },
      { kind: "addValuesToClause", ruleId: "r1", clauseId: "c2", values: [{ tier: "gold" }] },
      { kind: "removeValuesFromClause", ruleId: "r1", clauseId: "c1", values: ["DK"] },
      { kind: "updateRuleRolloutAndContextKind", ruleId: "r2", weight: 50000, contextKind: "user" },
    ]);
    expect(result.segment).toStrictEqual(s);
    expect(result.actions).toEqual(["updateName", "updateTags", "updateIncluded", "updateExcluded", "updateRules"]);
  });

  test("unknown parameters are ignored", () => {
    expect(apply(base(), one("updateName", { value: "n", comment: "go", extra: [1] })).segment.name).toBe("n");
  });
});

describe("name, description and tags", () => {
  test("updateName and updateDescription", () => {
    const result = apply(base(), [
      { kind: "updateName", value: "Testers" },
      { kind: "updateDescription", value: "Early access" },
    ]);
    expect(result.segment).toMatchObject({ name: "Testers", description: "Early access" });
    expect(result.actions).toEqual(["updateName", "updateDescription"]);
    expect(apply(base(), one("updateDescription", { value: "" })).segment.description).toBe("");
    expect(refused(base(), one("updateName", { value: "" }))).toBe("instruction 0 (updateName): value must be a non-empty string");
    expect(refused(base(), one("updateName", {}))).toBe("instruction 0 (updateName): value must be a non-empty string");
    expect(refused(base(), one("updateDescription", {}))).toBe("instruction 0 (updateDescription): value must be a string");
    expect(refused(base(), one("updateDescription", { value: 1 }))).toBe("instruction 0 (updateDescription): value must be a string");
  });

  test("addTags and removeTags", () => {
    const tagged = apply(segment(), one("addTags", { values: ["ui", "web", "ui"] }));
    expect(tagged.segment.tags).toEqual(["ui", "web"]);
    expect(apply(tagged.segment, one("addTags", { values: ["web", "x"] })).segment.tags).toEqual(["ui", "web", "x"]);
    expect(apply(tagged.segment, one("removeTags", { values: ["ui", "other"] })).segment.tags).toEqual(["web"]);
    expect(refused(base(), one("addTags", { values: "ui" }))).toBe("instruction 0 (addTags): values must be an array");
    expect(refused(base(), one("removeTags", { values: [1] }))).toBe("instruction 0 (removeTags): values[0] must be a string");
  });
});

describe("included and excluded users", () => {
  test("addIncludedUsers and addExcludedUsers append new keys once", () => {
    const result = apply(base(), [
      { kind: "addIncludedUsers", values: ["u4", "u1", "u4", "u5"] },
      { kind: "addExcludedUsers", values: ["u6"] },
    ]);
    expect(result.segment.included).toEqual(["u1", "u2", "u4", "u5"]);
    expect(result.segment.excluded).toEqual(["u3", "u6"]);
  });

  test("removeIncludedUsers and removeExcludedUsers", () => {
    const result = apply(base(), [
      { kind: "removeIncludedUsers", values: ["u1", "nobody"] },
      { kind: "removeExcludedUsers", values: ["u3"] },
    ]);
    expect(result.segment.included).toEqual(["u2"]);
    expect(result.segment.excluded).toEqual([]);
  });

  test("a key on one side cannot be added to the other; the message names it", () => {
    expect(refused(base(), one("addIncludedUsers", { values: ["u7", "u3"] }))).toBe('instruction 0 (addIncludedUsers): user "u3" is excluded; remove it from excluded first');
    expect(refused(base(), one("addExcludedUsers", { values: ["u2"] }))).toBe('instruction 0 (addExcludedUsers): user "u2" is included; remove it from included first');
    // Moving a key takes two instructions.
    const moved = apply(base(), [
      { kind: "removeExcludedUsers", values: ["u3"] },
      { kind: "addIncludedUsers", values: ["u3"] },
    ]);
    expect(moved.segment.included).toEqual(["u1", "u2", "u3"]);
  });

  test("users listed in a context entry of kind user count as the same users", () => {
    const s = base();
    s.excludedContexts.push({ contextKind: "user", values: ["u5"] });
    expect(refused(s, one("addIncludedUsers", { values: ["u5"] }))).toBe('instruction 0 (addIncludedUsers): user "u5" is excluded; remove it from excluded first');
    const removed = apply(s, one("removeExcludedUsers", { values: ["u5"] }));
    expect(removed.segment.excludedContexts).toEqual([{ contextKind: "org", values: ["o1"] }]);
    const again = apply(s, one("addExcludedUsers", { values: ["u5"] }));
    expect(again.segment).toStrictEqual(s);
  });

  test("the *Users kinds ignore a contextKind parameter", () => {
    const result = apply(base(), one("addIncludedUsers", { values: ["d7"], contextKind: "device" }));
    expect(result.segment.included).toEqual(["u1", "u2", "d7"]);
    expect(result.segment.includedContexts).toEqual(base().includedContexts);
  });

  test("parameter errors", () => {
    expect(refused(base(), one("addIncludedUsers", {}))).toBe("instruction 0 (addIncludedUsers): values must be an array");
    expect(refused(base(), one("removeIncludedUsers", { values: "u1" }))).toBe("instruction 0 (removeIncludedUsers): values must be an array");
    expect(refused(base(), one("addExcludedUsers", { values: ["u1", 2] }))).toBe("instruction 0 (addExcludedUsers): values[1] must be a string");
    expect(refused(base(), one("removeExcludedUsers", { values: [null] }))).toBe("instruction 0 (removeExcludedUsers): values[0] must be a string");
  });
});

describe("included and excluded targets of any context kind", () => {
  test("adding keys of a listed kind extends its entry; a new kind gets an entry", () => {
    const result = apply(base(), [
      { kind: "addIncludedTargets", contextKind: "device", values: ["d2", "d1", "d2"] },
      { kind: "addIncludedTargets", contextKind: "org", values: ["o2"] },
      { kind: "addExcludedTargets", contextKind: "device", values: ["d9"] },
    ]);
    expect(result.segment.includedContexts).toEqual([
      { contextKind: "device", values: ["d1", "d2"] },
      { contextKind: "org", values: ["o2"] },
    ]);
    expect(result.segment.excludedContexts).toEqual([
      { contextKind: "org", values: ["o1"] },
      { contextKind: "device", values: ["d9"] },
    ]);
  });

  test("targets of kind user are user keys", () => {
    const result = apply(base(), [
      { kind: "addIncludedTargets", contextKind: "user", values: ["u4", "u1"] },
      { kind: "removeExcludedTargets", contextKind: "user", values: ["u3"] },
    ]);
    expect(result.segment.included).toEqual(["u1", "u2", "u4"]);
    expect(result.segment.includedContexts).toEqual(base().includedContexts);
    expect(result.segment.excluded).toEqual([]);
    expect(refused(base(), one("addExcludedTargets", { contextKind: "user", values: ["u1"] }))).toBe(
      'instruction 0 (addExcludedTargets): user "u1" is included; remove it from included first',
    );
  });

  test("removing keys drops an entry it empties, and keeps an entry that was already empty", () => {
    const s = base();
    s.includedContexts.push({ contextKind: "org", values: [] });
    const result = apply(s, [
      { kind: "removeIncludedTargets", contextKind: "device", values: ["d1", "d9"] },
      { kind: "removeIncludedTargets", contextKind: "org", values: ["o1"] },
    ]);
    expect(result.segment.includedContexts).toEqual([{ contextKind: "org", values: [] }]);
    const partial = apply(base(), [
      { kind: "addExcludedTargets", contextKind: "org", values: ["o2", "o3"] },
      { kind: "removeExcludedTargets", contextKind: "org", values: ["o1", "o3"] },
    ]);
    expect(partial.segment.excludedContexts).toEqual([{ contextKind: "org", values: ["o2"] }]);
  });

  test("a context on one side cannot be added to the other; the same key of another kind can", () => {
    expect(refused(base(), one("addExcludedTargets", { contextKind: "device", values: ["d1"] }))).toBe(
      'instruction 0 (addExcludedTargets): device "d1" is included; remove it from included first',
    );
    expect(refused(base(), one("addIncludedTargets", { contextKind: "org", values: ["o1"] }))).toBe(
      'instruction 0 (addIncludedTargets): org "o1" is excluded; remove it from excluded first',
    );
    const other = apply(base(), one("addExcludedTargets", { contextKind: "org", values: ["d1"] }));
    expect(other.segment.excludedContexts).toEqual([{ contextKind: "org", values: ["o1", "d1"] }]);
  });

  test("parameter errors: contextKind is required", () => {
    for (const kind of ["addIncludedTargets", "removeIncludedTargets", "addExcludedTargets", "removeExcludedTargets"]) {
      expect(refused(base(), one(kind, { values: ["x"] }))).toBe(`instruction 0 (${kind}): contextKind must be a non-empty string`);
      expect(refused(base(), one(kind, { values: ["x"], contextKind: "" }))).toBe(`instruction 0 (${kind}): contextKind must be a non-empty string`);
      expect(refused(base(), one(kind, { values: ["x"], contextKind: 1 }))).toBe(`instruction 0 (${kind}): contextKind must be a non-empty string`);
      expect(refused(base(), one(kind, { contextKind: "org" }))).toBe(`instruction 0 (${kind}): values must be an array`);
      expect(refused(base(), one(kind, { contextKind: "org", values: [{}] }))).toBe(`instruction 0 (${kind}): values[0] must be a string`);
    }
  });
});

describe("rules", () => {
  test("addRule appends a rule with new ids and clause defaults", () => {
    const result = apply(base(), one("addRule", { clauses: [clause, { ...clause, contextKind: "org", negate: true }], description: "staff" }));
    expect(result.segment.rules[2]).toEqual({
      _id: "id-1",
      description: "staff",
      clauses: [
        { _id: "id-2", contextKind: "user", attribute: "email", op: "endsWith", values: ["@example.com"], negate: false },
        { _id: "id-3", contextKind: "org", attribute: "email", op: "endsWith", values: ["@example.com"], negate: true },
      ],
    });
  });

  test("addRule with a weight, rollout context kind and bucketBy, before another rule", () => {
    const result = apply(base(), one("addRule", { clauses: [], weight: 10000, rolloutContextKind: "org", bucketBy: "region", beforeRuleId: "r2" }));
    expect(result.segment.rules.map((r) => r._id)).toEqual(["r1", "id-1", "r2"]);
    expect(result.segment.rules[1]).toEqual({ _id: "id-1", clauses: [], weight: 10000, rolloutContextKind: "org", bucketBy: "region" });
    // Empty strings mean "not given", as in flag rollouts.
    const bare = apply(base(), one("addRule", { clauses: [], weight: 0, rolloutContextKind: "", bucketBy: "" }));
    expect(bare.segment.rules[2]).toEqual({ _id: "id-1", clauses: [], weight: 0 });
  });

  test("addRule failures", () => {
    const fails = (params: Record<string, unknown>) => refused(base(), one("addRule", params));
    expect(fails({})).toBe("instruction 0 (addRule): clauses must be an array");
    expect(fails({ clauses: "x" })).toBe("instruction 0 (addRule): clauses must be an array");
    expect(fails({ clauses: ["x"] })).toBe("instruction 0 (addRule): clauses[0] must be an object");
    expect(fails({ clauses: [{ ...clause, op: "equals" }] })).toStartWith("instruction 0 (addRule): clauses[0].op must be one of in, endsWith");
    expect(fails({ clauses: [clause, { op: "in", values: [] }] })).toBe("instruction 0 (addRule): clauses[1].attribute must be a non-empty string");
    expect(fails({ clauses: [{ ...clause, values: "x" }] })).toBe("instruction 0 (addRule): clauses[0].values must be an array");
    expect(fails({ clauses: [{ ...clause, negate: "no" }] })).toBe("instruction 0 (addRule): clauses[0].negate must be a boolean");
    expect(fails({ clauses: [{ ...clause, contextKind: 5 }] })).toBe("instruction 0 (addRule): clauses[0].contextKind must be a string");
    expect(fails({ clauses: [], description: 5 })).toBe("instruction 0 (addRule): description must be a string");
    for (const weight of [-1, 100001, 0.5, "50000", null]) {
      expect(fails({ clauses: [], weight })).toBe("instruction 0 (addRule): weight must be an integer from 0 to 100000");
    }
    expect(fails({ clauses: [], rolloutContextKind: 1 })).toBe("instruction 0 (addRule): rolloutContextKind must be a string");
    expect(fails({ clauses: [], bucketBy: {} })).toBe("instruction 0 (addRule): bucketBy must be a string");
    expect(fails({ clauses: [], beforeRuleId: "r9" })).toBe('instruction 0 (addRule): unknown rule "r9"');
    expect(fails({ clauses: [], beforeRuleId: 2 })).toBe("instruction 0 (addRule): beforeRuleId must be a string");
  });

  test("removeRule removes by id; an absent rule is a no-op", () => {
    expect(apply(base(), one("removeRule", { ruleId: "r1" })).segment.rules.map((r) => r._id)).toEqual(["r2"]);
    expect(apply(base(), one("removeRule", { ruleId: "r9" })).segment).toStrictEqual(base());
    expect(refused(base(), one("removeRule", {}))).toBe("instruction 0 (removeRule): ruleId must be a non-empty string");
  });

  test("reorderRules must list exactly the current rules", () => {
    expect(apply(base(), one("reorderRules", { ruleIds: ["r2", "r1"] })).segment.rules.map((r) => r._id)).toEqual(["r2", "r1"]);
    const message = 'instruction 0 (reorderRules): ruleIds must list each current rule exactly once ("r1", "r2")';
    expect(refused(base(), one("reorderRules", { ruleIds: ["r2"] }))).toBe(message);
    expect(refused(base(), one("reorderRules", { ruleIds: ["r2", "r1", "r3"] }))).toBe(message);
    expect(refused(base(), one("reorderRules", { ruleIds: ["r2", "r2"] }))).toBe(message);
    expect(refused(base(), one("reorderRules", { ruleIds: "r1,r2" }))).toBe("instruction 0 (reorderRules): ruleIds must be an array");
    expect(refused(segment(), one("reorderRules", { ruleIds: ["r1"] }))).toBe("instruction 0 (reorderRules): ruleIds must list each current rule exactly once (none)");
    apply(segment(), one("reorderRules", { ruleIds: [] }));
  });

  test("updateRuleDescription", () => {
    expect(apply(base(), one("updateRuleDescription", { ruleId: "r2", description: "half" })).segment.rules[1]!.description).toBe("half");
    expect(apply(base(), one("updateRuleDescription", { ruleId: "r1", description: "" })).segment.rules[0]!.description).toBe("");
    expect(refused(base(), one("updateRuleDescription", { ruleId: "r1" }))).toBe("instruction 0 (updateRuleDescription): description must be a string");
    expect(refused(base(), one("updateRuleDescription", { ruleId: "x", description: "d" }))).toBe('instruction 0 (updateRuleDescription): unknown rule "x"');
  });

  test("updateRuleRolloutAndContextKind sets the weight and the context kind it buckets", () => {
    const result = apply(base(), one("updateRuleRolloutAndContextKind", { ruleId: "r1", weight: 100000, contextKind: "org" }));
    expect(result.segment.rules[0]).toMatchObject({ _id: "r1", weight: 100000, rolloutContextKind: "org" });
    const zero = apply(base(), one("updateRuleRolloutAndContextKind", { ruleId: "r2", weight: 0, contextKind: "device" }));
    expect(zero.segment.rules[1]).toEqual({ _id: "r2", clauses: [], weight: 0, rolloutContextKind: "device", bucketBy: "key" });
  });

  test("updateRuleRolloutAndContextKind failures", () => {
    const fails = (params: Record<string, unknown>) => refused(base(), one("updateRuleRolloutAndContextKind", params));
    expect(fails({ ruleId: "r9", weight: 1, contextKind: "user" })).toBe('instruction 0 (updateRuleRolloutAndContextKind): unknown rule "r9"');
    expect(fails({ weight: 1, contextKind: "user" })).toBe("instruction 0 (updateRuleRolloutAndContextKind): ruleId must be a non-empty string");
    for (const weight of [undefined, -1, 100001, 1.5, "1"]) {
      expect(fails({ ruleId: "r1", weight, contextKind: "user" })).toBe("instruction 0 (updateRuleRolloutAndContextKind): weight must be an integer from 0 to 100000");
    }
    expect(fails({ ruleId: "r1", weight: 1 })).toBe("instruction 0 (updateRuleRolloutAndContextKind): contextKind must be a non-empty string");
    expect(fails({ ruleId: "r1", weight: 1, contextKind: "" })).toBe("instruction 0 (updateRuleRolloutAndContextKind): contextKind must be a non-empty string");
  });
});

describe("clauses", () => {
  test("addClauses appends clauses with new ids", () => {
    const result = apply(base(), one("addClauses", { ruleId: "r2", clauses: [{ attribute: "age", op: "greaterThan", values: [18], contextKind: "person" }] }));
    expect(result.segment.rules[1]!.clauses).toEqual([{ _id: "id-1", contextKind: "person", attribute: "age", op: "greaterThan", values: [18], negate: false }]);
    expect(refused(base(), one("addClauses", { ruleId: "r9", clauses: [] }))).toBe('instruction 0 (addClauses): unknown rule "r9"');
    expect(refused(base(), one("addClauses", { ruleId: "r1", clauses: [{ attribute: "a", op: "IN", values: [] }] }))).toStartWith(
      "instruction 0 (addClauses): clauses[0].op must be one of",
    );
    expect(refused(base(), one("addClauses", { ruleId: "r1" }))).toBe("instruction 0 (addClauses): clauses must be an array");
  });

  test("removeClauses removes by id; unknown ids are refused", () => {
    expect(apply(base(), one("removeClauses", { ruleId: "r1", clauseIds: ["c1", "c2"] })).segment.rules[0]!.clauses).toEqual([]);
    expect(refused(base(), one("removeClauses", { ruleId: "r1", clauseIds: ["c1", "c9"] }))).toBe('instruction 0 (removeClauses): unknown clause "c9" in rule "r1"');
    expect(refused(base(), one("removeClauses", { ruleId: "r1", clauseIds: "c1" }))).toBe("instruction 0 (removeClauses): clauseIds must be an array");
    expect(refused(base(), one("removeClauses", { ruleId: "r8", clauseIds: [] }))).toBe('instruction 0 (removeClauses): unknown rule "r8"');
  });

  test("updateClause replaces a clause and keeps its id", () => {
    const result = apply(base(), one("updateClause", { ruleId: "r1", clauseId: "c2", clause: { attribute: "key", op: "matches", values: ["^a"], negate: true } }));
    expect(result.segment.rules[0]!.clauses[1]).toEqual({ _id: "c2", contextKind: "user", attribute: "key", op: "matches", values: ["^a"], negate: true });
    expect(refused(base(), one("updateClause", { ruleId: "r1", clauseId: "c9", clause: {} }))).toBe('instruction 0 (updateClause): unknown clause "c9" in rule "r1"');
    expect(refused(base(), one("updateClause", { ruleId: "r1", clauseId: "c1" }))).toBe("instruction 0 (updateClause): clause must be an object");
    expect(refused(base(), one("updateClause", { ruleId: "r1", clauseId: "c1", clause: { attribute: "a", op: "in" } }))).toBe(
      "instruction 0 (updateClause): clause.values must be an array",
    );
    expect(refused(base(), one("updateClause", { ruleId: "r1", clauseId: 1, clause: {} }))).toBe("instruction 0 (updateClause): clauseId must be a non-empty string");
  });

  test("addValuesToClause and removeValuesFromClause compare values deeply", () => {
    const added = apply(base(), one("addValuesToClause", { ruleId: "r1", clauseId: "c2", values: [{ tier: "gold" }, { tier: "silver" }] }));
    expect(added.segment.rules[0]!.clauses[1]!.values).toEqual([{ tier: "gold" }, { tier: "silver" }]);
    const removed = apply(base(), one("removeValuesFromClause", { ruleId: "r1", clauseId: "c2", values: [{ tier: "gold" }] }));
    expect(removed.segment.rules[0]!.clauses[1]!.values).toEqual([]);
    const sv = apply(base(), one("removeValuesFromClause", { ruleId: "r1", clauseId: "c1", values: ["NO", "FI"] }));
    expect(sv.segment.rules[0]!.clauses[0]!.values).toEqual(["SE"]);
    expect(refused(base(), one("addValuesToClause", { ruleId: "r1", clauseId: "c3", values: [] }))).toBe('instruction 0 (addValuesToClause): unknown clause "c3" in rule "r1"');
    expect(refused(base(), one("addValuesToClause", { ruleId: "r1", clauseId: "c1", values: "DK" }))).toBe("instruction 0 (addValuesToClause): values must be an array");
    expect(refused(base(), one("removeValuesFromClause", { ruleId: "rx", clauseId: "c1", values: [] }))).toBe('instruction 0 (removeValuesFromClause): unknown rule "rx"');
  });
});

describe("fuzz: damaged instructions", () => {
  /** Working instructions to damage: one per kind, and richer ones with nested parameters. */
  const SEEDS: Instruction[] = [
    ...EVERY_KIND.map(([kind, params]) => ({ kind, ...structuredClone(params) })),
    ...BIG_SEGMENT_KINDS.map(([kind, params]) => ({ kind, ...structuredClone(params) })),
    { kind: "addRule", clauses: [clause, { ...clause, contextKind: "org", negate: true }], weight: 5000, rolloutContextKind: "org", bucketBy: "key", beforeRuleId: "r2", description: "d" },
    { kind: "addIncludedTargets", contextKind: "user", values: ["u7", "u8"] },
    { kind: "addExcludedTargets", contextKind: "device", values: ["d5"] },
    { kind: "addClauses", ruleId: "r1", clauses: [clause, clause] },
    { kind: "updateClause", ruleId: "r1", clauseId: "c2", clause: { ...clause, contextKind: "org" } },
    { kind: "addValuesToClause", ruleId: "r1", clauseId: "c2", values: [{ tier: "silver" }, 3, null] },
  ];
  const JUNK: unknown[] = [true, 0, 1.5, -1, 100000, 100001, "", "user", "org", "device", "u1", "u3", "d1", "o1", "r1", "r2", "c1", "__proto__", [], [null], ["u1", 2], ["u3"], ["r2", "r1"], {}, { attribute: "a", op: "in", values: [] }];
  const PARAMS = ["values", "contextKind", "clauses", "ruleId", "ruleIds", "clauseId", "clauseIds", "clause", "value", "weight", "description", "beforeRuleId", "rolloutContextKind", "bucketBy"];

  const pick = <T,>(random: () => number, from: readonly T[]): T => from[Math.floor(random() * from.length)]!;
  const junk = (random: () => number): unknown => (random() < 0.3 ? null : structuredClone(pick(random, JUNK)));

  function places(node: Record<string, unknown>, into: Array<[Record<string, unknown>, string]> = []) {
    for (const key of Object.keys(node)) {
      if (key === "kind" && !Array.isArray(node)) continue;
      into.push([node, key]);
      const child = node[key];
      if (typeof child === "object" && child !== null) places(child as Record<string, unknown>, into);
    }
    return into;
  }

  function damage(instruction: Instruction, random: () => number) {
    const all = places(instruction);
    const roll = random();
    if (all.length === 0 || roll < 0.15) {
      instruction[pick(random, PARAMS)] = junk(random);
      return;
    }
    const [node, key] = pick(random, all);
    if (roll < 0.75) node[key] = junk(random);
    else if (Array.isArray(node)) node.splice(Number(key), 1);
    else delete node[key];
  }

  test("2000 seeded patches: each succeeds or throws a VexilError naming the instruction; the input never changes", () => {
    const random = seededRandom(27);
    let ok = 0;
    let valid = 0;
    for (let i = 0; i < 2000; i++) {
      const instructions = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
        const instruction = structuredClone(pick(random, SEEDS));
        for (let j = 1 + Math.floor(random() * 2); j > 0; j--) damage(instruction, random);
        return instruction;
      });
      const sent = structuredClone(instructions);
      const s = base();
      try {
        const result = applySegmentInstructions(s, instructions, segmentContext());
        ok++;
        // Whatever the caller's validation makes of it, it answers with a VexilError or nothing.
        try {
          validateSegment(result.segment);
          valid++;
        } catch (e) {
          if (!(e instanceof VexilError)) throw e;
        }
      } catch (e) {
        if (!(e instanceof VexilError)) throw new Error(`patch ${i} threw ${String(e)}: ${JSON.stringify(instructions)}`);
        expect(e.code).toBe("invalid_request");
        expect(e.message).toMatch(/^instruction \d+/);
      }
      expect(s).toStrictEqual(base());
      expect(instructions).toStrictEqual(sent);
    }
    expect(ok).toBeGreaterThan(100);
    expect(valid).toBeGreaterThan(50);
  });
});
