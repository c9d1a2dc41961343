/**
 * The stream hub: what a stream is sent before its response starts arrives after the `put`, in
 * order; closing, shutting down and the limit; and a reader that stops reading is dropped once the
 * server holds too much for it (served by a real `Bun.serve` to a raw socket that reads nothing).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { StreamHub } from "@vexil/streaming/streams";

const bytes = (s: string) => new TextEncoder().encode(s);
const hubs: StreamHub<string>[] = [];
const hubOf = (limit = 10) => {
  const hub = new StreamHub<string>({ heartbeatMs: 60_000, limit });
  hubs.push(hub);
  return hub;
};

afterEach(() => {
  for (const hub of hubs.splice(0)) hub.shutdown();
});

/** Everything the body gives until it ends. */
async function readAll(response: Response): Promise<string> {
  return new TextDecoder().decode(await response.arrayBuffer());
}

describe("stream hub", () => {
  test("what is sent before the response starts follows the put, in order; close ends the body and tells the owner once", async () => {
    const hub = hubOf();
    let closes = 0;
    const opened = hub.open({ initial: bytes("event: put\ndata: {}\n\n"), tag: "a", onClose: () => void closes++ })!;
    expect(opened.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(opened.stream.send(bytes("event: patch\ndata: 1\n\n"))).toBe(true);
    expect(opened.stream.send(bytes("event: patch\ndata: 2\n\n"))).toBe(true);
    const body = readAll(opened.response);
    await Bun.sleep(1);
    opened.stream.send(bytes("event: patch\ndata: 3\n\n"));
    opened.stream.close();
    opened.stream.close();
    expect(await body).toBe("event: put\ndata: {}\n\nevent: patch\ndata: 1\n\nevent: patch\ndata: 2\n\nevent: patch\ndata: 3\n\n");
    expect(opened.stream.closed).toBe(true);
    expect(opened.stream.send(bytes("late"))).toBe(false);
    expect(closes).toBe(1);
    expect(hub.size).toBe(0);
  });

  test("a stream closed before its response starts gives an empty body", async () => {
    const hub = hubOf();
    const opened = hub.open({ initial: bytes("event: put\ndata: {}\n\n"), tag: "a", onClose: () => {} })!;
    opened.stream.close();
    expect(await readAll(opened.response)).toBe("");
  });

  test("past the limit open answers nothing; a closed stream frees its slot; closeWhere picks by tag; shutdown closes all and refuses new ones", () => {
    const hub = hubOf(2);
    const a = hub.open({ initial: bytes(":\n\n"), tag: "key-1", onClose: () => {} })!;
    const b = hub.open({ initial: bytes(":\n\n"), tag: "key-2", onClose: () => {} })!;
    expect(hub.open({ initial: bytes(":\n\n"), tag: "key-3", onClose: () => {} })).toBeUndefined();
    expect(hub.closeWhere((tag) => tag === "key-1")).toBe(1);
    expect(a.stream.closed).toBe(true);
    expect(b.stream.closed).toBe(false);
    const c = hub.open({ initial: bytes(":\n\n"), tag: "key-3", onClose: () => {} })!;
    expect(hub.size).toBe(2);
    hub.shutdown();
    expect([b.stream.closed, c.stream.closed]).toEqual([true, true]);
    expect(hub.size).toBe(0);
    expect(hub.isAccepting).toBe(false);
    expect(hub.open({ initial: bytes(":\n\n"), tag: "key-4", onClose: () => {} })).toBeUndefined();
  });

  test("a reader that stops reading is dropped once the server holds megabytes for it", async () => {
    const hub = hubOf();
    let closes = 0;
    let opened: ReturnType<StreamHub<string>["open"]>;
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      idleTimeout: 0,
      fetch: () => {
        opened = hub.open({ initial: bytes("event: put\ndata: {}\n\n"), tag: "slow", onClose: () => void closes++ });
        return opened!.response;
      },
    });
    try {
      let received = 0;
      const socket = await Bun.connect({
        hostname: "127.0.0.1",
        port: server.port!,
        socket: {
          open: (s) => void s.write("GET /all HTTP/1.1\r\nHost: localhost\r\n\r\n"),
          data: (s, data) => {
            received += data.length;
            // The response head and the put arrive; then this reader stops reading.
            s.pause();
          },
        },
      });
      while (received === 0) await Bun.sleep(5);
      const chunk = new Uint8Array(1024 * 1024).fill(0x20);
      let sends = 0;
      // Far more than the kernel's buffers and the 4 MiB the server keeps for a reader.
      while (opened!.stream.send(chunk) && sends < 100) {
        sends++;
        await Bun.sleep(1);
      }
      expect(opened!.stream.closed).toBe(true);
      expect(closes).toBe(1);
      expect(hub.size).toBe(0);
      socket.end();
    } finally {
      server.stop(true);
    }
  });
});
