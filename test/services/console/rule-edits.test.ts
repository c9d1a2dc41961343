/** A rule's clauses edited in place, as clause instructions: the console's `rule-edits.ts`. */
import { expect, test } from "bun:test";
import { clauseEdits, draftClauseOf, describeRuleEdit, type DraftClause } from "@vexil/console/src/rule-edits";

const country = draftClauseOf({ _id: "c1", contextKind: "user", attribute: "country", op: "in", values: ["de", "fr"], negate: false });
const age = draftClauseOf({ _id: "c2", contextKind: "user", attribute: "age", op: "greaterThan", values: [18, 21], negate: false });

test("an unchanged rule gives nothing", () => {
  expect(clauseEdits("r", [country, age], [country, age])).toEqual([]);
});

test("only values changed: added and removed, a removed value as stored (a number stays a number)", () => {
  const edited: DraftClause[] = [{ ...country, values: "de, at" }, { ...age, values: "18, 30" }];
  expect(clauseEdits("r", [country, age], edited)).toEqual([
    { kind: "removeValuesFromClause", ruleId: "r", clauseId: "c1", values: ["fr"] },
    { kind: "addValuesToClause", ruleId: "r", clauseId: "c1", values: ["at"] },
    { kind: "removeValuesFromClause", ruleId: "r", clauseId: "c2", values: [21] },
    { kind: "addValuesToClause", ruleId: "r", clauseId: "c2", values: [30] },
  ]);
});

test("attribute, operator, negation or context kind changed: the clause is replaced; removed and new clauses", () => {
  for (const change of [{ attribute: "region" }, { op: "startsWith" }, { negate: true }, { contextKind: "org" }]) {
    const [edit] = clauseEdits("r", [country], [{ ...country, ...change }]);
    expect(edit).toMatchObject({ kind: "updateClause", ruleId: "r", clauseId: "c1", clause: { contextKind: "user", attribute: "country", op: "in", negate: false, values: ["de", "fr"], ...change } });
  }
  expect(clauseEdits("r", [country, age], [age, { attribute: "plan", op: "in", values: "pro, team", negate: false }])).toEqual([
    { kind: "removeClauses", ruleId: "r", clauseIds: ["c1"] },
    { kind: "addClauses", ruleId: "r", clauses: [{ contextKind: "user", attribute: "plan", op: "in", negate: false, values: ["pro", "team"] }] },
  ]);
});

test("in words, naming the rule by number and description and the clause by what it says", () => {
  const rules = [{ _id: "r0", clauses: [] }, { _id: "r", description: "EU", clauses: [{ _id: "c1", attribute: "country", op: "in", values: ["de", "fr"], negate: false }] }];
  expect(describeRuleEdit({ kind: "removeValuesFromClause", ruleId: "r", clauseId: "c1", values: ["fr"] }, rules)).toBe('Rule 2 (EU): remove fr from the clause "country in de, fr"');
  expect(describeRuleEdit({ kind: "updateRuleDescription", ruleId: "r", description: "Europe" }, rules)).toBe('Rule 2 (EU): describe it as "Europe"');
  expect(describeRuleEdit({ kind: "turnFlagOn" }, rules)).toBeUndefined();
});
