/**
 * Parses a JavaScript regular expression (no flags: case-sensitive, not multiline, UTF-16 code
 * units, web-compatibility syntax of ECMAScript Annex B) into a tree a linear-time matcher can run.
 * Only patterns that `new RegExp` accepts reach this parser, so it trusts their syntax and
 * resolves the ambiguous parts as JavaScript does: `\8` is "8", `\12` is an octal escape unless
 * the pattern has 12 groups, `{` that starts no quantifier is a literal, `\c` without a letter is
 * a backslash. Backreferences and unknown group syntax are refused: they are not regular, and a
 * matcher without backtracking cannot run them.
 */

/** Code-unit ranges as a flat sorted list `[lo0, hi0, lo1, hi1, ...]`, merged. */
export type CodeRanges = number[];

export type RegexNode =
  | { type: "set"; ranges: CodeRanges }
  | { type: "seq"; items: RegexNode[] }
  | { type: "alt"; alternatives: RegexNode[] }
  | { type: "repeat"; node: RegexNode; min: number; max: number }
  | { type: "assert"; kind: AssertionKind }
  | LookaroundNode;

export type AssertionKind = "start" | "end" | "boundary" | "nonBoundary";

export interface LookaroundNode {
  type: "look";
  behind: boolean;
  negated: boolean;
  node: RegexNode;
  /** Position in `ParsedRegex.lookarounds`; inner lookarounds come first. */
  id: number;
}

export interface ParsedRegex {
  root: RegexNode;
  lookarounds: LookaroundNode[];
}

export class UnsupportedPattern extends Error {}

const MAX_CODE = 0xffff;
const DIGIT: CodeRanges = [48, 57];
const WORD: CodeRanges = [48, 57, 65, 90, 95, 95, 97, 122];
const SPACE: CodeRanges = [9, 13, 32, 32, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff];
const LINE_TERMINATORS: CodeRanges = [10, 10, 13, 13, 0x2028, 0x2029];

function normalize(pairs: CodeRanges): CodeRanges {
  const sorted: [number, number][] = [];
  for (let i = 0; i < pairs.length; i += 2) sorted.push([pairs[i]!, pairs[i + 1]!]);
  sorted.sort((x, y) => x[0] - y[0]);
  const out: CodeRanges = [];
  for (const [lo, hi] of sorted) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last]! + 1) out[last] = Math.max(out[last]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

function complement(ranges: CodeRanges): CodeRanges {
  const out: CodeRanges = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i]! > next) out.push(next, ranges[i]! - 1);
    next = ranges[i + 1]! + 1;
  }
  if (next <= MAX_CODE) out.push(next, MAX_CODE);
  return out;
}

const DOT = complement(LINE_TERMINATORS);
const CLASS_ESCAPES: Record<string, CodeRanges> = { d: DIGIT, D: complement(DIGIT), w: WORD, W: complement(WORD), s: SPACE, S: complement(SPACE) };
const CONTROL_ESCAPES: Record<string, number> = { f: 12, n: 10, r: 13, t: 9, v: 11 };
const isOctal = (c: string | undefined) => c !== undefined && c >= "0" && c <= "7";
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const HEX2 = /[0-9a-fA-F]{2}/y;
const HEX4 = /[0-9a-fA-F]{4}/y;
const BRACED_QUANTIFIER = /\{(\d+)(?:(,)(\d*))?\}/y;
const EMPTY: RegexNode = { type: "seq", items: [] };

/** Capturing groups decide whether `\N` is a backreference; named groups make `\k` one. */
function countGroups(p: string): { groups: number; named: boolean } {
  let groups = 0;
  let named = false;
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\") i++;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "(") {
      if (p[i + 1] !== "?") groups++;
      else if (p[i + 2] === "<" && p[i + 3] !== "=" && p[i + 3] !== "!") {
        groups++;
        named = true;
      }
    }
  }
  return { groups, named };
}

