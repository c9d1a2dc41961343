/** `freePort`: the ports handed to the throwaway servers and to a cluster's instances. */
import { expect, test } from "bun:test";
import { freePort } from "../../infra/local/ports.ts";

test("a port once handed out is not handed out again, though the kernel offers a port just freed again and again", () => {
  const ports = Array.from({ length: 2_000 }, () => freePort());
  expect(new Set(ports).size).toBe(ports.length);
  // Each is free: a server can listen on it.
  for (const port of ports.slice(-20)) {
    const server = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    expect(server.port).toBe(port);
    server.stop(true);
  }
});
