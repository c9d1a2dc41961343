import { describe, expect, test } from "bun:test";
import { jsonAnswer } from "@vexil/shared/http/json-answer";
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
