/** The policy table: every permission check in Vexil goes through `decide`. */
import { describe, expect, test } from "bun:test";
import { decide, isAllowed, parseSpecifier, specifierMatches, statementProblems, type Resource, type Statement } from "@vexil/shared/policy";

const proj = (key: string, tags: string[] = []) => ({ type: "proj", key, tags });
const env = (key: string, tags: string[] = [], critical = false) => ({ type: "env", key, tags, properties: { critical } });
const flag = (key: string, tags: string[] = []) => ({ type: "flag", key, tags });

const flagIn = (p: string, e: string, f: string, opts: { ptags?: string[]; etags?: string[]; ftags?: string[]; critical?: boolean } = {}): Resource => [
  proj(p, opts.ptags),
  env(e, opts.etags, opts.critical),
  flag(f, opts.ftags),
];

const allow = (resources: string[], actions: string[]): Statement => ({ effect: "allow", resources, actions });
const deny = (resources: string[], actions: string[]): Statement => ({ effect: "deny", resources, actions });

// [description, statements, action, resource, expected]
const table: Array<[string, Statement[], string, Resource, "allow" | "deny" | "none"]> = [
  ["no statements: nothing granted", [], "updateOn", flagIn("a", "test", "f"), "none"],
  ["exact resource and action", [allow(["proj/a:env/test:flag/f"], ["updateOn"])], "updateOn", flagIn("a", "test", "f"), "allow"],
  ["other action not granted", [allow(["proj/a:env/test:flag/f"], ["updateOn"])], "updateRules", flagIn("a", "test", "f"), "none"],
  ["other env not granted", [allow(["proj/a:env/test:flag/*"], ["updateOn"])], "updateOn", flagIn("a", "production", "f"), "none"],
  ["flag glob", [allow(["proj/a:env/test:flag/*"], ["updateOn"])], "updateOn", flagIn("a", "test", "anything"), "allow"],
  ["project glob", [allow(["proj/*:env/test:flag/f"], ["updateOn"])], "updateOn", flagIn("zzz", "test", "f"), "allow"],
  ["prefix glob on key", [allow(["proj/*:env/qa_*:flag/*"], ["*"])], "updateOn", flagIn("a", "qa_1", "f"), "allow"],
  ["prefix glob misses", [allow(["proj/*:env/qa_*:flag/*"], ["*"])], "updateOn", flagIn("a", "prod", "f"), "none"],
  ["suffix glob", [allow(["proj/*:env/*:flag/*-beta"], ["*"])], "updateOn", flagIn("a", "e", "checkout-beta"), "allow"],
  ["middle glob", [allow(["proj/*:env/*:flag/new-*-flow"], ["*"])], "updateOn", flagIn("a", "e", "new-checkout-flow"), "allow"],
  ["glob dot is literal", [allow(["proj/a.b"], ["*"])], "updateName", [proj("axb")], "none"],
  ["action glob", [allow(["proj/*:env/*:flag/*"], ["update*"])], "updateTargets", flagIn("a", "e", "f"), "allow"],
  ["action glob misses", [allow(["proj/*:env/*:flag/*"], ["update*"])], "deleteFlag", flagIn("a", "e", "f"), "none"],
  ["star action", [allow(["proj/*:env/*:flag/*"], ["*"])], "deleteFlag", flagIn("a", "e", "f"), "allow"],
  ["depth must match: project pattern vs flag", [allow(["proj/*"], ["*"])], "updateOn", flagIn("a", "e", "f"), "none"],
  ["depth must match: flag pattern vs project", [allow(["proj/*:env/*:flag/*"], ["*"])], "updateName", [proj("a")], "none"],
  ["type must match", [allow(["proj/*:env/*:segment/*"], ["*"])], "updateOn", flagIn("a", "e", "f"), "none"],
  ["explicit deny wins over allow", [allow(["proj/*:env/*:flag/*"], ["*"]), deny(["proj/*:env/production:flag/*"], ["*"])], "updateOn", flagIn("a", "production", "f"), "deny"],
  ["deny elsewhere does not block", [allow(["proj/*:env/*:flag/*"], ["*"]), deny(["proj/*:env/production:flag/*"], ["*"])], "updateOn", flagIn("a", "test", "f"), "allow"],
  ["deny order does not matter", [deny(["proj/*:env/production:flag/*"], ["updateOn"]), allow(["proj/*:env/*:flag/*"], ["*"])], "updateOn", flagIn("a", "production", "f"), "deny"],
  ["deny of one action only", [allow(["proj/*:env/*:flag/*"], ["*"]), deny(["proj/*:env/*:flag/*"], ["deleteFlag"])], "updateOn", flagIn("a", "production", "f"), "allow"],
  ["deny alone is a deny", [deny(["proj/*"], ["*"])], "updateName", [proj("a")], "deny"],
  ["tag selector matches", [allow(["proj/*:env/*:flag/*;mobile"], ["*"])], "updateOn", flagIn("a", "e", "f", { ftags: ["web", "mobile"] }), "allow"],
  ["tag selector misses", [allow(["proj/*:env/*:flag/*;mobile"], ["*"])], "updateOn", flagIn("a", "e", "f", { ftags: ["web"] }), "none"],
  ["two tags are AND: both present", [allow(["proj/*:env/*:flag/*;tag1,tag2"], ["*"])], "updateOn", flagIn("a", "e", "f", { ftags: ["tag2", "tag1"] }), "allow"],
  ["two tags are AND: one missing", [allow(["proj/*:env/*:flag/*;tag1,tag2"], ["*"])], "updateOn", flagIn("a", "e", "f", { ftags: ["tag1"] }), "none"],
  ["tag glob on env", [allow(["proj/*:env/*;qa_*:flag/*"], ["*"])], "updateOn", flagIn("a", "e", "f", { etags: ["qa_eu"] }), "allow"],
  ["tag on project scope", [allow(["proj/*;team-a:env/*:flag/*"], ["*"])], "updateOn", flagIn("a", "e", "f", { ptags: ["team-b"] }), "none"],
  ["untagged resource vs tag selector", [allow(["proj/*;x"], ["*"])], "updateName", [proj("a")], "none"],
  ["property selector critical:true matches", [deny(["proj/*:env/*;{critical:true}:flag/*"], ["*"])], "updateOn", flagIn("a", "prod", "f", { critical: true }), "deny"],
  ["property selector critical:true misses", [deny(["proj/*:env/*;{critical:true}:flag/*"], ["*"]), allow(["proj/*:env/*:flag/*"], ["*"])], "updateOn", flagIn("a", "dev", "f"), "allow"],
  ["notResources: applies outside", [{ effect: "allow", notResources: ["proj/*:env/production:flag/*"], actions: ["*"] }], "updateOn", flagIn("a", "test", "f"), "allow"],
  ["notResources: not inside", [{ effect: "allow", notResources: ["proj/*:env/production:flag/*"], actions: ["*"] }], "updateOn", flagIn("a", "production", "f"), "none"],
  ["notActions: other actions", [{ effect: "allow", resources: ["proj/*:env/*:flag/*"], notActions: ["deleteFlag"] }], "updateOn", flagIn("a", "e", "f"), "allow"],
  ["notActions: the named action", [{ effect: "allow", resources: ["proj/*:env/*:flag/*"], notActions: ["deleteFlag"] }], "deleteFlag", flagIn("a", "e", "f"), "none"],
  ["notActions deny blocks all but listed", [allow(["proj/*:env/*:flag/*"], ["*"]), { effect: "deny", resources: ["proj/*:env/*:flag/*"], notActions: ["updateOn"] }], "updateRules", flagIn("a", "e", "f"), "deny"],
  ["notActions deny spares listed", [allow(["proj/*:env/*:flag/*"], ["*"]), { effect: "deny", resources: ["proj/*:env/*:flag/*"], notActions: ["updateOn"] }], "updateOn", flagIn("a", "e", "f"), "allow"],
  ["account scope without a name", [allow(["acct"], ["*"])], "updateAccountToken", [{ type: "acct" }], "allow"],
  ["member token scope", [allow(["member/*:token/*"], ["*"])], "deleteAccessToken", [{ type: "member", key: "m1" }, { type: "token", key: "t1" }], "allow"],
  ["one member's tokens only", [allow(["member/m1:token/*"], ["*"])], "deleteAccessToken", [{ type: "member", key: "m2" }, { type: "token", key: "t1" }], "none"],
  ["several resources: any may match", [allow(["proj/x", "proj/y"], ["updateName"])], "updateName", [proj("y")], "allow"],
  ["several actions: any may match", [allow(["proj/*"], ["updateName", "updateTags"])], "updateTags", [proj("y")], "allow"],
  ["statement without resources grants nothing", [{ effect: "allow", actions: ["*"] }], "updateName", [proj("y")], "none"],
  ["statement without actions grants nothing", [{ effect: "allow", resources: ["proj/*"] }], "updateName", [proj("y")], "none"],
  ["issue example: updateOn in test", [allow(["proj/a:env/test:flag/*"], ["updateOn"])], "updateOn", flagIn("a", "test", "any"), "allow"],
  ["issue example: not in production", [allow(["proj/a:env/test:flag/*"], ["updateOn"])], "updateOn", flagIn("a", "production", "any"), "none"],
  ["key with regex characters is literal", [allow(["proj/a+b"], ["*"])], "updateName", [proj("a+b")], "allow"],
  ["regex characters do not act as regex", [allow(["proj/a+b"], ["*"])], "updateName", [proj("aab")], "none"],
];

