/**
 * The semantic-patch engine: runs a list of instructions, in order, on a draft of a document,
 * each through the table of instruction kinds of its family. A family (flags, segments; later
 * expiring targets, scheduled changes, approvals) is a module of its own holding its draft type
 * and its table, one line per kind with the policy action it takes.
 *
 * Atomic: the first instruction that fails throws a 400 naming its index and kind, and the
 * caller, which gave a copy as the draft, keeps nothing of it.
 */
import { invalidRequest } from "@vexil/shared/errors";
import { isRecord } from "../validation.ts";

/** The parameters of one instruction: the instruction object itself. */
export type Params = Record<string, unknown>;

/** One instruction kind: the policy action it takes, and its change to a draft of the document. */
export interface InstructionKind<D> {
  action: string;
  run(d: D, p: Params): void;
}

/** A family's instruction kinds by name. */
export type InstructionTable<D> = Readonly<Record<string, InstructionKind<D>>>;

/** Why one instruction failed; the runner adds its index and kind. */
class Refusal extends Error {}

/** Refuses the instruction being run, for `reason`. */
export function refuse(reason: string): never {
  throw new Refusal(reason);
}

/** The instructions' shape: a non-empty array of objects whose kinds `table` has; a 400 naming the first that is not. */
function checkShape(instructions: unknown, table: InstructionTable<unknown>): asserts instructions is Params[] {
  if (!Array.isArray(instructions) || instructions.length === 0) throw invalidRequest("instructions: must be a non-empty array");
  instructions.forEach((instruction: unknown, i) => {
    if (!isRecord(instruction)) throw invalidRequest(`instruction ${i}: must be an object`);
    const name = instruction.kind;
    if (typeof name !== "string") throw invalidRequest(`instruction ${i}: kind must be a string`);
    if (!Object.hasOwn(table, name)) throw invalidRequest(`instruction ${i} (${name.slice(0, 100)}): unknown instruction kind`);
  });
}

/** Why one instruction of a partly successful run failed. */
export interface InstructionError {
  instructionIndex: number;
  message: string;
}

/**
 * Runs each instruction on its own copy of the draft (`copy`), in order: one that fails is
 * recorded and leaves the draft as it was, and the next runs on. For families whose requests may
 * partly succeed (expiring targets). Instructions that are not objects of a known kind make the
 * whole request a 400, as in `runInstructions`.
 */
export function runEach<D>(instructions: unknown, table: InstructionTable<D>, draft: D, copy: (d: D) => D): { draft: D; actions: string[]; errors: InstructionError[] } {
  checkShape(instructions, table as InstructionTable<unknown>);
  const actions = new Set<string>();
  const errors: InstructionError[] = [];
  let current = draft;
  instructions.forEach((instruction, i) => {
    const kind = table[instruction.kind as string]!;
    const next = copy(current);
    try {
      kind.run(next, instruction);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      errors.push({ instructionIndex: i, message: `${instruction.kind}: ${e.message}` });
      return;
    }
    current = next;
    actions.add(kind.action);
  });
  return { draft: current, actions: [...actions], errors };
}

/**
 * Runs the instructions in order on the draft, with the kinds of `table`. The first that fails
 * throws a 400 naming its index and kind. Returns the actions taken, deduplicated, in order of
 * first use.
 */
export function runInstructions<D>(instructions: unknown, table: InstructionTable<D>, draft: D): string[] {
  if (!Array.isArray(instructions) || instructions.length === 0) throw invalidRequest("instructions: must be a non-empty array");
  const actions = new Set<string>();
  instructions.forEach((instruction: unknown, i) => {
    if (!isRecord(instruction)) throw invalidRequest(`instruction ${i}: must be an object`);
    const name = instruction.kind;
    if (typeof name !== "string") throw invalidRequest(`instruction ${i}: kind must be a string`);
    const prefix = `instruction ${i} (${name.slice(0, 100)})`;
    // Own names only: "constructor" or "__proto__" is an unknown kind, not a property of every object.
    if (!Object.hasOwn(table, name)) throw invalidRequest(`${prefix}: unknown instruction kind`);
    const kind = table[name]!;
    try {
      kind.run(draft, instruction);
    } catch (e) {
      if (e instanceof Refusal) throw invalidRequest(`${prefix}: ${e.message}`);
      throw e;
    }
    actions.add(kind.action);
  });
  return [...actions];
}
