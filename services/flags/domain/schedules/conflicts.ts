/**
 * Conflicts between scheduled changes of one flag in one environment. Two instructions conflict
 * when they change the same thing: the same kind, naming the same parts of the flag — the same
 * `ruleId`, `clauseId`, `variationId`, prerequisite or property `key` and `contextKind` (each
 * absent counts as a value) — and, for instructions with a `values` list (targets, tags, clause
 * values), sharing at least one value. So two `turnFlagOn` conflict (the second is redundant, or
 * undoes what ran between them), `turnFlagOn` and a later `turnFlagOff` do not, and adding
 * `alice` and `bob` to one variation's targets do not. Instructions are read defensively: they
 * were checked against the flag, not for this.
 */
import type { Conflict, ScheduledItem } from "../../storage/schedule-store.ts";

const NAMES = ["kind", "ruleId", "clauseId", "variationId", "key", "contextKind"] as const;

interface Touch {
  what: string;
  values: Set<string> | undefined;
}

function touchOf(instruction: unknown): Touch {
  const o = typeof instruction === "object" && instruction !== null ? (instruction as Record<string, unknown>) : {};
  const what = JSON.stringify(NAMES.map((n) => (typeof o[n] === "string" || typeof o[n] === "number" ? o[n] : null)));
  const values = Array.isArray(o.values) ? new Set(o.values.map((v) => JSON.stringify(v))) : undefined;
  return { what, values };
}

const overlap = (a: Set<string> | undefined, b: Set<string> | undefined) => a === undefined || b === undefined || [...a].some((v) => b.has(v));

const kindOf = (instruction: unknown) => String((instruction as { kind?: unknown } | null)?.kind ?? "");

/** The pending changes (other than `self`) whose instructions change what `instructions` change, with why. */
export function conflictsOf(instructions: unknown[], others: ScheduledItem[], self?: string): Conflict[] {
  const mine = instructions.map(touchOf);
  const found: Conflict[] = [];
  for (const other of others) {
    if (other.id === self || other.kind !== "flagChange" || other.status !== "pending") continue;
    const theirs = (other.instructions ?? []).map(touchOf);
    const clash = mine.flatMap((m, i) => theirs.flatMap((t, j) => (m.what === t.what && overlap(m.values, t.values) ? [[i, j] as const] : [])))[0];
    if (clash) {
      const [i, j] = clash;
      found.push({ _id: other.id, reason: `instruction ${i} (${kindOf(instructions[i]).slice(0, 100)}) changes what its instruction ${j} changes, at ${new Date(other.dueAt).toISOString()}` });
    }
  }
  return found;
}
