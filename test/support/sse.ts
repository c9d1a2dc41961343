/** An SSE reader for tests: opens a stream, parses it with `eventsource-parser`, and records what arrives. */
import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface SseReader {
  status: number;
  headers: Headers;
  events: EventSourceMessage[];
  comments: number;
  /** True once the server ended the stream (or it broke). */
  ended: boolean;
  /** Resolves with the first event (from `from` on) that `match` accepts. */
  next(match: (e: EventSourceMessage) => boolean, timeoutMs?: number, from?: number): Promise<EventSourceMessage>;
  waitEnded(timeoutMs?: number): Promise<void>;
  close(): void;
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

export async function openSse(url: string, init: RequestInit = {}): Promise<SseReader> {
  const abort = new AbortController();
  const res = await fetch(url, { ...init, signal: abort.signal });
  const reader: SseReader = {
    status: res.status,
    headers: res.headers,
    events: [],
    comments: 0,
    ended: false,
    async next(match, timeoutMs = 10_000, from = 0) {
      let found: EventSourceMessage | undefined;
      await until("an SSE event", () => (found = reader.events.slice(from).find(match)) !== undefined, timeoutMs);
      return found!;
    },
    waitEnded: (timeoutMs = 10_000) => until("the end of the stream", () => reader.ended, timeoutMs),
    close: () => abort.abort(),
  };
  if (res.status !== 200 || !res.body) {
    reader.ended = true;
    await res.body?.cancel();
    return reader;
  }
  const parser = createParser({ onEvent: (e) => void reader.events.push(e), onComment: () => void reader.comments++ });
  const decoder = new TextDecoder();
  (async () => {
    try {
      for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // Aborted or broken: either way, ended.
    }
    reader.ended = true;
  })();
  return reader;
}
