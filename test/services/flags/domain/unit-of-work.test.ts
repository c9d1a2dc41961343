/**
 * `decideAndWrite` with fake units of work: what is decided again and on which read, when the
 * writers of one item take turns, and which errors are answers.
 */
import { describe, expect, test } from "bun:test";
import { invalidRequest, VexilError } from "@vexil/shared/errors";
import { decideAndWrite, type Decision, type UnitOfWork } from "@vexil/flags/domain/unit-of-work";

let keys = 0;
/** A key of its own per test: writers of one key take turns across the whole module. */
const freshKey = () => `unit-of-work-test-${++keys}`;

/** An item with a version, written only from the version read; memory answers `memory` until told otherwise. */
class Item {
  version = 1;
  value: string[] = [];
  reads: boolean[] = [];
  writes = 0;
  constructor(public memory?: { version: number; value: string[] }) {}

  read(consistent: boolean) {
    this.reads.push(consistent);
    const seen = !consistent && this.memory ? this.memory : { version: this.version, value: this.value };
    return structuredClone(seen);
  }

  write(read: { version: number }, value: string[]): boolean {
    this.writes++;
    if (read.version !== this.version) return false;
    this.version++;
    this.value = value;
    this.memory = undefined;
    return true;
  }
}

type Seen = { version: number; value: string[] };

/** A unit that adds `add` to the item, refusing (as the domain would) when `refuse` says so. */
function adding(item: Item, add: string, refuse: (seen: Seen) => boolean = () => false): UnitOfWork<Seen, string[], string> {
  return {
    read: async (consistent) => item.read(consistent),
    decide: async (seen): Promise<Decision<string[], string>> => {
      if (refuse(seen)) throw invalidRequest(`cannot add ${add}`);
      if (seen.value.includes(add)) return { result: "unchanged" };
      return { write: [...seen.value, add], result: "added" };
    },
    write: async (seen, value) => item.write(seen, value),
  };
}

