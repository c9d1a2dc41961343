/**
 * The `matches` operator without the risk of catastrophic backtracking. A clause's pattern is
 * user input and JavaScript's backtracking engine can take exponential time on it (`^(a+)+$`
 * against "aaa…b"), so patterns never run on `RegExp`. Instead the pattern is compiled to an NFA
 * and simulated breadth-first (Thompson/Pike), which answers "does the pattern match anywhere"
 * — all `RegExp.test` tells — in time linear in the input. Lookarounds become per-position
 * tables, each filled by one scan (backwards for lookaheads), so they stay linear too.
 *
 * The bound: a pattern is refused, and the clause value treated as a non-match, when
 *  - it is longer than 2,000 characters, or `new RegExp` rejects it (SDKs also answer false), or
 *  - it uses backreferences or group syntax outside ES2018 (not regular), or
 *  - it compiles to more than 10,000 NFA states (counted repetition like `(a{100}){100}`);
 * and one test does at most 10 million state steps (states x (input length + 1), about a tenth
 * of a second at worst); an input that would take more is a non-match. Everything else gets
 * exactly `RegExp.test`'s answer. Compiled patterns are cached, the last 1,000 of them.
 */
import { parseRegex, UnsupportedPattern, type AssertionKind, type CodeRanges, type RegexNode } from "./regex-syntax.ts";

export const MAX_PATTERN_LENGTH = 2_000;
export const MAX_STATES = 10_000;
export const MAX_STEPS = 10_000_000;
const CACHE_SIZE = 1_000;

const LITERAL = 0;
const SET = 1;
const SPLIT = 2;
const ASSERT = 3;
const LOOK = 4;
const MATCH = 5;
const ASSERTIONS: AssertionKind[] = ["start", "end", "boundary", "nonBoundary"];

/** An NFA: state `s` is `op[s]` with its successor `out[s]` and operand `arg[s]`. */
interface Program {
  op: Uint8Array;
  out: Int32Array;
  arg: Int32Array;
  sets: Int32Array[];
  start: number;
}

interface Lookaround {
  program: Program;
  behind: boolean;
  negated: boolean;
}

interface Compiled {
  main: Program;
  lookarounds: Lookaround[];
  states: number;
  scratch: Scratch;
}

/** Saturating size in states, so absurd repetition counts stay finite. */
function size(node: RegexNode): number {
  const cap = (n: number) => Math.min(n, MAX_STATES + 1);
  switch (node.type) {
    case "set":
    case "assert":
    case "look":
      return 1;
    case "seq":
      return cap(node.items.reduce((sum, item) => sum + size(item), 0));
    case "alt":
      return cap(node.alternatives.reduce((sum, alt) => sum + size(alt), 0) + node.alternatives.length - 1);
    case "repeat": {
      const body = size(node.node);
      if (node.max === Infinity) return cap(Math.max(node.min, 1) * body + 1);
      return cap(node.min * body + (node.max - node.min) * (body + 1));
    }
  }
}

class Builder {
  private readonly op: number[] = [];
  private readonly out: number[] = [];
  private readonly arg: number[] = [];
  private readonly sets: Int32Array[] = [];

  constructor(private readonly reverse: boolean) {}

  private add(op: number, out: number, arg = 0): number {
    this.op.push(op);
    this.out.push(out);
    this.arg.push(arg);
    return this.op.length - 1;
  }

  /** Builds `node` followed by state `next`, back to front; returns the entry state. */
  private build(node: RegexNode, next: number): number {
    switch (node.type) {
      case "set": {
        const r = node.ranges;
        if (r.length === 2 && r[0] === r[1]) return this.add(LITERAL, next, r[0]);
        this.sets.push(Int32Array.from(r));
        return this.add(SET, next, this.sets.length - 1);
      }
      case "seq": {
        const items = this.reverse ? node.items : [...node.items].reverse();
        return items.reduce((state, item) => this.build(item, state), next);
      }
      case "alt": {
        const entries = node.alternatives.map((alt) => this.build(alt, next));
        return entries.reduceRight((rest, entry) => this.add(SPLIT, entry, rest));
      }
      case "assert":
        return this.add(ASSERT, next, ASSERTIONS.indexOf(node.kind));
      case "look":
        return this.add(LOOK, next, node.id);
      case "repeat": {
        let state = next;
        if (node.max === Infinity) {
          const loop = this.add(SPLIT, -1, next);
          const body = this.build(node.node, loop);
          this.out[loop] = body;
          state = node.min === 0 ? loop : body;
          for (let k = 1; k < node.min; k++) state = this.build(node.node, state);
          return state;
        }
        for (let k = node.min; k < node.max; k++) state = this.add(SPLIT, this.build(node.node, state), next);
        for (let k = 0; k < node.min; k++) state = this.build(node.node, state);
        return state;
      }
    }
  }

  program(node: RegexNode): Program {
    const start = this.build(node, this.add(MATCH, -1));
    return { op: Uint8Array.from(this.op), out: Int32Array.from(this.out), arg: Int32Array.from(this.arg), sets: this.sets, start };
  }
}

function inSet(set: Int32Array, c: number): boolean {
  for (let i = 0; i < set.length; i += 2) {
    if (c < set[i]!) return false;
    if (c <= set[i + 1]!) return true;
  }
  return false;
}

