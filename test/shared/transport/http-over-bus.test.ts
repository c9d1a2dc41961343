import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { COMMIT_MARGIN_MS, DEADLINE_HEADER, callerDeadline, commitDeadline, deadlinePassed } from "@vexil/shared/deadline";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import { createLogger, silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import {
  busServiceClient,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  forwardedOf,
  inProcessServiceClient,
  serveHttpOverBus,
} from "@vexil/shared/transport/http-over-bus";

const BINARY = new Uint8Array([0, 1, 2, 10, 13, 0x7b, 0xff, 0xfe, 0x80, 0]);
/** A deadline for frames whose deadline the test does not look at. */
const LATER = 4_000_000_000_000;

/** `request` as the gateway forwards it, with its whole body. */
async function forwarded(request: Request) {
  const url = new URL(request.url);
  return forwardedOf(request, url.pathname + url.search, request.body ? new Uint8Array(await request.arrayBuffer()) : undefined);
}

async function json(response: Response): Promise<Record<string, unknown>> {
  expect(response.headers.get("content-type")).toContain("application/json");
  return (await response.json()) as Record<string, unknown>;
}

describe("request frames", () => {
  test("keep method, path with query, headers and binary body", async () => {
    const original = new Request("http://gateway.example:8080/api/v2/flags/p?env=prod&tag=a%20b&tag=c", {
      method: "PATCH",
      headers: { "Content-Type": "application/octet-stream", Authorization: "api-abc", "X-Request-Id": "req-00000001" },
      body: BINARY,
    });
    const decoded = decodeRequest(encodeRequest(await forwarded(original), LATER));
    expect(decoded.method).toBe("PATCH");
    const url = new URL(decoded.url);
    expect(url.pathname + url.search).toBe("/api/v2/flags/p?env=prod&tag=a%20b&tag=c");
    expect(decoded.headers.get("content-type")).toBe("application/octet-stream");
    expect(decoded.headers.get("authorization")).toBe("api-abc");
    expect(decoded.headers.get("x-request-id")).toBe("req-00000001");
    expect(new Uint8Array(await decoded.arrayBuffer())).toEqual(BINARY);
  });

  test("a header value outside ASCII survives; a URL fragment is not part of the path", async () => {
    const original = new Request("http://gateway.example/api/v2/flags/p?q=1#section", { headers: { "x-note": "café crème" } });
    const decoded = decodeRequest(encodeRequest(await forwarded(original), LATER));
    const url = new URL(decoded.url);
    expect(url.pathname + url.search + url.hash).toBe("/api/v2/flags/p?q=1");
    expect(decoded.headers.get("x-note")).toBe("café crème");
  });

  test("a body that holds newlines survives the newline-separated frame", async () => {
    const body = '{\n  "a": "line\\nbreak"\n}\n\n';
    const decoded = decodeRequest(encodeRequest(await forwarded(new Request("http://x/p", { method: "POST", body, headers: { "content-type": "application/json" } })), LATER));
    expect(await decoded.text()).toBe(body);
  });

  test("a GET without a body stays without a body", async () => {
    const decoded = decodeRequest(encodeRequest(await forwarded(new Request("http://x/api/v2/projects?limit=5", { headers: { accept: "application/json" } })), LATER));
    expect(decoded.method).toBe("GET");
    expect(decoded.body).toBeNull();
    expect(new URL(decoded.url).search).toBe("?limit=5");
    expect(decoded.headers.get("accept")).toBe("application/json");
  });

  test.each(["DELETE", "HEAD", "OPTIONS", "PUT", "POST"])("%s keeps its method", async (method) => {
    const decoded = decodeRequest(encodeRequest(await forwarded(new Request("http://x/thing", { method })), LATER));
    expect(decoded.method).toBe(method);
    expect(new URL(decoded.url).pathname).toBe("/thing");
  });

  test("a frame without the metadata line is refused", () => {
    expect(() => decodeRequest(new TextEncoder().encode("no newline here"))).toThrow();
    expect(() => decodeResponse(new TextEncoder().encode("{}"))).toThrow();
  });
});

describe("response frames", () => {
  test("keep status, headers and binary body", async () => {
    const headers = new Headers({ "content-type": "application/octet-stream", etag: '"v3"', "x-ratelimit-remaining": "9" });
    const decoded = decodeResponse(await encodeResponse(new Response(BINARY, { status: 201, headers })));
    expect(decoded.status).toBe(201);
    expect(decoded.headers.get("content-type")).toBe("application/octet-stream");
    expect(decoded.headers.get("etag")).toBe('"v3"');
    expect(decoded.headers.get("x-ratelimit-remaining")).toBe("9");
    expect(new Uint8Array(await decoded.arrayBuffer())).toEqual(BINARY);
  });

  test("several set-cookie headers stay separate", async () => {
    const headers = new Headers();
    headers.append("set-cookie", "a=1; Path=/");
    headers.append("set-cookie", "b=2; HttpOnly");
    const decoded = decodeResponse(await encodeResponse(new Response("ok", { headers })));
    expect(decoded.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
  });

  test.each([204, 304])("%i has no body", async (status) => {
    const decoded = decodeResponse(await encodeResponse(new Response(null, { status, headers: { etag: '"e"' } })));
    expect(decoded.status).toBe(status);
    expect(decoded.body).toBeNull();
    expect(decoded.headers.get("etag")).toBe('"e"');
  });

  test.each([400, 404, 409, 500, 503])("error status %i and its JSON body pass through", async (status) => {
    const body = JSON.stringify({ code: "x", message: "y", id: "z" });
    const decoded = decodeResponse(await encodeResponse(new Response(body, { status, headers: { "content-type": "application/json" } })));
    expect(decoded.status).toBe(status);
    expect(await decoded.text()).toBe(body);
  });
});

describe("serveHttpOverBus + busServiceClient", () => {
  let bus: MemoryBus;
  beforeEach(() => {
    bus = new MemoryBus();
  });
  afterEach(async () => {
    await bus.drain();
  });

  test("status, headers and body pass through unchanged", async () => {
    const seen: Request[] = [];
    serveHttpOverBus(
      bus,
      "flags",
      async (request) => {
        seen.push(request);
        const body = new Uint8Array(await request.arrayBuffer());
        return new Response(body.reverse(), { status: 207, headers: { "content-type": "application/x-test", "x-echo": request.headers.get("x-in") ?? "" } });
      },
      silentLogger,
    );
    const client = busServiceClient(bus, "flags", 2_000);
    const response = await client.handle(
      await forwarded(new Request("http://gateway/api/v2/flags/default?summary=0", { method: "POST", headers: { "x-in": "hello" }, body: new Uint8Array([1, 2, 3]) })),
    );
    expect(response.status).toBe(207);
    expect(response.headers.get("content-type")).toBe("application/x-test");
    expect(response.headers.get("x-echo")).toBe("hello");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([3, 2, 1]));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe("POST");
    const url = new URL(seen[0]!.url);
    expect(url.pathname + url.search).toBe("/api/v2/flags/default?summary=0");
  });

  test("each service listens on its own subject", async () => {
    serveHttpOverBus(bus, "auth", () => new Response("auth"), silentLogger);
    serveHttpOverBus(bus, "streaming", () => new Response("streaming"), silentLogger);
    expect(await (await busServiceClient(bus, "auth", 2_000).handle(await forwarded(new Request("http://g/x")))).text()).toBe("auth");
    expect(await (await busServiceClient(bus, "streaming", 2_000).handle(await forwarded(new Request("http://g/x")))).text()).toBe("streaming");
    const reply = await bus.request(subjects.http("auth"), encodeRequest(await forwarded(new Request("http://g/y")), LATER), { timeoutMs: 2_000 });
    expect(await decodeResponse(reply.data).text()).toBe("auth");
  });

  test("a handler that throws gives a JSON 500 with the request id, logged but not shown", async () => {
    const lines: string[] = [];
    serveHttpOverBus(
      bus,
      "auth",
      () => {
        throw new Error("database password is hunter2");
      },
      createLogger("error", {}, (l) => lines.push(l)),
    );
    const response = await busServiceClient(bus, "auth", 2_000).handle(await forwarded(new Request("http://g/api/v2/caller-identity", { headers: { "x-request-id": "req-abcdef12" } })));
    expect(response.status).toBe(500);
    const body = await json(response);
    expect(body).toEqual({ code: "internal_error", message: expect.any(String), id: "req-abcdef12" });
    expect(JSON.stringify(body)).not.toContain("hunter2");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", id: "req-abcdef12" });
  });

  test("a 500 without a usable request id gets a fresh one", async () => {
    serveHttpOverBus(bus, "auth", () => Promise.reject(new Error("boom")), silentLogger);
    const response = await busServiceClient(bus, "auth", 2_000).handle(await forwarded(new Request("http://g/x", { headers: { "x-request-id": "bad id!" } })));
    const body = await json(response);
    expect(response.status).toBe(500);
    expect(body.code).toBe("internal_error");
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("a malformed frame is answered with 400", async () => {
    serveHttpOverBus(bus, "flags", () => new Response("never"), silentLogger);
    const reply = await bus.request(subjects.http("flags"), new TextEncoder().encode("garbage"), { timeoutMs: 2_000 });
    const response = decodeResponse(reply.data);
    expect(response.status).toBe(400);
    expect((await json(response)).code).toBe("invalid_request");
  });

  test("no service listening gives 503 service_unavailable with retry-after", async () => {
    const response = await busServiceClient(bus, "flags", 2_000).handle(await forwarded(new Request("http://g/api/v2/projects", { headers: { "x-request-id": "req-00000503" } })));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await json(response)).toEqual({ code: "service_unavailable", message: expect.stringContaining("flags"), id: "req-00000503" });
  });

  test("a closed bus gives 503 too", async () => {
    await bus.drain();
    const response = await busServiceClient(bus, "flags", 2_000).handle(await forwarded(new Request("http://g/x")));
    expect(response.status).toBe(503);
    expect((await json(response)).code).toBe("service_unavailable");
  });

  test("a service slower than the limit gives 504 gateway_timeout", async () => {
    serveHttpOverBus(
      bus,
      "streaming",
      async () => {
        await Bun.sleep(300);
        return new Response("late");
      },
      silentLogger,
    );
    const response = await busServiceClient(bus, "streaming", 50).handle(await forwarded(new Request("http://g/x", { headers: { "x-request-id": "req-00000504" } })));
    expect(response.status).toBe(504);
    expect(await json(response)).toEqual({ code: "gateway_timeout", message: expect.stringContaining("streaming"), id: "req-00000504" });
  });
});

describe("inProcessServiceClient", () => {
  test("passes the response through", async () => {
    const client = inProcessServiceClient("flags", (r) => new Response(`got ${new URL(r.url).pathname}`, { status: 202 }), 1_000);
    const response = await client.handle(await forwarded(new Request("http://g/api/v2/x")));
    expect(response.status).toBe(202);
    expect(await response.text()).toBe("got /api/v2/x");
  });

  test("a handler slower than the limit gives 504 with a JSON body", async () => {
    const client = inProcessServiceClient(
      "flags",
      async () => {
        await Bun.sleep(300);
        return new Response("late");
      },
      50,
    );
    const response = await client.handle(await forwarded(new Request("http://g/x", { headers: { "x-request-id": "req-in-proc-1" } })));
    expect(response.status).toBe(504);
    expect(await json(response)).toEqual({ code: "gateway_timeout", message: expect.stringContaining("flags"), id: "req-in-proc-1" });
  });

  test("a handler that throws, synchronously or not, gives 500 with a JSON body", async () => {
    for (const handle of [
      () => {
        throw new Error("sync secret");
      },
      async () => {
        throw new Error("async secret");
      },
    ]) {
      const response = await inProcessServiceClient("auth", handle, 1_000).handle(await forwarded(new Request("http://g/x", { headers: { "x-request-id": "req-in-proc-2" } })));
      expect(response.status).toBe(500);
      const body = await json(response);
      expect(body).toEqual({ code: "internal_error", message: expect.stringContaining("auth"), id: "req-in-proc-2" });
      expect(JSON.stringify(body)).not.toContain("secret");
    }
  });
});

describe("deadlines", () => {
  let bus: MemoryBus;
  beforeEach(() => {
    bus = new MemoryBus();
  });
  afterEach(async () => {
    await bus.drain();
  });

  /** A handler that answers with what it saw: the header, and the deadline it runs in. */
  const reporting = (request: Request) => Response.json({ header: request.headers.get(DEADLINE_HEADER), running: callerDeadline() ?? null, commit: commitDeadline() ?? null });

  test("the frame carries the deadline given, in place of any the request had", async () => {
    const original = new Request("http://g/x", { headers: { [DEADLINE_HEADER]: "99999999999999", "x-other": "kept" } });
    const decoded = decodeRequest(encodeRequest(await forwarded(original), 1_700_000_000_000));
    expect(decoded.headers.get(DEADLINE_HEADER)).toBe("1700000000000");
    expect(decoded.headers.get("x-other")).toBe("kept");
  });

  test("over the bus: the gateway's limit becomes the request's deadline, and the handler runs inside it", async () => {
    serveHttpOverBus(bus, "flags", reporting, silentLogger);
    const before = Date.now();
    // A deadline a client sends is not the gateway's: it is replaced.
    const response = await busServiceClient(bus, "flags", 3_000).handle(await forwarded(new Request("http://g/x", { headers: { [DEADLINE_HEADER]: "99999999999999" } })));
    const seen = (await response.json()) as { header: string; running: number; commit: number };
    const deadline = Number(seen.header);
    expect(deadline).toBeGreaterThanOrEqual(before + 3_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 3_000);
    expect(seen.running).toBe(deadline);
    expect(seen.commit).toBe(deadline - COMMIT_MARGIN_MS);
  });

  test("in process: the same header and the same deadline around the handler", async () => {
    const before = Date.now();
    const response = await inProcessServiceClient("flags", reporting, 3_000).handle(await forwarded(new Request("http://g/x", { headers: { [DEADLINE_HEADER]: "5" } })));
    const seen = (await response.json()) as { header: string; running: number; commit: number };
    const deadline = Number(seen.header);
    expect(deadline).toBeGreaterThanOrEqual(before + 3_000);
    expect(seen.running).toBe(deadline);
    expect(seen.commit).toBe(deadline - COMMIT_MARGIN_MS);
  });

  test("a request without the header runs with no deadline", async () => {
    serveHttpOverBus(bus, "flags", reporting, silentLogger);
    // A frame as a caller other than the gateway may send it: no deadline.
    const frame = new TextEncoder().encode(`${JSON.stringify({ method: "GET", path: "/x", headers: [] })}\n`);
    const reply = await bus.request(subjects.http("flags"), frame, { timeoutMs: 2_000 });
    expect(await decodeResponse(reply.data).json()).toEqual({ header: null, running: null, commit: null });
  });

  test("a request that arrives after its deadline is refused with 504 without being handled", async () => {
    let handled = 0;
    serveHttpOverBus(
      bus,
      "flags",
      () => {
        handled++;
        return new Response("handled");
      },
      silentLogger,
    );
    const late = await forwarded(new Request("http://g/x", { headers: { "x-request-id": "req-late-0001" } }));
    const reply = await bus.request(subjects.http("flags"), encodeRequest(late, Date.now() - 1), { timeoutMs: 2_000 });
    const response = decodeResponse(reply.data);
    expect(response.status).toBe(504);
    expect(await json(response)).toEqual({ code: "gateway_timeout", message: expect.stringContaining("nothing was changed"), id: "req-late-0001" });
    expect(handled).toBe(0);
  });

  test("a refusal past the deadline inside the service, even wrapped by the driver's error, is a 504 and no failure in the log", async () => {
    const lines: string[] = [];
    const app = new Elysia().use(errorsPlugin(createLogger("debug", {}, (l) => lines.push(l)))).get("/x", () => {
      // What drizzle throws when a statement is refused: its own error, the refusal as the cause.
      throw new Error("Failed query: select 1", { cause: deadlinePassed() });
    });
    serveHttpOverBus(bus, "flags", (request) => app.handle(request), silentLogger);
    const response = await busServiceClient(bus, "flags", 2_000).handle(await forwarded(new Request("http://g/x")));
    expect(response.status).toBe(504);
    expect((await json(response)).message).toContain("nothing was changed");
    expect(lines).toEqual([]);
  });
});
