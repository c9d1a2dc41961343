import { describe, expect, test } from "bun:test";
import { composedJson, jsonAnswer, jsonText, keptJson, keptJsonShallow } from "@vexil/shared/http/json-answer";
import { deepFreeze } from "@vexil/shared/json-clone";

describe("jsonAnswer", () => {
  test("answers JSON with the status given", async () => {
    const res = jsonAnswer({ a: 1, b: ["x"] }, 201);
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(await res.json()).toEqual({ a: 1, b: ["x"] });
  });

  test("a value that is not frozen is encoded as it is at each answer", async () => {
    const value: { n: number } = { n: 1 };
    expect(await jsonAnswer(value).json()).toEqual({ n: 1 });
    value.n = 2;
    expect(await jsonAnswer(value).json()).toEqual({ n: 2 });
  });

  test("a frozen value is encoded once: every answer carries the same text, and each answer's headers are its own", async () => {
    const value = deepFreeze({ key: "f", environments: { test: { on: true } } });
    const first = jsonAnswer(value);
    const second = jsonAnswer(value);
    first.headers.set("x-request-id", "one");
    expect(second.headers.get("x-request-id")).toBeNull();
    expect(await first.text()).toBe(JSON.stringify(value));
    expect(await second.text()).toBe(JSON.stringify(value));
    expect(Object.isFrozen(value.environments.test)).toBe(true);
  });
});

describe("jsonText and keptJson", () => {
  test("jsonText encodes any JSON value; an object not frozen is encoded as it is now", () => {
    expect(jsonText(null)).toBe("null");
    expect(jsonText("a\nb")).toBe('"a\\nb"');
    const value: { n: number } = { n: 1 };
    expect(jsonText(value)).toBe('{"n":1}');
    value.n = 2;
    expect(jsonText(value)).toBe('{"n":2}');
  });

  test("keptJson freezes the value all through and its text is the one jsonText and jsonAnswer give", async () => {
    const shared = { values: ["a", "b"] };
    const value = keptJson({ key: "f", environments: { test: { on: true, targets: [shared] } } });
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.environments.test.targets[0]!.values)).toBe(true);
    expect(() => {
      (value.environments.test as { on: boolean }).on = false;
    }).toThrow();
    const text = '{"key":"f","environments":{"test":{"on":true,"targets":[{"values":["a","b"]}]}}}';
    expect(jsonText(value)).toBe(text);
    expect(await jsonAnswer(value).text()).toBe(text);
  });

  test("keptJsonShallow freezes the top level and keeps the text as encoded then", async () => {
    const value = keptJsonShallow({ key: "f", tags: ["a"] });
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.tags)).toBe(false);
    expect(jsonText(value)).toBe('{"key":"f","tags":["a"]}');
    expect(await jsonAnswer(value).text()).toBe('{"key":"f","tags":["a"]}');
  });
});

describe("composedJson", () => {
  test("gives JSON.stringify's text for any JSON value, at any depth", () => {
    const values: unknown[] = [
      null,
      0,
      "a\u2028\"b",
      [1, [2, { x: undefined }]],
      { a: undefined, b: () => 1, c: null, "2": "two", "1": "one", d: { "e\n": [{ f: 1 }], g: undefined }, __proto__x: 1 },
      JSON.parse('{"__proto__": {"x": 1}, "y": [true]}'),
      { date: new Date(0), nested: { deeper: { deepest: { n: 1 } } } },
    ];
    for (const value of values) for (const depth of [0, 1, 2, 3, 5]) expect(composedJson(value, depth)).toBe(JSON.stringify(value));
  });

  test("a frozen part is written as the text kept for it: encoded once, whoever holds it", () => {
    const rules = deepFreeze([{ _id: "r1", clauses: [] as unknown[] }]);
    const first = { key: "f", environments: { production: { on: true, rules } } };
    expect(composedJson(first, 3)).toBe(JSON.stringify(first));
    const second = { key: "f", environments: { production: { on: false, rules } }, config: { rules } };
    const encoded: unknown[] = [];
    const stringify = JSON.stringify;
    JSON.stringify = ((value: unknown, ...rest: []) => {
      encoded.push(value);
      return stringify(value, ...rest);
    }) as typeof JSON.stringify;
    let text: string;
    try {
      text = composedJson(second, 3);
    } finally {
      JSON.stringify = stringify;
    }
    expect(text).toBe(JSON.stringify(second));
    // Written twice, encoded by nobody this time: the text kept the first time.
    expect(encoded.length).toBeGreaterThan(0);
    expect(encoded.some((v) => v === rules || v === rules[0])).toBe(false);
    // Parts that are not frozen are encoded as they are now.
    const open = { rules: [{ _id: "r1" }] };
    expect(composedJson(open, 2)).toBe('{"rules":[{"_id":"r1"}]}');
    open.rules[0]!._id = "r2";
    expect(composedJson(open, 2)).toBe('{"rules":[{"_id":"r2"}]}');
  });

  test("keptJsonShallow keeps the composed text", () => {
    const rules = deepFreeze([{ _id: "r1" }]);
    const value = keptJsonShallow({ key: "f", environments: { test: { rules, on: true } } });
    expect(jsonText(value)).toBe(JSON.stringify(value));
  });
});
