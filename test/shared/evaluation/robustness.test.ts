/**
 * Data that breaks the format (a list that is a string, a rule that is null) must give an answer,
 * never an exception: streaming evaluates whatever a store holds.
 */
import { expect, test } from "bun:test";
import { evaluate, type SdkFlag, type SdkSegment } from "@vexil/shared/evaluation/evaluate";
import { generateCases, prng } from "./case-generator.ts";

const JUNK: unknown[] = [null, undefined, 0, -1, 1.5, "", "x", true, {}, [], [null], [{}], { values: "x" }];

/** Every (object, property) pair reachable from `root`, arrays included. */
function slots(root: unknown, out: [Record<string, unknown>, string][] = []): [Record<string, unknown>, string][] {
  if (root && typeof root === "object") {
    for (const key of Object.keys(root)) {
      out.push([root as Record<string, unknown>, key]);
      slots((root as Record<string, unknown>)[key], out);
    }
  }
  return out;
}

test("evaluate answers, without throwing, on 5,000 cases with junk spliced into flags, segments and contexts", () => {
  const next = prng(99);
  const kinds = new Set<string>();
  for (const c of generateCases(1234, 5_000)) {
    const world = structuredClone({ flags: c.flags, segments: c.segments, context: c.context });
    // Keys stay (they are how the store finds things), and so do the two maps themselves.
    const targets = slots(world).filter(([owner, key]) => key !== "key" && !(owner === world && key !== "context"));
    for (let n = 1 + Math.floor(next() * 4); n > 0 && targets.length; n--) {
      const [owner, key] = targets[Math.floor(next() * targets.length)]!;
      owner[key] = JUNK[Math.floor(next() * JUNK.length)];
    }
    const flags = world.flags as Record<string, SdkFlag>;
    const segments = world.segments as Record<string, SdkSegment>;
    const store = { flag: (k: string) => (Object.hasOwn(flags, k) ? flags[k] : undefined), segment: (k: string) => (Object.hasOwn(segments, k) ? segments[k] : undefined) };
    const result = evaluate(store.flag(c.flagKey), world.context, store, { defaultValue: c.defaultValue });
    kinds.add(result.reason.kind);
    expect(result.variationIndex === null || typeof result.variationIndex === "number").toBe(true);
  }
  expect([...kinds].sort()).toEqual(["ERROR", "FALLTHROUGH", "OFF", "PREREQUISITE_FAILED", "RULE_MATCH", "TARGET_MATCH"]);
});
