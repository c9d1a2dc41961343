/**
 * Editing a rule in place, for flag and segment rules alike: a rule's clauses as the form holds
 * them, and the difference between two versions of one rule's clauses as the clause instructions
 * (`removeClauses`, `updateClause`, `addValuesToClause`, `removeValuesFromClause`, `addClauses`).
 * A clause whose attribute, operator, context kind and negation are unchanged gets its values
 * added and removed, which keeps values someone else added meanwhile; any other change replaces
 * the clause (`updateClause`).
 */
import type { Clause, Instruction } from "./api.ts";

const NUMERIC = new Set(["lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual"]);

export interface DraftClause {
  /** The clause's id when it exists already; absent for a clause added in the form. */
  id?: string;
  contextKind?: string;
  attribute: string;
  op: string;
  /** Comma-separated, as typed. */
  values: string;
  negate: boolean;
  /** The clause's values as stored, to remove a value with its own type (a number stays a number). */
  stored?: unknown[];
}

export const listOf = (text: string) => text.split(",").map((v) => v.trim()).filter((v) => v !== "");

export const newClause = (): DraftClause => ({ attribute: "key", op: "in", values: "", negate: false });

export const draftClauseOf = (c: Clause): DraftClause => ({
  id: c._id,
  contextKind: c.contextKind,
  attribute: c.attribute,
  op: c.op,
  values: c.values.map(String).join(", "),
  negate: c.negate,
  stored: c.values,
});

/** The values as sent: numbers for the numeric operators, text otherwise. */
const typedValues = (c: DraftClause): unknown[] => (NUMERIC.has(c.op) ? listOf(c.values).map(Number) : listOf(c.values));

/** A clause as instructions carry it. */
export const clauseBody = (c: DraftClause) => ({ contextKind: c.contextKind ?? "user", attribute: c.attribute, op: c.op, negate: c.negate, values: typedValues(c) });

const sameShape = (a: DraftClause, b: DraftClause) => a.attribute === b.attribute && a.op === b.op && a.negate === b.negate && (a.contextKind ?? "user") === (b.contextKind ?? "user");

/** The instructions that turn rule `ruleId`'s clauses `before` into `after`. */
export function clauseEdits(ruleId: string, before: DraftClause[], after: DraftClause[]): Instruction[] {
  const out: Instruction[] = [];
  const kept = new Set(after.filter((c) => c.id !== undefined).map((c) => c.id));
  const removed = before.filter((c) => c.id !== undefined && !kept.has(c.id)).map((c) => c.id!);
  if (removed.length > 0) out.push({ kind: "removeClauses", ruleId, clauseIds: removed });
  for (const now of after) {
    const was = now.id === undefined ? undefined : before.find((c) => c.id === now.id);
    if (!was) continue;
    if (!sameShape(was, now)) {
      out.push({ kind: "updateClause", ruleId, clauseId: now.id, clause: clauseBody(now) });
      continue;
    }
    const [wasText, nowText] = [listOf(was.values), listOf(now.values)];
    const added = nowText.filter((v) => !wasText.includes(v));
    const gone = wasText.filter((v) => !nowText.includes(v));
    // A value removed is sent as it is stored, so the server's comparison finds it.
    if (gone.length > 0) out.push({ kind: "removeValuesFromClause", ruleId, clauseId: now.id, values: gone.map((v) => was.stored?.find((s) => String(s) === v) ?? v) });
    if (added.length > 0) out.push({ kind: "addValuesToClause", ruleId, clauseId: now.id, values: clauseBody({ ...now, values: added.join(",") }).values });
  }
  const fresh = after.filter((c) => c.id === undefined);
  if (fresh.length > 0) out.push({ kind: "addClauses", ruleId, clauses: fresh.map(clauseBody) });
  return out;
}

const valuesText = (values: unknown) => (values as unknown[]).map(String).join(", ");
export const clauseText = (c: Pick<Clause, "attribute" | "op" | "values" | "negate">) => `${c.attribute} ${c.negate ? "not " : ""}${c.op} ${c.values.map(String).join(", ")}`;

/** A rule as the review names it. */
export interface NamedRule {
  _id?: string;
  description?: string;
  clauses: Clause[];
}

/**
 * A rule edit (clauses, description) in words, naming the rule by its number and description and
 * a clause by what it says now; undefined for any other instruction.
 */
export function describeRuleEdit(i: Instruction, rules: NamedRule[]): string | undefined {
  const at = rules.findIndex((r) => r._id === i.ruleId);
  const rule = at < 0 ? `Rule ${String(i.ruleId)}` : `Rule ${at + 1}${rules[at]!.description ? ` (${rules[at]!.description})` : ""}`;
  const clause = (id: unknown) => {
    const c = rules[at]?.clauses.find((x) => x._id === id);
    return c ? `"${clauseText(c)}"` : `clause ${String(id)}`;
  };
  switch (i.kind) {
    case "removeClauses":
      return `${rule}: remove the clause ${(i.clauseIds as string[]).map(clause).join(", ")}`;
    case "updateClause":
      return `${rule}: change the clause ${clause(i.clauseId)} to "${clauseText(i.clause as Clause)}"`;
    case "addValuesToClause":
      return `${rule}: add ${valuesText(i.values)} to the clause ${clause(i.clauseId)}`;
    case "removeValuesFromClause":
      return `${rule}: remove ${valuesText(i.values)} from the clause ${clause(i.clauseId)}`;
    case "addClauses":
      return `${rule}: add the clause ${(i.clauses as Clause[]).map((c) => `"${clauseText(c)}"`).join(", ")}`;
    case "updateRuleDescription":
      return `${rule}: describe it as "${String(i.description)}"`;
    default:
      return undefined;
  }
}
