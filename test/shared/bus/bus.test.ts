import { describe, expect, test } from "bun:test";
import { BusError, decodeJson, encodeJson, subjectMatches } from "@vexil/shared/bus/bus";

describe("subjectMatches", () => {
  test.each([
    // pattern, subject, matches
    ["a.b.c", "a.b.c", true],
    ["a.b.c", "a.b.d", false],
    ["a.b", "a.b.c", false],
    ["a.b.c", "a.b", false],
    ["a.*.c", "a.b.c", true],
    ["a.*.c", "a.b.d", false],
    ["a.*.c", "a.b.x.c", false],
    ["a.*", "a.b", true],
    ["a.*", "a", false],
    ["a.*", "a.b.c", false],
    ["*", "a", true],
    ["*", "a.b", false],
    ["*.*", "a.b", true],
    ["*.b", "a.b", true],
    ["*.b", "a.c", false],
    ["a.>", "a.b", true],
    ["a.>", "a.b.c.d", true],
    ["a.>", "a", false],
    ["a.>", "b.c", false],
    [">", "a", true],
    [">", "a.b.c", true],
    ["*.>", "a.b", true],
    ["*.>", "a", false],
    ["a.*.>", "a.b.c", true],
    ["a.*.>", "a.b", false],
    ["vexil.http.*", "vexil.http.flags", true],
    ["vexil.auth.>", "vexil.auth.env-keys.issue", true],
    ["vexil.auth.*", "vexil.auth.env-keys.issue", false],
    ["vexil.http.auth", "vexil.http.authz", false],
  ])("%s against %s → %p", (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe("JSON helpers and BusError", () => {
  test("encodeJson and decodeJson round-trip UTF-8 JSON", () => {
    const value = { a: 1, b: ["x", null, true], c: "ünïcødé ✓" };
    const bytes = encodeJson(value);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(bytes)).toBe(JSON.stringify(value));
    expect(decodeJson(bytes)).toEqual(value);
  });

  test("BusError carries its kind and the subject", () => {
    const e = new BusError("no_responders", "vexil.auth.verify");
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("BusError");
    expect(e.kind).toBe("no_responders");
    expect(e.message).toBe("no responders on vexil.auth.verify");
  });
});
