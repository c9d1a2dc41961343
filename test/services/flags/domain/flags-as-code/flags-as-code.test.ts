/**
 * Flags as code over the in-memory store: the file's parsing limits, the published JSON Schema,
 * and plans that change variations, prerequisites between new flags, segments, and policy refusals.
 */
import { describe, expect, test } from "bun:test";
import Ajv2020 from "ajv/dist/2020";
import { parse } from "yaml";
import { applyItems, applyProject } from "@vexil/flags/domain/flags-as-code/apply";
import { exportProject } from "@vexil/flags/domain/flags-as-code/export";
import { MAX_FILE_BYTES, SCHEMA_PATH, fileJsonSchema, parseFileText, readFile } from "@vexil/flags/domain/flags-as-code/file-format";
import { planProject } from "@vexil/flags/domain/flags-as-code/plan";
import { variationKeys } from "@vexil/flags/domain/flags-as-code/variation-keys";
import { createFlag } from "@vexil/flags/domain/flags/flags";
import { admin, memoryContext, reader, rejection } from "../memory-context.ts";
import { ROOT } from "../../../../support/process.ts";

const ENVS = `version: 1
environments:
  production: {name: Production, color: FF0000, critical: false, requireComments: false, confirmChanges: false, defaultTtl: 0, secureMode: false, defaultTrackEvents: false}
  test: {name: Test, color: 00FF00, critical: false, requireComments: false, confirmChanges: false, defaultTtl: 0, secureMode: false, defaultTrackEvents: false}
`;

async function exported(ctx: Awaited<ReturnType<typeof memoryContext>>["ctx"], env?: string) {
  return (await exportProject(ctx, admin, "shop", { env })).text;
}

