/** Evaluation counts read into a batch of flag usage: what does not have the message's shape is left out. */
import { expect, test } from "bun:test";
import { usageBatchOf } from "@vexil/flags/domain/flags/usage-reports";

const flag = (over: Record<string, unknown> = {}) => ({ count: 3, lastRequested: 1_000, variations: { 0: { count: 2, lastRequested: 900 }, "-1": { count: 1, lastRequested: 1_000 } }, ...over });

test("a version 2 event becomes one report per flag, with the default when one was reported (null included)", () => {
  expect(usageBatchOf({ v: 2, environmentId: "env", flags: { a: flag({ default: false }), b: flag(), c: flag({ default: null }) } })).toEqual({
    environmentId: "env",
    flags: [
      { key: "a", lastRequested: 1_000, evaluations: 3, variations: { 0: { count: 2, lastRequested: 900 }, "-1": { count: 1, lastRequested: 1_000 } }, reportedDefault: { value: false } },
      { key: "b", lastRequested: 1_000, evaluations: 3, variations: { 0: { count: 2, lastRequested: 900 }, "-1": { count: 1, lastRequested: 1_000 } } },
      { key: "c", lastRequested: 1_000, evaluations: 3, variations: { 0: { count: 2, lastRequested: 900 }, "-1": { count: 1, lastRequested: 1_000 } }, reportedDefault: { value: null } },
    ],
  });
});

test("anything but a version 2 event is nothing", () => {
  for (const message of [null, [], "x", { v: 1, environmentId: "env", flags: {} }, { v: 2, flags: {} }, { v: 2, environmentId: "env", flags: [] }, { v: 2, environmentId: "e".repeat(141), flags: {} }]) {
    expect(usageBatchOf(message)).toBeUndefined();
  }
});

test("a flag entry of the wrong shape is left out, the rest kept", () => {
  const bad = [
    flag({ count: -1 }),
    flag({ count: 1.5 }),
    flag({ lastRequested: "now" }),
    flag({ variations: [] }),
    flag({ variations: { x: { count: 1, lastRequested: 1 } } }),
    flag({ variations: { "-2": { count: 1, lastRequested: 1 } } }),
    flag({ variations: { "01": { count: 1, lastRequested: 1 } } }),
    flag({ variations: { 0: { count: "1", lastRequested: 1 } } }),
    flag({ variations: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [String(i), { count: 1, lastRequested: 1 }])) }),
    "not an object",
  ];
  const flags = Object.fromEntries([...bad.map((b, i) => [`bad${i}`, b]), ["good", flag()]]);
  expect(usageBatchOf({ v: 2, environmentId: "env", flags })!.flags.map((f) => f.key)).toEqual(["good"]);
  expect(usageBatchOf({ v: 2, environmentId: "env", flags: { ["k".repeat(141)]: flag() } })!.flags).toEqual([]);
});
