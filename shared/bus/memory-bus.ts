/**
 * The in-process bus of the all-in-one mode: same semantics as NATS core, no network. Handlers run
 * outside the sender's request context, as they would in another process: a deadline reaches
 * them only in a message's headers.
 */
import { withoutDeadline } from "../deadline.ts";
import { busRequestFailed } from "../metrics.ts";
import { BusError, subjectMatches, type Bus, type BusMessage, type GatherOptions, type Headers, type Reply, type SubscribeOptions, type Subscription } from "./bus.ts";

interface Entry {
  pattern: string;
  queue: string | undefined;
  deliver: (msg: BusMessage, replyTo?: (reply: Reply) => void) => void;
  responder: boolean;
}

export class MemoryBus implements Bus {
  readonly kind = "memory" as const;
  private entries = new Set<Entry>();
  private rotation = new Map<string, number>();
  /**
   * Per subject (and kind of subscriber): the subscribers matching it, plain ones and queue groups,
   * found once while the subscriptions stay as they are; every message of a request goes through
   * here, and matching each subscription's pattern every time was most of a publish.
   */
  private matching = new Map<string, { plain: Entry[]; groups: Array<[string, Entry[]]> }>();
  private inflight = new Set<Promise<unknown>>();
  private closed = false;

  publish(subject: string, data: Uint8Array, headers: Headers = {}): void {
    if (this.closed) throw new BusError("closed", subject);
    for (const entry of this.pick(subject, false)) entry.deliver({ subject, data, headers });
  }

  subscribe(subject: string, handler: (msg: BusMessage) => void | Promise<void>, options: SubscribeOptions = {}): Subscription {
    return this.add({
      pattern: subject,
      queue: options.queue,
      responder: false,
      deliver: (msg) => this.track(withoutDeadline(() => Promise.resolve().then(() => handler(msg)))),
    });
  }

  serve(subject: string, handler: (msg: BusMessage) => Promise<Reply> | Reply, options: SubscribeOptions = {}): Subscription {
    return this.add({
      pattern: subject,
      queue: options.queue,
      responder: true,
      deliver: (msg, replyTo) =>
        this.track(
          withoutDeadline(() =>
            Promise.resolve()
              .then(() => handler(msg))
              .then((reply) => replyTo?.(reply)),
          ),
        ),
    });
  }

  request(subject: string, data: Uint8Array, options: { timeoutMs: number; headers?: Headers }): Promise<BusMessage> {
    const failed = (kind: "closed" | "no_responders" | "timeout") => {
      busRequestFailed(subject, kind);
      return new BusError(kind, subject);
    };
    if (this.closed) return Promise.reject(failed("closed"));
    const targets = this.pick(subject, true);
    const target = targets[0];
    if (!target) return Promise.reject(failed("no_responders"));
    return new Promise<BusMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(failed("timeout")), options.timeoutMs);
      target.deliver({ subject, data, headers: options.headers ?? {} }, (reply) => {
        clearTimeout(timer);
        resolve({ subject, data: reply.data, headers: reply.headers ?? {} });
      });
    });
  }

  gather(subject: string, data: Uint8Array, options: GatherOptions): Promise<BusMessage[]> {
    if (this.closed) return Promise.reject(new BusError("closed", subject));
    const targets = this.pick(subject, true);
    const replies: BusMessage[] = [];
    if (targets.length === 0) return Promise.resolve(replies);
    // Every responder is known here: the answer is complete when each has replied, or at the time limit.
    return new Promise<BusMessage[]>((resolve) => {
      const timer = setTimeout(() => resolve(replies), options.timeoutMs);
      for (const target of targets) {
        target.deliver({ subject, data, headers: options.headers ?? {} }, (reply) => {
          replies.push({ subject, data: reply.data, headers: reply.headers ?? {} });
          if (replies.length === targets.length) {
            clearTimeout(timer);
            resolve(replies);
          }
        });
      }
    });
  }

  async flush(): Promise<void> {
    // Deliveries are queued as microtasks; let them run.
    await Promise.resolve();
  }

  async ping(): Promise<void> {
    if (this.closed) throw new BusError("closed", "ping");
  }

  onReconnect(): void {
    // An in-process bus never disconnects.
  }

  async drain(): Promise<void> {
    this.closed = true;
    this.entries.clear();
    await Promise.allSettled([...this.inflight]);
  }

  private add(entry: Entry): Subscription {
    this.entries.add(entry);
    this.matching.clear();
    return {
      unsubscribe: () => {
        this.entries.delete(entry);
        this.matching.clear();
      },
    };
  }

  private track(work: Promise<unknown>): void {
    const p = work.catch(() => undefined);
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Every plain subscriber, plus one member per queue group (round robin). */
  private pick(subject: string, respondersOnly: boolean): Entry[] {
    const { plain, groups } = this.matches(subject, respondersOnly);
    const chosen = [...plain];
    for (const [key, group] of groups) {
      const turn = this.rotation.get(key) ?? 0;
      this.rotation.set(key, turn + 1);
      chosen.push(group[turn % group.length]!);
    }
    return chosen;
  }

  private matches(subject: string, respondersOnly: boolean): { plain: Entry[]; groups: Array<[string, Entry[]]> } {
    const id = `${respondersOnly ? "r" : "s"}${subject}`;
    const known = this.matching.get(id);
    if (known) return known;
    const plain: Entry[] = [];
    const groups = new Map<string, Entry[]>();
    for (const entry of this.entries) {
      if (entry.responder !== respondersOnly || !subjectMatches(entry.pattern, subject)) continue;
      if (entry.queue === undefined) plain.push(entry);
      else {
        const key = `${entry.pattern}\u0000${entry.queue}`;
        const group = groups.get(key) ?? [];
        group.push(entry);
        groups.set(key, group);
      }
    }
    const found = { plain, groups: [...groups] };
    // Subjects name environments and items: a bound keeps a stream of new ones from growing it.
    if (this.matching.size >= 10_000) this.matching.clear();
    this.matching.set(id, found);
    return found;
  }
}
