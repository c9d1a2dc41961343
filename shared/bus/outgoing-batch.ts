/**
 * Holds a connection's outgoing messages (publishes, requests, replies) until the I/O callbacks of
 * the current event-loop turn have run, then hands them over together, in the order they came.
 *
 * Why: nats.js writes its buffer to the socket once per microtask checkpoint, and under load each
 * request and each reply is produced in a checkpoint of its own (one HTTP request, one database
 * answer), so each became its own socket write, the largest single cost of a bus hop. Messages
 * produced by all the callbacks of one turn now leave in one write. At low load the hold is one
 * turn of the loop, a few microseconds.
 */
export class OutgoingBatch {
  private pending: Array<() => void> = [];
  private scheduled = false;

  constructor(private readonly onFailure: (error: unknown) => void) {}

  /** Queues `send`; it runs in this turn's batch, after every `send` queued before it. */
  add(send: () => void): void {
    this.pending.push(send);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.sendNow());
  }

  /** Hands over what is queued at once (before anything that must follow it, such as a flush). */
  sendNow(): void {
    this.scheduled = false;
    const sends = this.pending;
    if (sends.length === 0) return;
    this.pending = [];
    for (const send of sends) {
      try {
        send();
      } catch (e) {
        this.onFailure(e);
      }
    }
  }
}
