/**
 * The audit stream's consumer on a real nats-server, over a queue that cannot plan one entry: that
 * message comes back after a backoff until its last attempt and is then a dead letter, while the
 * messages around it (in its batch too) are planned and acknowledged.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type NatsConnection } from "nats";
import { connectNatsBus, type NatsBus } from "@vexil/shared/bus/nats-bus";
import { silentLogger } from "@vexil/shared/logger";
import { AUDIT_ID_HEADER, AUDIT_STREAM, startAuditStream, type AuditStream } from "@vexil/webhooks/delivery/audit-stream";
import type { DeliveryQueue, StreamItem } from "@vexil/webhooks/storage/webhook-store";
import { startNats, type NatsServer } from "../../support/nats.ts";

/** Plans every entry but `poison`, whose planning fails as a database error would. */
class PoisonedQueue {
  planned: StreamItem[] = [];
  attemptsOfPoison = 0;
  dead: Array<{ seq: number; auditId: string | null; deliveries: number }> = [];
  async planStream(items: StreamItem[]) {
    if (items.some((i) => i.auditId === "poison")) {
      this.attemptsOfPoison++;
      throw new Error("cannot plan");
    }
    this.planned.push(...items);
    return { waiting: false };
  }
  async deadLetter(item: { seq: number; auditId: string | null }, _error: string, deliveries: number) {
    this.dead.push({ ...item, deliveries });
  }
  async relayFeed() {
    return 0;
  }
  async skipLost() {
    return { lost: 0, waiting: false };
  }
}

let nats: NatsServer;
let bus: NatsBus;
let nc: NatsConnection;
let stream: AuditStream;
const queue = new PoisonedQueue();

beforeAll(async () => {
  nats = await startNats();
  bus = await connectNatsBus(nats.url, "test-audit-stream", silentLogger);
  nc = await connect({ servers: nats.url });
  stream = await startAuditStream({
    streams: bus.streams,
    queue: queue as unknown as DeliveryQueue,
    logger: silentLogger,
    now: Date.now,
    onPlanned: () => {},
    retry: { baseMs: 50, maxMs: 200, maxAttempts: 4 },
  });
}, 30_000);

afterAll(async () => {
  await stream?.stop();
  await bus?.drain();
  await nc?.close();
  await nats?.destroy();
});

test("a message that cannot be planned comes back with a backoff, then is a dead letter; the others are planned and acknowledged", async () => {
  const publish = (id: string) => bus.streams.publish("vexil.audit.flag", new TextEncoder().encode("{}"), { id, headers: { [AUDIT_ID_HEADER]: id }, timeoutMs: 5_000 });
  const acks = [];
  for (const id of ["a", "b", "poison", "c", "d"]) acks.push(await publish(id));
  const deadline = Date.now() + 30_000;
  while (queue.dead.length === 0 && Date.now() < deadline) await Bun.sleep(25);
  expect(queue.dead).toEqual([{ seq: acks[2]!.seq, auditId: "poison", deliveries: 4 }]);
  expect(queue.planned.map((i) => i.auditId).sort()).toEqual(["a", "b", "c", "d"]);
  expect(queue.planned.find((i) => i.auditId === "c")!.seq).toBe(acks[3]!.seq);
  // Tried on each of its four deliveries (and perhaps once more within a batch).
  expect(queue.attemptsOfPoison).toBeGreaterThanOrEqual(4);
  const jsm = await nc.jetstreamManager();
  const consumer = await jsm.consumers.info(AUDIT_STREAM.name, "vexil-webhooks");
  expect(consumer.num_ack_pending).toBe(0);
  expect(consumer.num_redelivered).toBe(0);
});
