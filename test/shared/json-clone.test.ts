import { describe, expect, test } from "bun:test";
import { cloneJson } from "@vexil/shared/json-clone";

describe("cloneJson", () => {
  test("copies deeply: the copy equals the original and shares nothing with it", () => {
    const original = { a: 1, b: "x", c: null, d: true, e: [1, { f: [2, 3] }], g: { h: { i: "j" } }, k: undefined };
    const copy = cloneJson(original);
    expect(copy).toStrictEqual(original);
    copy.e.push(4);
    (copy.e[1] as { f: number[] }).f.push(9);
    copy.g.h.i = "changed";
    expect(original).toStrictEqual({ a: 1, b: "x", c: null, d: true, e: [1, { f: [2, 3] }], g: { h: { i: "j" } }, k: undefined });
  });

  test("a __proto__ key stays an own property and does not become the prototype", () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
    const copy = cloneJson(parsed) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(copy)).toEqual(["__proto__", "ok"]);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(parsed));
  });

  test("primitives come back as they are", () => {
    for (const v of [0, -1.5, "", "s", true, false, null]) expect(cloneJson(v)).toBe(v);
  });
});