describe("decideAndWrite", () => {
  test("writes a change decided on memory when memory was right, in one round", async () => {
    const item = new Item({ version: 1, value: [] });
    expect(await decideAndWrite(freshKey(), adding(item, "a"))).toBe("added");
    expect(item.reads).toEqual([false]);
    expect(item.value).toEqual(["a"]);
  });

  test("a refusal decided on memory is decided again on a consistent read", async () => {
    const item = new Item({ version: 1, value: ["locked"] });
    expect(await decideAndWrite(freshKey(), adding(item, "a", (seen) => seen.value.includes("locked")))).toBe("added");
    expect(item.reads).toEqual([false, true]);
    expect(item.value).toEqual(["a"]);
  });

  test("a refusal decided on a consistent read stands", async () => {
    const item = new Item({ version: 1, value: ["locked"] });
    item.value = ["locked"];
    const error = await decideAndWrite(freshKey(), adding(item, "a", (seen) => seen.value.includes("locked"))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VexilError);
    expect((error as VexilError).message).toBe("cannot add a");
    expect(item.reads).toEqual([false, true]);
    expect(item.writes).toBe(0);
  });

  test("a refusal after a lost write stands at once: that read was consistent", async () => {
    const item = new Item({ version: 1, value: [] });
    // Someone else wrote "locked" meanwhile: memory is out of date.
    item.version = 2;
    item.value = ["locked"];
    const error = await decideAndWrite(freshKey(), adding(item, "a", (seen) => seen.value.includes("locked"))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VexilError);
    expect(item.reads).toEqual([false, true]);
    expect(item.writes).toBe(1);
  });

  test("'nothing to write' decided on memory is checked on a consistent read", async () => {
    const stale = new Item({ version: 1, value: ["a"] });
    expect(await decideAndWrite(freshKey(), adding(stale, "a"))).toBe("added");
    expect(stale.reads).toEqual([false, true]);
    expect(stale.value).toEqual(["a"]);
    expect(stale.version).toBe(2);

    const right = new Item({ version: 1, value: ["a"] });
    right.value = ["a"];
    expect(await decideAndWrite(freshKey(), adding(right, "a"))).toBe("unchanged");
    expect(right.reads).toEqual([false, true]);
    expect(right.writes).toBe(0);
  });

  test("a lost write is decided again on a consistent read", async () => {
    const item = new Item({ version: 1, value: [] });
    item.version = 2;
    item.value = ["theirs"];
    expect(await decideAndWrite(freshKey(), adding(item, "mine"))).toBe("added");
    expect(item.reads).toEqual([false, true]);
    expect(item.writes).toBe(2);
    expect(item.value).toEqual(["theirs", "mine"]);
  });

  test("an error that is not a VexilError propagates at once, from decide, read or write", async () => {
    const item = new Item({ version: 1, value: [] });
    const broken = new TypeError("a bug");
    const failing = (part: "read" | "decide" | "write"): UnitOfWork<Seen, string[], string> => {
      const unit = adding(item, "a");
      return {
        ...unit,
        [part]: async () => {
          item.reads.push(false);
          throw broken;
        },
      };
    };
    for (const part of ["read", "decide", "write"] as const) {
      item.reads = [];
      expect(await decideAndWrite(freshKey(), failing(part)).catch((e: unknown) => e)).toBe(broken);
      expect({ part, calls: item.reads.length }).toEqual({ part, calls: part === "read" ? 1 : 2 });
    }
    expect(item.writes).toBe(0);
  });

  test("a change that keeps losing ends in a conflict", async () => {
    const item = new Item();
    const error = await decideAndWrite(freshKey(), { ...adding(item, "a"), write: async () => false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VexilError);
    expect((error as VexilError).code).toBe("conflict");
    expect(item.reads.length).toBeGreaterThan(3);
    expect(item.reads.slice(1).every(Boolean)).toBe(true);
  });
});

describe("writers of one item after three lost races", () => {
  test("take turns: at most one is between read and write at a time, and every change lands", async () => {
    const N = 12;
    const item = new Item();
    const key = freshKey();
    let inTurn = 0;
    let mostInTurn = 0;
    let tookTurns = 0;
    const writer = (name: string): UnitOfWork<Seen, string[], string> => {
      let lost = 0;
      return {
        read: async (consistent) => {
          if (lost >= 3) {
            tookTurns++;
            mostInTurn = Math.max(mostInTurn, ++inTurn);
          }
          const seen = item.read(consistent);
          // Every writer reads before any writes: a race each round.
          await Bun.sleep(1);
          return seen;
        },
        decide: async (seen) => ({ write: [...seen.value, name], result: name }),
        write: async (seen, value) => {
          const written = item.write(seen, value);
          if (lost >= 3) inTurn--;
          if (!written) lost++;
          return written;
        },
      };
    };
    const names = Array.from({ length: N }, (_, i) => `w${i}`);
    expect(await Promise.all(names.map((name) => decideAndWrite(key, writer(name))))).toEqual(names);
    expect(item.version).toBe(N + 1);
    expect([...item.value].sort()).toEqual([...names].sort());
    expect(tookTurns).toBeGreaterThan(0);
    expect(mostInTurn).toBe(1);
  });

  test("a busy item's turns hold up no writer of another item", async () => {
    /** A unit that loses its first three writes, then waits for `held` (if given) before writing. */
    const losingThrice = (item: Item, add: string, held?: Promise<void>) => {
      let losses = 0;
      const unit: UnitOfWork<Seen, string[], string> = {
        ...adding(item, add),
        write: async (seen, value) => {
          if (losses < 3) {
            losses++;
            return false;
          }
          await held;
          return item.write(seen, value);
        },
      };
      return { unit, inTurn: () => losses === 3 };
    };
    const held = Promise.withResolvers<void>();
    const busy = new Item();
    const stuck = losingThrice(busy, "stuck", held.promise);
    const stuckDone = decideAndWrite(freshKey(), stuck.unit);
    while (!stuck.inTurn()) await Bun.sleep(1);
    // The other item's writer also waits for its turn: its own item's, not the busy one's.
    const other = new Item();
    expect(await decideAndWrite(freshKey(), losingThrice(other, "free").unit)).toBe("added");
    expect(busy.value).toEqual([]);
    held.resolve();
    expect(await stuckDone).toBe("added");
    expect(busy.value).toEqual(["stuck"]);
  });
});
