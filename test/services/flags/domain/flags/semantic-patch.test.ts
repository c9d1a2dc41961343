/** Flag semantic patch: every instruction kind, its failures, atomicity and the actions it takes. */
import { describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import type { Flag, FlagEnvironment } from "@vexil/flags/domain/flags/model";
import { INSTRUCTION_KINDS, applyInstructions, type SemanticContext, type SemanticResult } from "@vexil/flags/domain/flags/semantic-patch";
import { validateFlag } from "@vexil/flags/domain/flags/validate";
import { NOW, booleanFlag, colourFlag, environment, lookupOf, seededRandom, semanticContext, thrownBy } from "./flag-fixtures.ts";

type Instruction = Record<string, unknown> & { kind: string };

const gate = booleanFlag("gate");
const sizes = colourFlag("sizes");

/** colours: user targets u1, u2 → red; device d1 → green; rule r1 (c1, c2) → blue; rule r2 a 50/50 rollout; gate as prerequisite. */
function base(): Flag {
  return colourFlag("colours", {
    environments: {
      production: environment({
        targets: [{ contextKind: "user", values: ["u1", "u2"], variation: 0 }],
        contextTargets: [{ contextKind: "device", values: ["d1"], variation: 1 }],
        rules: [
          {
            _id: "r1",
            description: "EU",
            clauses: [
              { _id: "c1", contextKind: "user", attribute: "country", op: "in", values: ["SE", "NO"], negate: false },
              { _id: "c2", contextKind: "user", attribute: "plan", op: "in", values: [{ tier: "gold" }], negate: false },
            ],
            trackEvents: false,
            variation: 2,
          },
          {
            _id: "r2",
            clauses: [],
            trackEvents: false,
            rollout: { variations: [{ variation: 0, weight: 50000 }, { variation: 1, weight: 50000 }], contextKind: "user" },
          },
        ],
        prerequisites: [{ key: "gate", variation: 0 }],
      }),
      test: environment(),
    },
  });
}

function context(over: Partial<SemanticContext> = {}): SemanticContext {
  return semanticContext({ lookup: lookupOf(gate, sizes), ...over });
}

/** Applies, checks the input is untouched and (unless told otherwise) that the result validates. */
function apply(flag: Flag, instructions: Instruction[], over: Partial<SemanticContext> = {}, validate = true): SemanticResult {
  const before = structuredClone(flag);
  const ctx = context(over);
  const result = applyInstructions(flag, instructions, ctx);
  expect(flag).toStrictEqual(before);
  expect(result.flag).not.toBe(flag);
  if (validate) validateFlag(result.flag, ctx.lookup);
  return result;
}

/** The error message of a refused patch; the input must be untouched. */
function refused(flag: Flag, instructions: unknown, over: Partial<SemanticContext> = {}): string {
  const before = structuredClone(flag);
  const message = thrownBy(() => applyInstructions(flag, instructions, context(over))).message;
  expect(flag).toStrictEqual(before);
  return message;
}

const one = (kind: string, params: Record<string, unknown> = {}): Instruction[] => [{ kind, ...params }];
const prod = (r: SemanticResult | Flag): FlagEnvironment => ("flag" in r ? r.flag : r).environments.production!;

/** The 53 kinds of the reference, each with parameters that work on `base()` and the action it takes. */
const EVERY_KIND: Array<[string, Record<string, unknown>, string, "env" | "flag"]> = [
  ["turnFlagOn", {}, "updateOn", "env"],
  ["turnFlagOff", {}, "updateOn", "env"],
  ["addTargets", { values: ["x"], variationId: "red" }, "updateTargets", "env"],
  ["removeTargets", { values: ["u1"], variationId: "red" }, "updateTargets", "env"],
  ["addUserTargets", { values: ["x"], variationId: "red" }, "updateTargets", "env"],
  ["removeUserTargets", { values: ["u1"], variationId: "red" }, "updateTargets", "env"],
  ["replaceTargets", { targets: [] }, "updateTargets", "env"],
  ["replaceUserTargets", { targets: ["red", "green", "blue"].map((variationId) => ({ variationId, values: [] })) }, "updateTargets", "env"],
  ["clearTargets", { variationId: "red" }, "updateTargets", "env"],
  ["clearUserTargets", { variationId: "red" }, "updateTargets", "env"],
  ["addRule", { clauses: [], variationId: "red" }, "updateRules", "env"],
  ["removeRule", { ruleId: "r1" }, "updateRules", "env"],
  ["replaceRules", { rules: [] }, "updateRules", "env"],
  ["reorderRules", { ruleIds: ["r2", "r1"] }, "updateRules", "env"],
  ["updateRuleVariationOrRollout", { ruleId: "r1", variationId: "red" }, "updateRules", "env"],
  ["updateRuleDescription", { ruleId: "r1", description: "x" }, "updateFlagRuleDescription", "env"],
  ["updateRuleTrackEvents", { ruleId: "r1", trackEvents: true }, "updateTrackEvents", "env"],
  ["addClauses", { ruleId: "r1", clauses: [] }, "updateRules", "env"],
  ["removeClauses", { ruleId: "r1", clauseIds: ["c1"] }, "updateRules", "env"],
  ["updateClause", { ruleId: "r1", clauseId: "c1", clause: { attribute: "a", op: "in", values: [] } }, "updateRules", "env"],
  ["addValuesToClause", { ruleId: "r1", clauseId: "c1", values: ["DK"] }, "updateRules", "env"],
  ["removeValuesFromClause", { ruleId: "r1", clauseId: "c1", values: ["SE"] }, "updateRules", "env"],
  ["updateFallthroughVariationOrRollout", { variationId: "blue" }, "updateFallthrough", "env"],
  ["updateOffVariation", { variationId: "red" }, "updateOffVariation", "env"],
  ["addPrerequisite", { key: "sizes", variationId: "red" }, "updatePrerequisites", "env"],
  ["updatePrerequisite", { key: "gate", variationId: "off" }, "updatePrerequisites", "env"],
  ["removePrerequisite", { key: "gate" }, "updatePrerequisites", "env"],
  ["replacePrerequisites", { prerequisites: [] }, "updatePrerequisites", "env"],
  ["updateTrackEvents", { trackEvents: true }, "updateTrackEvents", "env"],
  ["updateTrackEventsFallthrough", { trackEvents: true }, "updateFlagFallthroughTrackEvents", "env"],
  ["addVariation", { value: "pink" }, "updateFlagVariations", "flag"],
  ["removeVariation", { variationId: "blue" }, "updateFlagVariations", "flag"],
  ["updateVariation", { variationId: "red", name: "Red" }, "updateFlagVariations", "flag"],
  ["updateDefaultVariation", { onVariationValue: "green" }, "updateFlagDefaultVariations", "flag"],
  ["updateName", { value: "Colours" }, "updateName", "flag"],
  ["updateDescription", { value: "Theme" }, "updateDescription", "flag"],
  ["addTags", { values: ["ui"] }, "updateTags", "flag"],
  ["removeTags", { values: ["ui"] }, "updateTags", "flag"],
  ["makeFlagPermanent", {}, "updateTemporary", "flag"],
  ["makeFlagTemporary", {}, "updateTemporary", "flag"],
  ["turnOnClientSideAvailability", { value: "usingEnvironmentId" }, "updateClientSideFlagAvailability", "flag"],
  ["turnOffClientSideAvailability", { value: "usingMobileKey" }, "updateClientSideFlagAvailability", "flag"],
  ["updateMaintainerMember", { value: "member-1" }, "updateMaintainer", "flag"],
  ["updateMaintainerTeam", { value: "team-1" }, "updateMaintainer", "flag"],
  ["removeMaintainer", {}, "updateMaintainer", "flag"],
  ["addCustomProperties", { key: "jira", name: "Jira", values: ["WEB-1"] }, "updateFlagCustomProperties", "flag"],
  ["replaceCustomProperties", { key: "jira", name: "Jira", values: ["WEB-2"] }, "updateFlagCustomProperties", "flag"],
  ["removeCustomProperties", { key: "jira", values: ["WEB-1"] }, "updateFlagCustomProperties", "flag"],
  ["archiveFlag", {}, "updateGlobalArchived", "flag"],
  ["restoreFlag", {}, "updateGlobalArchived", "flag"],
  ["deprecateFlag", {}, "updateDeprecated", "flag"],
  ["restoreDeprecatedFlag", {}, "updateDeprecated", "flag"],
  ["deleteFlag", {}, "deleteFlag", "flag"],
];

/** `base()` with blue unused, so removeVariation of blue works too. */
function baseWithoutBlue(): Flag {
  const flag = base();
  prod(flag).rules[0]!.variation = 0;
  return flag;
}

describe("every kind of the reference", () => {
  test("53 kinds, exactly those of the reference", () => {
    expect(EVERY_KIND).toHaveLength(53);
    expect([...INSTRUCTION_KINDS].sort()).toEqual(EVERY_KIND.map(([kind]) => kind).sort());
  });

  for (const [kind, params, action, scope] of EVERY_KIND) {
    test(`${kind} succeeds and takes ${action}`, () => {
      const result = apply(baseWithoutBlue(), one(kind, params));
      expect(result.actions).toEqual([action]);
      expect(result.deleted).toBe(kind === "deleteFlag");
    });

    if (scope === "env") {
      test(`${kind} needs a known environmentKey`, () => {
        expect(refused(base(), one(kind, params), { environmentKey: undefined })).toBe(`instruction 0 (${kind}): environmentKey is required`);
        expect(refused(base(), one(kind, params), { environmentKey: "" })).toBe(`instruction 0 (${kind}): environmentKey is required`);
        expect(refused(base(), one(kind, params), { environmentKey: "staging" })).toBe(`instruction 0 (${kind}): unknown environment "staging"`);
      });
    } else {
      test(`${kind} needs no environmentKey`, () => {
        apply(baseWithoutBlue(), one(kind, params), { environmentKey: undefined, environments: [] });
      });
    }
  }

  test("versions and modification times are left to the caller", () => {
    const flag = base();
    for (const [kind, params] of EVERY_KIND) {
      const result = apply(baseWithoutBlue(), one(kind, params));
      expect(result.flag._version).toBe(flag._version);
      for (const [key, env] of Object.entries(result.flag.environments)) {
        expect(env.version).toBe(flag.environments[key]!.version);
        expect(env.lastModified).toBe(flag.environments[key]!.lastModified);
      }
    }
  });
});

describe("the instruction list", () => {
  test("must be a non-empty array of objects with a string kind", () => {
    for (const junk of [undefined, null, {}, "turnFlagOn", { kind: "turnFlagOn" }, []]) {
      expect(refused(base(), junk)).toBe("instructions: must be a non-empty array");
    }
    expect(refused(base(), [{ kind: "turnFlagOn" }, "turnFlagOff"])).toBe("instruction 1: must be an object");
    expect(refused(base(), [null])).toBe("instruction 0: must be an object");
    expect(refused(base(), [["turnFlagOn"]])).toBe("instruction 0: must be an object");
    expect(refused(base(), [{ kind: 3 }])).toBe("instruction 0: kind must be a string");
    expect(refused(base(), [{}])).toBe("instruction 0: kind must be a string");
  });

  test("unknown kinds are refused, including names inherited by every object", () => {
    for (const kind of ["turnFlagSideways", "toString", "__proto__", "constructor", "hasOwnProperty", "TurnFlagOn", ""]) {
      expect(refused(base(), [{ kind }])).toBe(`instruction 0 (${kind}): unknown instruction kind`);
    }
  });

  test("atomic: a failing third instruction leaves the input unchanged and names index 2", () => {
    const flag = base();
    const message = refused(flag, [
      { kind: "turnFlagOn" },
      { kind: "addTargets", values: ["x"], variationId: "green" },
      { kind: "removeRule", ruleId: 7 },
      { kind: "turnFlagOff" },
    ]);
    expect(message).toBe("instruction 2 (removeRule): ruleId must be a non-empty string");
    expect(prod(flag).on).toBe(false);
    expect(prod(flag).targets).toEqual(base().environments.production!.targets);
  });

  test("later instructions see earlier ones", () => {
    const result = apply(base(), [
      { kind: "addVariation", value: "pink" },
      { kind: "addRule", clauses: [], variationId: "id-1" },
      { kind: "updateRuleDescription", ruleId: "id-2", description: "pink rule" },
    ]);
    expect(prod(result).rules[2]).toEqual({ _id: "id-2", clauses: [], trackEvents: false, variation: 3, description: "pink rule" });
  });

  test("actions are deduplicated, in order of first use", () => {
    const result = apply(base(), [
      { kind: "turnFlagOn" },
      { kind: "addTargets", values: ["x"], variationId: "green" },
      { kind: "turnFlagOff" },
      { kind: "addTags", values: ["a"] },
      { kind: "removeTargets", values: ["x"], variationId: "green" },
    ]);
    expect(result.actions).toEqual(["updateOn", "updateTargets", "updateTags"]);
  });

  test("redundant instructions are no-ops but still name their action", () => {
    const flag = base();
    const result = apply(flag, [
      { kind: "turnFlagOff" },
      { kind: "addTargets", values: ["u1"], variationId: "red" },
      { kind: "removeTargets", values: ["nobody"], variationId: "red" },
      { kind: "removeRule", ruleId: "gone" },
      { kind: "removePrerequisite", key: "gone" },
      { kind: "addPrerequisite", key: "gate", variationId: "on" },
      { kind: "removeTags", values: ["absent"] },
      { kind: "restoreFlag" },
      { kind: "removeCustomProperties", key: "absent", values: ["x"] },
      { kind: "removeValuesFromClause", ruleId: "r1", clauseId: "c1", values: ["DK"] },
    ]);
    expect(result.flag).toStrictEqual(flag);
    expect(result.actions).toEqual(["updateOn", "updateTargets", "updateRules", "updatePrerequisites", "updateTags", "updateGlobalArchived", "updateFlagCustomProperties"]);
  });

  test("unknown parameters are ignored", () => {
    expect(prod(apply(base(), one("turnFlagOn", { comment: "go", extra: [1] }))).on).toBe(true);
  });

  test("an environment of the project that the flag lacks starts from the flag's defaults", () => {
    const flag = base();
    const result = apply(flag, one("turnFlagOn"), { environmentKey: "staging", environments: ["production", "test", "staging"] });
    const staging = result.flag.environments.staging!;
    expect(staging).toMatchObject({ on: true, version: 1, lastModified: NOW, fallthrough: { variation: 0 }, offVariation: 1, rules: [], targets: [] });
    expect(staging.salt).toMatch(/^[0-9a-f]{32}$/);
  });

  test("only the named environment changes", () => {
    const result = apply(base(), one("turnFlagOn"), { environmentKey: "test" });
    expect(result.flag.environments.test!.on).toBe(true);
    expect(prod(result).on).toBe(false);
  });

  test("an instruction's own environmentKey wins over the request's, so one patch changes several environments", () => {
    const result = apply(base(), [{ kind: "turnFlagOn", environmentKey: "test" }, { kind: "turnFlagOn" }], { environmentKey: "production" });
    expect(result.flag.environments.test!.on).toBe(true);
    expect(prod(result).on).toBe(true);
    const without = apply(base(), [{ kind: "turnFlagOn", environmentKey: "test" }], { environmentKey: undefined });
    expect(without.flag.environments.test!.on).toBe(true);
    expect(prod(without).on).toBe(false);
    expect(refused(base(), [{ kind: "turnFlagOn", environmentKey: "nowhere" }])).toContain('unknown environment "nowhere"');
  });
});

describe("on and off", () => {
  test("turnFlagOn and turnFlagOff", () => {
    const on = apply(base(), one("turnFlagOn"));
    expect(prod(on).on).toBe(true);
    expect(prod(apply(on.flag, one("turnFlagOff"))).on).toBe(false);
    expect(apply(on.flag, one("turnFlagOn")).flag).toStrictEqual(on.flag);
  });
});

describe("targets", () => {
  test("addTargets adds user keys to the variation's entry, without repeats", () => {
    const result = apply(base(), one("addTargets", { values: ["u3", "u1", "u3"], variationId: "red" }));
    expect(prod(result).targets).toEqual([{ contextKind: "user", values: ["u1", "u2", "u3"], variation: 0 }]);
  });

  test("addTargets creates an entry; other kinds go to contextTargets", () => {
    const result = apply(base(), [
      { kind: "addTargets", values: ["u9"], variationId: "blue" },
      { kind: "addTargets", values: ["d2"], variationId: "green", contextKind: "device" },
      { kind: "addTargets", values: ["o1", "u1"], variationId: "blue", contextKind: "org" },
    ]);
    expect(prod(result).targets).toEqual([
      { contextKind: "user", values: ["u1", "u2"], variation: 0 },
      { contextKind: "user", values: ["u9"], variation: 2 },
    ]);
    expect(prod(result).contextTargets).toEqual([
      { contextKind: "device", values: ["d1", "d2"], variation: 1 },
      { contextKind: "org", values: ["o1", "u1"], variation: 2 },
    ]);
  });

  test("addTargets refuses a key targeted by another variation of the same kind", () => {
    expect(refused(base(), one("addTargets", { values: ["u7", "u2"], variationId: "green" }))).toBe(
      'instruction 0 (addTargets): user "u2" is already targeted by variation "red"',
    );
    expect(refused(base(), one("addTargets", { values: ["d1"], variationId: "red", contextKind: "device" }))).toBe(
      'instruction 0 (addTargets): device "d1" is already targeted by variation "green"',
    );
    // A user placed in contextTargets by a JSON Patch still counts.
    const flag = base();
    prod(flag).contextTargets.push({ contextKind: "user", values: ["u5"], variation: 1 });
    expect(refused(flag, one("addUserTargets", { values: ["u5"], variationId: "red" }))).toContain('user "u5" is already targeted by variation "green"');
  });

  test("addTargets parameter errors", () => {
    expect(refused(base(), one("addTargets", { values: ["x"], variationId: "pink" }))).toBe('instruction 0 (addTargets): unknown variation "pink"');
    expect(refused(base(), one("addTargets", { values: ["x"] }))).toBe("instruction 0 (addTargets): variationId must be a non-empty string");
    expect(refused(base(), one("addTargets", { values: "x", variationId: "red" }))).toBe("instruction 0 (addTargets): values must be an array");
    expect(refused(base(), one("addTargets", { values: ["x", 2], variationId: "red" }))).toBe("instruction 0 (addTargets): values[1] must be a string");
    expect(refused(base(), one("addTargets", { values: ["x"], variationId: "red", contextKind: 1 }))).toBe("instruction 0 (addTargets): contextKind must be a string");
  });

  test("removeTargets removes keys of one variation and kind, dropping emptied entries", () => {
    const partial = apply(base(), one("removeTargets", { values: ["u1", "nobody"], variationId: "red" }));
    expect(prod(partial).targets).toEqual([{ contextKind: "user", values: ["u2"], variation: 0 }]);
    const emptied = apply(base(), one("removeTargets", { values: ["d1"], variationId: "green", contextKind: "device" }));
    expect(prod(emptied).contextTargets).toEqual([]);
    // u1 is targeted by red, not green: nothing to remove.
    expect(apply(base(), one("removeTargets", { values: ["u1"], variationId: "green" })).flag).toStrictEqual(base());
    expect(refused(base(), one("removeTargets", { values: ["u1"], variationId: "nope" }))).toBe('instruction 0 (removeTargets): unknown variation "nope"');
    expect(refused(base(), one("removeTargets", { values: [null], variationId: "red" }))).toBe("instruction 0 (removeTargets): values[0] must be a string");
  });

  test("addUserTargets and removeUserTargets work on user keys only", () => {
    const added = apply(base(), one("addUserTargets", { values: ["d1"], variationId: "red", contextKind: "device" }));
    expect(prod(added).targets[0]!.values).toEqual(["u1", "u2", "d1"]);
    expect(prod(added).contextTargets).toEqual(prod(base()).contextTargets);
    const removed = apply(base(), one("removeUserTargets", { values: ["u1", "u2"], variationId: "red" }));
    expect(prod(removed).targets).toEqual([]);
    expect(refused(base(), one("addUserTargets", { values: ["u1"], variationId: "blue" }))).toContain('user "u1" is already targeted by variation "red"');
    expect(refused(base(), one("removeUserTargets", { values: ["u1"] }))).toBe("instruction 0 (removeUserTargets): variationId must be a non-empty string");
  });

  test("replaceTargets replaces targets of every kind", () => {
    const result = apply(
      base(),
      one("replaceTargets", {
        targets: [
          { variationId: "blue", values: ["u1", "u9"] },
          { contextKind: "device", variationId: "red", values: ["d1"] },
          { contextKind: "user", variationId: "blue", values: ["u9", "u10"] },
        ],
      }),
    );
    expect(prod(result).targets).toEqual([{ contextKind: "user", values: ["u1", "u9", "u10"], variation: 2 }]);
    expect(prod(result).contextTargets).toEqual([{ contextKind: "device", values: ["d1"], variation: 0 }]);
  });

  test("replaceTargets failures", () => {
    const twice = { targets: [{ variationId: "red", values: ["k"] }, { variationId: "green", values: ["k"] }] };
    expect(refused(base(), one("replaceTargets", twice))).toBe('instruction 0 (replaceTargets): user "k" is already targeted by variation "red"');
    expect(refused(base(), one("replaceTargets", { targets: [{ variationId: "red", values: [] }, { variationId: "x", values: [] }] }))).toBe(
      'instruction 0 (replaceTargets): unknown variation "x"',
    );
    expect(refused(base(), one("replaceTargets", { targets: [{ variationId: "red", values: "k" }] }))).toBe(
      "instruction 0 (replaceTargets): targets[0].values must be an array",
    );
    expect(refused(base(), one("replaceTargets", { targets: ["red"] }))).toBe("instruction 0 (replaceTargets): targets[0] must be an object");
    expect(refused(base(), one("replaceTargets", { targets: {} }))).toBe("instruction 0 (replaceTargets): targets must be an array");
    expect(refused(base(), one("replaceTargets", { targets: [{ variationId: "red", values: [], contextKind: false }] }))).toBe(
      "instruction 0 (replaceTargets): targets[0].contextKind must be a string",
    );
  });

  test("replaceUserTargets needs an entry per variation and keeps other kinds", () => {
    const targets = [
      { variationId: "red", values: [] },
      { variationId: "green", values: ["u1"] },
      { variationId: "blue", values: ["u3"] },
    ];
    const result = apply(base(), one("replaceUserTargets", { targets }));
    expect(prod(result).targets).toEqual([
      { contextKind: "user", values: ["u1"], variation: 1 },
      { contextKind: "user", values: ["u3"], variation: 2 },
    ]);
    expect(prod(result).contextTargets).toEqual(prod(base()).contextTargets);
    expect(refused(base(), one("replaceUserTargets", { targets: targets.slice(0, 2) }))).toBe(
      'instruction 0 (replaceUserTargets): targets must have an entry for every variation; "blue" has none',
    );
    expect(refused(base(), one("replaceUserTargets", { targets: [...targets, { variationId: "red", values: ["u3"] }] }))).toContain(
      'user "u3" is already targeted by variation "blue"',
    );
  });

  test("clearTargets clears every kind of one variation; clearUserTargets only users", () => {
    const flag = base();
    prod(flag).contextTargets.push({ contextKind: "device", values: ["d9"], variation: 0 });
    const cleared = apply(flag, one("clearTargets", { variationId: "red" }));
    expect(prod(cleared).targets).toEqual([]);
    expect(prod(cleared).contextTargets).toEqual([{ contextKind: "device", values: ["d1"], variation: 1 }]);
    const users = apply(flag, one("clearUserTargets", { variationId: "red" }));
    expect(prod(users).targets).toEqual([]);
    expect(prod(users).contextTargets).toHaveLength(2);
    expect(refused(flag, one("clearTargets", { variationId: 0 }))).toBe("instruction 0 (clearTargets): variationId must be a non-empty string");
    expect(refused(flag, one("clearUserTargets", { variationId: "nope" }))).toBe('instruction 0 (clearUserTargets): unknown variation "nope"');
  });
});

describe("rules", () => {
  const clause = { attribute: "email", op: "endsWith" as const, values: ["@example.com"] };

  test("addRule with a variation appends a rule with new ids and clause defaults", () => {
    const result = apply(base(), one("addRule", { clauses: [clause, { ...clause, contextKind: "org", negate: true }], variationId: "green", description: "staff" }));
    expect(prod(result).rules[2]).toEqual({
      _id: "id-1",
      description: "staff",
      clauses: [
        { _id: "id-2", contextKind: "user", attribute: "email", op: "endsWith", values: ["@example.com"], negate: false },
        { _id: "id-3", contextKind: "org", attribute: "email", op: "endsWith", values: ["@example.com"], negate: true },
      ],
      trackEvents: false,
      variation: 1,
    });
  });

  test("addRule with rolloutWeights, before another rule", () => {
    const result = apply(
      base(),
      one("addRule", { clauses: [], rolloutWeights: { blue: 10000, red: 90000 }, rolloutBucketBy: "email", beforeRuleId: "r2", trackEvents: true }),
    );
    expect(prod(result).rules.map((r) => r._id)).toEqual(["r1", "id-1", "r2"]);
    expect(prod(result).rules[1]).toEqual({
      _id: "id-1",
      clauses: [],
      trackEvents: true,
      rollout: { variations: [{ variation: 0, weight: 90000 }, { variation: 2, weight: 10000 }], bucketBy: "email", contextKind: "user" },
    });
    const kinded = apply(base(), one("addRule", { clauses: [], rolloutWeights: { red: 100000 }, rolloutContextKind: "org" }));
    expect(prod(kinded).rules[2]!.rollout).toEqual({ variations: [{ variation: 0, weight: 100000 }], contextKind: "org" });
  });

  test("addRule failures", () => {
    const fails = (params: Record<string, unknown>) => refused(base(), one("addRule", params));
    expect(fails({ clauses: [] })).toBe("instruction 0 (addRule): variationId or rolloutWeights is required, not both");
    expect(fails({ clauses: [], variationId: "red", rolloutWeights: { red: 100000 } })).toBe("instruction 0 (addRule): variationId or rolloutWeights is required, not both");
    expect(fails({ clauses: [], rolloutWeights: { red: 60000, green: 30000 } })).toBe("instruction 0 (addRule): rolloutWeights must sum to 100000, not 90000");
    expect(fails({ clauses: [], rolloutWeights: {} })).toBe("instruction 0 (addRule): rolloutWeights must sum to 100000, not 0");
    expect(fails({ clauses: [], rolloutWeights: { pink: 100000 } })).toBe('instruction 0 (addRule): unknown variation "pink" in rolloutWeights');
    expect(fails({ clauses: [], rolloutWeights: { red: 50000.5, green: 49999.5 } })).toBe("instruction 0 (addRule): rolloutWeights.red must be an integer from 0 to 100000");
    expect(fails({ clauses: [], rolloutWeights: { red: "100000" } })).toBe("instruction 0 (addRule): rolloutWeights.red must be an integer from 0 to 100000");
    expect(fails({ clauses: [], rolloutWeights: { red: 200000, green: -100000 } })).toBe("instruction 0 (addRule): rolloutWeights.red must be an integer from 0 to 100000");
    expect(fails({ clauses: [], rolloutWeights: [100000] })).toBe("instruction 0 (addRule): rolloutWeights must be an object");
    expect(fails({ clauses: [], rolloutWeights: { red: 100000 }, rolloutBucketBy: 3 })).toBe("instruction 0 (addRule): rolloutBucketBy must be a string");
    expect(fails({ clauses: [], rolloutWeights: { red: 100000 }, rolloutContextKind: {} })).toBe("instruction 0 (addRule): rolloutContextKind must be a string");
    expect(fails({ clauses: [], variationId: "red", beforeRuleId: "r9" })).toBe('instruction 0 (addRule): unknown rule "r9"');
    expect(fails({ variationId: "red" })).toBe("instruction 0 (addRule): clauses must be an array");
    expect(fails({ clauses: [{ ...clause, op: "equals" }], variationId: "red" })).toStartWith("instruction 0 (addRule): clauses[0].op must be one of in, endsWith");
    expect(fails({ clauses: [clause, { op: "in", values: [] }], variationId: "red" })).toBe("instruction 0 (addRule): clauses[1].attribute must be a non-empty string");
    expect(fails({ clauses: [{ ...clause, values: "x" }], variationId: "red" })).toBe("instruction 0 (addRule): clauses[0].values must be an array");
    expect(fails({ clauses: [{ ...clause, negate: "no" }], variationId: "red" })).toBe("instruction 0 (addRule): clauses[0].negate must be a boolean");
    expect(fails({ clauses: ["x"], variationId: "red" })).toBe("instruction 0 (addRule): clauses[0] must be an object");
    expect(fails({ clauses: [], variationId: "red", description: 5 })).toBe("instruction 0 (addRule): description must be a string");
    expect(fails({ clauses: [], variationId: "red", trackEvents: "yes" })).toBe("instruction 0 (addRule): trackEvents must be a boolean");
  });

  test("removeRule removes by id; an absent rule is a no-op", () => {
    expect(prod(apply(base(), one("removeRule", { ruleId: "r1" }))).rules.map((r) => r._id)).toEqual(["r2"]);
    expect(apply(base(), one("removeRule", { ruleId: "r9" })).flag).toStrictEqual(base());
    expect(refused(base(), one("removeRule", {}))).toBe("instruction 0 (removeRule): ruleId must be a non-empty string");
  });

  test("replaceRules replaces every rule with new ones", () => {
    const result = apply(
      base(),
      one("replaceRules", {
        rules: [
          { clauses: [clause], variationId: "blue", description: "one" },
          { clauses: [], rolloutWeights: { red: 1, green: 99999 }, trackEvents: true },
        ],
      }),
    );
    expect(prod(result).rules).toEqual([
      { _id: "id-1", description: "one", clauses: [{ _id: "id-2", contextKind: "user", negate: false, ...clause }], trackEvents: false, variation: 2 },
      { _id: "id-3", clauses: [], trackEvents: true, rollout: { variations: [{ variation: 0, weight: 1 }, { variation: 1, weight: 99999 }], contextKind: "user" } },
    ]);
    expect(refused(base(), one("replaceRules", { rules: [{ clauses: [], variationId: "red" }, { clauses: [], variationId: "x" }] }))).toBe(
      'instruction 0 (replaceRules): unknown variation "x"',
    );
    expect(refused(base(), one("replaceRules", { rules: [{ clauses: [], variationId: "red" }, { clauses: {}, variationId: "red" }] }))).toBe(
      "instruction 0 (replaceRules): rules[1].clauses must be an array",
    );
    expect(refused(base(), one("replaceRules", { rules: [{ clauses: [], rolloutWeights: { red: 1 } }] }))).toBe(
      "instruction 0 (replaceRules): rules[0].rolloutWeights must sum to 100000, not 1",
    );
    expect(refused(base(), one("replaceRules", { rules: [7] }))).toBe("instruction 0 (replaceRules): rules[0] must be an object");
    expect(refused(base(), one("replaceRules", { rules: null }))).toBe("instruction 0 (replaceRules): rules must be an array");
  });

  test("reorderRules must list exactly the current rules", () => {
    expect(prod(apply(base(), one("reorderRules", { ruleIds: ["r2", "r1"] }))).rules.map((r) => r._id)).toEqual(["r2", "r1"]);
    const message = 'instruction 0 (reorderRules): ruleIds must list each current rule exactly once ("r1", "r2")';
    expect(refused(base(), one("reorderRules", { ruleIds: ["r2"] }))).toBe(message);
    expect(refused(base(), one("reorderRules", { ruleIds: ["r2", "r1", "r3"] }))).toBe(message);
    expect(refused(base(), one("reorderRules", { ruleIds: ["r2", "r2"] }))).toBe(message);
    expect(refused(base(), one("reorderRules", { ruleIds: ["r2", "r9"] }))).toBe(message);
    expect(refused(base(), one("reorderRules", { ruleIds: "r1,r2" }))).toBe("instruction 0 (reorderRules): ruleIds must be an array");
    expect(refused(base(), one("reorderRules", { ruleIds: ["r1"] }), { environmentKey: "test" })).toBe(
      "instruction 0 (reorderRules): ruleIds must list each current rule exactly once (none)",
    );
  });

  test("updateRuleVariationOrRollout switches between a variation and a rollout", () => {
    const rolled = apply(base(), one("updateRuleVariationOrRollout", { ruleId: "r1", rolloutWeights: { green: 100000 } }));
    expect(prod(rolled).rules[0]!.variation).toBeUndefined();
    expect(prod(rolled).rules[0]!.rollout).toEqual({ variations: [{ variation: 1, weight: 100000 }], contextKind: "user" });
    const fixed = apply(base(), one("updateRuleVariationOrRollout", { ruleId: "r2", variationId: "blue" }));
    expect(prod(fixed).rules[1]).toEqual({ _id: "r2", clauses: [], trackEvents: false, variation: 2 });
    expect(refused(base(), one("updateRuleVariationOrRollout", { ruleId: "r9", variationId: "red" }))).toBe('instruction 0 (updateRuleVariationOrRollout): unknown rule "r9"');
    expect(refused(base(), one("updateRuleVariationOrRollout", { ruleId: "r1" }))).toBe(
      "instruction 0 (updateRuleVariationOrRollout): variationId or rolloutWeights is required, not both",
    );
    expect(refused(base(), one("updateRuleVariationOrRollout", { ruleId: "r1", rolloutWeights: { red: 99999 } }))).toBe(
      "instruction 0 (updateRuleVariationOrRollout): rolloutWeights must sum to 100000, not 99999",
    );
  });

  test("updateRuleDescription and updateRuleTrackEvents", () => {
    expect(prod(apply(base(), one("updateRuleDescription", { ruleId: "r2", description: "half" }))).rules[1]!.description).toBe("half");
    expect(prod(apply(base(), one("updateRuleDescription", { ruleId: "r1", description: "" }))).rules[0]!.description).toBe("");
    expect(refused(base(), one("updateRuleDescription", { ruleId: "r1" }))).toBe("instruction 0 (updateRuleDescription): description must be a string");
    expect(refused(base(), one("updateRuleDescription", { ruleId: "x", description: "d" }))).toBe('instruction 0 (updateRuleDescription): unknown rule "x"');
    expect(prod(apply(base(), one("updateRuleTrackEvents", { ruleId: "r1", trackEvents: true }))).rules[0]!.trackEvents).toBe(true);
    expect(refused(base(), one("updateRuleTrackEvents", { ruleId: "r1", trackEvents: 1 }))).toBe("instruction 0 (updateRuleTrackEvents): trackEvents must be a boolean");
    expect(refused(base(), one("updateRuleTrackEvents", { trackEvents: true }))).toBe("instruction 0 (updateRuleTrackEvents): ruleId must be a non-empty string");
  });
});

describe("clauses", () => {
  test("addClauses appends clauses with new ids", () => {
    const result = apply(base(), one("addClauses", { ruleId: "r2", clauses: [{ attribute: "age", op: "greaterThan", values: [18], contextKind: "person" }] }));
    expect(prod(result).rules[1]!.clauses).toEqual([{ _id: "id-1", contextKind: "person", attribute: "age", op: "greaterThan", values: [18], negate: false }]);
    expect(refused(base(), one("addClauses", { ruleId: "r9", clauses: [] }))).toBe('instruction 0 (addClauses): unknown rule "r9"');
    expect(refused(base(), one("addClauses", { ruleId: "r1", clauses: [{ attribute: "a", op: "IN", values: [] }] }))).toStartWith(
      "instruction 0 (addClauses): clauses[0].op must be one of",
    );
    expect(refused(base(), one("addClauses", { ruleId: "r1" }))).toBe("instruction 0 (addClauses): clauses must be an array");
  });

  test("removeClauses removes by id; unknown ids are refused", () => {
    expect(prod(apply(base(), one("removeClauses", { ruleId: "r1", clauseIds: ["c1", "c2"] }))).rules[0]!.clauses).toEqual([]);
    expect(refused(base(), one("removeClauses", { ruleId: "r1", clauseIds: ["c1", "c9"] }))).toBe('instruction 0 (removeClauses): unknown clause "c9" in rule "r1"');
    expect(refused(base(), one("removeClauses", { ruleId: "r1", clauseIds: "c1" }))).toBe("instruction 0 (removeClauses): clauseIds must be an array");
    expect(refused(base(), one("removeClauses", { ruleId: "r8", clauseIds: [] }))).toBe('instruction 0 (removeClauses): unknown rule "r8"');
  });

  test("updateClause replaces a clause and keeps its id", () => {
    const result = apply(base(), one("updateClause", { ruleId: "r1", clauseId: "c2", clause: { attribute: "key", op: "matches", values: ["^a"], negate: true } }));
    expect(prod(result).rules[0]!.clauses[1]).toEqual({ _id: "c2", contextKind: "user", attribute: "key", op: "matches", values: ["^a"], negate: true });
    expect(refused(base(), one("updateClause", { ruleId: "r1", clauseId: "c9", clause: {} }))).toBe('instruction 0 (updateClause): unknown clause "c9" in rule "r1"');
    expect(refused(base(), one("updateClause", { ruleId: "r1", clauseId: "c1" }))).toBe("instruction 0 (updateClause): clause must be an object");
    expect(refused(base(), one("updateClause", { ruleId: "r1", clauseId: "c1", clause: { attribute: "a", op: "in" } }))).toBe(
      "instruction 0 (updateClause): clause.values must be an array",
    );
    expect(refused(base(), one("updateClause", { ruleId: "r1", clauseId: 1, clause: {} }))).toBe("instruction 0 (updateClause): clauseId must be a non-empty string");
  });

  test("addValuesToClause and removeValuesFromClause compare values deeply", () => {
    const added = apply(base(), one("addValuesToClause", { ruleId: "r1", clauseId: "c2", values: [{ tier: "gold" }, { tier: "silver" }] }));
    expect(prod(added).rules[0]!.clauses[1]!.values).toEqual([{ tier: "gold" }, { tier: "silver" }]);
    const removed = apply(base(), one("removeValuesFromClause", { ruleId: "r1", clauseId: "c2", values: [{ tier: "gold" }] }));
    expect(prod(removed).rules[0]!.clauses[1]!.values).toEqual([]);
    const sv = apply(base(), one("removeValuesFromClause", { ruleId: "r1", clauseId: "c1", values: ["NO", "FI"] }));
    expect(prod(sv).rules[0]!.clauses[0]!.values).toEqual(["SE"]);
    expect(refused(base(), one("addValuesToClause", { ruleId: "r1", clauseId: "c3", values: [] }))).toBe('instruction 0 (addValuesToClause): unknown clause "c3" in rule "r1"');
    expect(refused(base(), one("addValuesToClause", { ruleId: "r1", clauseId: "c1", values: "DK" }))).toBe("instruction 0 (addValuesToClause): values must be an array");
    expect(refused(base(), one("removeValuesFromClause", { ruleId: "rx", clauseId: "c1", values: [] }))).toBe('instruction 0 (removeValuesFromClause): unknown rule "rx"');
  });
});

describe("fallthrough and off variation", () => {
  test("updateFallthroughVariationOrRollout", () => {
    const rolled = apply(base(), one("updateFallthroughVariationOrRollout", { rolloutWeights: { red: 25000, green: 25000, blue: 50000 }, rolloutBucketBy: "org" }));
    expect(prod(rolled).fallthrough).toEqual({
      rollout: { variations: [{ variation: 0, weight: 25000 }, { variation: 1, weight: 25000 }, { variation: 2, weight: 50000 }], bucketBy: "org", contextKind: "user" },
    });
    expect(prod(apply(rolled.flag, one("updateFallthroughVariationOrRollout", { variationId: "green" }))).fallthrough).toEqual({ variation: 1 });
    expect(refused(base(), one("updateFallthroughVariationOrRollout", { rolloutWeights: { red: 25000 } }))).toBe(
      "instruction 0 (updateFallthroughVariationOrRollout): rolloutWeights must sum to 100000, not 25000",
    );
    expect(refused(base(), one("updateFallthroughVariationOrRollout", { variationId: "pink" }))).toBe('instruction 0 (updateFallthroughVariationOrRollout): unknown variation "pink"');
    expect(refused(base(), one("updateFallthroughVariationOrRollout", {}))).toBe(
      "instruction 0 (updateFallthroughVariationOrRollout): variationId or rolloutWeights is required, not both",
    );
  });

  test("updateOffVariation", () => {
    expect(prod(apply(base(), one("updateOffVariation", { variationId: "blue" }))).offVariation).toBe(2);
    expect(refused(base(), one("updateOffVariation", { variationId: "pink" }))).toBe('instruction 0 (updateOffVariation): unknown variation "pink"');
    expect(refused(base(), one("updateOffVariation", {}))).toBe("instruction 0 (updateOffVariation): variationId must be a non-empty string");
  });
});

describe("prerequisites", () => {
  test("addPrerequisite names the other flag's variation by its id", () => {
    const result = apply(base(), one("addPrerequisite", { key: "sizes", variationId: "blue" }));
    expect(prod(result).prerequisites).toEqual([{ key: "gate", variation: 0 }, { key: "sizes", variation: 2 }]);
  });

  test("addPrerequisite failures", () => {
    expect(refused(base(), one("addPrerequisite", { key: "gate", variationId: "off" }))).toBe('instruction 0 (addPrerequisite): "gate" is already a prerequisite; use updatePrerequisite');
    expect(refused(base(), one("addPrerequisite", { key: "nope", variationId: "on" }))).toBe('instruction 0 (addPrerequisite): there is no flag "nope" in this project');
    expect(refused(base(), one("addPrerequisite", { key: "colours", variationId: "red" }))).toBe("instruction 0 (addPrerequisite): a flag cannot be its own prerequisite");
    // "red" is a variation of colours, not of gate.
    expect(refused(base(), one("addPrerequisite", { key: "sizes", variationId: "on" }))).toBe('instruction 0 (addPrerequisite): unknown variation "on" of flag "sizes"');
    expect(refused(base(), one("addPrerequisite", { key: 1, variationId: "on" }))).toBe("instruction 0 (addPrerequisite): key must be a non-empty string");
  });

  test("a prerequisite cycle is left to validation", () => {
    const loop = colourFlag("sizes");
    loop.environments.production!.prerequisites = [{ key: "colours", variation: 0 }];
    const result = apply(base(), one("addPrerequisite", { key: "sizes", variationId: "red" }), { lookup: lookupOf(gate, loop) }, false);
    expect(thrownBy(() => validateFlag(result.flag, lookupOf(gate, loop))).message).toContain("prerequisite cycle colours → sizes → colours");
  });

  test("updatePrerequisite changes the variation of a present prerequisite only", () => {
    expect(prod(apply(base(), one("updatePrerequisite", { key: "gate", variationId: "off" }))).prerequisites).toEqual([{ key: "gate", variation: 1 }]);
    expect(refused(base(), one("updatePrerequisite", { key: "sizes", variationId: "red" }))).toBe('instruction 0 (updatePrerequisite): "sizes" is not a prerequisite');
    expect(refused(base(), one("updatePrerequisite", { key: "gate", variationId: "maybe" }))).toBe('instruction 0 (updatePrerequisite): unknown variation "maybe" of flag "gate"');
  });

  test("removePrerequisite; an absent one is a no-op", () => {
    expect(prod(apply(base(), one("removePrerequisite", { key: "gate" }))).prerequisites).toEqual([]);
    expect(apply(base(), one("removePrerequisite", { key: "sizes" })).flag).toStrictEqual(base());
    expect(refused(base(), one("removePrerequisite", { key: ["gate"] }))).toBe("instruction 0 (removePrerequisite): key must be a non-empty string");
  });

  test("replacePrerequisites", () => {
    const result = apply(base(), one("replacePrerequisites", { prerequisites: [{ key: "sizes", variationId: "green" }, { key: "gate", variationId: "off" }] }));
    expect(prod(result).prerequisites).toEqual([{ key: "sizes", variation: 1 }, { key: "gate", variation: 1 }]);
    expect(refused(base(), one("replacePrerequisites", { prerequisites: [{ key: "gate", variationId: "on" }, { key: "gate", variationId: "off" }] }))).toBe(
      'instruction 0 (replacePrerequisites): prerequisites lists "gate" twice',
    );
    expect(refused(base(), one("replacePrerequisites", { prerequisites: [{ key: "gate" }] }))).toBe(
      "instruction 0 (replacePrerequisites): prerequisites[0].variationId must be a non-empty string",
    );
    expect(refused(base(), one("replacePrerequisites", { prerequisites: ["gate"] }))).toBe("instruction 0 (replacePrerequisites): prerequisites[0] must be an object");
    expect(refused(base(), one("replacePrerequisites", {}))).toBe("instruction 0 (replacePrerequisites): prerequisites must be an array");
  });
});

describe("event tracking", () => {
  test("updateTrackEvents and updateTrackEventsFallthrough", () => {
    const result = apply(base(), [
      { kind: "updateTrackEvents", trackEvents: true },
      { kind: "updateTrackEventsFallthrough", trackEvents: true },
    ]);
    expect(prod(result)).toMatchObject({ trackEvents: true, trackEventsFallthrough: true });
    expect(result.actions).toEqual(["updateTrackEvents", "updateFlagFallthroughTrackEvents"]);
    expect(refused(base(), one("updateTrackEvents", { trackEvents: "true" }))).toBe("instruction 0 (updateTrackEvents): trackEvents must be a boolean");
    expect(refused(base(), one("updateTrackEventsFallthrough", {}))).toBe("instruction 0 (updateTrackEventsFallthrough): trackEvents must be a boolean");
  });
});

describe("variations", () => {
  test("addVariation appends a variation with a new id", () => {
    const result = apply(base(), one("addVariation", { value: "pink", name: "Pink", description: "new" }));
    expect(result.flag.variations[3]).toEqual({ _id: "id-1", value: "pink", name: "Pink", description: "new" });
    expect(result.flag.variations.slice(0, 3)).toEqual(base().variations);
  });

  test("addVariation keeps an _id it is given, so later instructions can serve the new variation", () => {
    const result = apply(base(), [
      { kind: "addVariation", value: "pink", _id: "v-pink" },
      { kind: "updateFallthroughVariationOrRollout", variationId: "v-pink" },
    ]);
    expect(result.flag.variations.at(-1)).toEqual({ _id: "v-pink", value: "pink" });
    expect(prod(result).fallthrough).toEqual({ variation: result.flag.variations.length - 1 });
    expect(refused(base(), one("addVariation", { value: "pink", _id: base().variations[0]!._id }))).toContain("another variation has the id");
  });

  test("addVariation failures", () => {
    expect(refused(base(), one("addVariation", { value: "red" }))).toBe("instruction 0 (addVariation): another variation has the same value");
    expect(refused(base(), one("addVariation", {}))).toBe("instruction 0 (addVariation): value is required");
    expect(refused(base(), one("addVariation", { value: "x", name: 1 }))).toBe("instruction 0 (addVariation): name must be a string");
    expect(refused(base(), one("addVariation", { value: "x", description: false }))).toBe("instruction 0 (addVariation): description must be a string");
    // A third value for a boolean flag, or a value of another type, is left to validation.
    const boolResult = apply(booleanFlag(), one("addVariation", { value: "maybe" }), {}, false);
    expect(thrownBy(() => validateFlag(boolResult.flag, lookupOf())).message).toStartWith("variations: a boolean flag");
  });

  test("removeVariation refuses a variation this flag uses", () => {
    const cases: Array<[string, (f: Flag) => void, string]> = [
      ["defaults", (f) => (f.defaults.onVariation = 2), "the flag's defaults"],
      ["targets", (f) => prod(f).contextTargets.push({ contextKind: "org", values: ["o"], variation: 2 }), 'targets in environment "production"'],
      ["rule", (f) => (prod(f).rules[0]!.variation = 2), 'rule 0 in environment "production"'],
      ["rollout", (f) => (prod(f).rules[1]!.rollout!.variations = [{ variation: 0, weight: 50000 }, { variation: 2, weight: 50000 }]), 'rule 1 in environment "production"'],
      ["experiment", (f) => (prod(f).rules[1]!.rollout!.experimentAllocation = { defaultVariation: 2, canReshuffle: false }), 'rule 1 in environment "production"'],
      ["fallthrough", (f) => (f.environments.test!.fallthrough = { variation: 2 }), 'the fallthrough in environment "test"'],
      ["off", (f) => (f.environments.test!.offVariation = 2), 'the off variation in environment "test"'],
    ];
    for (const [, change, where] of cases) {
      const flag = baseWithoutBlue();
      change(flag);
      expect(refused(flag, one("removeVariation", { variationId: "blue" }))).toBe(`instruction 0 (removeVariation): variation "blue" is used by ${where}`);
    }
    expect(refused(base(), one("removeVariation", { variationId: "pink" }))).toBe('instruction 0 (removeVariation): unknown variation "pink"');
    expect(refused(booleanFlag(), one("removeVariation", { variationId: "on" }))).toBe('instruction 0 (removeVariation): variation "on" is used by the flag\'s defaults');
  });

  test("removeVariation refuses to change what another flag's prerequisite means", () => {
    const dependent = booleanFlag("dependent");
    dependent.environments.test!.prerequisites = [{ key: "colours", variation: 2 }];
    const flag = baseWithoutBlue();
    const over = { lookup: lookupOf(gate, sizes, dependent), dependents: ["dependent"] };
    expect(refused(flag, one("removeVariation", { variationId: "blue" }), over)).toBe(
      'instruction 0 (removeVariation): variation "blue" is used by a prerequisite of flag "dependent" in environment "test"',
    );
    // Removing green would renumber blue, which dependent names by index.
    prod(flag).targets = [];
    prod(flag).contextTargets = [];
    prod(flag).rules = [];
    flag.environments.test!.offVariation = 0;
    prod(flag).offVariation = 0;
    flag.defaults.offVariation = 0;
    expect(refused(flag, one("removeVariation", { variationId: "green" }), over)).toBe(
      'instruction 0 (removeVariation): variation "green" is used by the index of a later variation in a prerequisite of flag "dependent" in environment "test"',
    );
    dependent.environments.test!.prerequisites = [{ key: "colours", variation: 0 }];
    apply(flag, one("removeVariation", { variationId: "green" }), over);
  });

  test("removeVariation shifts every later index down and drops empty leftovers", () => {
    const flag = colourFlag("colours", { defaults: { onVariation: 3, offVariation: 0 } });
    flag.variations.push({ _id: "white", value: "white" });
    flag.environments.production = environment({
      targets: [
        { contextKind: "user", values: ["u1"], variation: 3 },
        { contextKind: "user", values: [], variation: 1 },
      ],
      contextTargets: [{ contextKind: "device", values: ["d1"], variation: 2 }],
      rules: [
        { _id: "r1", clauses: [], trackEvents: false, variation: 2 },
        {
          _id: "r2",
          clauses: [],
          trackEvents: false,
          rollout: { variations: [{ variation: 0, weight: 40000 }, { variation: 1, weight: 0 }, { variation: 3, weight: 60000 }], experimentAllocation: { defaultVariation: 3, canReshuffle: false } },
        },
      ],
      fallthrough: { rollout: { variations: [{ variation: 2, weight: 100000 }, { variation: 1, weight: 0 }] } },
      offVariation: 3,
    });
    flag.environments.test = environment({ fallthrough: { variation: 3 }, offVariation: 0 });
    const result = apply(flag, one("removeVariation", { variationId: "green" }));
    expect(result.flag.variations.map((v) => v._id)).toEqual(["red", "blue", "white"]);
    expect(result.flag.defaults).toEqual({ onVariation: 2, offVariation: 0 });
    expect(prod(result)).toMatchObject({
      targets: [{ contextKind: "user", values: ["u1"], variation: 2 }],
      contextTargets: [{ contextKind: "device", values: ["d1"], variation: 1 }],
      rules: [
        { _id: "r1", clauses: [], trackEvents: false, variation: 1 },
        {
          _id: "r2",
          clauses: [],
          trackEvents: false,
          rollout: { variations: [{ variation: 0, weight: 40000 }, { variation: 2, weight: 60000 }], experimentAllocation: { defaultVariation: 2, canReshuffle: false } },
        },
      ],
      fallthrough: { rollout: { variations: [{ variation: 1, weight: 100000 }] } },
      offVariation: 2,
    });
    expect(result.flag.environments.test).toMatchObject({ fallthrough: { variation: 2 }, offVariation: 0 });
  });

  test("updateVariation changes the given fields", () => {
    const result = apply(base(), one("updateVariation", { variationId: "green", value: "lime", name: "Lime", description: "brighter" }));
    expect(result.flag.variations[1]).toEqual({ _id: "green", value: "lime", name: "Lime", description: "brighter" });
    expect(apply(base(), one("updateVariation", { variationId: "green" })).flag).toStrictEqual(base());
    expect(apply(base(), one("updateVariation", { variationId: "green", value: "green" })).flag).toStrictEqual(base());
    expect(refused(base(), one("updateVariation", { variationId: "green", value: "red" }))).toBe("instruction 0 (updateVariation): another variation has the same value");
    expect(refused(base(), one("updateVariation", { variationId: "teal", name: "x" }))).toBe('instruction 0 (updateVariation): unknown variation "teal"');
    expect(refused(base(), one("updateVariation", { variationId: "red", name: ["x"] }))).toBe("instruction 0 (updateVariation): name must be a string");
  });

  test("updateDefaultVariation finds variations by value", () => {
    const result = apply(base(), one("updateDefaultVariation", { onVariationValue: "blue", offVariationValue: "green" }));
    expect(result.flag.defaults).toEqual({ onVariation: 2, offVariation: 1 });
    const json = colourFlag("j");
    json.variations = [{ _id: "a", value: { a: 1, b: 2 } }, { _id: "b", value: [1] }];
    expect(apply(json, one("updateDefaultVariation", { onVariationValue: { b: 2, a: 1 }, offVariationValue: [1] })).flag.defaults).toEqual({ onVariation: 0, offVariation: 1 });
    const bool = apply(booleanFlag(), one("updateDefaultVariation", { onVariationValue: false, offVariationValue: true }));
    expect(bool.flag.defaults).toEqual({ onVariation: 1, offVariation: 0 });
  });

  test("updateDefaultVariation accepts the capitalised names of the documentation example", () => {
    expect(apply(base(), one("updateDefaultVariation", { OnVariationValue: "blue", OffVariationValue: "red" })).flag.defaults).toEqual({ onVariation: 2, offVariation: 0 });
  });

  test("updateDefaultVariation failures", () => {
    expect(refused(base(), one("updateDefaultVariation", {}))).toBe("instruction 0 (updateDefaultVariation): onVariationValue or offVariationValue is required");
    expect(refused(base(), one("updateDefaultVariation", { onVariationValue: "pink" }))).toBe(
      'instruction 0 (updateDefaultVariation): onVariationValue: no variation has the value "pink"',
    );
    expect(refused(base(), one("updateDefaultVariation", { offVariationValue: 1 }))).toBe("instruction 0 (updateDefaultVariation): offVariationValue: no variation has the value 1");
  });
});

describe("flag settings", () => {
  test("updateName and updateDescription", () => {
    const result = apply(base(), [
      { kind: "updateName", value: "Colours" },
      { kind: "updateDescription", value: "The theme" },
    ]);
    expect(result.flag).toMatchObject({ name: "Colours", description: "The theme" });
    expect(result.actions).toEqual(["updateName", "updateDescription"]);
    expect(apply(result.flag, one("updateDescription", { value: "" })).flag.description).toBe("");
    expect(refused(base(), one("updateName", { value: "" }))).toBe("instruction 0 (updateName): value must be a non-empty string");
    expect(refused(base(), one("updateName", { value: 1 }))).toBe("instruction 0 (updateName): value must be a non-empty string");
    expect(refused(base(), one("updateDescription", {}))).toBe("instruction 0 (updateDescription): value must be a string");
    expect(refused(base(), one("updateDescription", { value: null }))).toBe("instruction 0 (updateDescription): value must be a string");
  });

  test("addTags and removeTags", () => {
    const tagged = apply(base(), one("addTags", { values: ["ui", "web", "ui"] }));
    expect(tagged.flag.tags).toEqual(["ui", "web"]);
    expect(apply(tagged.flag, one("addTags", { values: ["web"] })).flag.tags).toEqual(["ui", "web"]);
    expect(apply(tagged.flag, one("removeTags", { values: ["ui", "other"] })).flag.tags).toEqual(["web"]);
    expect(refused(base(), one("addTags", { values: "ui" }))).toBe("instruction 0 (addTags): values must be an array");
    expect(refused(base(), one("removeTags", { values: [1] }))).toBe("instruction 0 (removeTags): values[0] must be a string");
  });

  test("makeFlagPermanent and makeFlagTemporary", () => {
    const permanent = apply(base(), one("makeFlagPermanent"));
    expect(permanent.flag.temporary).toBe(false);
    expect(apply(permanent.flag, one("makeFlagTemporary")).flag.temporary).toBe(true);
  });

  test("client-side availability", () => {
    const on = apply(base(), one("turnOnClientSideAvailability", { value: "usingEnvironmentId" }));
    expect(on.flag.clientSideAvailability).toEqual({ usingEnvironmentId: true, usingMobileKey: true });
    const off = apply(on.flag, one("turnOffClientSideAvailability", { value: "usingMobileKey" }));
    expect(off.flag.clientSideAvailability).toEqual({ usingEnvironmentId: true, usingMobileKey: false });
    expect(refused(base(), one("turnOnClientSideAvailability", { value: "usingSdkKey" }))).toBe(
      'instruction 0 (turnOnClientSideAvailability): value must be "usingMobileKey" or "usingEnvironmentId"',
    );
    expect(refused(base(), one("turnOffClientSideAvailability", {}))).toBe('instruction 0 (turnOffClientSideAvailability): value must be "usingMobileKey" or "usingEnvironmentId"');
  });

  test("a maintainer is a member or a team", () => {
    const member = apply(base(), one("updateMaintainerMember", { value: "m-1" }));
    expect(member.flag.maintainerId).toBe("m-1");
    const team = apply(member.flag, one("updateMaintainerTeam", { value: "web" }));
    expect(team.flag.maintainerTeamKey).toBe("web");
    expect("maintainerId" in team.flag).toBe(false);
    const back = apply(team.flag, one("updateMaintainerMember", { value: "m-2" }));
    expect(back.flag.maintainerId).toBe("m-2");
    expect("maintainerTeamKey" in back.flag).toBe(false);
    const none = apply(back.flag, one("removeMaintainer"));
    expect("maintainerId" in none.flag || "maintainerTeamKey" in none.flag).toBe(false);
    expect(refused(base(), one("updateMaintainerMember", {}))).toBe("instruction 0 (updateMaintainerMember): value must be a non-empty string");
    expect(refused(base(), one("updateMaintainerTeam", { value: 3 }))).toBe("instruction 0 (updateMaintainerTeam): value must be a non-empty string");
  });

  test("custom properties: add merges, replace replaces, remove drops an emptied property", () => {
    const added = apply(base(), one("addCustomProperties", { key: "jira", name: "Jira", values: ["WEB-1", "WEB-2"] }));
    expect(added.flag.customProperties).toEqual({ jira: { name: "Jira", value: ["WEB-1", "WEB-2"] } });
    const more = apply(added.flag, one("addCustomProperties", { key: "jira", name: "Jira issues", values: ["WEB-2", "WEB-3"] }));
    expect(more.flag.customProperties.jira).toEqual({ name: "Jira issues", value: ["WEB-1", "WEB-2", "WEB-3"] });
    const replaced = apply(more.flag, one("replaceCustomProperties", { key: "jira", name: "Jira", values: ["WEB-9"] }));
    expect(replaced.flag.customProperties.jira).toEqual({ name: "Jira", value: ["WEB-9"] });
    const emptiedByReplace = apply(more.flag, one("replaceCustomProperties", { key: "jira", name: "Jira", values: [] }));
    expect(emptiedByReplace.flag.customProperties).toEqual({});
    const fewer = apply(more.flag, one("removeCustomProperties", { key: "jira", values: ["WEB-1", "WEB-7"] }));
    expect(fewer.flag.customProperties.jira!.value).toEqual(["WEB-2", "WEB-3"]);
    const gone = apply(fewer.flag, one("removeCustomProperties", { key: "jira", values: ["WEB-2", "WEB-3"] }));
    expect(gone.flag.customProperties).toEqual({});
    expect(apply(base(), one("addCustomProperties", { key: "k", name: "K", values: [] })).flag.customProperties).toEqual({});
  });

  test("custom property failures", () => {
    expect(refused(base(), one("addCustomProperties", { key: "jira", values: ["x"] }))).toBe("instruction 0 (addCustomProperties): name must be a non-empty string");
    expect(refused(base(), one("addCustomProperties", { name: "Jira", values: ["x"] }))).toBe("instruction 0 (addCustomProperties): key must be a non-empty string");
    expect(refused(base(), one("replaceCustomProperties", { key: "jira", name: "Jira", values: [1] }))).toBe(
      "instruction 0 (replaceCustomProperties): values[0] must be a string",
    );
    expect(refused(base(), one("removeCustomProperties", { key: "jira" }))).toBe("instruction 0 (removeCustomProperties): values must be an array");
  });

  test("__proto__ is not a custom property key", () => {
    expect(refused(base(), one("addCustomProperties", { key: "__proto__", name: "P", values: ["x"] }))).toBe(
      "instruction 0 (addCustomProperties): key must not be __proto__",
    );
    expect(refused(base(), one("replaceCustomProperties", { key: "__proto__", name: "P", values: ["x"] }))).toBe(
      "instruction 0 (replaceCustomProperties): key must not be __proto__",
    );
  });

  test("a custom property named like an Object member is an ordinary key", () => {
    const result = apply(base(), one("removeCustomProperties", { key: "toString", values: ["x"] }));
    expect(result.flag.customProperties).toEqual({});
    const added = apply(base(), one("addCustomProperties", { key: "constructor", name: "C", values: ["x"] }));
    expect(added.flag.customProperties).toEqual({ constructor: { name: "C", value: ["x"] } });
  });
});

describe("lifecycle", () => {
  test("archiveFlag archives the flag in every environment; restoreFlag undoes it", () => {
    const archived = apply(base(), one("archiveFlag"));
    expect(archived.flag).toMatchObject({ archived: true, archivedDate: NOW });
    expect(Object.values(archived.flag.environments).every((e) => e.archived)).toBe(true);
    const again = apply(archived.flag, one("archiveFlag"), { now: NOW + 1 });
    expect(again.flag.archivedDate).toBe(NOW);
    const restored = apply(archived.flag, one("restoreFlag"));
    expect(restored.flag.archived).toBe(false);
    expect("archivedDate" in restored.flag).toBe(false);
    expect(Object.values(restored.flag.environments).some((e) => e.archived)).toBe(false);
  });

  test("archiveFlag is refused while other flags depend on the flag", () => {
    expect(refused(base(), one("archiveFlag"), { dependents: ["checkout", "banner"] })).toBe(
      'instruction 0 (archiveFlag): cannot archive a flag that is a prerequisite of "checkout", "banner"',
    );
    apply(base(), one("archiveFlag"), { dependents: [] });
  });

  test("deprecateFlag and restoreDeprecatedFlag", () => {
    const deprecated = apply(base(), one("deprecateFlag"));
    expect(deprecated.flag).toMatchObject({ deprecated: true, deprecatedDate: NOW });
    expect(apply(deprecated.flag, one("deprecateFlag"), { now: NOW + 5 }).flag.deprecatedDate).toBe(NOW);
    const restored = apply(deprecated.flag, one("restoreDeprecatedFlag"));
    expect(restored.flag.deprecated).toBe(false);
    expect("deprecatedDate" in restored.flag).toBe(false);
  });

  test("deleteFlag marks the result deleted and leaves the document as it was", () => {
    const result = apply(base(), one("deleteFlag"));
    expect(result).toEqual({ flag: base(), actions: ["deleteFlag"], deleted: true });
    expect(refused(base(), one("deleteFlag"), { dependents: ["checkout"] })).toBe('instruction 0 (deleteFlag): cannot delete a flag that is a prerequisite of "checkout"');
  });
});

describe("fuzz: damaged instructions", () => {
  const clause = { contextKind: "user", attribute: "country", op: "in", values: ["SE"], negate: false };
  /** Working instructions to damage: one per kind, and richer ones with nested parameters. */
  const SEEDS: Instruction[] = [
    ...EVERY_KIND.map(([kind, params]) => ({ kind, ...structuredClone(params) })),
    { kind: "addRule", clauses: [clause, clause], rolloutWeights: { red: 50000, blue: 50000 }, rolloutBucketBy: "key", rolloutContextKind: "user", beforeRuleId: "r2", description: "d" },
    { kind: "replaceRules", rules: [{ clauses: [clause], variationId: "red", trackEvents: true }, { clauses: [], rolloutWeights: { green: 100000 } }] },
    { kind: "replaceTargets", targets: [{ contextKind: "device", variationId: "red", values: ["d1"] }, { variationId: "blue", values: ["u1"] }] },
    { kind: "addClauses", ruleId: "r2", clauses: [clause] },
    { kind: "updateClause", ruleId: "r1", clauseId: "c2", clause },
    { kind: "replacePrerequisites", prerequisites: [{ key: "sizes", variationId: "green" }] },
    { kind: "updateFallthroughVariationOrRollout", rolloutWeights: { red: 1, green: 99999 } },
    { kind: "updateVariation", variationId: "green", value: "lime", name: "Lime", description: "d" },
    { kind: "updateDefaultVariation", onVariationValue: "blue", offVariationValue: "red" },
  ];
  const JUNK: unknown[] = [true, 0, 1.5, -1, 100000, "", "red", "r1", "c1", "gate", "__proto__", [], [null], ["u1", 2], {}, { red: 100000 }, { variationId: "red", values: [] }];
  const PARAMS = ["values", "variationId", "contextKind", "targets", "clauses", "ruleId", "ruleIds", "clauseId", "clauseIds", "clause", "key", "rolloutWeights", "value", "prerequisites", "rules"];

  const pick = <T>(random: () => number, from: readonly T[]): T => from[Math.floor(random() * from.length)]!;
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
    const random = seededRandom(53);
    let ok = 0;
    for (let i = 0; i < 2000; i++) {
      const instructions = Array.from({ length: 1 + Math.floor(random() * 2) }, () => {
        const instruction = structuredClone(pick(random, SEEDS));
        for (let j = 1 + Math.floor(random() * 2); j > 0; j--) damage(instruction, random);
        return instruction;
      });
      const flag = base();
      try {
        const result = applyInstructions(flag, instructions, context());
        ok++;
        // Whatever the caller's validation makes of it, it answers with a VexilError or nothing.
        try {
          validateFlag(result.flag, lookupOf(gate, sizes));
        } catch (e) {
          if (!(e instanceof VexilError)) throw e;
        }
      } catch (e) {
        if (!(e instanceof VexilError)) throw new Error(`patch ${i} threw ${String(e)}: ${JSON.stringify(instructions)}`);
        expect(e.message).toMatch(/^instruction \d+/);
      }
      expect(flag).toStrictEqual(base());
    }
    expect(ok).toBeGreaterThan(100);
  });
});

