/** validateFlag: one check of a whole flag document, naming the first problem by its path. */
import { describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import type { Flag } from "@vexil/flags/domain/flags/model";
import { validateFlag, type FlagLookup } from "@vexil/flags/domain/flags/validate";
import { jsonEqual } from "@vexil/flags/domain/validation";
import { booleanFlag, colourFlag, environment, lookupOf, seededRandom, thrownBy } from "./flag-fixtures.ts";

const gate = booleanFlag("gate");

/** A multivariate flag using most of the document: targets of two kinds, rules, rollouts, a prerequisite. */
function rich(): Flag {
  return colourFlag("colours", {
    description: "Theme colour",
    tags: ["ui", "team:web", "v1.2_beta-x"],
    maintainerId: "m-1",
    customProperties: { jira: { name: "Jira", value: ["WEB-1", "WEB-2"] } },
    environments: {
      production: environment({
        on: true,
        targets: [{ contextKind: "user", values: ["u1", "u2"], variation: 0 }],
        contextTargets: [
          { contextKind: "device", values: ["d1", "u1"], variation: 1 },
          { contextKind: "user", values: [], variation: 0 },
        ],
        rules: [
          {
            _id: "r1",
            description: "EU",
            clauses: [{ _id: "c1", contextKind: "user", attribute: "country", op: "in", values: ["SE", "NO"], negate: false }],
            trackEvents: false,
            variation: 2,
          },
          {
            _id: "r2",
            clauses: [{ _id: "c1", attribute: "email", op: "endsWith", values: ["@example.com"], negate: true }],
            trackEvents: true,
            rollout: { variations: [{ variation: 0, weight: 60000 }, { variation: 1, weight: 40000, _untracked: true }], bucketBy: "key", seed: 7, contextKind: "user" },
          },
        ],
        fallthrough: { rollout: { variations: [{ variation: 0, weight: 100000 }, { variation: 2, weight: 0 }] } },
        prerequisites: [{ key: "gate", variation: 0 }],
      }),
      test: environment({ offVariation: undefined }),
    },
  });
}

/** Documents are damaged freely here, as a JSON Patch could. */
type Doc = any;

function problem(mutate: (f: Doc) => void, lookup: FlagLookup = lookupOf(gate), base: Flag = rich()): string {
  const flag = structuredClone(base) as Doc;
  mutate(flag);
  return thrownBy(() => validateFlag(flag, lookup)).message;
}

function passes(mutate: (f: Doc) => void, lookup: FlagLookup = lookupOf(gate), base: Flag = rich()) {
  const flag = structuredClone(base) as Doc;
  mutate(flag);
  expect(() => validateFlag(flag, lookup)).not.toThrow();
}

const prod = (f: Doc) => f.environments.production;

describe("valid documents", () => {
  test("the rich flag, a boolean flag and a bare multivariate flag pass", () => {
    expect(() => validateFlag(rich(), lookupOf(gate))).not.toThrow();
    expect(() => validateFlag(booleanFlag(), lookupOf())).not.toThrow();
    expect(() => validateFlag(colourFlag(), lookupOf())).not.toThrow();
  });

  test("a flag without environments passes", () => passes((f) => (f.environments = {})));

  test("the document is not changed", () => {
    const flag = rich();
    validateFlag(flag, lookupOf(gate));
    expect(flag).toEqual(rich());
  });

  test("a non-object document is a 400, not a crash", () => {
    for (const junk of [null, 1, "x", [], true]) {
      expect(thrownBy(() => validateFlag(junk as unknown as Flag, lookupOf())).message).toBe("flag: must be an object");
    }
  });
});

describe("unknown fields", () => {
  test("are refused at every level, naming the field by its path", () => {
    const cases: Array<[(f: Doc) => void, string]> = [
      [(f) => (f.extra = 1), "extra"],
      [(f) => (f.variations[0].extra = "x"), "variations[0].extra"],
      [(f) => (f.clientSideAvailability.usingNothing = true), "clientSideAvailability.usingNothing"],
      [(f) => (f.defaults.fallback = 0), "defaults.fallback"],
      [(f) => (f.customProperties.jira.url = "https://example.com"), "customProperties.jira.url"],
      [(f) => (prod(f)._summary = {}), "environments.production._summary"],
      [(f) => (prod(f).targets[0].x = 1), "environments.production.targets[0].x"],
      [(f) => (prod(f).contextTargets[1].x = 1), "environments.production.contextTargets[1].x"],
      [(f) => (prod(f).rules[0].foo = 1), "environments.production.rules[0].foo"],
      [(f) => (prod(f).rules[1].clauses[0].bar = false), "environments.production.rules[1].clauses[0].bar"],
      [(f) => (prod(f).rules[1].rollout.extra = 1), "environments.production.rules[1].rollout.extra"],
      [(f) => (prod(f).rules[1].rollout.variations[1].extra = 1), "environments.production.rules[1].rollout.variations[1].extra"],
      [(f) => (prod(f).fallthrough.extra = 1), "environments.production.fallthrough.extra"],
      [(f) => (prod(f).fallthrough.rollout.variations[0].extra = 1), "environments.production.fallthrough.rollout.variations[0].extra"],
      [(f) => (prod(f).fallthrough.rollout.experimentAllocation = { defaultVariation: 0, canReshuffle: false, extra: 1 }), "environments.production.fallthrough.rollout.experimentAllocation.extra"],
      [(f) => (prod(f).prerequisites[0].extra = 1), "environments.production.prerequisites[0].extra"],
      [(f) => (f.environments.test.extra = 1), "environments.test.extra"],
    ];
    for (const [mutate, path] of cases) expect(problem(mutate)).toBe(`${path}: unknown field`);
  });

  test("a field that is not a plain name is quoted", () => {
    expect(problem((f) => (prod(f).rules[0]["a.b"] = 1))).toBe('environments.production.rules[0]["a.b"]: unknown field');
  });

  test("every field of the model is known, the optional ones included", () => {
    passes((f) => {
      f.maintainerTeamKey = "web";
      f.archivedDate = 1;
      f.deprecatedDate = 1;
      f.variations[0].description = "d";
      prod(f).rules[0].ref = "r";
      prod(f).fallthrough.rollout.experimentAllocation = { defaultVariation: 0, canReshuffle: false };
      prod(f)._debugEventsUntilDate = 5;
    });
  });
});

describe("key, name, description", () => {
  test("key format and length", () => {
    expect(problem((f) => (f.key = ""))).toBe("key: must not be empty");
    expect(problem((f) => (f.key = "-a"))).toStartWith("key: must start with a letter or digit");
    expect(problem((f) => (f.key = "a b"))).toStartWith("key: must start with a letter or digit");
    expect(problem((f) => (f.key = "a/b"))).toStartWith("key: ");
    expect(problem((f) => (f.key = "a".repeat(141)))).toBe("key: must be at most 140 characters");
    expect(problem((f) => (f.key = 7))).toBe("key: must be a string");
    expect(problem((f) => delete f.key)).toBe("key: must be a string");
    passes((f) => (f.key = `A1._-${"z".repeat(135)}`));
    passes((f) => (f.key = "9"));
  });

  test("name is 1 to 256 characters", () => {
    expect(problem((f) => (f.name = ""))).toBe("name: must not be empty");
    expect(problem((f) => (f.name = "n".repeat(257)))).toBe("name: must be at most 256 characters");
    expect(problem((f) => (f.name = null))).toBe("name: must be a string");
    passes((f) => (f.name = "n".repeat(256)));
  });

  test("description is a string of at most 8192 characters", () => {
    expect(problem((f) => (f.description = "d".repeat(8193)))).toBe("description: must be at most 8192 characters");
    expect(problem((f) => (f.description = ["x"]))).toBe("description: must be a string");
    passes((f) => (f.description = "d".repeat(8192)));
    passes((f) => (f.description = ""));
  });
});

describe("kind and variations", () => {
  test("kind is boolean or multivariate", () => {
    expect(problem((f) => (f.kind = "string"))).toBe('kind: must be "boolean" or "multivariate"');
    expect(problem((f) => delete f.kind)).toBe('kind: must be "boolean" or "multivariate"');
  });

  test("a boolean flag has exactly the values true and false, in any order", () => {
    const b = booleanFlag();
    passes((f) => f.variations.reverse(), lookupOf(), b);
    expect(problem((f) => f.variations.push({ _id: "x", value: "maybe" }), lookupOf(), b)).toBe("variations: a boolean flag has exactly two variations, true and false");
    expect(problem((f) => f.variations.pop(), lookupOf(), b)).toBe("variations: a boolean flag has exactly two variations, true and false");
    expect(problem((f) => (f.variations[1].value = true), lookupOf(), b)).toBe("variations[1].value: another variation has the same value");
    expect(problem((f) => (f.variations[0].value = "true"), lookupOf(), b)).toBe("variations: a boolean flag has exactly two variations, true and false");
    expect(problem((f) => (f.variations[1].value = 0), lookupOf(), b)).toBe("variations: a boolean flag has exactly two variations, true and false");
  });

  test("a multivariate flag has two or more values, all strings, all numbers, or all JSON", () => {
    expect(problem((f) => f.variations.splice(1))).toBe("variations: a multivariate flag has at least two variations");
    expect(problem((f) => (f.variations[2].value = 3))).toBe("variations[2].value: must be of the same type as the others (string)");
    expect(problem((f) => (f.variations[0].value = true))).toStartWith("variations[0].value: the values of a multivariate flag must be");
    expect(problem((f) => (f.variations[1].value = null))).toBe("variations[1].value: must be of the same type as the others (string)");
    expect(problem((f) => delete f.variations[1].value)).toBe("variations[1].value: is required");
    passes((f) => f.variations.forEach((v: Doc, i: number) => (v.value = i * 1.5)));
    passes((f) => f.variations.forEach((v: Doc, i: number) => (v.value = i === 0 ? [1, 2] : { n: i })));
    expect(problem((f) => f.variations.forEach((v: Doc, i: number) => (v.value = i === 0 ? "x" : { n: i })))).toBe(
      "variations[1].value: must be of the same type as the others (string)",
    );
  });

  test("values are unique by deep equality", () => {
    expect(
      problem((f) => {
        f.variations[0].value = { a: 1, b: [1, { c: 2 }] };
        f.variations[1].value = { b: [1, { c: 2 }], a: 1 };
        f.variations[2].value = { a: 2 };
      }),
    ).toBe("variations[1].value: another variation has the same value");
    passes((f) => {
      f.variations[0].value = { a: 1 };
      f.variations[1].value = { a: 1, b: 1 };
      f.variations[2].value = [{ a: 1 }];
    });
    expect(problem((f) => (f.variations[2].value = "red"))).toBe("variations[2].value: another variation has the same value");
  });

  // Ids are assigned and their duplicates refused before validation (ids.test.ts).
  test("variation ids are non-empty strings", () => {
    expect(problem((f) => (f.variations[1]._id = ""))).toBe("variations[1]._id: must not be empty");
    expect(problem((f) => delete f.variations[0]._id)).toBe("variations[0]._id: must be a string");
  });

  test("at most 100 variations; names and descriptions are strings", () => {
    const many = (n: number) => (f: Doc) => {
      f.variations = Array.from({ length: n }, (_, i) => ({ _id: `v${i}`, value: `value ${i}` }));
    };
    passes(many(100));
    expect(problem(many(101))).toBe("variations: must not have more than 100 entries");
    expect(problem((f) => (f.variations[0].name = 1))).toBe("variations[0].name: must be a string");
    expect(problem((f) => (f.variations[0].description = {}))).toBe("variations[0].description: must be a string");
    expect(problem((f) => (f.variations = { 0: f.variations[0] }))).toBe("variations: must be an array");
    expect(problem((f) => (f.variations[1] = "green"))).toBe("variations[1]: must be an object");
  });

  test("defaults are variation indexes", () => {
    expect(problem((f) => (f.defaults.onVariation = 3))).toBe("defaults.onVariation: must be a variation index from 0 to 2");
    expect(problem((f) => (f.defaults.offVariation = -1))).toBe("defaults.offVariation: must be a variation index from 0 to 2");
    expect(problem((f) => (f.defaults.offVariation = 0.5))).toBe("defaults.offVariation: must be a variation index from 0 to 2");
    expect(problem((f) => (f.defaults.onVariation = "0"))).toBe("defaults.onVariation: must be a variation index from 0 to 2");
    expect(problem((f) => delete f.defaults)).toBe("defaults: must be an object");
    passes((f) => (f.defaults = { onVariation: 2, offVariation: 2 }));
  });
});

describe("flag settings", () => {
  test("tags: at most 50, unique, 1 to 64 of letters, digits and ._:-", () => {
    expect(problem((f) => f.tags.push("ui"))).toBe('tags[3]: "ui" is listed twice');
    expect(problem((f) => f.tags.push("a b"))).toStartWith("tags[3]: must be 1 to 64 letters");
    expect(problem((f) => f.tags.push(""))).toStartWith("tags[3]: must be 1 to 64 letters");
    expect(problem((f) => f.tags.push("t".repeat(65)))).toStartWith("tags[3]: must be 1 to 64 letters");
    expect(problem((f) => f.tags.push(1))).toBe("tags[3]: must be a string");
    expect(problem((f) => (f.tags = Array.from({ length: 51 }, (_, i) => `t${i}`)))).toBe("tags: must not have more than 50 entries");
    expect(problem((f) => (f.tags = "ui"))).toBe("tags: must be an array");
    passes((f) => (f.tags = Array.from({ length: 50 }, (_, i) => `t${i}`.padEnd(64, "x"))));
  });

  test("clientSideAvailability is two booleans", () => {
    expect(problem((f) => (f.clientSideAvailability.usingMobileKey = "yes"))).toBe("clientSideAvailability.usingMobileKey: must be a boolean");
    expect(problem((f) => delete f.clientSideAvailability.usingEnvironmentId)).toBe("clientSideAvailability.usingEnvironmentId: must be a boolean");
    expect(problem((f) => (f.clientSideAvailability = true))).toBe("clientSideAvailability: must be an object");
  });

  test("customProperties map keys to {name, value: string[]}", () => {
    expect(problem((f) => (f.customProperties = []))).toBe("customProperties: must be an object");
    expect(problem((f) => (f.customProperties.jira.value = "WEB-1"))).toBe("customProperties.jira.value: must be an array");
    expect(problem((f) => f.customProperties.jira.value.push(3))).toBe("customProperties.jira.value[2]: must be a string");
    expect(problem((f) => delete f.customProperties.jira.name)).toBe("customProperties.jira.name: must be a string");
    expect(problem((f) => (f.customProperties.x = "y"))).toBe("customProperties.x: must be an object");
    passes((f) => (f.customProperties.empty = { name: "Empty", value: [] }));
    expect(problem((f) => (f.customProperties[""] = { name: "E", value: [] }))).toBe('customProperties: "" is not a valid key');
    const parsed = JSON.parse('{"__proto__": {"name": "P", "value": []}}');
    expect(problem((f) => (f.customProperties = parsed))).toBe('customProperties: "__proto__" is not a valid key');
  });

  test("booleans, integers and optional fields", () => {
    expect(problem((f) => (f.temporary = "true"))).toBe("temporary: must be a boolean");
    expect(problem((f) => (f.archived = 0))).toBe("archived: must be a boolean");
    expect(problem((f) => (f.deprecated = null))).toBe("deprecated: must be a boolean");
    expect(problem((f) => (f.creationDate = 1.5))).toBe("creationDate: must be an integer");
    expect(problem((f) => (f._version = "1"))).toBe("_version: must be an integer");
    expect(problem((f) => (f._version = -1))).toStartWith("_version: must be from 0");
    expect(problem((f) => (f.maintainerId = 5))).toBe("maintainerId: must be a string");
    expect(problem((f) => (f.maintainerTeamKey = ""))).toBe("maintainerTeamKey: must not be empty");
    expect(problem((f) => (f.archivedDate = "yesterday"))).toBe("archivedDate: must be an integer");
    expect(problem((f) => (f.deprecatedDate = 1.25))).toBe("deprecatedDate: must be an integer");
    passes((f) => {
      delete f.maintainerId;
      f.maintainerTeamKey = "team-1";
      f.archived = true;
      f.archivedDate = 5;
    });
  });

  test("environments is an object of objects", () => {
    expect(problem((f) => (f.environments = []))).toBe("environments: must be an object");
    expect(problem((f) => (f.environments.staging = null))).toBe("environments.staging: must be an object");
  });
});

describe("environment settings", () => {
  test("booleans, salt and sel, integers", () => {
    expect(problem((f) => (prod(f).on = "on"))).toBe("environments.production.on: must be a boolean");
    expect(problem((f) => (prod(f).archived = 1))).toBe("environments.production.archived: must be a boolean");
    expect(problem((f) => (prod(f).trackEvents = null))).toBe("environments.production.trackEvents: must be a boolean");
    expect(problem((f) => delete prod(f).trackEventsFallthrough)).toBe("environments.production.trackEventsFallthrough: must be a boolean");
    expect(problem((f) => (prod(f).salt = ""))).toBe("environments.production.salt: must not be empty");
    expect(problem((f) => (prod(f).sel = 1))).toBe("environments.production.sel: must be a string");
    expect(problem((f) => (prod(f).version = 1.5))).toBe("environments.production.version: must be an integer");
    expect(problem((f) => (prod(f).lastModified = "now"))).toBe("environments.production.lastModified: must be an integer");
    expect(problem((f) => (prod(f)._debugEventsUntilDate = "soon"))).toBe("environments.production._debugEventsUntilDate: must be an integer");
    passes((f) => (prod(f)._debugEventsUntilDate = 123));
    passes((f) => delete prod(f)._debugEventsUntilDate);
  });

  test("offVariation is absent or a variation index", () => {
    passes((f) => delete prod(f).offVariation);
    expect(problem((f) => (prod(f).offVariation = 3))).toBe("environments.production.offVariation: must be a variation index from 0 to 2");
    expect(problem((f) => (prod(f).offVariation = null))).toBe("environments.production.offVariation: must be a variation index from 0 to 2");
  });
});

describe("targets", () => {
  test("entries have a variation index, string values and a non-empty contextKind", () => {
    expect(problem((f) => (prod(f).targets[0].variation = 3))).toBe("environments.production.targets[0].variation: must be a variation index from 0 to 2");
    expect(problem((f) => (prod(f).targets[0].values = "u1"))).toBe("environments.production.targets[0].values: must be an array");
    expect(problem((f) => prod(f).targets[0].values.push(7))).toBe("environments.production.targets[0].values[2]: must be a string");
    expect(problem((f) => (prod(f).contextTargets[0].contextKind = ""))).toBe("environments.production.contextTargets[0].contextKind: must not be empty");
    expect(problem((f) => (prod(f).contextTargets = null))).toBe("environments.production.contextTargets: must be an array");
    expect(problem((f) => prod(f).targets.push(null))).toBe("environments.production.targets[1]: must be an object");
  });

  test("a key is targeted once per context kind, across targets and contextTargets", () => {
    expect(problem((f) => prod(f).targets.push({ values: ["u2"], variation: 1 }))).toBe(
      'environments.production.targets[1].values[0]: user "u2" is already targeted by targets[0]',
    );
    expect(problem((f) => prod(f).contextTargets[1].values.push("u1"))).toBe(
      'environments.production.contextTargets[1].values[0]: user "u1" is already targeted by targets[0]',
    );
    expect(problem((f) => prod(f).targets[0].values.push("u1"))).toBe('environments.production.targets[0].values[2]: user "u1" is already targeted by targets[0]');
    expect(problem((f) => prod(f).contextTargets.push({ contextKind: "device", values: ["d1"], variation: 1 }))).toBe(
      'environments.production.contextTargets[2].values[0]: device "d1" is already targeted by contextTargets[0]',
    );
    // "u1" is a user in targets and a device in contextTargets: different kinds.
    passes((f) => prod(f).contextTargets.push({ contextKind: "org", values: ["u1", "d1"], variation: 2 }));
    // The same key in another environment is independent.
    passes((f) => f.environments.test.targets.push({ contextKind: "user", values: ["u1"], variation: 1 }));
  });
});

describe("rules", () => {
  test("rule ids are non-empty strings; at most 1000 rules", () => {
    expect(problem((f) => (prod(f).rules[0]._id = ""))).toBe("environments.production.rules[0]._id: must not be empty");
    const rules = (n: number) => (f: Doc) => {
      prod(f).rules = Array.from({ length: n }, (_, i) => ({ _id: `r${i}`, clauses: [], trackEvents: false, variation: 0 }));
    };
    passes(rules(1000));
    expect(problem(rules(1001))).toBe("environments.production.rules: must not have more than 1000 entries");
    expect(problem((f) => (prod(f).rules = {}))).toBe("environments.production.rules: must be an array");
  });

  test("a rule has exactly one of variation or rollout", () => {
    expect(problem((f) => (prod(f).rules[0].rollout = prod(f).rules[1].rollout))).toBe("environments.production.rules[0]: must have exactly one of variation or rollout");
    expect(problem((f) => delete prod(f).rules[0].variation)).toBe("environments.production.rules[0]: must have exactly one of variation or rollout");
    expect(problem((f) => (prod(f).rules[0].variation = 3))).toBe("environments.production.rules[0].variation: must be a variation index from 0 to 2");
    expect(problem((f) => (prod(f).rules[0].variation = null))).toBe("environments.production.rules[0].variation: must be a variation index from 0 to 2");
  });

  test("clauses: non-empty ids, attribute, operator, values, negate", () => {
    const c = "environments.production.rules[0].clauses";
    expect(problem((f) => delete prod(f).rules[0].clauses[0]._id)).toBe(`${c}[0]._id: must be a string`);
    expect(problem((f) => (prod(f).rules[0].clauses[0]._id = ""))).toBe(`${c}[0]._id: must not be empty`);
    expect(problem((f) => (prod(f).rules[0].clauses[0].attribute = ""))).toBe(`${c}[0].attribute: must not be empty`);
    expect(problem((f) => (prod(f).rules[0].clauses[0].op = "equals"))).toStartWith(`${c}[0].op: must be one of in, endsWith`);
    expect(problem((f) => (prod(f).rules[0].clauses[0].op = "In"))).toStartWith(`${c}[0].op: must be one of`);
    expect(problem((f) => (prod(f).rules[0].clauses[0].values = "SE"))).toBe(`${c}[0].values: must be an array`);
    expect(problem((f) => delete prod(f).rules[0].clauses[0].negate)).toBe(`${c}[0].negate: must be a boolean`);
    expect(problem((f) => (prod(f).rules[0].clauses[0].contextKind = 1))).toBe(`${c}[0].contextKind: must be a string`);
    expect(problem((f) => (prod(f).rules[0].clauses = null))).toBe(`${c}: must be an array`);
    // Clause ids repeat across rules ("c1" is in both): they are unique within a rule only.
    passes((f) => (prod(f).rules[0].clauses[0].op = "segmentMatch"));
  });

  test("trackEvents, description and ref", () => {
    expect(problem((f) => delete prod(f).rules[0].trackEvents)).toBe("environments.production.rules[0].trackEvents: must be a boolean");
    expect(problem((f) => (prod(f).rules[0].description = 1))).toBe("environments.production.rules[0].description: must be a string");
    expect(problem((f) => (prod(f).rules[0].ref = []))).toBe("environments.production.rules[0].ref: must be a string");
  });
});

describe("rollouts", () => {
  const r = "environments.production.rules[1].rollout";
  const rollout = (f: Doc) => prod(f).rules[1].rollout;

  test("weights must sum to exactly 100000", () => {
    expect(problem((f) => (rollout(f).variations[1].weight = 30000))).toBe(`${r}: weights must sum to 100000, not 90000`);
    expect(problem((f) => (rollout(f).variations[1].weight = 50000))).toBe(`${r}: weights must sum to 100000, not 110000`);
    passes((f) => rollout(f).variations.push({ variation: 2, weight: 0 }));
  });

  test("entries: valid index, integer weight 0 to 100000, each variation once", () => {
    expect(problem((f) => (rollout(f).variations = []))).toBe(`${r}.variations: must have at least one entry`);
    expect(problem((f) => (rollout(f).variations[0].variation = 3))).toBe(`${r}.variations[0].variation: must be a variation index from 0 to 2`);
    expect(problem((f) => (rollout(f).variations[0].weight = 100001))).toBe(`${r}.variations[0].weight: must be from 0 to 100000`);
    expect(problem((f) => (rollout(f).variations[0].weight = -1))).toBe(`${r}.variations[0].weight: must be from 0 to 100000`);
    expect(problem((f) => (rollout(f).variations[0].weight = 59999.5))).toBe(`${r}.variations[0].weight: must be an integer`);
    expect(problem((f) => (rollout(f).variations[0].weight = "60000"))).toBe(`${r}.variations[0].weight: must be an integer`);
    expect(problem((f) => (rollout(f).variations[1].variation = 0))).toBe(`${r}.variations[1].variation: variation 0 is listed twice`);
    expect(problem((f) => (rollout(f).variations[1]._untracked = "no"))).toBe(`${r}.variations[1]._untracked: must be a boolean`);
  });

  test("bucketBy, seed, contextKind, experimentAllocation", () => {
    expect(problem((f) => (rollout(f).bucketBy = 1))).toBe(`${r}.bucketBy: must be a string`);
    expect(problem((f) => (rollout(f).seed = 1.5))).toBe(`${r}.seed: must be an integer`);
    expect(problem((f) => (rollout(f).contextKind = ""))).toBe(`${r}.contextKind: must not be empty`);
    expect(problem((f) => (rollout(f).experimentAllocation = { defaultVariation: 5, canReshuffle: false }))).toBe(
      `${r}.experimentAllocation.defaultVariation: must be a variation index from 0 to 2`,
    );
    passes((f) => (rollout(f).seed = -42));
    passes((f) => (rollout(f).experimentAllocation = { defaultVariation: 0, canReshuffle: true }));
    passes((f) => {
      delete rollout(f).bucketBy;
      delete rollout(f).seed;
      delete rollout(f).contextKind;
    });
  });

  test("a rollout must be an object", () => {
    expect(problem((f) => (prod(f).rules[1].rollout = []))).toBe(`${r}: must be an object`);
  });
});

describe("fallthrough", () => {
  test("exactly one of variation or rollout", () => {
    const path = "environments.production.fallthrough";
    expect(problem((f) => (prod(f).fallthrough.variation = 0))).toBe(`${path}: must have exactly one of variation or rollout`);
    expect(problem((f) => (prod(f).fallthrough = {}))).toBe(`${path}: must have exactly one of variation or rollout`);
    expect(problem((f) => delete prod(f).fallthrough)).toBe(`${path}: must be an object`);
    expect(problem((f) => (prod(f).fallthrough.rollout.variations[0].weight = 1))).toBe(`${path}.rollout: weights must sum to 100000, not 1`);
    expect(problem((f) => (f.environments.test.fallthrough.variation = 9))).toBe("environments.test.fallthrough.variation: must be a variation index from 0 to 2");
  });
});

describe("prerequisites", () => {
  const p = "environments.production.prerequisites";

  test("keys are unique, not the flag itself, and name flags of the project", () => {
    expect(problem((f) => prod(f).prerequisites.push({ key: "gate", variation: 1 }))).toBe(`${p}[1].key: "gate" is listed twice`);
    expect(problem((f) => prod(f).prerequisites.push({ key: "colours", variation: 1 }))).toBe(`${p}[1].key: a flag cannot be its own prerequisite`);
    expect(problem((f) => prod(f).prerequisites.push({ key: "nope", variation: 0 }))).toBe(`${p}[1].key: there is no flag "nope" in this project`);
    expect(problem((f) => prod(f).prerequisites.push({ key: "", variation: 0 }))).toBe(`${p}[1].key: must not be empty`);
    expect(problem((f) => prod(f).prerequisites.push("gate"))).toBe(`${p}[1]: must be an object`);
    expect(problem((f) => (prod(f).prerequisites = { gate: 0 }))).toBe(`${p}: must be an array`);
  });

  test("the variation is an index of the prerequisite flag's variations", () => {
    // colours has three variations, gate two: index 2 is valid here but not there.
    expect(problem((f) => (prod(f).prerequisites[0].variation = 2))).toBe(`${p}[0].variation: must be a variation index of flag "gate" from 0 to 1`);
    expect(problem((f) => (prod(f).prerequisites[0].variation = "0"))).toBe(`${p}[0].variation: must be a variation index of flag "gate" from 0 to 1`);
    passes((f) => (prod(f).prerequisites[0].variation = 1));
  });

  test("a cycle through the lookup is refused: a → b → a", () => {
    const a = booleanFlag("a");
    const b = booleanFlag("b");
    b.environments.production!.prerequisites = [{ key: "a", variation: 0 }];
    const message = problem((f) => (prod(f).prerequisites = [{ key: "b", variation: 0 }]), lookupOf(a, b), a);
    expect(message).toBe("environments.production.prerequisites: prerequisite cycle a → b → a");
    // The same prerequisite in the other environment, where b does not depend on a, is fine.
    passes((f) => (f.environments.test.prerequisites = [{ key: "b", variation: 0 }]), lookupOf(a, b), a);
  });

  test("longer cycles are found; diamonds are not cycles", () => {
    const [a, b, c, d] = ["a", "b", "c", "d"].map((k) => booleanFlag(k)) as [Flag, Flag, Flag, Flag];
    b.environments.production!.prerequisites = [{ key: "c", variation: 0 }];
    c.environments.production!.prerequisites = [{ key: "d", variation: 0 }];
    d.environments.production!.prerequisites = [{ key: "a", variation: 1 }];
    expect(problem((f) => (prod(f).prerequisites = [{ key: "b", variation: 0 }]), lookupOf(a, b, c, d), a)).toBe(
      "environments.production.prerequisites: prerequisite cycle a → b → c → d → a",
    );
    d.environments.production!.prerequisites = [];
    b.environments.production!.prerequisites = [{ key: "c", variation: 0 }, { key: "d", variation: 0 }];
    passes((f) => (prod(f).prerequisites = [{ key: "b", variation: 0 }, { key: "c", variation: 1 }]), lookupOf(a, b, c, d), a);
  });

  test("the flag's new prerequisites count, not the stored ones", () => {
    const stored = booleanFlag("a");
    const b = booleanFlag("b");
    stored.environments.production!.prerequisites = [{ key: "b", variation: 0 }];
    b.environments.production!.prerequisites = [{ key: "a", variation: 0 }];
    // The lookup holds the stored a (a → b → a); the new a drops b, so there is no cycle.
    passes((f) => (prod(f).prerequisites = []), lookupOf(stored, b), stored);
    expect(problem((f) => f, lookupOf(stored, b), stored)).toBe("environments.production.prerequisites: prerequisite cycle a → b → a");
  });

  test("a pre-existing cycle among other flags does not loop forever", () => {
    const [a, b, c] = ["a", "b", "c"].map((k) => booleanFlag(k)) as [Flag, Flag, Flag];
    b.environments.production!.prerequisites = [{ key: "c", variation: 0 }];
    c.environments.production!.prerequisites = [{ key: "b", variation: 0 }];
    passes((f) => (prod(f).prerequisites = [{ key: "b", variation: 0 }]), lookupOf(a, b, c), a);
  });

  test("malformed flags behind the lookup do not crash the cycle check", () => {
    const a = booleanFlag("a");
    const odd = { key: "odd", variations: [{ _id: "x", value: 1 }, { _id: "y", value: 2 }], environments: { production: { prerequisites: [null, { key: 3 }, "a"] } } };
    const lookup: FlagLookup = { get: (k) => (k === "odd" ? (odd as unknown as Flag) : undefined) };
    passes((f) => (prod(f).prerequisites = [{ key: "odd", variation: 1 }]), lookup, a);
  });
});

describe("jsonEqual", () => {
  test("deep equality with any key order", () => {
    expect(jsonEqual({ a: [1, { b: null }], c: "x" }, { c: "x", a: [1, { b: null }] })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(jsonEqual({}, [])).toBe(false);
    expect(jsonEqual(1, "1")).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});

describe("fuzz: random damage to a valid flag", () => {
  const JUNK: unknown[] = [null, true, false, 0, -1, 1.5, 2, 100000, 1e21, "", "x", "user", "production", "gate", [], [0], ["x", 1], {}, { variation: 0 }, { _id: "" }];

  /** Null a third of the time: the value most likely to crash a careless check. */
  function junk(random: () => number): unknown {
    if (random() < 0.3) return null;
    const pick = JUNK[Math.floor(random() * JUNK.length)];
    return structuredClone(pick);
  }

  /** Every [container, key] of the document, for picking a place to damage uniformly. */
  function places(node: Doc, into: Array<[Doc, string]> = []): Array<[Doc, string]> {
    for (const key of Object.keys(node)) {
      into.push([node, key]);
      if (typeof node[key] === "object" && node[key] !== null) places(node[key], into);
    }
    return into;
  }

  /** Replaces, deletes or adds a field at a random place. */
  function damage(doc: Doc, random: () => number) {
    const all = places(doc);
    const [node, key] = all[Math.floor(random() * all.length)]!;
    const roll = random();
    if (roll < 0.6) node[key] = junk(random);
    else if (roll < 0.8) {
      if (Array.isArray(node)) node.splice(Number(key), 1);
      else delete node[key];
    } else if (Array.isArray(node)) node.push(junk(random));
    else node[["variation", "rollout", "values", "contextKind", "key", "_id", "x"][Math.floor(random() * 7)]!] = junk(random);
  }

  test("3000 seeded mutations: each passes or throws a VexilError naming a path", () => {
    const random = seededRandom(20240601);
    let passed = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const doc = rich() as Doc;
      const n = 1 + Math.floor(random() * 3);
      for (let j = 0; j < n; j++) damage(doc, random);
      try {
        validateFlag(doc, lookupOf(gate));
        passed++;
      } catch (e) {
        if (!(e instanceof VexilError)) throw new Error(`mutation ${i} threw ${String(e)}: ${JSON.stringify(doc)}`);
        expect(e.code).toBe("invalid_request");
        expect(e.message).toMatch(/^[\w.[\]]+: \S/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1500);
    expect(passed).toBeGreaterThan(0);
  });

  test("whole-document junk is refused", () => {
    const random = seededRandom(7);
    for (let i = 0; i < 100; i++) {
      const doc = Object.fromEntries(Object.keys(rich()).map((k) => [k, junk(random)]));
      expect(thrownBy(() => validateFlag(doc as unknown as Flag, lookupOf(gate))).message).toContain(": ");
    }
  });
});

describe("an environment the change left as the same object", () => {
  test("is not checked field by field again, but its prerequisites are", () => {
    const before = rich();
    // Damaged as stored data never is, to show it is not looked at again: the same object, shared.
    (before.environments.test as Doc).unknownField = 1;
    const after: Doc = { ...structuredClone(before), environments: { ...before.environments, production: structuredClone(before.environments.production) } };
    after.environments.production.on = false;
    after.environments.production.prerequisites = [];
    expect(() => validateFlag(after, lookupOf(gate), before)).not.toThrow();
    expect(thrownBy(() => validateFlag(after, lookupOf(gate))).message).toContain("environments.test.unknownField");
    // A copy of it is checked as any other environment.
    const copied = { ...after, environments: { ...after.environments, test: structuredClone(before.environments.test) } };
    expect(thrownBy(() => validateFlag(copied, lookupOf(gate), before)).message).toContain("environments.test.unknownField");
    // The flags its prerequisites name may have changed: checked still.
    before.environments.test!.prerequisites = [{ key: "gate", variation: 0 }];
    expect(thrownBy(() => validateFlag(after, lookupOf(), before)).message).toContain("environments.test.prerequisites");
  });

  test("a changed environment's targets, rules and fallthrough are not checked again when they are the very same objects", () => {
    const before = rich();
    // Damaged as stored data never is, to show which parts are looked at again.
    const stored = before.environments.production as Doc;
    stored.rules[0].unknownField = 1;
    stored.targets[0].unknownField = 1;
    stored.fallthrough.unknownField = 1;
    const after: Doc = { ...structuredClone(before), environments: { ...before.environments, production: { ...stored, on: !stored.on } } };
    expect(() => validateFlag(after, lookupOf(gate), before)).not.toThrow();
    for (const part of ["rules", "targets", "fallthrough"]) {
      const copied: Doc = { ...after, environments: { ...after.environments, production: { ...after.environments.production, [part]: structuredClone(stored[part]) } } };
      expect(thrownBy(() => validateFlag(copied, lookupOf(gate), before)).message).toContain(`environments.production.${part}`);
    }
    expect(thrownBy(() => validateFlag(after, lookupOf(gate))).message).toContain("environments.production");
  });

  test("is checked again when the flag's variations are not as many as they were", () => {
    const before = rich();
    const after: Doc = { ...structuredClone(before), environments: { ...before.environments } };
    after.variations = after.variations.slice(0, 2);
    after.defaults = { onVariation: 0, offVariation: 1 };
    expect(thrownBy(() => validateFlag(after, lookupOf(gate), before)).message).toContain("environments.production");
  });
});
