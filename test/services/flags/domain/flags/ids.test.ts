/** withFlagIds: ids assigned where missing or empty, given ones kept, duplicates refused, rule defaults. */
import { describe, expect, test } from "bun:test";
import { withFlagIds } from "@vexil/flags/domain/flags/ids";
import type { Flag } from "@vexil/flags/domain/flags/model";
import { validateFlag } from "@vexil/flags/domain/flags/validate";
import { colourFlag, environment, lookupOf, thrownBy } from "./flag-fixtures.ts";

/** Documents are shaped freely here, as a JSON Patch could. */
type Doc = any;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** New ids `n1`, `n2`, … in the order they are given. */
function counter() {
  let n = 0;
  return () => `n${++n}`;
}

/** A flag whose production rules are `rules`. */
function withRules(...rules: unknown[]): Doc {
  return colourFlag("colours", { environments: { production: environment({ rules: rules as never }), test: environment() } });
}

const rule = (over: Record<string, unknown> = {}) => ({ _id: "r1", clauses: [{ _id: "c1", attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }], trackEvents: false, variation: 0, ...over });

/** Runs withFlagIds on a copy, checks it left its input alone, and returns the result. */
function completed(flag: Doc, id = counter()): Doc {
  const before = structuredClone(flag);
  const result = withFlagIds(flag, id);
  expect(flag).toEqual(before);
  return result;
}

describe("missing and empty ids", () => {
  test("a rule and its clauses without _id get fresh ones, the rule's first", () => {
    const flag = completed(withRules({ clauses: [{ attribute: "email", op: "endsWith", values: ["@example.com"] }], variation: 0 }));
    expect(flag.environments.production.rules).toEqual([
      { _id: "n1", clauses: [{ _id: "n2", attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }], variation: 0, trackEvents: false },
    ]);
    expect(Object.keys(flag.environments.production.rules[0])[0]).toBe("_id");
    expect(() => validateFlag(flag, lookupOf())).not.toThrow();
  });

  test('"" counts as missing, for variations, rules and clauses alike', () => {
    const flag = withRules(rule({ _id: "", clauses: [{ ...rule().clauses[0], _id: "" }] }));
    flag.variations[1]._id = "";
    const done = completed(flag);
    expect(done.variations.map((v: Doc) => v._id)).toEqual(["red", "n1", "blue"]);
    expect(done.environments.production.rules[0]._id).toBe("n2");
    expect(done.environments.production.rules[0].clauses[0]._id).toBe("n3");
  });

  test("variations without _id get fresh ones", () => {
    const flag = colourFlag();
    for (const v of flag.variations as Doc[]) delete v._id;
    expect(completed(flag).variations).toEqual([{ _id: "n1", value: "red" }, { _id: "n2", value: "green" }, { _id: "n3", value: "blue" }]);
  });

  test("by default the fresh ids are UUIDs, all different", () => {
    const flag = withRules({ clauses: [{ attribute: "a", op: "in", values: [1] }, { attribute: "b", op: "in", values: [2] }], variation: 0 }, { clauses: [], variation: 1 });
    for (const v of flag.variations) delete v._id;
    const done = withFlagIds(flag);
    const rules = done.environments.production!.rules;
    const ids = [...done.variations.map((v) => v._id), ...rules.map((r) => r._id), ...rules.flatMap((r) => r.clauses.map((c) => c._id))];
    expect(ids).toHaveLength(7);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(7);
  });

  test("every environment's rules are completed", () => {
    const flag = withRules(rule());
    flag.environments.test.rules = [{ clauses: [], variation: 1 }];
    expect(completed(flag).environments.test.rules).toEqual([{ _id: "n1", clauses: [], variation: 1, trackEvents: false }]);
  });
});

describe("given ids", () => {
  test("are kept; a document that needs nothing is returned as it is", () => {
    const flag: Flag = withRules(rule(), rule({ _id: "r2", clauses: [] }));
    expect(withFlagIds(flag, counter())).toBe(flag);
  });

  test("a rule inserted before others leaves their ids alone", () => {
    const flag = withRules({ clauses: [], variation: 2 }, rule(), rule({ _id: "r2", clauses: [] }));
    expect(completed(flag).environments.production.rules.map((r: Doc) => r._id)).toEqual(["n1", "r1", "r2"]);
  });

  test("only what changed is copied; the rest is shared", () => {
    const flag = withRules(rule(), { clauses: [], variation: 0 });
    const done = completed(flag);
    expect(done.environments.production.rules[0]).toBe(flag.environments.production.rules[0]);
    expect(done.environments.test).toBe(flag.environments.test);
    expect(done.variations).toBe(flag.variations);
  });
});