describe("what a change copies", () => {
  test("instructions of one environment copy the flag's fields and that environment, and share the others unchanged", () => {
    const flag = booleanFlag("f", { environments: { production: environment(), test: environment({ on: true }) } });
    const frozen = structuredClone(flag);
    Object.freeze(frozen.environments.test!);
    const result = applyInstructions(frozen, [{ kind: "turnFlagOn" }, { kind: "addTargets", variationId: "on", values: ["u1"] }], semanticContext());
    expect(result.flag.environments.test).toBe(frozen.environments.test);
    expect(result.flag.environments.production).not.toBe(frozen.environments.production);
    expect(result.flag.variations).not.toBe(frozen.variations);
    expect(result.flag.environments.production!.on).toBe(true);
    expect(frozen).toEqual(flag);
  });

  test("instructions that only set an environment's fields share its targets, rules and prerequisites; others copy them", () => {
    const flag = booleanFlag("f", { environments: { production: environment({ targets: [{ values: ["u0"], variation: 0 }] }), test: environment() } });
    const frozen = structuredClone(flag);
    const production = frozen.environments.production!;
    for (const part of [production.targets, production.rules, production.prerequisites, production.fallthrough]) Object.freeze(part);
    const fields = applyInstructions(frozen, [{ kind: "turnFlagOn" }, { kind: "updateOffVariation", variationId: "on" }, { kind: "updateFallthroughVariationOrRollout", variationId: "off" }], semanticContext());
    const changed = fields.flag.environments.production!;
    expect(changed).not.toBe(production);
    expect(changed.targets).toBe(production.targets);
    expect(changed.rules).toBe(production.rules);
    expect(changed.prerequisites).toBe(production.prerequisites);
    expect([changed.on, changed.offVariation, changed.fallthrough]).toEqual([true, 0, { variation: 1 }]);
    expect(production.fallthrough).toEqual(flag.environments.production!.fallthrough);
    const targeted = applyInstructions(frozen, [{ kind: "turnFlagOn" }, { kind: "addTargets", variationId: "on", values: ["u1"] }], semanticContext());
    expect(targeted.flag.environments.production!.targets).not.toBe(production.targets);
    expect(targeted.flag.environments.production!.rules).not.toBe(production.rules);
    expect(frozen).toEqual(flag);
  });

  test("an instruction that names another environment copies that one too; a flag-wide one copies everything", () => {
    const flag = booleanFlag("f", { environments: { production: environment(), test: environment() } });
    const both = applyInstructions(flag, [{ kind: "turnFlagOn" }, { kind: "turnFlagOn", environmentKey: "test" }], semanticContext());
    expect(both.flag.environments.test).not.toBe(flag.environments.test);
    expect(both.flag.environments.test!.on).toBe(true);
    const wide = applyInstructions(flag, [{ kind: "turnFlagOn" }, { kind: "updateName", value: "New" }], semanticContext());
    expect(wide.flag.environments.test).not.toBe(flag.environments.test);
    expect(wide.flag.environments.test).toEqual(flag.environments.test);
    expect(flag.environments.production!.on).toBe(false);
  });
});