describe("policy decisions", () => {
  test("the table has at least 40 cases", () => expect(table.length).toBeGreaterThanOrEqual(40));
  for (const [name, statements, action, resource, expected] of table) {
    test(name, () => {
      expect(decide(statements, action, resource)).toBe(expected);
      expect(isAllowed(statements, action, resource)).toBe(expected === "allow");
    });
  }
});

describe("resource specifiers", () => {
  test("parse the grammar of the reference", () => {
    for (const spec of [
      "proj/*",
      "proj/default",
      "proj/*;mobile",
      "proj/*:env/production:flag/*",
      "proj/*:env/*;qa_*",
      "proj/*:env/*;qa_*:flag/*",
      "proj/*:env/*:flag/*;tag1,tag2",
      "proj/*:env/*;{critical:true}:flag/*",
      "acct",
      "member/*:token/*",
    ]) {
      expect(() => parseSpecifier(spec)).not.toThrow();
    }
  });

  test("refuse what is not a specifier", () => {
    for (const spec of ["", "proj/", "Proj/*", "proj/*:", "proj/*;", "proj/*;{critical:true", "proj/*;}x{", "/x", "proj/*;a,,b"]) {
      expect(() => parseSpecifier(spec)).toThrow();
    }
  });

  test("match scope by scope", () => {
    expect(specifierMatches("proj/*:env/*", [proj("a"), env("b")])).toBe(true);
    expect(specifierMatches("proj/a:env/b", [proj("a"), env("c")])).toBe(false);
  });
});

