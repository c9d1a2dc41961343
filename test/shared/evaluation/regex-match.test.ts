import { describe, expect, test } from "bun:test";
import { MAX_PATTERN_LENGTH, safeRegexTest } from "@vexil/shared/evaluation/regex-match";
import { prng } from "./case-generator.ts";

/** `RegExp.test`, the answer safeRegexTest must give for every pattern it accepts. */
function native(pattern: string, input: string): boolean | undefined {
  try {
    return new RegExp(pattern).test(input);
  } catch {
    return undefined;
  }
}

const ATOMS = [
  "a", "b", ".", "\\d", "\\w", "\\s", "\\D", "\\W", "\\S", "[ab]", "[^a]", "[a-c]", "[\\d-z]", "[]", "[^]", "\\b", "\\B", "^", "$",
  "\\x41", "\\u0062", "\\101", "\\12", "\\0", "\\8", "\\c", "\\cA", "[\\cA]", "[\\c1]", "[\\c]", "{", "}", "]", "\\-", "[a-]", "[-a]",
  "\\1", "\\k", "A", "1", "-", " ", "\\n", "[\\b]", "\\/", "\\.", "\\u{41}", "\\p{L}", "(?<n>a)", "[\\s\\S]",
];
const QUANTIFIERS = ["", "", "", "*", "+", "?", "*?", "+?", "??", "{2}", "{1,3}", "{0,}", "{2,}?", "{,2}", "{1,x}", "{"];
const INPUT_UNITS = ["a", "b", "A", "1", " ", "\n", "_", "-", "{", "}", "]", "\\", "8", "\u0001", "\u0011", "\t", "\u00a0", "\u2028"];

function randomPattern(next: () => number, depth: number): string {
  const pick = <T,>(items: T[]) => items[Math.floor(next() * items.length)]!;
  let pattern = "";
  for (let n = 1 + Math.floor(next() * 4); n > 0; n--) {
    const r = next();
    let term: string;
    if (depth > 0 && r < 0.15) term = `(${randomPattern(next, depth - 1)})`;
    else if (depth > 0 && r < 0.22) term = `(?:${randomPattern(next, depth - 1)}|${randomPattern(next, depth - 1)})`;
    else if (depth > 0 && r < 0.27) term = `${pick(["(?=", "(?!", "(?<=", "(?<!"])}${randomPattern(next, depth - 1)})`;
    else term = pick(ATOMS);
    pattern += term + pick(QUANTIFIERS);
  }
  return next() < 0.1 ? `${pattern}|${randomPattern(next, depth - 1)}` : pattern;
}

describe("safeRegexTest", () => {
  test("gives RegExp.test's answer on 20,000 random patterns (backreferences aside)", () => {
    const next = prng(7);
    let compared = 0;
    const differences: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const pattern = randomPattern(next, 2);
      let input = "";
      for (let n = Math.floor(next() * 8); n > 0; n--) input += INPUT_UNITS[Math.floor(next() * INPUT_UNITS.length)];
      const expected = native(pattern, input);
      const actual = safeRegexTest(pattern, input);
      if (expected === undefined) expect(actual).toBe(false);
      else if (expected !== actual && !/\\[1-9]|\\k</.test(pattern)) differences.push(`${JSON.stringify(pattern)} on ${JSON.stringify(input)}`);
      compared++;
    }
    expect(differences).toEqual([]);
    expect(compared).toBe(20_000);
  });

  test("class escapes and the dot agree with RegExp on every code unit", () => {
    for (const pattern of ["\\s", "\\S", "\\w", "\\W", "\\d", ".", "[^\\s]", "\\b", "[\\cZ]", "\\cz", "[\\c_]", "\\377", "\\400", "[\\b]"]) {
      const re = new RegExp(pattern);
      const differing: number[] = [];
      for (let c = 0; c <= 0xffff; c++) {
        const s = String.fromCharCode(c);
        if (re.test(s) !== safeRegexTest(pattern, s)) differing.push(c);
      }
      expect({ pattern, differing }).toEqual({ pattern, differing: [] });
    }
  });

  test("lookarounds, anchors and alternation", () => {
    expect(safeRegexTest("^(?!bob)", "alice")).toBe(true);
    expect(safeRegexTest("^(?!bob)", "bobby")).toBe(false);
    expect(safeRegexTest("(?<=@)example\\.com$", "a@example.com")).toBe(true);
    expect(safeRegexTest("(?<!@)example", "a@example")).toBe(false);
    expect(safeRegexTest("^(?=.*\\d)(?=.*[a-z]).{6,}$", "abc123")).toBe(true);
    expect(safeRegexTest("^(?=.*\\d)(?=.*[a-z]).{6,}$", "abcdef")).toBe(false);
    expect(safeRegexTest("US|FR", "in FR")).toBe(true);
    expect(safeRegexTest("", "anything")).toBe(true);
  });

  test("catastrophic patterns finish quickly", () => {
    const started = performance.now();
    expect(safeRegexTest("^(a+)+$", "a".repeat(50_000) + "b")).toBe(false);
    expect(safeRegexTest("(x+x+)+y", "x".repeat(100_000))).toBe(false);
    expect(safeRegexTest("^(a|a)*$", "a".repeat(50_000) + "b")).toBe(false);
    expect(safeRegexTest("^(a|aa)+$", "a".repeat(50_000))).toBe(true);
    expect(safeRegexTest(".*.*.*.*.*=.*", "x".repeat(20_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test("refused patterns never match", () => {
    expect(safeRegexTest("(a)\\1", "aa")).toBe(false); // backreferences are not regular
    expect(safeRegexTest("(?<x>a)\\k<x>", "aa")).toBe(false);
    expect(safeRegexTest("a".repeat(MAX_PATTERN_LENGTH + 1), "a".repeat(MAX_PATTERN_LENGTH + 1))).toBe(false);
    expect(safeRegexTest("((a{100}){100}){100}", "a")).toBe(false); // over the state limit
    expect(safeRegexTest("(", "(")).toBe(false); // not a regular expression at all
  });

  test("an input too long for the step budget is a non-match", () => {
    const pattern = "[ab]{0,1000}c"; // about 2,000 states
    expect(safeRegexTest(pattern, "a".repeat(1_000) + "c")).toBe(true);
    expect(safeRegexTest(pattern, "a".repeat(10_000) + "c")).toBe(false);
  });

  test("octal, identity and control escapes read as JavaScript reads them", () => {
    expect(safeRegexTest("^\\12$", "\n")).toBe(true); // no 12 groups: octal
    expect(safeRegexTest("^\\8$", "8")).toBe(true);
    expect(safeRegexTest("^\\c1$", "\\c1")).toBe(true); // \c without a letter is a backslash
    expect(safeRegexTest("^a{1,x}$", "a{1,x}")).toBe(true); // not a quantifier: literal braces
    expect(safeRegexTest("^\\u{2}$", "uu")).toBe(true); // no u flag: `\u` then a quantifier
  });
});
