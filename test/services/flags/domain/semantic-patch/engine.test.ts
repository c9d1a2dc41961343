/** The semantic-patch engine with a family of its own: how a table of kinds is run, and how it fails. */
import { describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import { refuse, runInstructions, type InstructionTable } from "@vexil/flags/domain/semantic-patch/engine";
import { list, str } from "@vexil/flags/domain/semantic-patch/params";

/** A family as a future module would declare one: its draft and one line per kind with its action. */
interface Draft {
  names: string[];
}
const TABLE: InstructionTable<Draft> = {
  addName: { action: "updateNames", run: (d, p) => void d.names.push(str(p, "value")) },
  removeNames: { action: "updateNames", run: (d, p) => void (d.names = d.names.filter((n) => !list(p, "values").includes(n))) },
  clearNames: { action: "clearNames", run: (d) => (d.names.length === 0 ? refuse("there are no names") : void (d.names = [])) },
  crash: { action: "crash", run: () => { throw new TypeError("a bug, not a refusal"); } },
};

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

const refusal = (instructions: unknown, draft: Draft = { names: [] }) => {
  const e = thrown(() => runInstructions(instructions, TABLE, draft));
  expect(e).toBeInstanceOf(VexilError);
  expect((e as VexilError).status).toBe(400);
  return e.message;
};

describe("runInstructions", () => {
  test("runs every instruction in order on the draft and returns each action once, in order of first use", () => {
    const draft: Draft = { names: [] };
    const actions = runInstructions(
      [{ kind: "addName", value: "a" }, { kind: "addName", value: "b" }, { kind: "clearNames" }, { kind: "addName", value: "c" }, { kind: "removeNames", values: ["x"] }],
      TABLE,
      draft,
    );
    expect(draft.names).toEqual(["c"]);
    expect(actions).toEqual(["updateNames", "clearNames"]);
  });

  test("a refusal names the instruction's index and kind, and the reason", () => {
    expect(refusal([{ kind: "addName", value: "a" }, { kind: "addName" }])).toBe("instruction 1 (addName): value must be a non-empty string");
    expect(refusal([{ kind: "clearNames" }])).toBe("instruction 0 (clearNames): there are no names");
  });

  test("instructions that are not a non-empty array of objects with a string kind", () => {
    for (const instructions of [undefined, {}, [], "addName"]) expect(refusal(instructions)).toBe("instructions: must be a non-empty array");
    expect(refusal([null])).toBe("instruction 0: must be an object");
    expect(refusal([{ kind: 5 }])).toBe("instruction 0: kind must be a string");
  });

  test("a kind the table does not hold is unknown, names every object inherits included; long names are cut", () => {
    for (const kind of ["deleteEverything", "constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(refusal([{ kind }])).toBe(`instruction 0 (${kind}): unknown instruction kind`);
    }
    expect(refusal([{ kind: "k".repeat(500) }])).toBe(`instruction 0 (${"k".repeat(100)}): unknown instruction kind`);
  });

  test("an error that is not a refusal is not turned into a 400", () => {
    const e = thrown(() => runInstructions([{ kind: "crash" }], TABLE, { names: [] }));
    expect(e).toBeInstanceOf(TypeError);
  });
});
