/**
 * The edge's own answers, with HAProxy running the rendered configuration in front of instances
 * that misbehave on purpose (raw TCP servers): one that stops before answering — a killed gateway,
 * inside HAProxy a 502 — leaves the edge as a 504 JSON error with the request's id, so no 5xx
 * other than 503 and 504 ever reaches a caller; a real 504 and 503 keep their JSON bodies.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createServer, type AddressInfo, type Server } from "node:net";
import { renderEdgeConfig } from "../../infra/edge/config.ts";
import { haproxyBinary } from "../../infra/edge/haproxy.ts";
import { freePort } from "../../infra/local/ports.ts";

/** An instance that answers its health check and, to anything else, closes the connection unanswered. */
async function dyingInstance(): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(received.slice(0, end))?.[1] ?? 0);
      if (received.length < end + 4 + length) return;
      // The whole request is here, as with a gateway killed while it works on a request.
      if (received.startsWith("GET /readyz ")) socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
      else socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

let dir: string;
let haproxy: Subprocess;
let instance: { port: number; server: Server };
let url: string;

beforeAll(async () => {
  instance = await dyingInstance();
  const port = freePort();
  const statsPort = freePort();
  dir = mkdtempSync(join(tmpdir(), "vexil-edge-errors-"));
  const config = renderEdgeConfig({
    bind: `127.0.0.1:${port}`,
    statsBind: `127.0.0.1:${statsPort}`,
    gateways: [{ name: "gateway-0", host: "127.0.0.1", port: instance.port }],
    // Nothing listens here: the streaming backend has no instance in the rotation.
    streaming: [{ name: "streaming-0", host: "127.0.0.1", port: freePort() }],
  });
  writeFileSync(join(dir, "haproxy.cfg"), config);
  haproxy = Bun.spawn([haproxyBinary(), "-f", join(dir, "haproxy.cfg"), "-db"], { stdout: "ignore", stderr: "ignore" });
  // The worker serves once its status page answers (the master process binds the ports before it).
  const deadline = Date.now() + 20_000;
  while (!(await fetch(`http://127.0.0.1:${statsPort}/stats`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error("the edge did not start");
    await Bun.sleep(100);
  }
  url = `http://127.0.0.1:${port}`;
}, 30_000);

afterAll(async () => {
  haproxy?.kill();
  await haproxy?.exited;
  instance?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

test("an instance that stops before answering: 504 JSON with the request's id, never 502", async () => {
  for (const [method, body] of [["GET", undefined], ["PATCH", "{}"]] as const) {
    const answer = await fetch(`${url}/api/v2/flags/p/f`, { method, body, headers: { "content-type": "application/json" }, keepalive: false });
    expect(answer.status).toBe(504);
    expect(answer.headers.get("content-type")).toBe("application/json");
    const error = (await answer.json()) as { code: string; message: string; id: string };
    expect(error.code).toBe("gateway_timeout");
    expect(error.message).toContain("may or may not have taken effect");
    expect(error.id.length).toBeGreaterThan(0);
  }
}, 30_000);

test("no streaming instance in the rotation: 503 JSON with Retry-After", async () => {
  // Its checks find nothing listening; until the first ones fail, the retries do.
  let answer: Response;
  const deadline = Date.now() + 20_000;
  do {
    answer = await fetch(`${url}/sdk/latest-all`, { headers: { authorization: "sdk-key" } });
  } while (answer.status !== 503 && Date.now() < deadline && (await Bun.sleep(200), true));
  expect(answer.status).toBe(503);
  expect(answer.headers.get("retry-after")).toBe("1");
  expect(((await answer.json()) as { code: string }).code).toBe("service_unavailable");
}, 30_000);
