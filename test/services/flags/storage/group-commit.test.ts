/** Group commit: batches of at most one write per item, answers after the batch, one bad write failing alone. */
import { describe, expect, test } from "bun:test";
import { GroupCommit } from "@vexil/flags/storage/group-commit";

interface Row {
  item: string;
  n: number;
}

/** A writer that records its batches and answers when told to. */
function recorder(options: { concurrency?: number; stallMs?: number; fullBatch?: number; maxBatch?: number; refuse?: (row: Row) => boolean; fail?: (row: Row) => boolean; final?: (error: unknown) => boolean } = {}) {
  const batches: Row[][] = [];
  const gate: Array<() => void> = [];
  const group = new GroupCommit<Row>({
    concurrency: options.concurrency ?? 1,
    stallMs: options.stallMs ?? 60_000,
    fullBatch: options.fullBatch ?? 1_000,
    maxBatch: options.maxBatch ?? 100,
    keyOf: (row) => row.item,
    final: options.final,
    writeBatch: async (rows) => {
      batches.push(rows);
      await new Promise<void>((resolve) => gate.push(resolve));
      if (rows.some((r) => options.fail?.(r))) throw new Error("statement failed");
      return new Set(rows.filter((r) => !options.refuse?.(r)).map((r) => r.item));
    },
  });
  const release = async () => {
    while (gate.length > 0) gate.shift()!();
    await Bun.sleep(0);
  };
  return { group, batches, release };
}

describe("group commit", () => {
  test("writes arriving while a batch is in flight go together in the next one, in order", async () => {
    const { group, batches, release } = recorder();
    const first = group.write({ item: "a", n: 0 });
    const rest = ["b", "c", "d"].map((item, n) => group.write({ item, n: n + 1 }));
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"]]);
    await release();
    expect(await first).toBe(true);
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"], ["b", "c", "d"]]);
    await release();
    expect(await Promise.all(rest)).toEqual([true, true, true]);
  });

  test("two writes of one item never share a batch; each caller gets its own row's outcome", async () => {
    const { group, batches, release } = recorder({ refuse: (r) => r.n === 2 });
    const blocker = group.write({ item: "z", n: 0 });
    const answers = [group.write({ item: "a", n: 1 }), group.write({ item: "a", n: 2 }), group.write({ item: "b", n: 3 })];
    await release();
    await blocker;
    await release();
    await release();
    expect(batches.map((b) => b.map((r) => `${r.item}${r.n}`))).toEqual([["z0"], ["a1", "b3"], ["a2"]]);
    expect(await Promise.all(answers)).toEqual([true, false, true]);
  });

  test("a batch is no larger than maxBatch", async () => {
    const { group, batches, release } = recorder({ maxBatch: 2 });
    const all = ["a", "b", "c", "d", "e"].map((item, n) => group.write({ item, n }));
    for (let i = 0; i < 5; i++) await release();
    await Promise.all(all);
    expect(batches.map((b) => b.length)).toEqual([1, 2, 2]);
  });

  test("when a batch's statement fails, its writes are tried alone and only the bad one fails", async () => {
    const { group, batches, release } = recorder({ fail: (r) => r.item === "bad" });
    const blocker = group.write({ item: "z", n: 0 });
    const good = group.write({ item: "good", n: 1 });
    const bad = group.write({ item: "bad", n: 2 }).catch((e: Error) => e.message);
    for (let i = 0; i < 4; i++) await release();
    await blocker;
    expect(await good).toBe(true);
    expect(await bad).toBe("statement failed");
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["z"], ["good", "bad"], ["good"], ["bad"]]);
  });

  test("a batch error marked final is every row's answer, without trying rows alone", async () => {
    const { group, batches, release } = recorder({ fail: (r) => r.item === "bad", final: () => true });
    const blocker = group.write({ item: "z", n: 0 });
    const good = group.write({ item: "good", n: 1 }).catch((e: Error) => e.message);
    const bad = group.write({ item: "bad", n: 2 }).catch((e: Error) => e.message);
    for (let i = 0; i < 3; i++) await release();
    await blocker;
    expect([await good, await bad]).toEqual(["statement failed", "statement failed"]);
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["z"], ["good", "bad"]]);
  });

  test("one batch is in flight while it runs in time: the writes meanwhile wait and go together", async () => {
    const { group, batches, release } = recorder({ concurrency: 2 });
    const all = ["a", "b", "c", "d"].map((item, n) => group.write({ item, n }));
    await Bun.sleep(20);
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"]]);
    await release();
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"], ["b", "c", "d"]]);
    await release();
    expect(await Promise.all(all)).toEqual([true, true, true, true]);
  });

  test("once fullBatch writes wait, a batch starts beside the one in flight, up to `concurrency`", async () => {
    const { group, batches, release } = recorder({ concurrency: 2, fullBatch: 3 });
    const all = ["a", "b", "c"].map((item, n) => group.write({ item, n }));
    // Two wait: fewer than a full batch, so they wait for the first.
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"]]);
    all.push(group.write({ item: "d", n: 3 }));
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"], ["b", "c", "d"]]);
    // Two in flight is the most, however many wait.
    all.push(...["e", "f", "g"].map((item, n) => group.write({ item, n: 4 + n })));
    expect(batches).toHaveLength(2);
    await release();
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"], ["b", "c", "d"], ["e", "f", "g"]]);
    await release();
    expect(await Promise.all(all)).toEqual([true, true, true, true, true, true, true]);
  });

  test("a batch that runs past stallMs lets another start beside it, up to `concurrency` in flight", async () => {
    const { group, batches, release } = recorder({ concurrency: 2, stallMs: 10 });
    const first = group.write({ item: "a", n: 0 });
    const second = group.write({ item: "b", n: 1 });
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"]]);
    await Bun.sleep(30);
    // The first stalled: the second batch started beside it.
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"], ["b"]]);
    const third = group.write({ item: "c", n: 2 });
    await Bun.sleep(30);
    // Both in flight have stalled, and two is the most: the third waits.
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"], ["b"]]);
    await release();
    expect(await Promise.all([first, second])).toEqual([true, true]);
    expect(batches.map((b) => b.map((r) => r.item))).toEqual([["a"], ["b"], ["c"]]);
    await release();
    expect(await third).toBe(true);
  });
});
