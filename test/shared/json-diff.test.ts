/**
 * `jsonDiff` against the documents of the JSON Patch test suite (every case's document and its
 * expected result, both ways) and against random changes of a flag-shaped document: applying the
 * operations with `fast-json-patch` (as `previousOf` does) always gives the other document.
 */
import { describe, expect, test } from "bun:test";
import jsonPatch, { type Operation } from "fast-json-patch";
import specTests from "json-patch-test-suite/spec_tests.json";
import tests from "json-patch-test-suite/tests.json";
import { cloneJson } from "@vexil/shared/json-clone";
import { jsonDiff } from "@vexil/shared/json-diff";

interface Vector {
  comment?: string;
  doc: unknown;
  expected?: unknown;
  disabled?: boolean;
}

const applied = (from: unknown, to: unknown) => jsonPatch.applyPatch(cloneJson(from), jsonDiff(from, to) as Operation[], true, true).newDocument;
const pairs = [...(specTests as Vector[]), ...(tests as Vector[])].filter((v) => !v.disabled && v.expected !== undefined);

describe("jsonDiff", () => {
  test("has the suite's pairs", () => expect(pairs.length).toBeGreaterThan(50));
  pairs.forEach((v, i) => {
    test(`${i}: ${v.comment ?? JSON.stringify(v.doc).slice(0, 60)}, both ways`, () => {
      expect(applied(v.doc, v.expected)).toStrictEqual(v.expected);
      expect(applied(v.expected, v.doc)).toStrictEqual(v.doc);
    });
  });

  test("equal documents need no operation; keys with / and ~ are escaped", () => {
    expect(jsonDiff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
    expect(jsonDiff({ "a/b": 1, "c~d": 2, e: { "f/g": 1 } }, { "a/b": 2, e: { "f/g": 2 } })).toEqual([
      { op: "replace", path: "/a~1b", value: 2 },
      { op: "remove", path: "/c~0d" },
      { op: "replace", path: "/e/f~1g", value: 2 },
    ]);
  });

  test("a part both documents share is not walked", () => {
    const shared = { rules: [1, 2] };
    Object.defineProperty(shared, "walked", { enumerable: true, get: () => expect.unreachable("a shared part was walked") });
    expect(jsonDiff({ a: 1, env: shared }, { a: 2, env: shared })).toEqual([{ op: "replace", path: "/a", value: 2 }]);
  });

  test("a key whose value is undefined counts as absent, as in the JSON it becomes", () => {
    expect(jsonDiff({ a: 1, b: undefined }, { a: 1 })).toEqual([]);
    expect(jsonDiff({ a: 1 }, { a: 1, b: undefined, c: 2 })).toEqual([{ op: "add", path: "/c", value: 2 }]);
  });

  test("the operations share nothing with the documents", () => {
    const to = { a: { b: [1] } };
    const ops = jsonDiff({}, to) as Array<{ value: { b: number[] } }>;
    to.a.b.push(2);
    expect(ops[0]!.value).toEqual({ b: [1] });
  });

  test("random changes of a flag-shaped document come back exactly, both ways", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
    const base = {
      key: "f",
      tags: ["a", "b"],
      variations: [{ _id: "v0", value: true }, { _id: "v1", value: false }],
      environments: {
        production: { on: false, version: 3, targets: [{ values: ["u1", "u2"], variation: 0 }], rules: [{ _id: "r1", clauses: [{ op: "in", values: ["x"] }] }] },
        test: { on: true, version: 1, targets: [], rules: [] },
      },
    };
    const values = [null, true, 0, 1.5, "s", [], {}, [1, "x"], { k: [null] }];
    /** Changes, adds or removes one value somewhere in `doc`. */
    const mutate = (doc: unknown): void => {
      let at = doc as Record<string, unknown> | unknown[];
      for (;;) {
        const keys: Array<string | number> = Array.isArray(at) ? at.map((_, i) => i) : Object.keys(at);
        const key = keys.length > 0 ? pick(keys) : undefined;
        const next = key === undefined ? undefined : (at as Record<string | number, unknown>)[key];
        if (typeof next === "object" && next !== null && random() < 0.6) {
          at = next as Record<string, unknown> | unknown[];
          continue;
        }
        const value = cloneJson(pick(values));
        if (Array.isArray(at)) {
          const r = random();
          if (r < 0.3 && at.length > 0) at.splice(Math.floor(random() * at.length), 1);
          else if (r < 0.6) at.splice(Math.floor(random() * (at.length + 1)), 0, value);
          else if (at.length > 0) at[Math.floor(random() * at.length)] = value;
          else at.push(value);
        } else if (key !== undefined && random() < 0.3) delete at[key];
        else at[key !== undefined && random() < 0.5 ? key : `k${Math.floor(random() * 5)}`] = value;
        return;
      }
    };
    for (let i = 0; i < 500; i++) {
      const changed = cloneJson(base) as unknown;
      for (let n = 1 + Math.floor(random() * 4); n > 0; n--) mutate(changed);
      expect(applied(changed, base)).toStrictEqual(base);
      expect(applied(base, changed)).toStrictEqual(changed);
    }
  });
});
