/**
 * Durable streams: messages kept by the bus until a consumer acknowledges them. NATS offers them
 * (JetStream, `nats-durable-streams.ts`); the in-process bus does not, and a service given a bus
 * without them keeps its work in its own tables. Nothing here names the bus behind it.
 */
import type { Headers } from "./bus.ts";

export interface StreamSpec {
  name: string;
  /** Subjects stored by the stream (wildcards allowed). */
  subjects: string[];
  /** A message is removed once a consumer acknowledges it (work-queue retention). */
  maxAgeMs: number;
  /** When the stream holds this much, new messages are refused (never old ones dropped). */
  maxBytes: number;
  /** A message whose id was published within this window is stored once. */
  duplicateWindowMs: number;
}

export interface ConsumerSpec {
  /** Shared by every instance: each message goes to one of them. */
  durable: string;
  /**
   * Redelivery of a message not acknowledged in time: after each of these in turn, the last repeated.
   * On NATS, more than one also times the return of a nak'd message, whatever delay the nak gave.
   */
  ackWaitsMs: number[];
  /**
   * The bus stops handing out a message after this many deliveries; a consumer that decides itself
   * when a message has failed for good sets it well beyond that (a message the bus gave up on would
   * otherwise sit in a work-queue stream, unseen).
   */
  maxDeliveries: number;
  /** Messages handed out and not yet acknowledged, across all instances. */
  maxAckPending: number;
}

export interface PublishAck {
  /** The message's place in the stream. */
  seq: number;
  /** The id was already stored within the duplicate window: nothing new was stored. */
  duplicate: boolean;
}

export interface StreamMessage {
  subject: string;
  data: Uint8Array;
  headers: Headers;
  /** The message's place in the stream: publication order. */
  seq: number;
  /** How many times it has been handed out, this time included (1 the first time). */
  deliveries: number;
  ack(): void;
  /** Hand it out again after `delayMs`. */
  nak(delayMs: number): void;
  /** Never hand it out again. */
  term(): void;
}

export interface StreamConsumption {
  /** Stops taking messages; those not acknowledged go back to the stream. */
  stop(): Promise<void>;
}

export interface DurableStreams {
  /** Creates the stream, or brings an existing one to `spec`. */
  ensureStream(spec: StreamSpec): Promise<void>;
  ensureConsumer(stream: string, spec: ConsumerSpec): Promise<void>;
  /** Resolves once the stream has stored the message (or knew its id); rejects otherwise. */
  publish(subject: string, data: Uint8Array, options: { id: string; headers?: Headers; timeoutMs: number }): Promise<PublishAck>;
  /** Hands the consumer's messages to `handle` as they come, at most `buffer` unacknowledged at once here. */
  consume(stream: string, durable: string, handle: (message: StreamMessage) => void, options: { buffer: number }): Promise<StreamConsumption>;
  /** The sequence of the oldest message the stream still holds (the next one's, if it is empty). */
  firstSeq(stream: string): Promise<number>;
}
