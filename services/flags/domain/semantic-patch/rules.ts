/**
 * Rules and their clauses as instructions edit them, in flags and segments alike: finding the
 * rule `ruleId` names, reordering rules, and the five clause instructions.
 */
import { CLAUSE_OPS, type Clause, type ClauseOp } from "../flags/model.ts";
import { jsonEqual } from "../validation.ts";
import { refuse, type Params } from "./engine.ts";
import { list, object, optBool, optStr, str, strings, unique } from "./params.ts";

/** A rule as the clause instructions see it: a flag rule or a segment rule. */
export interface RuleWithClauses {
  _id: string;
  clauses: Clause[];
}

/** The rule that `ruleId` names. */
export function ruleIn<R extends { _id: string }>(rules: R[], o: Params): R {
  const id = str(o, "ruleId");
  return rules.find((r) => r._id === id) ?? refuse(`unknown rule "${id}"`);
}

/** The rules in the order `ruleIds` gives, which must list each of them exactly once. */
export function reorderedRules<R extends { _id: string }>(rules: R[], p: Params): R[] {
  const ids = strings(p, "ruleIds");
  const current = rules.map((r) => r._id);
  if (ids.length !== current.length || unique(ids).length !== ids.length || !current.every((id) => ids.includes(id))) {
    refuse(`ruleIds must list each current rule exactly once (${current.map((id) => `"${id}"`).join(", ") || "none"})`);
  }
  return ids.map((id) => rules.find((r) => r._id === id)!);
}

function clauseOf(rule: RuleWithClauses, o: Params): Clause {
  const id = str(o, "clauseId");
  return rule.clauses.find((c) => c._id === id) ?? refuse(`unknown clause "${id}" in rule "${rule._id}"`);
}

/** A clause from instruction parameters; `contextKind` defaults to user, `negate` to false. */
export function clauseFrom(v: unknown, at: string, id: string): Clause {
  const c = object(v, at);
  const op = str(c, "op", at);
  if (!(CLAUSE_OPS as readonly string[]).includes(op)) refuse(`${at}.op must be one of ${CLAUSE_OPS.join(", ")}`);
  return {
    _id: id,
    contextKind: optStr(c, "contextKind", at) || "user",
    attribute: str(c, "attribute", at),
    op: op as ClauseOp,
    values: [...list(c, "values", at)],
    negate: optBool(c, "negate", at) ?? false,
  };
}

/** The clause instructions, shared by flag and segment rules; each works on the rule `ruleId` named. */
export const CLAUSE_EDITS = {
  addClauses(rule: RuleWithClauses, p: Params, newId: () => string) {
    rule.clauses.push(...list(p, "clauses").map((c, i) => clauseFrom(c, `clauses[${i}]`, newId())));
  },
  removeClauses(rule: RuleWithClauses, p: Params) {
    const ids = strings(p, "clauseIds");
    const missing = ids.find((id) => !rule.clauses.some((c) => c._id === id));
    if (missing !== undefined) refuse(`unknown clause "${missing}" in rule "${rule._id}"`);
    rule.clauses = rule.clauses.filter((c) => !ids.includes(c._id));
  },
  updateClause(rule: RuleWithClauses, p: Params) {
    const clause = clauseOf(rule, p);
    rule.clauses[rule.clauses.indexOf(clause)] = clauseFrom(p.clause, "clause", clause._id);
  },
  addValuesToClause(rule: RuleWithClauses, p: Params) {
    const clause = clauseOf(rule, p);
    for (const v of list(p, "values")) if (!clause.values.some((x) => jsonEqual(x, v))) clause.values.push(v);
  },
  removeValuesFromClause(rule: RuleWithClauses, p: Params) {
    const clause = clauseOf(rule, p);
    const values = list(p, "values");
    clause.values = clause.values.filter((x) => !values.some((v) => jsonEqual(x, v)));
  },
};
