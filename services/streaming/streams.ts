/**
 * Server-Sent Event streams. Each stream is a response body this instance writes to as changes
 * arrive; what goes to many streams is encoded once and the same bytes are written to each. A
 * comment line every `heartbeatMs` keeps idle connections (and SDK read timeouts) alive. A stream
 * whose reader falls far behind is closed: the SDK reconnects and gets the whole data afresh.
 *
 * A body is Bun's direct ReadableStream: a write goes straight to the response's sink, which sends
 * it to the socket or, when the socket is full, keeps what is left until it drains. There is no
 * queue of chunks per stream in JavaScript, so a stream holds no reference to what it was sent —
 * the `put` an environment's streams share (some 35 KB) stays one buffer however many streams got
 * it, and is garbage once the environment's data moves on.
 */
const encoder = new TextEncoder();

/** One SSE event: `event:` name and JSON data on one line. */
export function sseEvent(name: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

const HEARTBEAT = encoder.encode(":\n\n");
/** Bytes a stream may have waiting for a slow reader before it is dropped. */
const MAX_BACKLOG = 4 * 1024 * 1024;

export interface Stream {
  /** Writes bytes to this stream; false when it is closed (or just got closed for falling behind). */
  send(bytes: Uint8Array): boolean;
  close(): void;
  readonly closed: boolean;
}

export interface StreamOptions<T> {
  /** Written first (the `put`). */
  initial: Uint8Array;
  /** Who the stream is for: what `closeWhere` and the stream's owner look at. */
  tag: T;
  /** Called once when the stream ends, however it ends. */
  onClose(): void;
}

export interface StreamHubOptions {
  heartbeatMs: number;
  /** Open streams this instance accepts; beyond it, `open` answers undefined (the caller says 503). */
  limit: number;
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  // Proxies that buffer responses (nginx) would hold events back.
  "x-accel-buffering": "no",
};

/** One open stream: its response's sink once the response has started, and what it owes the socket. */
class SseStream<T> implements Stream {
  private ended = false;
  private sink: ReadableStreamDirectController | undefined;
  /** What was sent before the response started (the `put`, perhaps a change): written when it starts. */
  private early: Uint8Array[] | undefined;
  /**
   * Bytes waiting for the socket: those sent before the response started, then those the sink holds
   * beyond what the socket took (writes whose promise has not settled).
   */
  private waiting = 0;

  constructor(
    readonly tag: T,
    initial: Uint8Array,
    private readonly onFinish: (stream: SseStream<T>) => void,
  ) {
    this.early = [initial];
  }

  get closed(): boolean {
    return this.ended;
  }

  /** The response has started (Bun calls the body's `pull`; a reader calls it again per read). */
  attach(sink: ReadableStreamDirectController): void {
    if (this.sink) return;
    this.sink = sink;
    if (this.ended) {
      sink.close();
      return;
    }
    const early = this.early ?? [];
    this.early = undefined;
    this.waiting = 0;
    for (const bytes of early) if (!this.write(bytes)) return;
  }

  send(bytes: Uint8Array): boolean {
    if (this.ended) return false;
    if (!this.sink) {
      this.early!.push(bytes);
      this.waiting += bytes.byteLength;
      if (this.waiting <= MAX_BACKLOG) return true;
      this.close();
      return false;
    }
    return this.write(bytes);
  }

  private write(bytes: Uint8Array): boolean {
    if (this.waiting > MAX_BACKLOG) {
      this.close();
      return false;
    }
    let written: number | Promise<number>;
    try {
      written = this.sink!.write(bytes);
      // Out now rather than at the end of the tick. (A reader's sink answers undefined here.)
      const flushed = this.sink!.flush();
      if (flushed instanceof Promise) flushed.catch(() => undefined);
    } catch {
      this.finish();
      return false;
    }
    if (!(written instanceof Promise)) {
      // Nothing taken: the client has gone.
      if (written === 0 && bytes.byteLength > 0) this.finish();
      return !this.ended;
    }
    // Taken, but the socket is full: the sink keeps the rest until it drains.
    const size = bytes.byteLength;
    this.waiting += size;
    written.then(
      () => void (this.waiting -= size),
      () => this.finish(),
    );
    return true;
  }

  close(): void {
    if (this.ended) return;
    try {
      this.sink?.close();
    } catch {
      // Already closed by the other side.
    }
    this.finish();
  }

  /** The stream has ended, however it ended: once. */
  finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.early = undefined;
    this.onFinish(this);
  }
}

export class StreamHub<T> {
  private readonly streams = new Set<SseStream<T>>();
  /** Runs while streams are open. */
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private accepting = true;

  constructor(private readonly options: StreamHubOptions) {}

  get size(): number {
    return this.streams.size;
  }

  /** A new stream and the response carrying it, or undefined when at the limit or shutting down. */
  open(options: StreamOptions<T>, headers: Record<string, string> = {}): { stream: Stream; response: Response } | undefined {
    if (!this.accepting || this.streams.size >= this.options.limit) return undefined;
    const { onClose } = options;
    const stream = new SseStream(options.tag, options.initial, (s) => {
      if (!this.streams.delete(s)) return;
      if (this.streams.size === 0) {
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
      }
      onClose();
    });
    const body = new ReadableStream({ type: "direct", pull: (sink) => stream.attach(sink), cancel: () => stream.finish() });
    this.streams.add(stream);
    this.heartbeat ??= setInterval(() => {
      for (const open of this.streams) open.send(HEARTBEAT);
    }, this.options.heartbeatMs);
    return { stream, response: new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...headers } }) };
  }

  /** Closes the streams whose tag matches; returns how many. */
  closeWhere(predicate: (tag: T) => boolean): number {
    let n = 0;
    for (const stream of [...this.streams]) {
      if (predicate(stream.tag)) {
        stream.close();
        n++;
      }
    }
    return n;
  }

  /** Refuses new streams from now on and closes the open ones (their SDKs reconnect elsewhere). */
  shutdown(): void {
    this.accepting = false;
    this.closeWhere(() => true);
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }
}
