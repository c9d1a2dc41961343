/**
 * Ports this process has handed out. The kernel may hand a port just freed out again, and between
 * `freePort()` and the moment its server listens nothing holds it: two servers started one after the
 * other (a cluster's instances) could be given the same one, and the second would find it taken
 * while the first answered for both.
 */
const handedOut = new Set<number>();
/** Far fewer than the ephemeral range holds; past it the oldest are long in use or long gone. */
const REMEMBERED = 10_000;

/** A TCP port nobody listens on right now, and none this process has handed out before. */
export function freePort(): number {
  for (;;) {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = server.port;
    server.stop(true);
    if (handedOut.has(port)) continue;
    if (handedOut.size >= REMEMBERED) handedOut.clear();
    handedOut.add(port);
    return port;
  }
}

/** Resolves once something accepts connections on the port. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      socket.end();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
      await Bun.sleep(50);
    }
  }
}
