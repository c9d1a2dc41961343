/**
 * Semantic versions for the semVer* operators, parsed as server SDKs parse them: strict SemVer 2.0
 * first (a leading `v` is refused before parsing, surrounding whitespace tolerated, at most 256
 * characters, no component above 2^53 - 1); failing that, a leading `1`, `1.2` or `1.2.3` is padded
 * with `.0` components and the rest of the string kept (`1.2-beta` reads as `1.2.0-beta`).
 */

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Numeric identifiers as numbers, others as strings. */
  prerelease: (number | string)[];
}

const MAX_LENGTH = 256;
const NUMERIC = "0|[1-9]\\d*";
const IDENTIFIER = `(?:${NUMERIC}|\\d*[a-zA-Z-][a-zA-Z0-9-]*)`;
const STRICT = new RegExp(
  `^v?(${NUMERIC})\\.(${NUMERIC})\\.(${NUMERIC})(?:-(${IDENTIFIER}(?:\\.${IDENTIFIER})*))?(?:\\+[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*)?$`,
);
const LEADING_COMPONENTS = /^\d+(\.\d+)?(\.\d+)?/;
const DIGITS = /^[0-9]+$/;

function parseStrict(text: string): SemVer | undefined {
  if (text.length > MAX_LENGTH) return undefined;
  const m = STRICT.exec(text.trim());
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3]);
  if (major > Number.MAX_SAFE_INTEGER || minor > Number.MAX_SAFE_INTEGER || patch > Number.MAX_SAFE_INTEGER) return undefined;
  const prerelease = m[4]
    ? m[4].split(".").map((id) => {
        if (DIGITS.test(id)) {
          const n = Number(id);
          if (n < Number.MAX_SAFE_INTEGER) return n;
        }
        return id;
      })
    : [];
  return { major, minor, patch, prerelease };
}

export function parseSemVer(input: unknown): SemVer | undefined {
  if (typeof input !== "string" || input.startsWith("v")) return undefined;
  const strict = parseStrict(input);
  if (strict) return strict;
  const m = LEADING_COMPONENTS.exec(input);
  if (!m) return undefined;
  const padding = (m[1] === undefined ? ".0" : "") + (m[2] === undefined ? ".0" : "");
  return parseStrict(m[0] + padding + input.slice(m[0].length));
}

/** Numeric identifiers compare as numbers and sort before alphanumeric ones. */
function compareIdentifiers(a: number | string, b: number | string): number {
  const aNumeric = DIGITS.test(String(a));
  const bNumeric = DIGITS.test(String(b));
  if (aNumeric && bNumeric) {
    a = Number(a);
    b = Number(b);
  }
  if (a === b) return 0;
  if (aNumeric && !bNumeric) return -1;
  if (bNumeric && !aNumeric) return 1;
  return a < b ? -1 : 1;
}

/** Negative, zero or positive; build metadata never counts, and a prerelease sorts first. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  const main = compareIdentifiers(a.major, b.major) || compareIdentifiers(a.minor, b.minor) || compareIdentifiers(a.patch, b.patch);
  if (main) return main;
  if (a.prerelease.length && !b.prerelease.length) return -1;
  if (!a.prerelease.length && b.prerelease.length) return 1;
  for (let i = 0; ; i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined && y === undefined) return 0;
    if (y === undefined) return 1;
    if (x === undefined) return -1;
    if (x === y) continue;
    return compareIdentifiers(x, y);
  }
}