describe("parsing a file", () => {
  test("refuses more than 1 MiB, duplicate keys, alias bombs, unknown fields and wrong types, naming where", () => {
    const big = `version: 1\n# ${"x".repeat(MAX_FILE_BYTES)}\n`;
    expect(() => parseFileText(big)).toThrow(/larger than 1048576 bytes/);
    expect(() => parseFileText("a: 1\nb: 2\na: 3\n")).toThrow(/duplicate key at line 3/);
    expect(() => parseFileText('{"a": 1, "a": 2}')).toThrow(/duplicate key/);
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 12; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`);
    expect(() => parseFileText(bomb.join("\n"))).toThrow(/too many aliases/);
    // A few aliases are fine: a clause list shared by two rules.
    expect(parseFileText("a: &c [1, 2]\nb: *c\n")).toEqual({ a: [1, 2], b: [1, 2] });
    expect(() => readFile(`${ENVS}flags: []\nextra: true\n`)).toThrow("/extra: Unexpected property");
    expect(() => readFile(`${ENVS}flags: [{key: a, name: A, variations: [{key: x, value: 1}, {key: y, value: 2}], defaults: {onVariation: x, offVariation: y}, tags: nope}]\n`)).toThrow("/flags/0/tags: Expected array");
    expect(() => readFile("version: 2\nenvironments: {}\nflags: []\n")).toThrow("/version");
    expect(readFile({ version: 1, environments: {}, flags: [] })).toEqual({ version: 1, environments: {}, flags: [] });
  });

  test("the published JSON Schema is the one the server checks, and accepts an exported file", async () => {
    const published = await Bun.file(`${ROOT}/${SCHEMA_PATH}`).json();
    expect(published).toEqual(fileJsonSchema());
    const validate = new Ajv2020({ strict: false }).compile(published);
    const { ctx } = await memoryContext();
    await createFlag(ctx, admin, "shop", { key: "banner", name: "Banner", variations: [{ value: "a" }, { value: "b" }] });
    const file = parse(await exported(ctx));
    expect(validate(file)).toBe(true);
    expect(validate({ ...file, nope: 1 })).toBe(false);
  });

  test("variation keys come from names, else values, else positions, and never clash or read as positions", () => {
    expect(variationKeys([{ value: true }, { value: false }])).toEqual(["true", "false"]);
    expect(variationKeys([{ value: 1, name: "Big Blue!" }, { value: 2 }, { value: { a: 1 } }, { value: "x", name: "Big blue" }])).toEqual(["big-blue", "v2", "variation-2", "big-blue-3"]);
  });
});

describe("plans", () => {
  test("variations added, renamed and removed; a new variation served at once", async () => {
    const { ctx } = await memoryContext();
    await createFlag(ctx, admin, "shop", { key: "color", name: "Color", variations: [{ value: "red", name: "Red" }, { value: "green", name: "Green" }, { value: "blue", name: "Blue" }], defaults: { onVariation: 0, offVariation: 1 } });
    const before = await exported(ctx);
    expect((await planProject(ctx, admin, "shop", { file: before })).items).toEqual([]);
    const edited = before
      .replace("      - key: blue\n        value: blue\n        name: Blue\n", "      - key: blue\n        value: navy\n        name: Blue\n      - key: pink\n        value: pink\n        name: Pink\n")
      .replace("      - key: green\n        value: green\n        name: Green\n", "")
      .replace("      offVariation: green", "      offVariation: red")
      .replaceAll("        offVariation: green\n        fallthrough:\n          variation: red", "        offVariation: red\n        fallthrough:\n          variation: pink");
    const plan = await planProject(ctx, admin, "shop", { file: edited });
    expect(plan.items.length).toBe(1);
    expect(plan.items[0]!.instructions.map((i) => `${i.kind}${i.environmentKey ? `@${i.environmentKey}` : ""}`)).toEqual([
      "updateVariation",
      "addVariation",
      "updateDefaultVariation",
      "updateOffVariation@production",
      "updateFallthroughVariationOrRollout@production",
      "updateOffVariation@test",
      "updateFallthroughVariationOrRollout@test",
      "removeVariation",
    ]);
    const report = await applyProject(ctx, admin, "shop", { plan, comment: "recolor" });
    expect(report.errors).toEqual([]);
    expect(await exported(ctx)).toBe(edited);
    expect((await planProject(ctx, admin, "shop", { file: edited })).items).toEqual([]);
  });

  test("new flags are created with their prerequisites first, and new segments before flags", async () => {
    const { ctx } = await memoryContext();
    const file = `${ENVS}flags:
  - key: a-dependent
    name: Dependent
    variations: [{key: "yes", value: true}, {key: "no", value: false}]
    defaults: {onVariation: "yes", offVariation: "no"}
    environments:
      production:
        on: true
        fallthrough: {variation: "yes"}
        prerequisites: [{flag: z-base, variation: gold}]
        rules:
          - clauses: [{attribute: key, op: segmentMatch, values: [vips]}]
            variation: "no"
  - key: z-base
    name: Base
    variations: [{key: gold, value: gold}, {key: silver, value: silver}]
    defaults: {onVariation: gold, offVariation: silver}
segments:
  production:
    - {key: vips, name: VIPs, included: [ann], excludedContexts: [{contextKind: org, values: [evil]}]}
`;
    const plan = await planProject(ctx, admin, "shop", { file });
    expect(plan.items.map((i) => `${i.action} ${i.resource} ${i.key}`)).toEqual(["create segment vips", "create flag z-base", "create flag a-dependent"]);
    const report = await applyProject(ctx, admin, "shop", { plan, comment: "seed" });
    expect(report.errors).toEqual([]);
    expect((await planProject(ctx, admin, "shop", { file })).items).toEqual([]);
    // The segment moves a key between sides; its rules are replaced; prune removes it.
    const moved = file.replace("included: [ann]", "excluded: [ann]").replace("excludedContexts: [{contextKind: org, values: [evil]}]", "rules: [{clauses: [{attribute: country, op: in, values: [NL]}], weight: 1000}]");
    const segmentPlan = await planProject(ctx, admin, "shop", { file: moved });
    expect(segmentPlan.items[0]!.instructions.map((i) => i.kind)).toEqual(["removeIncludedTargets", "removeExcludedTargets", "addExcludedTargets", "addRule"]);
    expect((await applyProject(ctx, admin, "shop", { plan: segmentPlan })).errors).toEqual([]);
    expect((await planProject(ctx, admin, "shop", { file: moved })).items).toEqual([]);
  });

  test("cycles, unknown flags and variations are refused before anything changes", async () => {
    const { ctx } = await memoryContext();
    const flag = (key: string, prereq: string) => `  - key: ${key}
    name: ${key}
    variations: [{key: "on", value: true}, {key: "off", value: false}]
    defaults: {onVariation: "on", offVariation: "off"}
    environments:
      test:
        on: true
        fallthrough: {variation: "on"}
        prerequisites: [{flag: ${prereq}, variation: "on"}]
`;
    const cycle = `${ENVS}flags:\n${flag("a", "b")}${flag("b", "c")}${flag("c", "a")}`;
    expect((await rejection(planProject(ctx, admin, "shop", { file: cycle }))).message).toBe("file: prerequisite cycle in test: a → b → c → a");
    expect((await rejection(applyProject(ctx, admin, "shop", { file: cycle }))).message).toContain("prerequisite cycle");
    expect((await rejection(planProject(ctx, admin, "shop", { file: `${ENVS}flags:\n${flag("a", "ghost")}` }))).message).toContain('no flag "ghost"');
    expect((await rejection(planProject(ctx, admin, "shop", { file: `${ENVS}flags:\n${flag("a", "a")}` }))).message).toContain("its own prerequisite");
    expect(await exported(ctx)).not.toContain("key: a");
  });

  test("a caller without write permission gets each item refused, and nothing changes", async () => {
    const { ctx } = await memoryContext();
    const file = `${ENVS}flags:\n  - {key: f, name: F, variations: [{key: a, value: 1}, {key: b, value: 2}], defaults: {onVariation: a, offVariation: b}}\n`;
    const report = await applyProject(ctx, reader, "shop", { file });
    expect(report.applied).toEqual([]);
    expect(report.errors.length).toBe(1);
    expect(await exported(ctx)).not.toContain("key: f");
  });

  test("an apply out of time leaves the rest of the plan as remaining, and applying that finishes it", async () => {
    const { ctx } = await memoryContext();
    const flags = ["a", "b", "c"].map((k) => `  - {key: ${k}, name: ${k}, variations: [{key: x, value: 1}, {key: y, value: 2}], defaults: {onVariation: x, offVariation: y}}\n`).join("");
    const plan = await planProject(ctx, admin, "shop", { file: `${ENVS}flags:\n${flags}` });
    expect(plan.items.length).toBe(3);
    // Time for one item only.
    let calls = 0;
    const first = await applyItems(ctx, admin, "shop", plan, "part", () => (calls++ === 0 ? 10_000 : 0));
    expect(first.applied.map((o) => o.key)).toEqual(["a"]);
    expect(first.pending.map((o) => o.key)).toEqual(["b", "c"]);
    expect(first.summary).toContain("2 left for another call");
    const rest = await applyProject(ctx, admin, "shop", { plan: first.remaining, comment: "rest" });
    expect(rest.applied.map((o) => o.key)).toEqual(["b", "c"]);
    expect(rest.pending).toEqual([]);
    expect(rest.remaining).toBeUndefined();
    expect((await planProject(ctx, admin, "shop", { file: `${ENVS}flags:\n${flags}` })).items).toEqual([]);
  });
});