describe("duplicates are a 400 naming the id and both places", () => {
  test("two variations", () => {
    const flag = colourFlag() as Doc;
    flag.variations[2]._id = "red";
    expect(thrownBy(() => withFlagIds(flag)).message).toBe('variations[2]._id: "red" is already the id of variations[0]');
  });

  test("two rules of one environment", () => {
    const flag = withRules(rule(), rule({ clauses: [] }));
    expect(thrownBy(() => withFlagIds(flag)).message).toBe('environments.production.rules[1]._id: "r1" is already the id of environments.production.rules[0]');
  });

  test("two clauses of one rule", () => {
    const flag = withRules(rule({ clauses: [rule().clauses[0], { ...rule().clauses[0], values: ["x"] }] }));
    expect(thrownBy(() => withFlagIds(flag)).message).toBe(
      'environments.production.rules[0].clauses[1]._id: "c1" is already the id of environments.production.rules[0].clauses[0]',
    );
  });

  test("a long id is cut in the message", () => {
    const long = "x".repeat(5000);
    const flag = withRules(rule({ _id: long }), rule({ _id: long }));
    expect(thrownBy(() => withFlagIds(flag)).message).toBe(`environments.production.rules[1]._id: "${"x".repeat(100)}…" is already the id of environments.production.rules[0]`);
  });

  test("the same rule in two environments (a copy of targeting) and the same clause id in two rules are not duplicates", () => {
    const flag = withRules(rule(), rule({ _id: "r2" }));
    flag.environments.test.rules = [rule()];
    expect(withFlagIds(flag)).toBe(flag);
    expect(() => validateFlag(flag, lookupOf())).not.toThrow();
  });

  test("fresh ids are checked like given ones (UUIDs never meet one in practice)", () => {
    const flag = withRules(rule({ _id: "n1" }), { clauses: [], variation: 0 });
    expect(() => withFlagIds(flag, counter())).toThrow('environments.production.rules[1]._id: "n1" is already the id of environments.production.rules[0]');
    // With the real generator the fresh id is a new UUID.
    expect(withFlagIds(flag).environments.production!.rules[1]!._id).toMatch(UUID);
  });
});

describe("defaults", () => {
  test("trackEvents false on a rule without it; a given value is kept", () => {
    const flag = withRules(rule({ trackEvents: undefined }), rule({ _id: "r2", trackEvents: true }));
    delete flag.environments.production.rules[0].trackEvents;
    expect(completed(flag).environments.production.rules.map((r: Doc) => r.trackEvents)).toEqual([false, true]);
  });

  test("negate false on a clause without it; contextKind stays absent (user to SDKs), a given one is kept", () => {
    const flag = withRules(rule({ clauses: [{ _id: "c1", attribute: "a", op: "in", values: [1] }, { _id: "c2", contextKind: "org", attribute: "b", op: "in", values: [2], negate: true }] }));
    expect(completed(flag).environments.production.rules[0].clauses).toEqual([
      { _id: "c1", attribute: "a", op: "in", values: [1], negate: false },
      { _id: "c2", contextKind: "org", attribute: "b", op: "in", values: [2], negate: true },
    ]);
  });
});

describe("misshapen documents are left for validation to name", () => {
  test("non-objects, non-arrays and non-string ids pass through untouched", () => {
    const odd: Doc[] = [
      null,
      "flag",
      { variations: "x", environments: [] },
      { variations: [null, 3, { value: 1 }], environments: { production: null, test: { rules: "x" } } },
      withRules(null, { _id: 7, clauses: "x" }, { clauses: [null, { _id: false }] }),
    ];
    for (const doc of odd) expect(() => completed(doc)).not.toThrow();
    expect(completed(odd[3]).variations).toEqual([null, 3, { _id: "n1", value: 1 }]);
    const rules = completed(odd[4]).environments.production.rules;
    expect(rules).toEqual([null, { _id: 7, clauses: "x", trackEvents: false }, { _id: "n1", clauses: [null, { _id: false, negate: false }], trackEvents: false }]);
    expect(thrownBy(() => validateFlag(completed(odd[4]), lookupOf())).message).toBe("environments.production.rules[0]: must be an object");
  });
});

describe("the flag a change was made from", () => {
  test("rules that are the very same array as there are complete already; other rules are completed", () => {
    const stored = withRules(rule());
    const next: Doc = { ...stored, environments: { ...stored.environments, production: { ...stored.environments.production, on: true } } };
    // Shared with the stored flag: passed over (stored data has its ids; this shows it is not looked at).
    next.environments.production.rules[0].clauses[0]._id = "";
    expect(withFlagIds(next, counter(), stored)).toBe(next);
    // Without the stored flag, or once the rules are a new array, they are completed.
    expect((withFlagIds(next, counter()) as Doc).environments.production.rules[0].clauses[0]._id).toBe("n1");
    const copied = { ...next, environments: { ...next.environments, production: { ...next.environments.production, rules: structuredClone(next.environments.production.rules) } } };
    expect((withFlagIds(copied, counter(), stored) as Doc).environments.production.rules[0].clauses[0]._id).toBe("n1");
  });
});