class Parser {
  private i = 0;
  readonly lookarounds: LookaroundNode[] = [];
  private readonly groups: number;
  private readonly named: boolean;

  constructor(private readonly p: string) {
    ({ groups: this.groups, named: this.named } = countGroups(p));
  }

  parse(): RegexNode {
    const root = this.disjunction();
    if (this.i !== this.p.length) throw new UnsupportedPattern("unbalanced parenthesis");
    return root;
  }

  private disjunction(): RegexNode {
    const alternatives = [this.alternative()];
    while (this.p[this.i] === "|") {
      this.i++;
      alternatives.push(this.alternative());
    }
    return alternatives.length === 1 ? alternatives[0]! : { type: "alt", alternatives };
  }

  private alternative(): RegexNode {
    const items: RegexNode[] = [];
    while (this.i < this.p.length && this.p[this.i] !== "|" && this.p[this.i] !== ")") items.push(this.term());
    return items.length === 1 ? items[0]! : { type: "seq", items };
  }

  private close(): void {
    if (this.p[this.i] !== ")") throw new UnsupportedPattern("unbalanced parenthesis");
    this.i++;
  }

  private lookaround(behind: boolean, negated: boolean, prefixLength: number): LookaroundNode {
    this.i += prefixLength;
    const node = this.disjunction();
    this.close();
    const look: LookaroundNode = { type: "look", behind, negated, node, id: this.lookarounds.length };
    this.lookarounds.push(look);
    return look;
  }

  private term(): RegexNode {
    const { p, i } = this;
    const c = p[i];
    if (c === "^" || c === "$") {
      this.i++;
      return { type: "assert", kind: c === "^" ? "start" : "end" };
    }
    if (c === "\\" && (p[i + 1] === "b" || p[i + 1] === "B")) {
      this.i += 2;
      return { type: "assert", kind: p[i + 1] === "b" ? "boundary" : "nonBoundary" };
    }
    if (p.startsWith("(?<=", i) || p.startsWith("(?<!", i)) return this.lookaround(true, p[i + 3] === "!", 4);
    if (p.startsWith("(?=", i) || p.startsWith("(?!", i)) {
      // Lookaheads may carry a quantifier (Annex B): optional ones always pass, others test once.
      const look = this.lookaround(false, p[i + 2] === "!", 3);
      const repeat = this.quantifier();
      return repeat && repeat.min === 0 ? EMPTY : look;
    }
    let atom: RegexNode;
    if (c === "(") {
      if (p.startsWith("(?:", i)) this.i += 3;
      else if (p.startsWith("(?<", i)) this.i = p.indexOf(">", i) + 1;
      else if (p[i + 1] === "?") throw new UnsupportedPattern(`unsupported group syntax at ${i}`);
      else this.i++;
      atom = this.disjunction();
      this.close();
    } else atom = this.atom();
    const repeat = this.quantifier();
    return repeat ? { type: "repeat", node: atom, ...repeat } : atom;
  }

  private quantifier(): { min: number; max: number } | undefined {
    const c = this.p[this.i];
    let min: number;
    let max: number;
    if (c === "*" || c === "+" || c === "?") {
      this.i++;
      min = c === "+" ? 1 : 0;
      max = c === "?" ? 1 : Infinity;
    } else if (c === "{") {
      BRACED_QUANTIFIER.lastIndex = this.i;
      const m = BRACED_QUANTIFIER.exec(this.p);
      if (!m) return undefined;
      this.i += m[0].length;
      min = Number(m[1]);
      max = m[2] ? (m[3] ? Number(m[3]) : Infinity) : min;
    } else return undefined;
    if (this.p[this.i] === "?") this.i++; // laziness changes which match, never whether one exists
    return { min, max };
  }

