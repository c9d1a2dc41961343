/**
 * The streaming baseline: a bare `Bun.serve` that answers every request with a Server-Sent Event
 * stream of the same bytes (a file's, `PUT_FILE`, read once and shared by every stream), then holds
 * the stream open with a comment heartbeat (`HEARTBEAT_MS`, 60 s). It does nothing Vexil does, so
 * its memory per open stream is what Bun itself costs on this machine. `/readyz` answers 200.
 *
 *   PORT=8080 PUT_FILE=/tmp/put.txt bun bench/hello-sse.ts
 */
export {};

const put = new Uint8Array(await Bun.file(process.env.PUT_FILE ?? "/dev/null").arrayBuffer());
const heartbeat = new TextEncoder().encode(":\n\n");
const open = new Set<ReadableStreamDirectController>();

setInterval(() => {
  for (const controller of open) {
    controller.write(heartbeat);
    controller.flush();
  }
}, Number(process.env.HEARTBEAT_MS ?? 60_000));

const server = Bun.serve({
  port: Number(process.env.PORT ?? 8080),
  hostname: process.env.HOST ?? "127.0.0.1",
  // Bun closes connections idle for 10 s by default; a stream is idle between heartbeats.
  idleTimeout: 0,
  fetch(request) {
    if (new URL(request.url).pathname === "/readyz") return new Response("ok");
    let controller: ReadableStreamDirectController | undefined;
    const body = new ReadableStream({
      type: "direct",
      pull(c) {
        controller = c;
        open.add(c);
        c.write(put);
        c.flush();
        // Returning without closing keeps the stream open until the client goes away.
      },
      cancel() {
        if (controller) open.delete(controller);
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  },
});

const stop = () => {
  server.stop(true);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
