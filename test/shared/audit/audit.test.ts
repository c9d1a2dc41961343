/** Audit entries keep the representation before a change as the patch back from the one after it. */
import { describe, expect, test } from "bun:test";
import { auditEntry, previousOf } from "@vexil/shared/audit/audit";
import type { Caller } from "@vexil/shared/caller";

const caller = { memberId: "m1", memberEmail: "ann@example.com", tokenId: null, tokenName: null, serviceToken: false } as unknown as Caller;
const entry = (previous: unknown, current: unknown) => auditEntry({ caller, kind: "flag", spec: "proj/p:env/e:flag/f", name: "F", verb: "updated the flag", actions: ["updateOn"], previous, current, now: 1 });

const flag = {
  key: "f",
  tags: ["a", "b", "c"],
  variations: [{ _id: "v0", value: true }, { _id: "v1", value: false }],
  environments: {
    production: { on: false, version: 3, targets: [{ values: ["u1", "u2", "u3"], variation: 0 }], rules: [{ _id: "r1", clauses: [{ attribute: "email", op: "endsWith", values: ["@x.com"] }] }] },
    test: { on: true, version: 1, targets: [], rules: [] },
  },
};

describe("audit entries", () => {
  const changes: Array<[string, (f: typeof flag) => void]> = [
    ["a switch", (f) => void (f.environments.production.on = true)],
    ["an element removed from the middle of an array", (f) => void f.environments.production.targets[0]!.values.splice(1, 1)],
    ["elements added and an array emptied", (f) => void ((f.tags = ["x", ...f.tags, "y"]), (f.environments.production.rules = []))],
    ["a field removed and one added", (f) => void (delete (f as Partial<typeof flag>).tags, ((f as Record<string, unknown>).description = "new"))],
    ["values whose type changes", (f) => void ((f.variations[0]!.value as unknown) = { nested: [1, 2] })],
  ];
  for (const [what, change] of changes) {
    test(`the previous representation comes back exactly after ${what}`, () => {
      const current = structuredClone(flag);
      change(current);
      const e = entry(flag, current);
      expect(e.previous).toBeNull();
      expect(Array.isArray(e.previousDelta)).toBe(true);
      expect(previousOf(e)).toEqual(flag);
      // Reading it twice gives the same answer: the entry itself is not changed by reading.
      expect(previousOf(e)).toEqual(flag);
      expect(e.current).toEqual(current);
    });
  }

  test("the patch back is much smaller than the representation it stands for", () => {
    const current = structuredClone(flag);
    current.environments.production.on = true;
    current.environments.production.version = 4;
    expect(JSON.stringify(entry(flag, current).previousDelta).length).toBeLessThan(JSON.stringify(flag).length / 2);
  });

  test("entries without a representation on one side keep what they have", () => {
    const created = entry(undefined, flag);
    expect(created.previous).toBeNull();
    expect(previousOf(created)).toBeNull();
    const deleted = entry(flag, undefined);
    expect(deleted.previous).toEqual(flag);
    expect(previousOf(deleted)).toEqual(flag);
  });
});
