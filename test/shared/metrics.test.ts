/**
 * The metrics module and its parts: route templates from an app's own route table, bounded labels,
 * bus failures counted on both buses (a real nats-server for NATS), and `/metrics` with and
 * without its token. Every reading goes through the Prometheus text parser, as a scraper would.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { connectNatsBus, type NatsBus } from "@vexil/shared/bus/nats-bus";
import { measuredHandle, routeTemplates, ROUTE_HEADER } from "@vexil/shared/http/measured";
import { silentLogger } from "@vexil/shared/logger";
import { MAX_ENVIRONMENT_LABELS, environmentLabels, httpRecorder, metricsResponse, pathOf, registry, streamOpened } from "@vexil/shared/metrics";
import { parseScrape } from "../support/metrics.ts";
import { startNats, type NatsServer } from "../support/nats.ts";

const read = async () => parseScrape(await registry.metrics());

describe("route templates", () => {
  const app = new Elysia()
    .get("/api/v2/flags/:projectKey/:flagKey", () => "flag")
    .patch("/api/v2/flags/:projectKey/:flagKey", () => "patched")
    .get("/api/v2/flags/:projectKey", () => "flags")
    .get("/sdk/latest-all", () => "all");
  const templateOf = routeTemplates(app.routes);

  test("a path is labelled by the route that answers it, never by itself", () => {
    expect(templateOf("GET", "/api/v2/flags/shop/secret-launch")).toBe("/api/v2/flags/:projectKey/:flagKey");
    expect(templateOf("PATCH", "/api/v2/flags/shop/secret-launch")).toBe("/api/v2/flags/:projectKey/:flagKey");
    expect(templateOf("GET", "/api/v2/flags/shop")).toBe("/api/v2/flags/:projectKey");
    expect(templateOf("GET", "/sdk/latest-all")).toBe("/sdk/latest-all");
    // A method the route lacks (a preflight, a 405) still takes the path's template.
    expect(templateOf("OPTIONS", "/api/v2/flags/shop/x")).toBe("/api/v2/flags/:projectKey/:flagKey");
    expect(templateOf("GET", "/nowhere/at/all")).toBeUndefined();
  });

  test("the path of a URL, without its query", () => {
    expect(pathOf("http://h:1/a/b?c=d")).toBe("/a/b");
    expect(pathOf("https://h/")).toBe("/");
    expect(pathOf("http://h")).toBe("/");
  });

  test("a measured app counts each request under its template and tells the caller the template", async () => {
    const handle = measuredHandle("unit-measured", app.routes, (r) => app.handle(r));
    for (const key of ["one", "two", "three"]) expect((await handle(new Request(`http://localhost/api/v2/flags/p/${key}`))).headers.get(ROUTE_HEADER)).toBe("/api/v2/flags/:projectKey/:flagKey");
    expect((await handle(new Request("http://localhost/missing"))).status).toBe(404);
    const s = await read();
    expect(s.value("vexil_http_requests_total", { service: "unit-measured", route: "/api/v2/flags/:projectKey/:flagKey", method: "GET", status: "200" })).toBe(3);
    expect(s.value("vexil_http_request_duration_seconds", { service: "unit-measured", route: "/api/v2/flags/:projectKey/:flagKey", method: "GET" })).toBe(3);
    expect(s.value("vexil_http_requests_total", { service: "unit-measured", route: "unmatched", method: "GET", status: "404" })).toBe(1);
    expect(s.labelValues("vexil_http_requests_total", "route").join(" ")).not.toContain("one");
  });

  test("methods outside the HTTP set share one label", async () => {
    const recorder = httpRecorder("unit-methods");
    for (const method of ["BREW", "WHEN", "GET"]) recorder.record("/r", method, 400, 0.001);
    const s = await read();
    expect(s.value("vexil_http_requests_total", { service: "unit-methods", method: "other" })).toBe(2);
    expect(s.value("vexil_http_requests_total", { service: "unit-methods", method: "GET" })).toBe(1);
    expect(s.labelValues("vexil_http_requests_total", "method")).not.toContain("BREW");
  });
});

describe("stream labels", () => {
  test("an environment is labelled by its keys until the cap, then as other; a closed stream is counted once", async () => {
    const closes: Array<() => void> = [];
    for (let i = 0; i <= MAX_ENVIRONMENT_LABELS; i++) environmentLabels(`unit-env-${i}`, "unit-project", `env-${i}`);
    expect(environmentLabels("unit-env-0", "unit-project", "env-0")).toEqual(["unit-project", "env-0"]);
    expect(environmentLabels(`unit-env-${MAX_ENVIRONMENT_LABELS}`, "unit-project", "late")).toEqual(["other", "other"]);
    closes.push(streamOpened("unit-env-0", "unit-project", "env-0", "server"), streamOpened("unit-env-0", "unit-project", "env-0", "server"));
    closes.push(streamOpened(`unit-env-${MAX_ENVIRONMENT_LABELS}`, "unit-project", "late", "mobile"));
    let s = await read();
    expect(s.value("vexil_sdk_streams_open", { project: "unit-project", environment: "env-0", kind: "server" })).toBe(2);
    expect(s.value("vexil_sdk_streams_open", { project: "other", kind: "mobile" })).toBe(1);
    closes[0]!();
    closes[0]!();
    s = await read();
    expect(s.value("vexil_sdk_streams_open", { project: "unit-project", environment: "env-0", kind: "server" })).toBe(1);
    closes.slice(1).forEach((close) => close());
  });
});

describe("bus request failures", () => {
  let nats: NatsServer;
  let bus: NatsBus;
  beforeAll(async () => {
    nats = await startNats();
    bus = await connectNatsBus(nats.url, "metrics-test", silentLogger);
  });
  afterAll(async () => {
    await bus?.drain();
    await nats?.destroy();
  });

  const failures = async (subject: string, reason: string) => (await read()).value("vexil_bus_request_failures_total", { subject, reason });

  test("a NATS request nobody answers, and one answered too late, are counted by subject and reason", async () => {
    const before = await failures("vexil.unit.nobody", "no_responders");
    await expect(bus.request("vexil.unit.nobody", new Uint8Array(), { timeoutMs: 500 })).rejects.toThrow();
    expect((await failures("vexil.unit.nobody", "no_responders")) - before).toBe(1);

    const slow = bus.serve("vexil.unit.slow", async () => {
      await Bun.sleep(300);
      return { data: new Uint8Array() };
    });
    const late = await failures("vexil.unit.slow", "timeout");
    await expect(bus.request("vexil.unit.slow", new Uint8Array(), { timeoutMs: 50 })).rejects.toThrow();
    expect((await failures("vexil.unit.slow", "timeout")) - late).toBe(1);
    slow.unsubscribe();
  });

  test("the in-process bus counts the same way", async () => {
    const memory = new MemoryBus();
    const before = await failures("vexil.unit.memory", "no_responders");
    await expect(memory.request("vexil.unit.memory", new Uint8Array(), { timeoutMs: 50 })).rejects.toThrow();
    expect((await failures("vexil.unit.memory", "no_responders")) - before).toBe(1);
    await memory.drain();
  });
});

describe("GET /metrics", () => {
  const get = (headers: Record<string, string> = {}, method = "GET") => new Request("http://x/metrics", { method, headers });

  test("without a token: Prometheus text for anyone", async () => {
    const res = await metricsResponse(get(), undefined);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    expect(parseScrape(await res.text()).families.has("vexil_http_requests_total")).toBe(true);
  });

  test("with a token: only for Authorization: Bearer <token>, anything else a JSON 401", async () => {
    const token = "unit-metrics-token-0001";
    const attempts: Array<Record<string, string>> = [{}, { authorization: "Bearer unit-metrics-token-0002" }, { authorization: "Bearer " }, { authorization: "Bearer unit-metrics-token-00011" }];
    for (const headers of attempts) {
      const res = await metricsResponse(get(headers), token);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      const body = (await res.json()) as { code: string; id: string };
      expect(body.code).toBe("unauthorized");
      expect(typeof body.id).toBe("string");
    }
    expect((await metricsResponse(get({ authorization: `Bearer ${token}` }), token)).status).toBe(200);
    expect((await metricsResponse(get({ authorization: token }), token)).status).toBe(200);
  });

  test("other methods are 405", async () => {
    const res = await metricsResponse(get({}, "POST"), undefined);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });
});
