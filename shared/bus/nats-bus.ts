/** The bus over a real nats-server (core NATS: subjects, queue groups, request/reply). */
import { connect, createInbox, ErrorCode, headers as natsHeaders, NatsError, type Msg, type MsgHdrs, type NatsConnection, type Subscription as NatsSubscription } from "nats";
import { BusError, type Bus, type BusMessage, type GatherOptions, type Headers, type Reply, type SubscribeOptions, type Subscription } from "./bus.ts";
import { NatsDurableStreams } from "./nats-durable-streams.ts";
import { OutgoingBatch } from "./outgoing-batch.ts";
import { ReplyInbox, RequestFailed } from "./reply-inbox.ts";
import type { Logger } from "../logger.ts";
import { busDisconnects, busReconnects, busRequestFailed } from "../metrics.ts";

export interface NatsBusOptions {
  /**
   * Whether this connection hears what it publishes itself (default true). A process that serves
   * nothing to itself and drops its own messages anyway (the gateway: its rate counts) turns it off,
   * so the server does not send them back to be decoded and dropped.
   */
  echo?: boolean;
}

export async function connectNatsBus(url: string, name: string, logger: Logger, options: NatsBusOptions = {}): Promise<NatsBus> {
  const nc = await connect({
    servers: url.split(",").map((s) => s.trim()),
    name,
    noEcho: options.echo === false,
    // The servers in the order given: an instance's own node first, the others to fail over to.
    noRandomize: true,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5_000,
    maxPingOut: 2,
  });
  return new NatsBus(nc, logger);
}

