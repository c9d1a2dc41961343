/**
 * Requests no client should send, on every HTTP server Vexil runs (the gateway, the streaming
 * port, the health ports of auth and flags, the all-in-one port), over a raw socket: each gets a
 * JSON `{code, message, id}` answer and nothing of the server's insides (stack, source, paths).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import { testDatabaseUrl } from "../support/postgres.ts";
import { freePort } from "../support/ports.ts";
import { ROOT, startEntry, type Running } from "../support/process.ts";
import { rawRequest } from "../support/raw-http.ts";

let cluster: Cluster;
let allInOne: Running;
const servers: { name: string; port: number }[] = [];

beforeAll(async () => {
  cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 1, streaming: 1 }, adminToken: "hostile-requests-admin-0001" });
  for (const i of cluster.instances) servers.push({ name: i.kind, port: i.port });
  const port = freePort();
  allInOne = await startEntry("services/all-in-one/main.ts", port, { DATABASE_URL: await testDatabaseUrl(), NATS_URL: undefined, VEXIL_ADMIN_TOKEN: "hostile-requests-admin-0002" });
  servers.push({ name: "all-in-one", port });
}, 120_000);

afterAll(async () => {
  await allInOne?.stop();
  await cluster?.stop();
}, 60_000);

const HOSTILE: Record<string, string> = {
  "HTTP/1.0 without Host": "GET /healthz HTTP/1.0\r\n\r\n",
  "HTTP/1.0 without Host on an SDK path": "GET /all HTTP/1.0\r\nAuthorization: sdk-x\r\n\r\n",
  "HTTP/1.0 without Host on the API": "GET /api/v2/projects HTTP/1.0\r\n\r\n",
  "a malformed Host": "GET /readyz HTTP/1.1\r\nHost: [::bad\r\nConnection: close\r\n\r\n",
  CONNECT: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
  "CONNECT without Host": "CONNECT 127.0.0.1:5432 HTTP/1.0\r\n\r\n",
};

/** What a development error page or an escaped error would show. */
function expectNoInsides(text: string) {
  expect(text).not.toContain(ROOT);
  expect(text).not.toMatch(/\.ts:\d+/);
  expect(text).not.toMatch(/\bat \S+ \(/);
  expect(text.toLowerCase()).not.toContain("<!doctype");
  expect(text).not.toContain("node_modules");
}

describe("hostile requests on every server", () => {
  for (const [what, request] of Object.entries(HOSTILE)) {
    test(`${what}: a JSON error, no stack`, async () => {
      expect(servers.length).toBe(5);
      for (const { name, port } of servers) {
        const response = await rawRequest(port, request);
        expectNoInsides(response.text);
        expect({ name, status: response.status }).toEqual({ name, status: what.startsWith("CONNECT") ? 405 : 400 });
        expect(response.headers.toLowerCase()).toContain("content-type: application/json");
        const body = JSON.parse(response.body);
        expect(Object.keys(body).sort()).toEqual(["code", "id", "message"]);
        expect(body.code).toBe(what.startsWith("CONNECT") ? "method_not_allowed" : "invalid_request");
      }
    }, 60_000);
  }

  test("an ordinary HTTP/1.0 request with Host is still served", async () => {
    for (const { name, port } of servers) {
      const response = await rawRequest(port, `GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      expect({ name, status: response.status }).toEqual({ name, status: 200 });
      expect(JSON.parse(response.body)).toEqual({ status: "ok" });
    }
  }, 30_000);

  test("the processes logged nothing that reached a caller and are still alive", async () => {
    for (const { name, port } of servers) expect({ name, status: (await fetch(`http://127.0.0.1:${port}/readyz`)).status }).toEqual({ name, status: 200 });
  }, 30_000);
});
