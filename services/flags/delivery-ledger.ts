/**
 * The delivery receipts of recent flag changes (`vexil.streaming.receipts`), kept in memory. Every
 * flags instance hears every receipt (no queue group), so whichever instance a request reaches
 * answers with what all the streaming instances reported. Bounded: the last `changes` changes of
 * each flag in each environment, for the `flags` flag-environments that changed most recently, and
 * `instances` streaming instances per change. An instance started later knows the deliveries since
 * it started; receipts lost while the bus was away stay lost (the deliveries themselves are not).
 */
import { decodeJson, type Bus, type Subscription } from "@vexil/shared/bus/bus";
import { receiptOf, type DeliveryReceipt } from "@vexil/shared/delivery-receipts";
import { subjects } from "@vexil/shared/subjects";
import type { ChangeDeliveries, DeliveryReceipts } from "./domain/flags/deliveries.ts";

export interface LedgerLimits {
  /** Flag-environment pairs kept; the least recently changed go first. */
  flags: number;
  /** Changes kept per flag and environment (the newest). */
  changes: number;
  /** Streaming instances kept per change. */
  instances: number;
}

export const DEFAULT_LIMITS: LedgerLimits = { flags: 10_000, changes: 20, instances: 64 };

export interface DeliveryLedger extends DeliveryReceipts {
  record(receipt: DeliveryReceipt): void;
}

export function createDeliveryLedger(limits: LedgerLimits = DEFAULT_LIMITS): DeliveryLedger {
  /** By environment and flag, oldest first; a map's order is insertion order, so the first key is the least recently changed. */
  const byFlag = new Map<string, ChangeDeliveries[]>();
  const keyOf = (environmentId: string, flagKey: string) => `${environmentId}\u0000${flagKey}`;
  return {
    record(receipt) {
      const key = keyOf(receipt.environmentId, receipt.key);
      const changes = byFlag.get(key) ?? [];
      byFlag.delete(key);
      byFlag.set(key, changes);
      let change = changes.find((c) => c.seq === receipt.seq);
      if (!change) {
        // Older than every change kept, with no room left: already forgotten.
        if (changes.length >= limits.changes && receipt.seq < changes[0]!.seq) return;
        change = { seq: receipt.seq, version: receipt.version, committedAt: receipt.committedAt, instances: [] };
        changes.push(change);
        changes.sort((a, b) => a.seq - b.seq);
        if (changes.length > limits.changes) changes.splice(0, changes.length - limits.changes);
      }
      const known = change.instances.find((i) => i.instance === receipt.instance);
      if (known) {
        known.streams = receipt.streams;
        known.deliveredAt = receipt.deliveredAt;
      } else if (change.instances.length < limits.instances) {
        change.instances.push({ instance: receipt.instance, streams: receipt.streams, deliveredAt: receipt.deliveredAt });
      }
      while (byFlag.size > limits.flags) byFlag.delete(byFlag.keys().next().value!);
    },
    recent(environmentId, flagKey) {
      return [...(byFlag.get(keyOf(environmentId, flagKey)) ?? [])].reverse().map((c) => ({ ...c, instances: c.instances.map((i) => ({ ...i })) }));
    },
  };
}

/** Records every receipt on the bus in `ledger`; anything else on the subject is dropped. */
export function subscribeToReceipts(bus: Bus, ledger: DeliveryLedger): Subscription {
  return bus.subscribe(subjects.streamingReceipts, (msg) => {
    let receipt: DeliveryReceipt | undefined;
    try {
      receipt = receiptOf(decodeJson(msg.data));
    } catch {
      receipt = undefined;
    }
    if (receipt) ledger.record(receipt);
  });
}