const isWord = (input: string, i: number) => {
  if (i < 0 || i >= input.length) return false;
  const c = input.charCodeAt(i);
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 95 || (c >= 97 && c <= 122);
};

function assertionHolds(kind: number, input: string, pos: number): boolean {
  switch (kind) {
    case 0:
      return pos === 0;
    case 1:
      return pos === input.length;
    case 2:
      return isWord(input, pos - 1) !== isWord(input, pos);
    default:
      return isWord(input, pos - 1) === isWord(input, pos);
  }
}

/** Buffers sized for the largest program of one pattern, reused by every run. */
class Scratch {
  current: Int32Array;
  next: Int32Array;
  mark: Int32Array;
  stack: Int32Array;
  generation = 0;

  constructor(states: number) {
    this.current = new Int32Array(states);
    this.next = new Int32Array(states);
    this.mark = new Int32Array(states);
    this.stack = new Int32Array(2 * states + 2);
  }
}

/**
 * Runs `program` over `input`, starting a new thread at every position. Forward, it returns at
 * the first accepting position when `table` is absent. With `table`, it records each position
 * where a match ends (forward) or starts (backward, for reversed lookahead programs).
 */
function run(program: Program, input: string, tables: Uint8Array[], scratch: Scratch, backward: boolean, table?: Uint8Array): boolean {
  const { op, out, arg, sets, start } = program;
  const { mark, stack } = scratch;
  let current = scratch.current;
  let next = scratch.next;
  let count = 0;
  let nextCount = 0;
  let matched = false;
  const n = input.length;

  const closure = (entry: number, pos: number, list: Int32Array, length: number): number => {
    const generation = scratch.generation;
    let sp = 0;
    stack[sp++] = entry;
    while (sp > 0) {
      const s = stack[--sp]!;
      if (mark[s] === generation) continue;
      mark[s] = generation;
      switch (op[s]) {
        case LITERAL:
        case SET:
          list[length++] = s;
          break;
        case SPLIT:
          stack[sp++] = arg[s]!;
          stack[sp++] = out[s]!;
          break;
        case ASSERT:
          if (assertionHolds(arg[s]!, input, pos)) stack[sp++] = out[s]!;
          break;
        case LOOK:
          if (tables[arg[s]!]![pos]) stack[sp++] = out[s]!;
          break;
        case MATCH:
          matched = true;
          break;
      }
    }
    return length;
  };

  const first = backward ? n : 0;
  if (scratch.generation > 0x3fffffff) {
    mark.fill(0);
    scratch.generation = 0;
  }
  scratch.generation++;
  for (let pos = first; ; pos += backward ? -1 : 1) {
    count = closure(start, pos, current, count);
    if (matched) {
      if (!table) return true;
      table[pos] = 1;
      matched = false;
    }
    if (backward ? pos === 0 : pos === n) return false;
    const c = input.charCodeAt(backward ? pos - 1 : pos);
    const to = backward ? pos - 1 : pos + 1;
    scratch.generation++;
    nextCount = 0;
    for (let k = 0; k < count; k++) {
      const s = current[k]!;
      if (op[s] === LITERAL ? arg[s] === c : inSet(sets[arg[s]!]!, c)) nextCount = closure(out[s]!, to, next, nextCount);
    }
    // A match reached while stepping belongs to the next position.
    const done = current;
    current = next;
    next = done;
    count = nextCount;
  }
}

function compile(pattern: string): Compiled | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) return undefined;
  try {
    new RegExp(pattern); // syntax errors are non-matches, as in SDKs
  } catch {
    return undefined;
  }
  let parsed;
  try {
    parsed = parseRegex(pattern);
  } catch (e) {
    if (e instanceof UnsupportedPattern) return undefined;
    throw e;
  }
  const sizes = [size(parsed.root) + 1, ...parsed.lookarounds.map((l) => size(l.node) + 1)];
  const states = sizes.reduce((a, b) => a + b, 0);
  if (states > MAX_STATES) return undefined;
  const lookarounds = parsed.lookarounds.map((l) => ({
    // Lookaheads run backwards over the input, so their program is built reversed.
    program: new Builder(!l.behind).program(l.node),
    behind: l.behind,
    negated: l.negated,
  }));
  return { main: new Builder(false).program(parsed.root), lookarounds, states, scratch: new Scratch(Math.max(...sizes)) };
}

const cache = new Map<string, Compiled | undefined>();

function compiled(pattern: string): Compiled | undefined {
  if (cache.has(pattern)) return cache.get(pattern);
  const result = compile(pattern);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(pattern, result);
  return result;
}

/** `new RegExp(pattern).test(input)`, within the bounds above; refused patterns never match. */
export function safeRegexTest(pattern: string, input: string): boolean {
  const regex = compiled(pattern);
  if (!regex || regex.states * (input.length + 1) > MAX_STEPS) return false;
  const tables: Uint8Array[] = [];
  for (const look of regex.lookarounds) {
    const table = new Uint8Array(input.length + 1);
    run(look.program, input, tables, regex.scratch, !look.behind, table);
    if (look.negated) for (let i = 0; i < table.length; i++) table[i] = table[i] ? 0 : 1;
    tables.push(table);
  }
  return run(regex.main, input, tables, regex.scratch, false);
}
