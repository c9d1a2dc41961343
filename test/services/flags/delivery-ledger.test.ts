/**
 * The delivery ledger (receipts of recent changes, bounded in memory) and the lag summary of the
 * deliveries answer: receipts from several instances gather under their change, and every bound
 * holds — changes per flag, flags, instances per change.
 */
import { describe, expect, test } from "bun:test";
import type { DeliveryReceipt } from "@vexil/shared/delivery-receipts";
import { receiptOf } from "@vexil/shared/delivery-receipts";
import { createDeliveryLedger } from "@vexil/flags/delivery-ledger";
import { lagSummary } from "@vexil/flags/domain/flags/deliveries";

const receipt = (over: Partial<DeliveryReceipt>): DeliveryReceipt => ({ v: 1, instance: "a:1", environmentId: "env", key: "flag", version: 2, seq: 1, committedAt: 1_000, streams: 1, deliveredAt: 1_010, ...over });

describe("delivery ledger", () => {
  test("receipts of one change from several instances gather under it; changes newest first", () => {
    const ledger = createDeliveryLedger();
    ledger.record(receipt({ instance: "a:1", streams: 2, deliveredAt: 1_004 }));
    ledger.record(receipt({ instance: "b:1", streams: 1, deliveredAt: 1_009 }));
    ledger.record(receipt({ seq: 2, version: 3, committedAt: 2_000, deliveredAt: 2_003 }));
    ledger.record(receipt({ key: "other", seq: 3 }));
    const recent = ledger.recent("env", "flag");
    expect(recent.map((c) => c.version)).toEqual([3, 2]);
    expect(recent[1]!.instances).toEqual([
      { instance: "a:1", streams: 2, deliveredAt: 1_004 },
      { instance: "b:1", streams: 1, deliveredAt: 1_009 },
    ]);
    expect(ledger.recent("env", "nothing")).toEqual([]);
    expect(ledger.recent("elsewhere", "flag")).toEqual([]);
  });

  test("bounded: changes per flag, flags, and instances per change", () => {
    const ledger = createDeliveryLedger({ flags: 3, changes: 2, instances: 2 });
    for (let seq = 1; seq <= 5; seq++) ledger.record(receipt({ seq, version: seq + 1 }));
    expect(ledger.recent("env", "flag").map((c) => c.seq)).toEqual([5, 4]);
    // Older than every change kept: already forgotten.
    ledger.record(receipt({ seq: 1, instance: "late:1" }));
    expect(ledger.recent("env", "flag").map((c) => c.seq)).toEqual([5, 4]);
    for (const instance of ["b:1", "c:1", "d:1"]) ledger.record(receipt({ seq: 5, instance }));
    expect(ledger.recent("env", "flag")[0]!.instances.map((i) => i.instance)).toEqual(["a:1", "b:1"]);
    for (const key of ["f1", "f2", "f3"]) ledger.record(receipt({ key }));
    // The least recently changed pair went first.
    expect(ledger.recent("env", "flag")).toEqual([]);
    expect(ledger.recent("env", "f1")).toHaveLength(1);
    ledger.record(receipt({ key: "f1", seq: 9 }));
    ledger.record(receipt({ key: "f4" }));
    expect(ledger.recent("env", "f2")).toEqual([]);
    expect(ledger.recent("env", "f1")).toHaveLength(2);
  });

  test("what it returns is a copy", () => {
    const ledger = createDeliveryLedger();
    ledger.record(receipt({}));
    ledger.recent("env", "flag")[0]!.instances[0]!.streams = 99;
    expect(ledger.recent("env", "flag")[0]!.instances[0]!.streams).toBe(1);
  });

  test("only well-formed version 1 receipts are taken", () => {
    expect(receiptOf(receipt({}))).toEqual(receipt({}));
    expect(receiptOf({ ...receipt({}), v: 2 })).toBeUndefined();
    expect(receiptOf({ ...receipt({}), streams: -1 })).toBeUndefined();
    expect(receiptOf({ ...receipt({}), key: "" })).toBeUndefined();
    expect(receiptOf({ ...receipt({}), committedAt: "now" })).toBeUndefined();
    expect(receiptOf(null)).toBeUndefined();
  });
});

describe("lag summary", () => {
  test("percentiles over streams, each at its instance's lag (nearest rank)", () => {
    // 99 streams at 5 ms and 1 at 40 ms: the median and p99 are 5, the max 40.
    expect(lagSummary([{ streams: 99, lagMs: 5 }, { streams: 1, lagMs: 40 }])).toEqual({ p50: 5, p99: 5, max: 40 });
    // 98 at 5 and 2 at 40: p99 is 40.
    expect(lagSummary([{ streams: 2, lagMs: 40 }, { streams: 98, lagMs: 5 }])).toEqual({ p50: 5, p99: 40, max: 40 });
    expect(lagSummary([{ streams: 1, lagMs: 7 }])).toEqual({ p50: 7, p99: 7, max: 7 });
    expect(lagSummary([{ streams: 0, lagMs: 7 }])).toBeUndefined();
    expect(lagSummary([])).toBeUndefined();
  });
});
