/**
 * The patch formats against public vectors: the JSON Patch test suite (npm `json-patch-test-suite`,
 * the json-patch/json-patch-tests cases) and the examples of RFC 7386/7396 Appendix A.
 */
import { describe, expect, test } from "bun:test";
import specTests from "json-patch-test-suite/spec_tests.json";
import tests from "json-patch-test-suite/tests.json";
import { VexilError } from "@vexil/shared/errors";
import { applyPatch } from "@vexil/shared/patch";

interface Vector {
  comment?: string;
  doc: unknown;
  patch: unknown[];
  expected?: unknown;
  error?: string;
  disabled?: boolean;
}

const all = [...(specTests as Vector[]), ...(tests as Vector[])].filter((v) => !v.disabled);

describe("JSON Patch (RFC 6902) public test suite", () => {
  test("has the suite's cases", () => expect(all.length).toBeGreaterThan(80));
  all.forEach((v, i) => {
    test(`${i}: ${v.comment ?? JSON.stringify(v.patch).slice(0, 60)}`, () => {
      const run = () => applyPatch(v.doc, { format: "json-patch", operations: v.patch });
      if (v.error !== undefined) {
        let thrown: unknown;
        try {
          run();
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(VexilError);
        return;
      }
      const before = structuredClone(v.doc);
      const result = run();
      if ("expected" in v) expect(result).toEqual(v.expected);
      expect(v.doc).toEqual(before);
    });
  });
});

// RFC 7396, Appendix A: [target, patch, result].
const mergeExamples: Array<[unknown, unknown, unknown]> = [
  [{ a: "b" }, { a: "c" }, { a: "c" }],
  [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
  [{ a: "b" }, { a: null }, {}],
  [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
  [{ a: ["b"] }, { a: "c" }, { a: "c" }],
  [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
  [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
  [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
  [["a", "b"], ["c", "d"], ["c", "d"]],
  [{ a: "b" }, ["c"], ["c"]],
  [{ a: "foo" }, null, null],
  [{ a: "foo" }, "bar", "bar"],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: "b", c: null }, { a: "b" }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe("JSON Merge Patch (RFC 7396) examples", () => {
  mergeExamples.forEach(([target, patch, result], i) => {
    test(`example ${i + 1}: ${JSON.stringify(patch)}`, () => {
      expect(applyPatch(target, { format: "merge", merge: patch as Record<string, unknown> })).toEqual(result);
    });
  });
});
