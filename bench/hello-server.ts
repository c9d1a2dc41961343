/**
 * The baseline: a bare `Bun.serve` that answers every request with a small JSON body. It does
 * nothing Vexil does, so its throughput is the ceiling of this machine and load client.
 *
 *   PORT=8080 bun bench/hello-server.ts
 */
const body = JSON.stringify({ hello: "world" });

const server = Bun.serve({
  port: Number(process.env.PORT ?? 8080),
  hostname: process.env.HOST ?? "127.0.0.1",
  fetch: () => new Response(body, { headers: { "content-type": "application/json" } }),
});

const stop = () => {
  server.stop(true);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
