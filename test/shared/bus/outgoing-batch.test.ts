import { describe, expect, test } from "bun:test";
import { OutgoingBatch } from "@vexil/shared/bus/outgoing-batch";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("OutgoingBatch", () => {
  test("what is queued in a turn, from callbacks and their promises, leaves together after it, in order", async () => {
    const sent: string[] = [];
    const batch = new OutgoingBatch((e) => {
      throw e;
    });
    batch.add(() => sent.push("a"));
    await Promise.resolve();
    batch.add(() => sent.push("b"));
    queueMicrotask(() => batch.add(() => sent.push("c")));
    await Promise.resolve();
    expect(sent).toEqual([]);
    await nextTurn();
    expect(sent).toEqual(["a", "b", "c"]);
  });

  test("sendNow hands over what waits at once; the turn's own hand-over then finds nothing twice", async () => {
    const sent: string[] = [];
    const batch = new OutgoingBatch((e) => {
      throw e;
    });
    batch.add(() => sent.push("a"));
    batch.add(() => sent.push("b"));
    batch.sendNow();
    expect(sent).toEqual(["a", "b"]);
    batch.add(() => sent.push("c"));
    await nextTurn();
    await nextTurn();
    expect(sent).toEqual(["a", "b", "c"]);
  });

  test("a send that fails is reported and the others still leave", async () => {
    const sent: string[] = [];
    const failures: unknown[] = [];
    const batch = new OutgoingBatch((e) => failures.push(e));
    batch.add(() => sent.push("a"));
    batch.add(() => {
      throw new Error("too big");
    });
    batch.add(() => sent.push("c"));
    await nextTurn();
    expect(sent).toEqual(["a", "c"]);
    expect(failures.map((e) => (e as Error).message)).toEqual(["too big"]);
  });

  test("a later turn's messages leave in a batch of their own", async () => {
    const sent: string[][] = [];
    let current: string[] = [];
    const batch = new OutgoingBatch((e) => {
      throw e;
    });
    const send = (name: string) => () => {
      if (current.length === 0) sent.push(current);
      current.push(name);
    };
    batch.add(send("a"));
    batch.add(send("b"));
    await nextTurn();
    current = [];
    batch.add(send("c"));
    await nextTurn();
    expect(sent).toEqual([["a", "b"], ["c"]]);
  });
});
