/**
 * The semantic patch of a scheduled change: LaunchDarkly's three instruction kinds, one line each
 * with its policy action, run by the shared engine on a draft of the change. What the draft ends
 * as is checked by the use case (a date in the future, instructions the flag takes).
 */
import { invalidRequest } from "@vexil/shared/errors";
import { refuse, runInstructions, type InstructionTable } from "../semantic-patch/engine.ts";
import { isRecord } from "../validation.ts";

export interface ScheduledChangeDraft {
  executionDate: number;
  instructions: unknown[];
  deleted: boolean;
}

/** The most instructions one scheduled change holds. */
export const MAX_SCHEDULED_INSTRUCTIONS = 100;

/** Flag instructions as a scheduled change holds them: a non-empty list of objects with a kind. */
export function flagInstructions(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) refuse(`${name} must be a non-empty array of flag instructions`);
  if (value.length > MAX_SCHEDULED_INSTRUCTIONS) refuse(`${name} holds ${value.length} instructions; a scheduled change holds at most ${MAX_SCHEDULED_INSTRUCTIONS}`);
  value.forEach((i, n) => {
    if (!isRecord(i) || typeof i.kind !== "string") refuse(`${name}[${n}] must be an object with a kind`);
  });
  return value;
}

/** An execution date: whole epoch milliseconds that make a date. */
export function executionDate(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || value > 8.64e15) refuse(`${name} must be a date in epoch milliseconds`);
  return value;
}

const KINDS: InstructionTable<ScheduledChangeDraft> = {
  replaceScheduledChangesInstructions: { action: "updateScheduledChanges", run: (d, p) => void (d.instructions = flagInstructions(p.value, "value")) },
  updateScheduledChangesExecutionDate: { action: "updateScheduledChanges", run: (d, p) => void (d.executionDate = executionDate(p.value, "value")) },
  deleteScheduledChange: { action: "deleteScheduledChanges", run: (d) => void (d.deleted = true) },
};

export const SCHEDULED_CHANGE_INSTRUCTION_KINDS: readonly string[] = Object.keys(KINDS);

/** Runs the instructions on a copy of the change; returns the draft and the actions taken. */
export function applyScheduledChangeInstructions(current: Omit<ScheduledChangeDraft, "deleted">, instructions: unknown): { draft: ScheduledChangeDraft; actions: string[] } {
  if (Array.isArray(instructions) && instructions.length > MAX_SCHEDULED_INSTRUCTIONS) throw invalidRequest(`instructions: at most ${MAX_SCHEDULED_INSTRUCTIONS} in one request, not ${instructions.length}`);
  const draft: ScheduledChangeDraft = { executionDate: current.executionDate, instructions: current.instructions, deleted: false };
  const actions = runInstructions(instructions, KINDS, draft);
  return { draft, actions };
}
