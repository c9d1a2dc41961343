/** The per-variation summary of an environment that every flag representation carries. */
import { expect, test } from "bun:test";
import { environmentSummary, flagRep, type FlagRep } from "@vexil/flags/domain/flags/representation";
import { applyInstructions } from "@vexil/flags/domain/flags/semantic-patch";
import { booleanFlag, environment, semanticContext } from "./flag-fixtures.ts";
import { defaultEnvironment, type Flag, type FlagEnvironment } from "@vexil/flags/domain/flags/model";

const flag = { variations: [{ _id: "a", value: 1 }, { _id: "b", value: 2 }, { _id: "c", value: 3 }], defaults: { onVariation: 0, offVariation: 2 } } as unknown as Flag;

test("counts rules, rules without clauses and targeted keys per variation, and marks the fallthrough, rollout and off variation", () => {
  const env: FlagEnvironment = {
    ...defaultEnvironment(flag, 1),
    targets: [{ values: ["u1", "u2"], variation: 0 }, { values: ["u3"], variation: 1 }],
    contextTargets: [{ contextKind: "org", values: ["o1", "o2", "o3"], variation: 1 }, { contextKind: "org", values: ["o4"], variation: 7 }],
    rules: [
      { _id: "r1", clauses: [], variation: 1, trackEvents: false },
      { _id: "r2", clauses: [{ _id: "c1", attribute: "email", op: "in", values: ["x"], negate: false }], variation: 1, trackEvents: false },
      { _id: "r3", clauses: [], rollout: { variations: [{ variation: 0, weight: 100000 }] }, trackEvents: false },
      { _id: "r4", clauses: [], variation: 9, trackEvents: false },
    ],
    fallthrough: { rollout: { variations: [{ variation: 0, weight: 40000 }, { variation: 2, weight: 60000 }], bucketBy: "email" } },
    prerequisites: [{ key: "other", variation: 0 }],
  } as unknown as FlagEnvironment;
  expect(environmentSummary(flag, env)).toStrictEqual({
    prerequisites: 1,
    variations: {
      "0": { rules: 0, nullRules: 0, targets: 2, contextTargets: 0, rollout: 40000, bucketBy: "email" },
      "1": { rules: 2, nullRules: 1, targets: 1, contextTargets: 3 },
      "2": { rules: 0, nullRules: 0, targets: 0, contextTargets: 0, rollout: 60000, bucketBy: "email", isOff: true },
    },
  });
});

test("a fallthrough to one variation marks it", () => {
  const env = defaultEnvironment(flag, 1);
  expect(environmentSummary(flag, env).variations).toStrictEqual({
    "0": { rules: 0, nullRules: 0, targets: 0, contextTargets: 0, isFallthrough: true },
    "1": { rules: 0, nullRules: 0, targets: 0, contextTargets: 0 },
    "2": { rules: 0, nullRules: 0, targets: 0, contextTargets: 0, isOff: true },
  });
});

test("a representation built on the one before keeps the summary and page link of an environment changed in fields they do not count", () => {
  const stored = booleanFlag("f", { environments: { production: environment({ targets: [{ values: ["u1"], variation: 0 }] }), test: environment() } });
  const options = { projectKey: "p", environments: [{ key: "production", name: "Production" }, { key: "test", name: "Test" }] as never, summary: false };
  const before = flagRep(stored, options);
  const turnedOn = applyInstructions(stored, [{ kind: "turnFlagOn" }], semanticContext()).flag;
  const after = flagRep(turnedOn, options, { flag: stored, rep: before });
  const production = (rep: FlagRep) => rep.environments.production as { _summary: unknown; _site: unknown; on: boolean };
  expect(production(after).on).toBe(true);
  expect(production(after)._summary).toBe(production(before)._summary);
  expect(production(after)._site).toBe(production(before)._site);
  expect(after).toEqual(flagRep(turnedOn, options));
  // Targets counted in the summary: counted again.
  const targeted = applyInstructions(stored, [{ kind: "addTargets", variationId: "on", values: ["u2"] }], semanticContext()).flag;
  const recounted = flagRep(targeted, options, { flag: stored, rep: before });
  expect(production(recounted)._summary).not.toBe(production(before)._summary);
  expect(recounted).toEqual(flagRep(targeted, options));
  // In another project the page is another one.
  const moved = flagRep(turnedOn, { ...options, projectKey: "q" }, { flag: stored, rep: before });
  expect(production(moved)._site).toEqual({ href: "/q/production/features/f", type: "text/html" });
});
