/**
 * Clause operators, comparing one context value `a` with one clause value `b`. Each operator has a
 * type test both sides must pass, or the answer is false: no coercion, so `"42"` is not `42` and
 * `lessThan` never reads a numeric string. Unknown operators never match.
 */
import { safeRegexTest } from "./regex-match.ts";
import { compareSemVer, parseSemVer } from "./semver.ts";

type Operator = (a: unknown, b: unknown) => boolean;

const isString = (v: unknown): v is string => typeof v === "string";
const isNumber = (v: unknown): v is number => typeof v === "number";

// RFC 3339 with a time and a zone, as Go's time.RFC3339Nano reads it; only the start is checked.
const DATE = /^\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d\d*)?(Z|[-+]\d\d(:\d\d)?)/;
const isDate = (v: unknown): v is number | string => typeof v === "number" || (typeof v === "string" && DATE.test(v));
const epochMillis = (v: number | string) => (typeof v === "number" ? v : Date.parse(v));

const strings = (test: (a: string, b: string) => boolean): Operator => (a, b) => isString(a) && isString(b) && test(a, b);
const numbers = (test: (a: number, b: number) => boolean): Operator => (a, b) => isNumber(a) && isNumber(b) && test(a, b);
const dates = (test: (a: number, b: number) => boolean): Operator => (a, b) => isDate(a) && isDate(b) && test(epochMillis(a), epochMillis(b));
const semVers = (test: (order: number) => boolean): Operator => (a, b) => {
  const x = parseSemVer(a);
  if (!x) return false;
  const y = parseSemVer(b);
  return !!y && test(compareSemVer(x, y));
};

const OPERATORS: Record<string, Operator> = {
  in: (a, b) => a === b,
  endsWith: strings((a, b) => a.endsWith(b)),
  startsWith: strings((a, b) => a.startsWith(b)),
  matches: strings((a, b) => safeRegexTest(b, a)),
  contains: strings((a, b) => a.includes(b)),
  lessThan: numbers((a, b) => a < b),
  lessThanOrEqual: numbers((a, b) => a <= b),
  greaterThan: numbers((a, b) => a > b),
  greaterThanOrEqual: numbers((a, b) => a >= b),
  before: dates((a, b) => a < b),
  after: dates((a, b) => a > b),
  semVerEqual: semVers((order) => order === 0),
  semVerLessThan: semVers((order) => order < 0),
  semVerGreaterThan: semVers((order) => order > 0),
};

const NEVER: Operator = () => false;

/** The operator named `op`; `segmentMatch` is not one, clauses handle it. */
export function operator(op: unknown): Operator {
  return (typeof op === "string" && Object.prototype.hasOwnProperty.call(OPERATORS, op) && OPERATORS[op]) || NEVER;
}
