/**
 * Server-Sent Event streams. Each stream is a response body this instance writes to as changes
 * arrive; what goes to many streams is encoded once and the same bytes are written to each. A
 * comment line every `heartbeatMs` keeps idle connections (and SDK read timeouts) alive. A stream
 * whose reader falls far behind is closed: the SDK reconnects and gets the whole data afresh.
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

export class StreamHub<T> {
  private readonly streams = new Set<{ stream: Stream; tag: T }>();
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
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let closed = false;
    const entry = { stream: undefined as unknown as Stream, tag: options.tag };
    const finish = () => {
      if (closed) return;
      closed = true;
      this.streams.delete(entry);
      if (this.streams.size === 0) {
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
      }
      options.onClose();
    };
    const stream: Stream = {
      send(bytes) {
        if (closed) return false;
        if ((controller.desiredSize ?? 0) < -MAX_BACKLOG) {
          stream.close();
          return false;
        }
        try {
          controller.enqueue(bytes);
          return true;
        } catch {
          finish();
          return false;
        }
      },
      close() {
        if (closed) return;
        try {
          controller.close();
        } catch {
          // Already closed by the other side.
        }
        finish();
      },
      get closed() {
        return closed;
      },
    };
    entry.stream = stream;
    const body = new ReadableStream<Uint8Array>(
      {
        start(c) {
          controller = c;
          c.enqueue(options.initial);
        },
        cancel: finish,
      },
      { highWaterMark: 0 },
    );
    this.streams.add(entry);
    this.heartbeat ??= setInterval(() => {
      for (const { stream } of this.streams) stream.send(HEARTBEAT);
    }, this.options.heartbeatMs);
    return { stream, response: new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...headers } }) };
  }

  /** Closes the streams whose tag matches; returns how many. */
  closeWhere(predicate: (tag: T) => boolean): number {
    let n = 0;
    for (const { stream, tag } of [...this.streams]) {
      if (predicate(tag)) {
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
