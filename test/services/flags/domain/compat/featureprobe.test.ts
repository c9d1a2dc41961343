/** FeatureProbe targeting ↔ flag environment: every predicate maps to a clause and back. */
import { describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import { applyTargeting, targetingOf, type FpTargeting } from "@vexil/flags/domain/compat/featureprobe";
import { defaultEnvironment, type Flag } from "@vexil/flags/domain/flags/model";

function flag(): Flag {
  const f: Flag = {
    key: "t",
    name: "T",
    description: "",
    kind: "boolean",
    variations: [
      { _id: "a", value: true },
      { _id: "b", value: false },
    ],
    temporary: true,
    tags: [],
    clientSideAvailability: { usingEnvironmentId: false, usingMobileKey: true },
    archived: false,
    deprecated: false,
    defaults: { onVariation: 0, offVariation: 1 },
    customProperties: {},
    creationDate: 1,
    _version: 1,
    environments: {},
  };
  f.environments.prod = defaultEnvironment(f, 1);
  return f;
}

let n = 0;
const ids = () => `id-${++n}`;

const body = (conditions: FpTargeting["content"]["rules"][number]["conditions"], serve: { select?: number; split?: number[] } = { select: 0 }): FpTargeting => ({
  disabled: false,
  content: {
    rules: [{ name: "r", serve, conditions }],
    disabledServe: { select: 0 },
    defaultServe: { select: 1 },
    variations: [{ value: "false" }, { value: "true" }],
  },
});

const cases: Array<[string, string, string, boolean]> = [
  ["string", "is one of", "in", false],
  ["string", "is not any of", "in", true],
  ["string", "starts with", "startsWith", false],
  ["string", "does not start with", "startsWith", true],
  ["string", "ends with", "endsWith", false],
  ["string", "does not end with", "endsWith", true],
  ["string", "contains", "contains", false],
  ["string", "does not contain", "contains", true],
  ["string", "matches regex", "matches", false],
  ["string", "does not match regex", "matches", true],
  ["number", "=", "in", false],
  ["number", "!=", "in", true],
  ["number", ">", "greaterThan", false],
  ["number", ">=", "greaterThanOrEqual", false],
  ["number", "<", "lessThan", false],
  ["number", "<=", "lessThanOrEqual", false],
  ["datetime", "after", "after", false],
  ["datetime", "before", "before", false],
  ["semver", "=", "semVerEqual", false],
  ["semver", "!=", "semVerEqual", true],
  ["semver", ">", "semVerGreaterThan", false],
  ["semver", "<", "semVerLessThan", false],
  ["semver", ">=", "semVerLessThan", true],
  ["semver", "<=", "semVerGreaterThan", true],
  ["segment", "is in", "segmentMatch", false],
  ["segment", "is not in", "segmentMatch", true],
];

describe("FeatureProbe targeting", () => {
  for (const [type, predicate, op, negate] of cases) {
    test(`${type} "${predicate}" ⇄ ${negate ? "not " : ""}${op}`, () => {
      const objects = type === "number" ? ["3", "4"] : type === "semver" ? ["1.2.3"] : type === "datetime" ? ["2024-01-01T00:00:00Z"] : ["x", "y"];
      const f = flag();
      const env = applyTargeting(f, "prod", body([{ type, subject: type === "segment" ? "" : "attr", predicate, objects }]), ids);
      const clause = env.rules[0]!.clauses[0]!;
      expect([clause.op as string, clause.negate]).toEqual([op, negate]);
      if (type === "number") expect(clause.values).toEqual([3, 4]);
      f.environments.prod = env;
      const back = targetingOf(f, "prod").content.rules[0]!.conditions[0]!;
      expect([back.type, back.predicate, back.objects]).toEqual([type, predicate, objects]);
    });
  }

  test("variations are matched by value, and selects and splits map to our indexes", () => {
    const env = applyTargeting(flag(), "prod", body([], { split: [2500, 7500] }), ids);
    expect(env.on).toBe(true);
    expect(env.fallthrough).toEqual({ variation: 0 });
    expect(env.offVariation).toBe(1);
    expect(env.rules[0]!.rollout!.variations).toEqual([
      { variation: 1, weight: 25_000 },
      { variation: 0, weight: 75_000 },
    ]);
  });

  test("bad bodies are a VexilError naming the place", () => {
    const bad: Array<[unknown, string]> = [
      [{ ...body([]), disabled: "no" }, "disabled"],
      [{ disabled: false }, "content"],
      [{ ...body([]), content: { ...body([]).content, variations: [{ value: "maybe" }, { value: "true" }] } }, "variations[0]"],
      [body([{ type: "string", subject: "a", predicate: "sounds like", objects: ["x"] }]), "conditions[0]"],
      [body([], { select: 9 }), "serve.select"],
      [body([], {}), "serve"],
    ];
    for (const [b, where] of bad) {
      let thrown: unknown;
      try {
        applyTargeting(flag(), "prod", b as FpTargeting, ids);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(VexilError);
      expect((thrown as VexilError).message).toContain(where);
    }
  });

  test("an environment the flag does not have is not found, in both directions", () => {
    for (const work of [() => targetingOf(flag(), "staging"), () => applyTargeting(flag(), "staging", body([]), ids)]) {
      let thrown: unknown;
      try {
        work();
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(VexilError);
      expect({ code: (thrown as VexilError).code, status: (thrown as VexilError).status, message: (thrown as VexilError).message }).toEqual({ code: "not_found", status: 404, message: 'Environment "staging" not found' });
    }
  });
});