  private atom(): RegexNode {
    const c = this.p[this.i]!;
    if (c === ".") {
      this.i++;
      return { type: "set", ranges: DOT };
    }
    if (c === "[") return this.characterClass();
    if (c === "\\") {
      const escape = this.escape(false);
      return { type: "set", ranges: typeof escape === "number" ? [escape, escape] : escape };
    }
    this.i++;
    const code = c.charCodeAt(0);
    return { type: "set", ranges: [code, code] };
  }

  /** An escape at `\`: a code unit, or ranges for `\d`-style classes. */
  private escape(inClass: boolean): number | CodeRanges {
    const { p, i } = this;
    const c = p[i + 1];
    if (c === undefined) throw new UnsupportedPattern("trailing backslash");
    this.i += 2;
    if (c in CLASS_ESCAPES) return CLASS_ESCAPES[c]!;
    if (c in CONTROL_ESCAPES) return CONTROL_ESCAPES[c]!;
    if (inClass && c === "b") return 8;
    if (c === "c") {
      const letter = p[i + 2];
      const controls = inClass ? /^[A-Za-z0-9_]$/ : /^[A-Za-z]$/;
      if (letter !== undefined && controls.test(letter)) {
        this.i++;
        return letter.charCodeAt(0) % 32;
      }
      this.i = i + 1; // a lone `\c` is a backslash; the `c` is read next
      return 92;
    }
    if (c === "x" || c === "u") {
      const hex = c === "x" ? HEX2 : HEX4;
      hex.lastIndex = i + 2;
      const m = hex.exec(p);
      if (!m) return c.charCodeAt(0);
      this.i += m[0].length;
      return Number.parseInt(m[0], 16);
    }
    if (c === "k" && this.named) throw new UnsupportedPattern("named backreference");
    if (isDigit(c)) {
      if (!inClass && c !== "0") {
        let end = i + 1;
        while (isDigit(p[end])) end++;
        if (Number(p.slice(i + 1, end)) <= this.groups) throw new UnsupportedPattern("backreference");
      }
      if (c === "8" || c === "9") return c.charCodeAt(0);
      return this.legacyOctal(i + 1);
    }
    return c.charCodeAt(0);
  }

  /** `\0`-`\377`: up to three octal digits, the third only after a leading 0-3. */
  private legacyOctal(start: number): number {
    const p = this.p;
    let digits = 1;
    if (isOctal(p[start + 1])) {
      digits = 2;
      if (p[start]! <= "3" && isOctal(p[start + 2])) digits = 3;
    }
    this.i = start + digits;
    return Number.parseInt(p.slice(start, start + digits), 8);
  }

  private classAtom(): number | CodeRanges {
    if (this.p[this.i] === "\\") return this.escape(true);
    return this.p.charCodeAt(this.i++);
  }

  private characterClass(): RegexNode {
    const p = this.p;
    this.i++;
    const negated = p[this.i] === "^";
    if (negated) this.i++;
    const pairs: CodeRanges = [];
    const add = (atom: number | CodeRanges) => (typeof atom === "number" ? pairs.push(atom, atom) : pairs.push(...atom));
    while (p[this.i] !== "]") {
      if (this.i >= p.length) throw new UnsupportedPattern("unterminated class");
      const from = this.classAtom();
      if (p[this.i] === "-" && p[this.i + 1] !== "]" && this.i + 1 < p.length) {
        this.i++;
        const to = this.classAtom();
        // A class escape at either end makes the dash literal (Annex B).
        if (typeof from === "number" && typeof to === "number") pairs.push(from, to);
        else {
          add(from);
          pairs.push(45, 45);
          add(to);
        }
      } else add(from);
    }
    this.i++;
    const ranges = normalize(pairs);
    return { type: "set", ranges: negated ? complement(ranges) : ranges };
  }
}

/** Throws `UnsupportedPattern` for syntax a linear-time matcher cannot run. */
export function parseRegex(pattern: string): ParsedRegex {
  const parser = new Parser(pattern);
  const root = parser.parse();
  return { root, lookarounds: parser.lookarounds };
}