describe("statement validation", () => {
  test("accepts well-formed statements", () => {
    expect(statementProblems([allow(["proj/*"], ["*"]), { effect: "deny", notResources: ["proj/a"], notActions: ["updateName"] }])).toEqual([]);
  });

  test("names each problem", () => {
    expect(statementProblems("nope")).toEqual(["policy must be an array of statements"]);
    const problems = statementProblems([
      { effect: "maybe", resources: ["proj/*"], actions: ["*"] },
      { effect: "allow", resources: ["proj/*"], notResources: ["proj/a"], actions: ["*"] },
      { effect: "allow", resources: ["proj/"], actions: ["*"] },
      { effect: "allow", resources: ["proj/*"] },
      { effect: "allow", resources: [], actions: ["*"] },
      { effect: "allow", resources: ["proj/*"], actions: ["*"], extra: 1 },
      null,
    ]);
    expect(problems.some((p) => p.startsWith("statement 0") && p.includes("effect"))).toBe(true);
    expect(problems.some((p) => p.startsWith("statement 1") && p.includes("exactly one"))).toBe(true);
    expect(problems.some((p) => p.startsWith("statement 2") && p.includes("proj/"))).toBe(true);
    expect(problems.some((p) => p.startsWith("statement 3") && p.includes("actions"))).toBe(true);
    expect(problems.some((p) => p.startsWith("statement 4") && p.includes("non-empty"))).toBe(true);
    expect(problems.some((p) => p.startsWith("statement 5") && p.includes("extra"))).toBe(true);
    expect(problems.some((p) => p.startsWith("statement 6"))).toBe(true);
  });
});
