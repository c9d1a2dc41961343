/** validateSegment: one check of a whole segment document, naming the first problem by its path. */
import { describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import type { Segment } from "@vexil/flags/domain/segments/model";
import { validateSegment } from "@vexil/flags/domain/segments/validate";
import { richSegment, seededRandom, segment, thrownBy } from "./segment-fixtures.ts";

/** Documents are damaged freely here, as a JSON Patch could. */
type Doc = any;

function problem(mutate: (s: Doc) => void, base: Segment = richSegment()): string {
  const doc = structuredClone(base) as Doc;
  mutate(doc);
  return thrownBy(() => validateSegment(doc)).message;
}

function passes(mutate: (s: Doc) => void, base: Segment = richSegment()) {
  const doc = structuredClone(base) as Doc;
  mutate(doc);
  expect(() => validateSegment(doc)).not.toThrow();
}

const keys = (n: number, prefix = "k") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("valid documents", () => {
  test("the rich segment and an empty one pass", () => {
    expect(() => validateSegment(richSegment())).not.toThrow();
    expect(() => validateSegment(segment())).not.toThrow();
  });

  test("the document is not changed", () => {
    const doc = richSegment();
    validateSegment(doc);
    expect(doc).toStrictEqual(richSegment());
  });

  test("a non-object document is a 400, not a crash", () => {
    for (const junk of [null, undefined, 1, "x", [], true]) {
      expect(thrownBy(() => validateSegment(junk as unknown as Segment)).message).toBe("segment: must be an object");
    }
  });

});

describe("unknown fields", () => {
  test("are refused at every level, naming the field by its path", () => {
    expect(problem((s) => (s.extra = { any: 1 }))).toBe("extra: unknown field");
    expect(problem((s) => (s.rules[0].foo = 1))).toBe("rules[0].foo: unknown field");
    expect(problem((s) => (s.rules[1].clauses = [{ _id: "c9", attribute: "a", op: "in", values: [], negate: false, bar: true }]))).toBe("rules[1].clauses[0].bar: unknown field");
    expect(problem((s) => (s.rules[0].clauses[1].bar = null))).toBe("rules[0].clauses[1].bar: unknown field");
    expect(problem((s) => (s.includedContexts[0].extra = "x"))).toBe("includedContexts[0].extra: unknown field");
    expect(problem((s) => (s.excludedContexts[0].x = []))).toBe("excludedContexts[0].x: unknown field");
  });

  test("a field that is not a plain name is quoted", () => {
    expect(problem((s) => (s.rules[0]["a b"] = 1))).toBe('rules[0]["a b"]: unknown field');
    expect(problem((s) => (s[""] = 1))).toBe('[""]: unknown field');
    expect(problem((s) => (s.rules[0]["x".repeat(300)] = 1))).toBe(`rules[0]["${"x".repeat(100)}…"]: unknown field`);
  });

  test("every field of the model is known, the optional ones included", () => {
    passes((s) => {
      s.unboundedContextKind = "user";
      s.rules[0] = { _id: "r1", clauses: [{ _id: "c1", contextKind: "user", attribute: "a", op: "in", values: [], negate: false }], weight: 1, rolloutContextKind: "user", bucketBy: "key", description: "d" };
    });
  });
});

describe("key, name, description, tags", () => {
  test("key format and length", () => {
    expect(problem((s) => (s.key = ""))).toBe("key: must not be empty");
    expect(problem((s) => (s.key = "-a"))).toStartWith("key: must start with a letter or digit");
    expect(problem((s) => (s.key = "a b"))).toStartWith("key: must start with a letter or digit");
    expect(problem((s) => (s.key = "a/b"))).toStartWith("key: must start with a letter or digit");
    expect(problem((s) => (s.key = "a".repeat(141)))).toBe("key: must be at most 140 characters");
    expect(problem((s) => (s.key = 7))).toBe("key: must be a string");
    expect(problem((s) => delete s.key)).toBe("key: must be a string");
    passes((s) => (s.key = `A1._-${"z".repeat(135)}`));
    passes((s) => (s.key = "9"));
  });

  test("name is 1 to 256 characters", () => {
    expect(problem((s) => (s.name = ""))).toBe("name: must not be empty");
    expect(problem((s) => (s.name = "n".repeat(257)))).toBe("name: must be at most 256 characters");
    expect(problem((s) => (s.name = null))).toBe("name: must be a string");
    passes((s) => (s.name = "n".repeat(256)));
  });

  test("description is a string of at most 8192 characters", () => {
    expect(problem((s) => (s.description = "d".repeat(8193)))).toBe("description: must be at most 8192 characters");
    expect(problem((s) => (s.description = ["x"]))).toBe("description: must be a string");
    expect(problem((s) => delete s.description)).toBe("description: must be a string");
    passes((s) => (s.description = "d".repeat(8192)));
    passes((s) => (s.description = ""));
  });

  test("tags as on flags: at most 50, unique, 1 to 64 of letters, digits and ._:-", () => {
    expect(problem((s) => s.tags.push("beta"))).toBe('tags[2]: "beta" is listed twice');
    expect(problem((s) => s.tags.push("a b"))).toStartWith("tags[2]: must be 1 to 64 letters");
    expect(problem((s) => s.tags.push(""))).toStartWith("tags[2]: must be 1 to 64 letters");
    expect(problem((s) => s.tags.push(1))).toBe("tags[2]: must be a string");
    expect(problem((s) => (s.tags = keys(51, "t")))).toBe("tags: must not have more than 50 entries");
    expect(problem((s) => (s.tags = "beta"))).toBe("tags: must be an array");
    passes((s) => (s.tags = keys(50, "t")));
  });
});

describe("bookkeeping fields", () => {
  test("version, generation, creationDate and lastModifiedDate are non-negative integers", () => {
    for (const field of ["version", "generation", "creationDate", "lastModifiedDate"]) {
      expect(problem((s) => (s[field] = 1.5))).toBe(`${field}: must be an integer`);
      expect(problem((s) => (s[field] = "1"))).toBe(`${field}: must be an integer`);
      expect(problem((s) => delete s[field])).toBe(`${field}: must be an integer`);
      expect(problem((s) => (s[field] = -1))).toBe(`${field}: must be from 0 to ${Number.MAX_SAFE_INTEGER}`);
      passes((s) => (s[field] = 0));
    }
  });

  test("deleted and unbounded are booleans", () => {
    expect(problem((s) => (s.deleted = "false"))).toBe("deleted: must be a boolean");
    expect(problem((s) => delete s.unbounded)).toBe("unbounded: must be a boolean");
    expect(problem((s) => (s.unbounded = 0))).toBe("unbounded: must be a boolean");
  });

  test("salt is a non-empty string; unboundedContextKind is optional", () => {
    expect(problem((s) => (s.salt = ""))).toBe("salt: must not be empty");
    expect(problem((s) => delete s.salt)).toBe("salt: must be a string");
    expect(problem((s) => (s.unboundedContextKind = ""))).toBe("unboundedContextKind: must not be empty");
    expect(problem((s) => (s.unboundedContextKind = null))).toBe("unboundedContextKind: must be a string");
    passes((s) => (s.unboundedContextKind = "user"));
  });
});

describe("included and excluded user keys", () => {
  test("arrays of strings", () => {
    expect(problem((s) => (s.included = "u1"))).toBe("included: must be an array");
    expect(problem((s) => delete s.excluded)).toBe("excluded: must be an array");
    expect(problem((s) => s.included.push(3))).toBe("included[2]: must be a string");
    expect(problem((s) => (s.excluded = [null]))).toBe("excluded[0]: must be a string");
    passes((s) => (s.included = []));
  });

  test("no key twice in a list", () => {
    expect(problem((s) => s.included.push("u1"))).toBe('included[2]: "u1" is listed twice');
    expect(problem((s) => s.excluded.push("u3"))).toBe('excluded[1]: "u3" is listed twice');
  });

  test("at most 10,000 keys each", () => {
    passes((s) => {
      s.included = keys(10_000, "i");
      s.excluded = keys(10_000, "e");
    });
    expect(problem((s) => (s.included = keys(10_001)))).toBe("included: must not have more than 10000 entries");
    expect(problem((s) => (s.excluded = keys(10_001)))).toBe("excluded: must not have more than 10000 entries");
  });

  test("a key may not be both included and excluded", () => {
    expect(problem((s) => s.excluded.push("u2"))).toBe('excluded[1]: user "u2" is also included by included[1]');
    expect(problem((s) => (s.included = ["x", "u3"]))).toBe('excluded[0]: user "u3" is also included by included[1]');
  });
});

describe("includedContexts and excludedContexts", () => {
  test("entries are {contextKind, values}", () => {
    expect(problem((s) => (s.includedContexts = {}))).toBe("includedContexts: must be an array");
    expect(problem((s) => delete s.excludedContexts)).toBe("excludedContexts: must be an array");
    expect(problem((s) => s.includedContexts.push("device"))).toBe("includedContexts[1]: must be an object");
    expect(problem((s) => (s.includedContexts[0].contextKind = ""))).toBe("includedContexts[0].contextKind: must not be empty");
    expect(problem((s) => delete s.excludedContexts[0].contextKind)).toBe("excludedContexts[0].contextKind: must be a string");
    expect(problem((s) => (s.includedContexts[0].values = "d1"))).toBe("includedContexts[0].values: must be an array");
    expect(problem((s) => s.excludedContexts[0].values.push(false))).toBe("excludedContexts[0].values[1]: must be a string");
    passes((s) => s.includedContexts.push({ contextKind: "org", values: [] }));
  });

  test("a context kind at most once per list", () => {
    expect(problem((s) => s.includedContexts.push({ contextKind: "device", values: ["d2"] }))).toBe('includedContexts[1].contextKind: "device" is listed twice');
    passes((s) => s.excludedContexts.push({ contextKind: "device", values: ["d2"] }));
  });

  test("values: unique, at most 10,000", () => {
    expect(problem((s) => s.includedContexts[0].values.push("d1"))).toBe('includedContexts[0].values[1]: "d1" is listed twice');
    passes((s) => (s.includedContexts[0].values = keys(10_000)));
    expect(problem((s) => (s.excludedContexts[0].values = keys(10_001)))).toBe("excludedContexts[0].values: must not have more than 10000 entries");
  });

  test("a context may not be both included and excluded; the same key of another kind is another context", () => {
    expect(problem((s) => s.excludedContexts.push({ contextKind: "device", values: ["x", "d1"] }))).toBe(
      'excludedContexts[1].values[1]: device "d1" is also included by includedContexts[0].values[0]',
    );
    passes((s) => s.excludedContexts[0].values.push("d1"));
    passes((s) => s.includedContexts.push({ contextKind: "org", values: ["u3"] }));
  });

  test("users in a context list are the same users as in included and excluded", () => {
    expect(problem((s) => s.excludedContexts.push({ contextKind: "user", values: ["u1"] }))).toBe('excludedContexts[1].values[0]: user "u1" is also included by included[0]');
    expect(problem((s) => s.includedContexts.push({ contextKind: "user", values: ["u3"] }))).toBe('excluded[0]: user "u3" is also included by includedContexts[1].values[0]');
    // Listed twice on the same side is redundant, not contradictory.
    passes((s) => s.includedContexts.push({ contextKind: "user", values: ["u1"] }));
  });
});

describe("rules", () => {
  // Ids are assigned and their duplicates refused before validation (ids.test.ts).
  test("rule ids are non-empty strings; at most 1000 rules", () => {
    expect(problem((s) => (s.rules[0]._id = ""))).toBe("rules[0]._id: must not be empty");
    expect(problem((s) => delete s.rules[0]._id)).toBe("rules[0]._id: must be a string");
    const rules = (n: number) => (s: Doc) => {
      s.rules = Array.from({ length: n }, (_, i) => ({ _id: `r${i}`, clauses: [] }));
    };
    passes(rules(1000));
    expect(problem(rules(1001))).toBe("rules: must not have more than 1000 entries");
    expect(problem((s) => (s.rules = {}))).toBe("rules: must be an array");
    expect(problem((s) => (s.rules[0] = "r1"))).toBe("rules[0]: must be an object");
  });

  test("clauses are checked as on flags", () => {
    const c = "rules[0].clauses";
    expect(problem((s) => delete s.rules[0].clauses[0]._id)).toBe(`${c}[0]._id: must be a string`);
    expect(problem((s) => (s.rules[0].clauses[0]._id = ""))).toBe(`${c}[0]._id: must not be empty`);
    expect(problem((s) => (s.rules[0].clauses[0].attribute = ""))).toBe(`${c}[0].attribute: must not be empty`);
    expect(problem((s) => (s.rules[0].clauses[0].op = "equals"))).toStartWith(`${c}[0].op: must be one of in, endsWith`);
    expect(problem((s) => (s.rules[0].clauses[1].values = {}))).toBe(`${c}[1].values: must be an array`);
    expect(problem((s) => delete s.rules[0].clauses[0].negate)).toBe(`${c}[0].negate: must be a boolean`);
    expect(problem((s) => (s.rules[0].clauses[0].contextKind = 1))).toBe(`${c}[0].contextKind: must be a string`);
    expect(problem((s) => delete s.rules[1].clauses)).toBe("rules[1].clauses: must be an array");
    passes((s) => (s.rules[0].clauses[0].op = "segmentMatch"));
    passes((s) => (s.rules[1].clauses = [{ ...s.rules[0].clauses[0] }]));
  });

  test("weight is an optional integer from 0 to 100000", () => {
    expect(problem((s) => (s.rules[1].weight = 100001))).toBe("rules[1].weight: must be from 0 to 100000");
    expect(problem((s) => (s.rules[1].weight = -1))).toBe("rules[1].weight: must be from 0 to 100000");
    expect(problem((s) => (s.rules[1].weight = 0.5))).toBe("rules[1].weight: must be an integer");
    expect(problem((s) => (s.rules[1].weight = null))).toBe("rules[1].weight: must be an integer");
    passes((s) => (s.rules[1].weight = 0));
    passes((s) => (s.rules[1].weight = 100000));
    passes((s) => delete s.rules[1].weight);
  });

  test("rolloutContextKind, bucketBy and description are optional strings", () => {
    expect(problem((s) => (s.rules[1].rolloutContextKind = ""))).toBe("rules[1].rolloutContextKind: must not be empty");
    expect(problem((s) => (s.rules[1].rolloutContextKind = 1))).toBe("rules[1].rolloutContextKind: must be a string");
    expect(problem((s) => (s.rules[1].bucketBy = ["key"]))).toBe("rules[1].bucketBy: must be a string");
    expect(problem((s) => (s.rules[0].description = 5))).toBe("rules[0].description: must be a string");
    passes((s) => (s.rules[0].description = ""));
    passes((s) => {
      delete s.rules[1].rolloutContextKind;
      delete s.rules[1].bucketBy;
    });
  });
});

describe("fuzz: random damage to a valid segment", () => {
  const JUNK: unknown[] = [null, true, false, 0, -1, 1.5, 2, 100000, 100001, 1e21, "", "x", "user", "u1", "u3", "d1", "r1", "c1", [], [0], ["x", 1], ["u1"], {}, { contextKind: "user", values: ["u3"] }, { _id: "" }];

  /** Null a third of the time: the value most likely to crash a careless check. */
  function junk(random: () => number): unknown {
    if (random() < 0.3) return null;
    return structuredClone(JUNK[Math.floor(random() * JUNK.length)]);
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
    else node[["weight", "values", "contextKind", "key", "_id", "clauses", "x"][Math.floor(random() * 7)]!] = junk(random);
  }

  test("3000 seeded mutations: each passes or throws a VexilError naming a path", () => {
    const random = seededRandom(20240602);
    let passed = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const doc = richSegment() as Doc;
      const n = 1 + Math.floor(random() * 3);
      for (let j = 0; j < n; j++) damage(doc, random);
      try {
        validateSegment(doc);
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
    const random = seededRandom(11);
    for (let i = 0; i < 100; i++) {
      const doc = Object.fromEntries(Object.keys(richSegment()).map((k) => [k, junk(random)]));
      expect(thrownBy(() => validateSegment(doc as unknown as Segment)).message).toContain(": ");
    }
  });
});
