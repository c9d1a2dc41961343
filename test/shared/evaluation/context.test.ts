import { describe, expect, test } from "bun:test";
import { attributeReference } from "@vexil/shared/evaluation/attribute-reference";
import { parseContext, type EvaluationContext } from "@vexil/shared/evaluation/context";

function parsed(raw: unknown): EvaluationContext {
  const result = parseContext(raw);
  if (!result.ok) throw new Error(result.message);
  return result.context;
}

const literal = (name: string) => attributeReference(name, true);

describe("parseContext", () => {
  test("a single-kind context is read in place", () => {
    const raw = { kind: "org", key: "o1", plan: "pro" };
    const context = parsed(raw);
    expect(context.kinds).toEqual(["org"]);
    expect(context.attributes("org")).toBe(raw);
    expect(context.attributes("user")).toBeUndefined();
    expect(context.key("org")).toBe("o1");
  });

  test("a multi-kind context keeps each kind's object", () => {
    const user = { key: "u1", name: "Ann" };
    const context = parsed({ kind: "multi", user, org: { key: "o1" } });
    expect(context.isMulti).toBe(true);
    expect(context.kinds).toEqual(["user", "org"]);
    expect(context.attributes("user")).toBe(user);
    expect(context.value(literal("name"), "user")).toBe("Ann");
    expect(context.value(literal("kind"), "device")).toEqual(["user", "org"]);
  });

  test("a multi-kind context with one kind becomes a single-kind one", () => {
    const context = parsed({ kind: "multi", org: { key: "o1", kind: "ignored" } });
    expect(context.isMulti).toBe(false);
    expect(context.attributes("org")).toEqual({ key: "o1", kind: "org" });
  });

  test("a legacy user keeps custom and built-in attributes and drops the rest", () => {
    const context = parsed({
      key: 42,
      name: "Ann",
      secondary: "dropped",
      extra: "dropped",
      anonymous: 1,
      custom: { tier: "gold", name: "overridden", kind: "ignored" },
      privateAttributeNames: ["email"],
    });
    expect(context.kinds).toEqual(["user"]);
    expect(context.attributes("user")).toEqual({
      tier: "gold",
      name: "Ann",
      kind: "user",
      key: "42",
      anonymous: true,
      _meta: { privateAttributes: ["email"] },
    });
  });

  test("a legacy user may have an empty key and a null kind", () => {
    expect(parsed({ key: "", kind: null }).key("user")).toBe("");
  });

  test.each([
    ["nothing", undefined],
    ["null", null],
    ["a string", "user-1"],
    ["no key", { kind: "user" }],
    ["an empty key", { kind: "user", key: "" }],
    ["a numeric key", { kind: "user", key: 5 }],
    ["the kind 'kind'", { kind: "kind", key: "x" }],
    ["an invalid kind", { kind: "bad kind!", key: "x" }],
    ["an empty kind", { kind: "", key: "x" }],
    ["a non-string kind", { kind: 5, key: "x" }],
    ["a legacy user without key", { name: "x" }],
    ["an empty multi-kind context", { kind: "multi" }],
    ["a multi-kind part with a bad key", { kind: "multi", user: { key: 1 } }],
    ["a multi-kind part that is not an object", { kind: "multi", user: { key: "a" }, org: ["o"] }],
    ["a multi-kind part with an invalid kind", { kind: "multi", user: { key: "a" }, "bad kind": { key: "b" } }],
  ])("rejects %s", (_name, raw) => {
    expect(parseContext(raw).ok).toBe(false);
  });
});
