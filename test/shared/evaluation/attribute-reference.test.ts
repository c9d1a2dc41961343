import { describe, expect, test } from "bun:test";
import { attributeReference, attributeValue, isKindReference } from "@vexil/shared/evaluation/attribute-reference";

describe("attributeReference", () => {
  test.each([
    ["name", ["name"]],
    ["/name", ["name"]],
    ["/address/city", ["address", "city"]],
    ["/a~1b", ["a/b"]],
    ["/a~0b", ["a~b"]],
    ["/a~01", ["a~1"]],
    ["/x/a~1b/c~0d", ["x", "a/b", "c~d"]],
    ["a/b", ["a/b"]], // no leading slash: one name, never split
    ["/a/", ["a", ""]],
    // A component that starts with `~` stays escaped, as in SDKs.
    ["/~1x", ["~1x"]],
    ["/a/~0b", ["a", "~0b"]],
    // `~|` and `~^` slip through SDK validation.
    ["/a~|", ["a~|"]],
  ])("%p is the path %p", (text, components) => {
    const ref = attributeReference(text, false);
    expect(ref.valid).toBe(true);
    expect(ref.components).toEqual(components);
  });

  test.each(["", "/", "//a", "/a//b", "/a~2", "/a~", "a~", "_meta", "/_meta", "/_meta/privateAttributes"])("%p is invalid", (text) => {
    expect(attributeReference(text, false).valid).toBe(false);
  });

  test("a literal is one name taken as written; only the empty name is invalid", () => {
    expect(attributeReference("/a~1b", true).components).toEqual(["/a~1b"]);
    expect(attributeReference("_meta", true).components).toEqual(["_meta"]);
    expect(attributeReference("//", true).valid).toBe(true);
    expect(attributeReference("", true).valid).toBe(false);
  });

  test("kind is recognised as a reference or a literal", () => {
    expect(isKindReference(attributeReference("kind", true))).toBe(true);
    expect(isKindReference(attributeReference("/kind", false))).toBe(true);
    expect(isKindReference(attributeReference("/kind/x", false))).toBe(false);
  });
});

describe("attributeValue", () => {
  const attributes = { key: "k", address: { city: "Paris", "a/b": 1 }, list: [{ x: 1 }], "a~b": "tilde", anonymous: "yes", nothing: null };
  const value = (text: string, literal = false) => attributeValue(attributeReference(text, literal), attributes);

  test("walks objects, never arrays", () => {
    expect(value("/address/city")).toBe("Paris");
    expect(value("/address/a~1b")).toBe(1);
    expect(value("/a~0b")).toBe("tilde");
    expect(value("/list/0")).toBeUndefined();
    expect(value("/list")).toEqual([{ x: 1 }]);
    expect(value("/address/city/length")).toBeUndefined();
    expect(value("/nothing")).toBeNull();
  });

  test("reads only own properties", () => {
    expect(value("toString")).toBeUndefined();
    expect(value("/address/constructor")).toBeUndefined();
  });

  test("anonymous is always a boolean", () => {
    expect(value("anonymous")).toBe(true);
    expect(attributeValue(attributeReference("anonymous", true), { key: "k" })).toBe(false);
    expect(attributeValue(attributeReference("anonymous", true), undefined)).toBeUndefined();
  });
});
