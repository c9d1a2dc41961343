/**
 * Delivery receipts (version 1): after a streaming instance wrote a flag's change event to its SDK
 * streams, it says so on `vexil.streaming.receipts` — how many of its streams got the change and
 * when the last of them was written. The flags service gathers them from every instance
 * (`GET /api/v2/flags/{p}/{k}/deliveries`). An instance with no stream of the environment sends none.
 */
export interface DeliveryReceipt {
  v: 1;
  /** The streaming instance (`host:pid`). */
  instance: string;
  environmentId: string;
  /** The flag's key. */
  key: string;
  /** The flag's version in the environment after the change. */
  version: number;
  /** The change event's sequence number in its environment. */
  seq: number;
  /** When the change was written (epoch ms), as its event carries it. */
  committedAt: number;
  /** Streams of this instance the change was written to. */
  streams: number;
  /** When the last of them was written to (epoch ms). */
  deliveredAt: number;
}

/** A receipt, if `value` is one (anything else on the subject is dropped). */
export function receiptOf(value: unknown): DeliveryReceipt | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const numbers = ["version", "seq", "committedAt", "streams", "deliveredAt"].every((k) => typeof r[k] === "number" && Number.isFinite(r[k]) && (r[k] as number) >= 0);
  const strings = ["instance", "environmentId", "key"].every((k) => typeof r[k] === "string" && (r[k] as string).length > 0 && (r[k] as string).length <= 256);
  return r.v === 1 && numbers && strings ? (r as unknown as DeliveryReceipt) : undefined;
}
