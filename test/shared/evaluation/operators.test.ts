import { describe, expect, test } from "bun:test";
import { operator } from "@vexil/shared/evaluation/operators";
import { compareSemVer, parseSemVer } from "@vexil/shared/evaluation/semver";

type Row = [op: string, a: unknown, b: unknown, expected: boolean];

const rows: Row[] = [
  // in: strict equality, no coercion, objects never equal
  ["in", "a", "a", true],
  ["in", 42, 42, true],
  ["in", "42", 42, false],
  ["in", true, true, true],
  ["in", null, null, true],
  ["in", { a: 1 }, { a: 1 }, false],
  // strings
  ["startsWith", "alice", "al", true],
  ["startsWith", "alice", "Al", false],
  ["startsWith", "alice", "", true],
  ["endsWith", "alice", "ice", true],
  ["endsWith", "alice", 1, false],
  ["contains", "alice", "lic", true],
  ["contains", "alice", "x", false],
  ["contains", 12345, "3", false],
  // matches: unanchored JavaScript regex, invalid ones never match
  ["matches", "alice", "^a", true],
  ["matches", "alice", "ce$", true],
  ["matches", "alice", "li", true],
  ["matches", "alice", "^l", false],
  ["matches", "alice", "[", false],
  ["matches", "alice", 5, false],
  ["matches", 5, "5", false],
  // numbers only
  ["lessThan", 1, 2, true],
  ["lessThan", 2, 2, false],
  ["lessThanOrEqual", 2, 2, true],
  ["greaterThan", 3, 2, true],
  ["greaterThanOrEqual", 2, 2, true],
  ["greaterThanOrEqual", "3", 2, false],
  ["lessThan", 1, "2", false],
  // dates: epoch milliseconds or RFC 3339 with time and zone
  ["before", 1000, 2000, true],
  ["before", "1970-01-01T00:00:01Z", 2000, true],
  ["after", "2020-01-01T01:00:00+01:00", "2019-12-31T23:59:59Z", true],
  ["after", "2020-01-01T00:00:00.500Z", 1577836800000, true],
  ["before", "2020-01-01", 1e15, false],
  ["before", "yesterday", 1e15, false],
  ["before", "2020-13-45T99:99:99Z", 1e15, false],
  ["after", true, 0, false],
  // semantic versions
  ["semVerEqual", "1.2.3", "1.2.3", true],
  ["semVerEqual", "1.2", "1.2.0", true],
  ["semVerEqual", "1", "1.0.0", true],
  ["semVerEqual", "1.2.3+build.1", "1.2.3", true],
  ["semVerEqual", "1.2-beta", "1.2.0-beta", true],
  ["semVerEqual", " 1.2.3 ", "1.2.3", true],
  ["semVerEqual", "v1.2.3", "1.2.3", false],
  ["semVerEqual", "01.2.3", "1.2.3", false],
  ["semVerEqual", "1.2.3.4", "1.2.3", false],
  ["semVerEqual", 1, "1.0.0", false],
  ["semVerLessThan", "1.2.3-beta", "1.2.3", true],
  ["semVerLessThan", "1.2.3-beta.2", "1.2.3-beta.10", true],
  ["semVerLessThan", "1.2.3-1", "1.2.3-alpha", true],
  ["semVerLessThan", "1.2.3-alpha", "1.2.3-alpha.1", true],
  ["semVerLessThan", "1.9.0", "1.10.0", true],
  ["semVerGreaterThan", "2.0.0", "1.99.99", true],
  ["semVerGreaterThan", "1.2.3", "1.2.3-rc.1", true],
  ["semVerGreaterThan", "99999999999999999999.0.0", "1.0.0", false],
  // unknown operators never match
  ["notAnOperator", "a", "a", false],
  ["toString", "a", "a", false],
];

describe("operators", () => {
  test.each(rows)("%s(%p, %p) is %p", (op, a, b, expected) => {
    expect(operator(op)(a, b)).toBe(expected);
  });
});

describe("semantic versions", () => {
  test("strict versions keep their prerelease identifiers", () => {
    expect(parseSemVer("1.2.3-alpha.7.x-y+build")).toEqual({ major: 1, minor: 2, patch: 3, prerelease: ["alpha", 7, "x-y"] });
  });

  test("leading components are padded and the rest kept", () => {
    expect(parseSemVer("2")).toEqual({ major: 2, minor: 0, patch: 0, prerelease: [] });
    expect(parseSemVer("2.1-rc.1")).toEqual({ major: 2, minor: 1, patch: 0, prerelease: ["rc", 1] });
    expect(parseSemVer("2.x")).toBeUndefined();
  });

  test.each(["v1.0.0", "", "1.0.0-", "1.0.0-01", "=1.0.0", "1.0.0".padEnd(257, "0"), "x"])("%p is not a version", (text) => {
    expect(parseSemVer(text)).toBeUndefined();
  });

  test("ordering follows SemVer 2.0", () => {
    const ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0"];
    for (let i = 1; i < ordered.length; i++) expect(compareSemVer(parseSemVer(ordered[i - 1])!, parseSemVer(ordered[i])!)).toBeLessThan(0);
  });
});
