/** Patch bodies cannot reach the prototype machinery, and a merge patch is applied whole or refused. */
import { expect, test } from "bun:test";
import { applyPatch, parsePatchRequest } from "@vexil/shared/patch";

const refused = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return "accepted";
};

test("__proto__, constructor and prototype keys in a merge patch are refused, wherever they are", () => {
  for (const body of [
    JSON.parse('{"__proto__": {"polluted": 1}, "name": "x"}'),
    { constructor: false, name: null, description: "d" },
    { merge: { tags: ["a"], prototype: 1, _id: "other" } },
    { nested: { deeper: { constructor: 1 } } },
  ]) {
    expect(refused(() => parsePatchRequest(body, "application/json"))).toBe("invalid_request");
  }
  expect(refused(() => parsePatchRequest({ constructor: 1 }, "application/merge-patch+json"))).toBe("invalid_request");
  // Ordinary merge patches pass.
  expect(parsePatchRequest({ name: "x", description: null }, "application/json")).toEqual({ format: "merge", merge: { name: "x", description: null } });
});

test("a __proto__ key anywhere in any body is refused; constructor in a JSON Patch value is data", () => {
  const proto = JSON.parse('[{"op": "add", "path": "/tags", "value": {"__proto__": {"x": 1}}}]');
  expect(refused(() => parsePatchRequest(proto, "application/json"))).toBe("invalid_request");
  const data = parsePatchRequest([{ op: "replace", path: "/value", value: { constructor: "fine" } }], "application/json");
  expect(applyPatch({ value: 1 }, data)).toEqual({ value: { constructor: "fine" } });
});

test("JSON Patch paths through __proto__, constructor or prototype are 400, not a crash", () => {
  for (const path of ["/__proto__", "/__proto__/polluted", "/constructor/prototype/x", "/a/prototype"]) {
    const request = parsePatchRequest([{ op: "add", path, value: "x" }], "application/json");
    expect(refused(() => applyPatch({ a: {} }, request))).toBe("invalid_request");
  }
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

test("array indexes are RFC 6901's: digits without leading zeros, inside the array; - only where an operation inserts", () => {
  const doc = { tags: ["a", "b"] };
  for (const path of ["/tags/4294967296", "/tags/", "/tags/01", "/tags/3", "/tags/-1", "/tags/1e0"]) {
    expect(refused(() => applyPatch(doc, parsePatchRequest([{ op: "add", path, value: "x" }], "application/json")))).toBe("invalid_request");
  }
  expect(refused(() => applyPatch(doc, parsePatchRequest([{ op: "remove", path: "/tags/2" }], "application/json")))).toBe("invalid_request");
  expect(refused(() => applyPatch(doc, parsePatchRequest([{ op: "replace", path: "/tags/-", value: "x" }], "application/json")))).toBe("invalid_request");
  expect(applyPatch(doc, parsePatchRequest([{ op: "add", path: "/tags/2", value: "c" }, { op: "add", path: "/tags/-", value: "d" }, { op: "remove", path: "/tags/0" }], "application/json"))).toEqual({ tags: ["b", "c", "d"] });
  expect(doc).toEqual({ tags: ["a", "b"] });
});