function toNatsHeaders(h: Headers | undefined): MsgHdrs | undefined {
  if (!h || Object.keys(h).length === 0) return undefined;
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

function fromNatsHeaders(h: MsgHdrs | undefined): Headers {
  const out: Headers = {};
  if (!h) return out;
  for (const k of h.keys()) out[k] = h.get(k);
  return out;
}

/**
 * How a subscription's messages reach its handler. A subject without wildcards is every message's
 * own, so it is not decoded again from each message's bytes.
 */
function messageOf(subscribed: string): (msg: Msg) => BusMessage {
  const exact = !subscribed.split(".").some((token) => token === "*" || token === ">");
  return (msg) => ({ subject: exact ? subscribed : msg.subject, data: msg.data, headers: fromNatsHeaders(msg.headers) });
}

export class NatsBus implements Bus {
  readonly kind = "nats" as const;
  readonly streams: NatsDurableStreams;
  private reconnectListeners: Array<() => void> = [];
  private subscriptions = new Set<NatsSubscription>();
  /** Handlers still running, and `drain`'s wait for there to be none. */
  private running = 0;
  private idle: Array<() => void> = [];
  /**
   * False from the moment the connection is known lost until it is back. Requests are then refused at
   * once (503 to a caller) rather than buffered until their timeout (504 seconds later), and `ping`
   * fails at once, so `/readyz` and requests tell the same story.
   */
  private connected = true;
  /**
   * Publishes, requests and replies wait here for the end of the loop turn, to leave in one socket
   * write. Anything else sent on the connection (subscribe, unsubscribe, flush, drain) first sends
   * what waits, so the server sees everything in the order it was asked for.
   */
  private readonly outgoing: OutgoingBatch;
  private readonly replies: ReplyInbox;

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
  ) {
    this.outgoing = new OutgoingBatch((error) => this.logger.error("bus send failed", { error }));
    this.replies = new ReplyInbox(nc);
    this.streams = new NatsDurableStreams(nc);
    void this.watch();
  }

  private async watch(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === "disconnect" || status.type === "staleConnection") {
        if (status.type === "disconnect") busDisconnects.inc();
        this.connected = false;
        this.logger.warn("bus disconnected");
      }
      if (status.type === "reconnect") {
        busReconnects.inc();
        this.connected = true;
        this.logger.info("bus reconnected");
        for (const listener of this.reconnectListeners) listener();
      }
    }
  }

  publish(subject: string, data: Uint8Array, headers?: Headers): void {
    if (this.nc.isClosed() || this.nc.isDraining()) throw new BusError("closed", subject);
    const max = this.nc.info?.max_payload;
    if (max !== undefined && data.length > max) throw NatsError.errorForCode(ErrorCode.MaxPayloadExceeded);
    const natsHeaders = toNatsHeaders(headers);
    this.outgoing.add(() => this.nc.publish(subject, data, { headers: natsHeaders }));
  }

  subscribe(subject: string, handler: (msg: BusMessage) => void | Promise<void>, options: SubscribeOptions = {}): Subscription {
    this.outgoing.sendNow();
    const message = messageOf(subject);
    const sub = this.nc.subscribe(subject, {
      queue: options.queue,
      callback: (err, msg) => {
        if (err) return;
        void this.run(async () => {
          try {
            await handler(message(msg));
          } catch (e) {
            this.logger.error("bus handler failed", { subject, error: e });
          }
        });
      },
    });
    return this.keep(sub);
  }

  serve(subject: string, handler: (msg: BusMessage) => Promise<Reply> | Reply, options: SubscribeOptions = {}): Subscription {
    this.outgoing.sendNow();
    const message = messageOf(subject);
    const sub = this.nc.subscribe(subject, {
      queue: options.queue,
      callback: (err, msg) => {
        if (err) return;
        void this.run(async () => {
          try {
            const reply = await handler(message(msg));
            if (!msg.reply) return;
            const replyHeaders = toNatsHeaders(reply.headers);
            this.outgoing.add(() => msg.respond(reply.data, { headers: replyHeaders }));
          } catch (e) {
            this.logger.error("bus responder failed", { subject, error: e });
          }
        });
      },
    });
    return this.keep(sub);
  }

  async request(subject: string, data: Uint8Array, options: { timeoutMs: number; headers?: Headers }): Promise<BusMessage> {
    if (!this.connected) throw new BusError("disconnected", subject);
    try {
      const msg = await this.sendRequest(subject, data, options.timeoutMs, toNatsHeaders(options.headers));
      return { subject, data: msg.data, headers: fromNatsHeaders(msg.headers) };
    } catch (e) {
      const kind = e instanceof RequestFailed ? e.kind : "timeout";
      busRequestFailed(subject, kind);
      throw new BusError(kind, subject);
    }
  }

  /** The request, sent with this turn's batch; its reply, waited for no longer than `timeoutMs` from now. */
  private sendRequest(subject: string, data: Uint8Array, timeoutMs: number, headers: MsgHdrs | undefined): Promise<Msg> {
    const { replyTo, reply, fail } = this.replies.expect(timeoutMs);
    this.outgoing.add(() => {
      try {
        this.nc.publish(subject, data, { reply: replyTo, headers });
      } catch (e) {
        const code = (e as NatsError).code;
        fail(code === ErrorCode.ConnectionClosed || code === ErrorCode.ConnectionDraining ? "closed" : "timeout");
      }
    });
    return reply;
  }

  async gather(subject: string, data: Uint8Array, options: GatherOptions): Promise<BusMessage[]> {
    if (!this.connected) throw new BusError("disconnected", subject);
    if (this.nc.isClosed() || this.nc.isDraining()) throw new BusError("closed", subject);
    const inbox = createInbox();
    const replies: BusMessage[] = [];
    return new Promise<BusMessage[]>((resolve) => {
      let quiet: ReturnType<typeof setTimeout> | undefined;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(limit);
        clearTimeout(quiet);
        sub.unsubscribe();
        resolve(replies);
      };
      const limit = setTimeout(finish, options.timeoutMs);
      const sub = this.nc.subscribe(inbox, {
        callback: (err, msg) => {
          if (err || done) return;
          // The server's "no responders" status: nobody serves the subject.
          if (msg.data.length === 0 && msg.headers?.code === 503) return finish();
          replies.push({ subject, data: msg.data, headers: fromNatsHeaders(msg.headers) });
          clearTimeout(quiet);
          quiet = setTimeout(finish, options.quietMs);
        },
      });
      this.nc.publish(subject, data, { reply: inbox, headers: toNatsHeaders(options.headers) });
    });
  }

  async flush(): Promise<void> {
    await this.ping(2_000);
  }

  async ping(timeoutMs = 1_000): Promise<void> {
    if (this.nc.isClosed()) throw new BusError("closed", "ping");
    if (!this.connected) throw new BusError("disconnected", "ping");
    this.outgoing.sendNow();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = performance.now();
    const timeout = new Promise<never>((_, reject) => {
      const expire = (again: boolean) => {
        // A timer that fired far later than asked means this process's event loop was busy (thousands
        // of streams opening), not that the bus is slow: the answer may be waiting unread. Give the
        // loop one more turn at reading it before calling the bus unreachable.
        if (again && performance.now() - started > 2 * timeoutMs) timer = setTimeout(() => expire(false), timeoutMs);
        else reject(new BusError("timeout", "ping"));
      };
      timer = setTimeout(() => expire(true), timeoutMs);
    });
    try {
      await Promise.race([this.nc.flush(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** Stops taking messages, waits for the handlers already running (their replies still go out), then closes. */
  async drain(): Promise<void> {
    if (this.nc.isClosed()) return;
    await Promise.allSettled([...this.subscriptions].map((s) => s.drain()));
    while (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    this.outgoing.sendNow();
    await this.nc.drain().catch(() => this.nc.close());
  }

  private keep(sub: NatsSubscription): Subscription {
    this.subscriptions.add(sub);
    return {
      unsubscribe: () => {
        this.outgoing.sendNow();
        this.subscriptions.delete(sub);
        sub.unsubscribe();
      },
    };
  }

  /** Runs a handler's work, counted until it ends, so that `drain` can wait for it. */
  private async run(work: () => Promise<void>): Promise<void> {
    this.running++;
    try {
      await work();
    } finally {
      if (--this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}
