/**
 * The one small interface every service uses to talk to the others. Two implementations:
 * NATS (`nats-bus.ts`) and in-process (`memory-bus.ts`); nothing else knows which it has.
 */
import type { DurableStreams } from "./durable-stream.ts";

export type Headers = Record<string, string>;

export interface BusMessage {
  subject: string;
  data: Uint8Array;
  headers: Headers;
}

export interface Reply {
  data: Uint8Array;
  headers?: Headers;
}

export interface SubscribeOptions {
  /** Members of one queue group share the messages: each goes to one of them. */
  queue?: string;
}

export interface GatherOptions {
  timeoutMs: number;
  quietMs: number;
  headers?: Headers;
}

export interface Subscription {
  unsubscribe(): void;
}

/** `disconnected`: the bus is known to be down right now (refused at once, not waited for). */
export type BusErrorKind = "timeout" | "no_responders" | "closed" | "disconnected";

export class BusError extends Error {
  readonly kind: BusErrorKind;
  constructor(kind: BusErrorKind, subject: string) {
    super(`${kind.replace("_", " ")} on ${subject}`);
    this.name = "BusError";
    this.kind = kind;
  }
}

export interface Bus {
  readonly kind: "nats" | "memory";
  publish(subject: string, data: Uint8Array, headers?: Headers): void;
  /** Fire-and-forget subscription; wildcards `*` and `>` as in NATS. */
  subscribe(subject: string, handler: (msg: BusMessage) => void | Promise<void>, options?: SubscribeOptions): Subscription;
  /** A request/reply responder; what the handler returns is the reply. */
  serve(subject: string, handler: (msg: BusMessage) => Promise<Reply> | Reply, options?: SubscribeOptions): Subscription;
  request(subject: string, data: Uint8Array, options: { timeoutMs: number; headers?: Headers }): Promise<BusMessage>;
  /**
   * Scatter/gather: one request to every responder of `subject` (plain subscribers, one member per
   * queue group), answering every reply that came back — none when nobody serves it. Stops at
   * `timeoutMs`, or `quietMs` after the latest reply (how many will answer is not known up front;
   * replies of one request arrive close together), or once every responder answered where that is
   * known (in process).
   */
  gather(subject: string, data: Uint8Array, options: GatherOptions): Promise<BusMessage[]>;
  /** Resolves once the server has everything published so far (so subscribers get it before any later reply). */
  flush(): Promise<void>;
  /** Resolves when the bus is reachable; rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  /** Called after the connection came back from an outage. */
  onReconnect(listener: () => void): void;
  /** Stop taking messages, let in-flight handlers finish, then close. */
  drain(): Promise<void>;
  /** Streams that keep messages until they are acknowledged, where the bus has them. */
  readonly streams?: DurableStreams;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const encodeJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
export const decodeJson = <T = unknown>(data: Uint8Array): T => JSON.parse(decoder.decode(data)) as T;

/** True if `subject` matches `pattern` with NATS wildcards (`*` one token, `>` the rest). */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}
