/**
 * Where the replies to a connection's requests arrive: one subscription to `<inbox>.*`, each request
 * waiting under a token of its own, as nats.js's own requests do, without what those cost per
 * request (a timer, a race of two promises, and an Error with its stack made for every reply only
 * to be dropped). One timer checks every waiting request's time limit.
 */
import { createInbox, type Msg, type NatsConnection } from "nats";
import { TimeLimits } from "../time-limits.ts";

export type RequestFailure = "timeout" | "no_responders" | "closed";

export class RequestFailed extends Error {
  constructor(readonly kind: RequestFailure) {
    super(kind);
  }
}

interface Waiting {
  at: number;
  expire(): void;
  settle(msg: Msg): void;
  fail(kind: RequestFailure): void;
}

/** A request is late by at most this much past its limit. */
const CHECK_EVERY_MS = 10;

export class ReplyInbox {
  private readonly prefix = `${createInbox()}.`;
  private sequence = 0;
  private readonly waiting = new Map<string, Waiting>();
  private readonly limits = new TimeLimits(CHECK_EVERY_MS);

  constructor(nc: NatsConnection) {
    nc.subscribe(`${this.prefix}*`, {
      callback: (err, msg) => {
        if (!err) this.arrived(msg);
      },
    });
    void nc.closed().then(() => {
      for (const waiting of [...this.waiting.values()]) waiting.fail("closed");
    });
  }

  /**
   * A reply subject for a new request, and its reply, which fails if none comes within `timeoutMs`;
   * `fail` ends the wait at once (the request could not be sent).
   */
  expect(timeoutMs: number): { replyTo: string; reply: Promise<Msg>; fail(kind: RequestFailure): void } {
    const token = (this.sequence++).toString(36);
    const { promise, resolve, reject } = Promise.withResolvers<Msg>();
    const done = () => {
      this.waiting.delete(token);
      this.limits.delete(waiting);
    };
    const waiting: Waiting = {
      at: Date.now() + timeoutMs,
      expire: () => {
        this.waiting.delete(token);
        reject(new RequestFailed("timeout"));
      },
      settle: (msg) => {
        done();
        resolve(msg);
      },
      fail: (kind) => {
        done();
        reject(new RequestFailed(kind));
      },
    };
    this.waiting.set(token, waiting);
    this.limits.add(waiting);
    return { replyTo: this.prefix + token, reply: promise, fail: waiting.fail };
  }

  private arrived(msg: Msg): void {
    const waiting = this.waiting.get(msg.subject.slice(this.prefix.length));
    if (!waiting) return;
    // The server's own answer when nobody serves the subject: a status 503 with no payload.
    if (msg.data.length === 0 && msg.headers?.code === 503) waiting.fail("no_responders");
    else waiting.settle(msg);
  }
}
