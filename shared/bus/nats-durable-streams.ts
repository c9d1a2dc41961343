/** Durable streams on NATS JetStream: file-stored work-queue streams and shared durable pull consumers. */
import { AckPolicy, DeliverPolicy, DiscardPolicy, headers as natsHeaders, nanos, RetentionPolicy, StorageType, type JetStreamManager, type JsMsg, type NatsConnection } from "nats";
import type { ConsumerSpec, DurableStreams, PublishAck, StreamConsumption, StreamMessage, StreamSpec } from "./durable-stream.ts";
import type { Headers } from "./bus.ts";

function fromMsg(m: JsMsg): StreamMessage {
  const headers: Headers = {};
  if (m.headers) for (const k of m.headers.keys()) headers[k] = m.headers.get(k);
  return {
    subject: m.subject,
    data: m.data,
    headers,
    seq: m.info.streamSequence,
    // nats.js counts deliveries from 1 under this name.
    deliveries: m.info.redeliveryCount,
    ack: () => m.ack(),
    nak: (delayMs) => m.nak(Math.max(0, Math.round(delayMs))),
    term: () => m.term(),
  };
}

export class NatsDurableStreams implements DurableStreams {
  private manager: Promise<JetStreamManager> | undefined;

  constructor(private readonly nc: NatsConnection) {}

  private jsm(): Promise<JetStreamManager> {
    // Asked for once it is needed: a server without JetStream fails here, not at connect.
    this.manager ??= this.nc.jetstreamManager().catch((e: unknown) => {
      this.manager = undefined;
      throw e;
    });
    return this.manager;
  }

  async ensureStream(spec: StreamSpec): Promise<void> {
    const jsm = await this.jsm();
    const config = {
      subjects: spec.subjects,
      max_age: nanos(spec.maxAgeMs),
      max_bytes: spec.maxBytes,
      duplicate_window: nanos(spec.duplicateWindowMs),
    };
    const exists = await jsm.streams.info(spec.name).then(
      () => true,
      () => false,
    );
    if (exists) await jsm.streams.update(spec.name, config);
    else {
      await jsm.streams
        .add({ name: spec.name, ...config, retention: RetentionPolicy.Workqueue, storage: StorageType.File, discard: DiscardPolicy.New, num_replicas: 1 })
        // Another instance created it meanwhile.
        .catch(async (e: unknown) => {
          if (!(await jsm.streams.info(spec.name).then(() => true, () => false))) throw e;
        });
    }
  }

  async ensureConsumer(stream: string, spec: ConsumerSpec): Promise<void> {
    const jsm = await this.jsm();
    const config = {
      ack_wait: nanos(spec.ackWaitsMs[0]!),
      backoff: spec.ackWaitsMs.length > 1 ? spec.ackWaitsMs.map(nanos) : undefined,
      max_deliver: spec.maxDeliveries,
      max_ack_pending: spec.maxAckPending,
    };
    const exists = await jsm.consumers.info(stream, spec.durable).then(
      () => true,
      () => false,
    );
    if (exists) await jsm.consumers.update(stream, spec.durable, config);
    else {
      await jsm.consumers
        .add(stream, { durable_name: spec.durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ...config })
        .catch(async (e: unknown) => {
          if (!(await jsm.consumers.info(stream, spec.durable).then(() => true, () => false))) throw e;
        });
    }
  }

  async publish(subject: string, data: Uint8Array, options: { id: string; headers?: Headers; timeoutMs: number }): Promise<PublishAck> {
    let h;
    if (options.headers) {
      h = natsHeaders();
      for (const [k, v] of Object.entries(options.headers)) h.set(k, v);
    }
    const ack = await this.nc.jetstream().publish(subject, data, { msgID: options.id, headers: h, timeout: options.timeoutMs });
    return { seq: ack.seq, duplicate: ack.duplicate };
  }

  async consume(stream: string, durable: string, handle: (message: StreamMessage) => void, options: { buffer: number }): Promise<StreamConsumption> {
    const consumer = await this.nc.jetstream().consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: options.buffer, callback: (m) => handle(fromMsg(m)) });
    return {
      async stop() {
        await messages.close().catch(() => {});
      },
    };
  }

  async firstSeq(stream: string): Promise<number> {
    const info = await (await this.jsm()).streams.info(stream);
    return info.state.first_seq;
  }
}
