/**
 * `GET /metrics` on real processes: every service started alone (gateway, auth, flags, streaming)
 * in the distributed cluster, and the all-in-one process. Each scrape is read by a parser of the
 * Prometheus text format; the test makes requests, opens a stream, changes a flag, schedules a
 * change and restarts the bus, and checks that the metrics that should move did.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchCluster, type Cluster, type ServiceKind } from "../../infra/launcher.ts";
import { makeClient, type Client } from "../support/client.ts";
import { scrape, scrapeUntil, type Scrape } from "../support/metrics.ts";
import { freePort } from "../support/ports.ts";
import { ROOT, startEntry, type Running } from "../support/process.ts";
import { openSse } from "../support/sse.ts";

const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const METRICS_TOKEN = "metrics-scrape-token-0001";

interface Target {
  /** Where REST calls go. */
  api: string;
  /** Where SDKs connect. */
  sdk: string;
  /** The process whose `/metrics` shows each component's work. */
  process: Record<Exclude<ServiceKind, "webhooks">, string>;
  /** The metrics token, when the processes were given one. */
  token?: string;
  postgres: boolean;
}

const ROUTE = "/api/v2/flags/:projectKey/:flagKey";
const requests = (s: Scrape, service: string, route: string, method: string, status: string) => s.value("vexil_http_requests_total", { service, route, method, status });

/** What every process exports: parseable text with the process metrics and Vexil's own. */
async function checkEveryProcess(target: Target) {
  for (const url of new Set(Object.values(target.process))) {
    const s = await scrape(url, target.token);
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes"]) {
      expect([url, name, s.families.has(name)]).toEqual([url, name, true]);
    }
    for (const family of s.families.values()) expect(family.help.length).toBeGreaterThan(0);
    expect(s.families.get("vexil_http_request_duration_seconds")?.type ?? "HISTOGRAM").toBe("HISTOGRAM");
    if (target.token) {
      const refused = await fetch(`${url}/metrics`);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { code: string }).code).toBe("unauthorized");
      expect((await fetch(`${url}/metrics`, { headers: { authorization: "Bearer wrong-metrics-token-01" } })).status).toBe(401);
    }
  }
}

async function exercise(target: Target, admin: Client, project: string) {
  await checkEveryProcess(target);
  const created = await admin.call("POST", "/api/v2/projects", { body: { key: project, name: "Metrics", environments: [{ key: "live", name: "Live", color: "00ff00" }] } });
  expect(created.status).toBe(201);
  const sdkKey = created.body.environments[0].apiKey as string;
  expect((await admin.call("POST", `/api/v2/flags/${project}`, { body: { key: "banner", name: "Banner" } })).status).toBe(201);

  // Requests: counted under the route template by the gateway and by the service that answered.
  const gateway0 = await scrape(target.process.gateway, target.token);
  const flags0 = await scrape(target.process.flags, target.token);
  for (let i = 0; i < 3; i++) expect((await admin.call("GET", `/api/v2/flags/${project}/banner`)).status).toBe(200);
  expect((await admin.call("GET", `/api/v2/flags/${project}/banner`, { token: "api-not-a-real-token" })).status).toBe(401);
  expect((await admin.call("GET", `/api/v2/no-such-collection/${project}`)).status).toBe(404);
  expect((await admin.call("GET", "/api/v2/caller-identity")).status).toBe(200);
  const gateway1 = await scrape(target.process.gateway, target.token);
  const flags1 = await scrapeUntil(target.process.flags, (s) => requests(s, "flags", ROUTE, "GET", "200") >= requests(flags0, "flags", ROUTE, "GET", "200") + 3, target.token);
  expect(requests(gateway1, "gateway", ROUTE, "GET", "200") - requests(gateway0, "gateway", ROUTE, "GET", "200")).toBe(3);
  expect(requests(flags1, "flags", ROUTE, "GET", "200") - requests(flags0, "flags", ROUTE, "GET", "200")).toBe(3);
  expect(gateway1.value("vexil_http_request_duration_seconds", { service: "gateway", route: ROUTE, method: "GET" }) - gateway0.value("vexil_http_request_duration_seconds", { service: "gateway", route: ROUTE, method: "GET" })).toBe(3);
  // Refused before it reached the flags service: the gateway's own answer.
  expect(requests(gateway1, "gateway", "gateway", "GET", "401") - requests(gateway0, "gateway", "gateway", "GET", "401")).toBe(1);
  expect(gateway1.value("vexil_gateway_refusals_total", { reason: "unauthorized" }) - gateway0.value("vexil_gateway_refusals_total", { reason: "unauthorized" })).toBe(1);
  expect(requests(gateway1, "gateway", "unmatched", "GET", "404") - requests(gateway0, "gateway", "unmatched", "GET", "404")).toBe(1);
  // No raw path, and so no key of anything, is a route label.
  for (const s of [gateway1, flags1]) {
    const routes = s.labelValues("vexil_http_requests_total", "route");
    expect(routes).toContain(ROUTE);
    for (const route of routes) expect(route).not.toContain(project);
  }
  expect(gateway1.text).not.toContain(sdkKey);

  // A stream: counted open under its environment's keys, then the change delivered to it.
  const streaming0 = await scrape(target.process.streaming, target.token);
  const stream = await openSse(`${target.sdk}/all`, { headers: { authorization: sdkKey } });
  expect(stream.status).toBe(200);
  await stream.next((e) => e.event === "put");
  const open = { project, environment: "live", kind: "server" };
  let streaming1 = await scrapeUntil(target.process.streaming, (s) => s.value("vexil_sdk_streams_open", open) === 1, target.token);
  expect(streaming1.value("vexil_sdk_streams_open", open)).toBe(1);
  expect(requests(streaming1, "streaming", "/all", "GET", "200") - requests(streaming0, "streaming", "/all", "GET", "200")).toBe(1);
  expect(streaming1.text).not.toContain(sdkKey);

  const changed = await admin.call("PATCH", `/api/v2/flags/${project}/banner`, { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }] } });
  expect(changed.status).toBe(200);
  await stream.next((e) => e.event === "patch");
  const events = (s: Scrape) => s.value("vexil_sdk_stream_events_total", { kind: "server", event: "patch" });
  streaming1 = await scrapeUntil(target.process.streaming, (s) => s.value("vexil_change_delivery_seconds") > streaming0.value("vexil_change_delivery_seconds"), target.token);
  expect(events(streaming1) - events(streaming0)).toBe(1);
  expect(streaming1.value("vexil_change_delivery_seconds") - streaming0.value("vexil_change_delivery_seconds")).toBe(1);
  const flags2 = await scrape(target.process.flags, target.token);
  expect(flags2.value("vexil_outbox_published_total")).toBeGreaterThan(flags0.value("vexil_outbox_published_total"));
  expect(flags2.value("vexil_outbox_relay_lag_seconds")).toBeGreaterThan(flags0.value("vexil_outbox_relay_lag_seconds"));
  expect(flags2.families.has("vexil_outbox_backlog")).toBe(true);
  expect(flags2.value("vexil_outbox_backlog")).toBeGreaterThanOrEqual(0);
  if (target.postgres) {
    for (const kind of ["auth", "flags"] as const) {
      const s = await scrape(target.process[kind], target.token);
      expect([kind, s.value("vexil_db_pool_size")]).toEqual([kind, 10]);
      expect(s.families.has("vexil_db_pool_in_use")).toBe(true);
      expect(s.value("vexil_db_pool_in_use")).toBeLessThanOrEqual(10);
    }
  }

  // A key that does not work is refused, and counted.
  expect((await fetch(`${target.sdk}/sdk/latest-all`, { headers: { authorization: "sdk-not-a-real-key" } })).status).toBe(401);
  const streaming2 = await scrape(target.process.streaming, target.token);
  expect(streaming2.value("vexil_sdk_refusals_total", { reason: "unauthorized" }) - streaming0.value("vexil_sdk_refusals_total", { reason: "unauthorized" })).toBe(1);

  // The stream closes: no longer counted open.
  stream.close();
  const closed = await scrapeUntil(target.process.streaming, (s) => s.value("vexil_sdk_streams_open", open) === 0, target.token);
  expect(closed.value("vexil_sdk_streams_open", open)).toBe(0);

  // A scheduled change: executed, with its lateness recorded.
  const lateness = (s: Scrape) => s.value("vexil_scheduler_lateness_seconds", { kind: "flagChange" });
  const before = lateness(await scrape(target.process.flags, target.token));
  const scheduled = await admin.call("POST", `/api/v2/projects/${project}/flags/banner/environments/live/scheduled-changes`, {
    body: { executionDate: Date.now() + 1_000, instructions: [{ kind: "turnFlagOff" }] },
  });
  expect(scheduled.status).toBe(201);
  const executed = await scrapeUntil(target.process.flags, (s) => lateness(s) > before, target.token, 20_000);
  expect(lateness(executed) - before).toBe(1);
  expect(executed.value("vexil_scheduler_executions_total", { kind: "flagChange", outcome: "applied" })).toBeGreaterThanOrEqual(1);
}

describe("metrics of the distributed cluster", () => {
  const token = "metrics-distributed-admin-0001";
  let cluster: Cluster;
  let admin: Client;
  const processOf = (kind: ServiceKind) => cluster.instances.find((i) => i.kind === kind)!.url;

  beforeAll(async () => {
    cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 1, streaming: 1 }, adminToken: token, env: { VEXIL_METRICS_TOKEN: METRICS_TOKEN } });
    admin = makeClient(cluster.gateways, token);
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  test("every process serves /metrics; requests, streams, changes and schedules move them", async () => {
    const process = { gateway: processOf("gateway"), auth: processOf("auth"), flags: processOf("flags"), streaming: processOf("streaming") };
    await exercise({ api: cluster.gateways[0]!, sdk: process.streaming, process, token: METRICS_TOKEN, postgres: true }, admin, "metrics-dist");
  }, 90_000);

  test("the Grafana dashboard charts only metrics these processes export", async () => {
    const exported = new Set<string>();
    for (const instance of cluster.instances) for (const name of (await scrape(instance.url, METRICS_TOKEN)).families.keys()) exported.add(name);
    const dashboard = (await Bun.file(join(ROOT, "infra/grafana/vexil.json")).json()) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(20);
    for (const expr of exprs) {
      const names = expr.match(/\b(?:vexil|process|nodejs)_[a-z0-9_]+/g) ?? [];
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect([name, exported.has(name.replace(/_(bucket|count|sum)$/, ""))]).toEqual([name, true]);
    }
  });

  test("a restart of the nats-server counts a disconnect and a reconnect on every process", async () => {
    const reconnects = async () => Promise.all(cluster.instances.map(async (i) => (await scrape(i.url, METRICS_TOKEN)).value("vexil_bus_reconnects_total")));
    const before = await reconnects();
    await cluster.nats!.stop();
    await cluster.nats!.start();
    for (const [n, instance] of cluster.instances.entries()) {
      const s = await scrapeUntil(instance.url, (x) => x.value("vexil_bus_reconnects_total") > before[n]!, METRICS_TOKEN, 20_000);
      expect([instance.kind, s.value("vexil_bus_reconnects_total") > before[n]!]).toEqual([instance.kind, true]);
      expect(s.value("vexil_bus_disconnects_total")).toBeGreaterThanOrEqual(1);
    }
  }, 60_000);
});

describe("metrics of the all-in-one process", () => {
  const token = "metrics-all-in-one-admin-0001";
  let vexil: Running;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "vexil-metrics-"));
    vexil = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_ADMIN_TOKEN: token, VEXIL_DATA_DIR: dataDir, DATABASE_URL: undefined, NATS_URL: undefined });
  }, 60_000);
  afterAll(async () => {
    await vexil?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("one /metrics for the four components, open without a metrics token; the same things move it", async () => {
    const url = vexil.url;
    await exercise({ api: url, sdk: url, process: { gateway: url, auth: url, flags: url, streaming: url }, postgres: false }, makeClient([url], token), "metrics-aio");
    const s = await scrape(url);
    // Each component's requests under its own name; pools only for a Postgres server.
    expect(s.labelValues("vexil_http_requests_total", "service").sort()).toEqual(["auth", "flags", "gateway", "streaming"]);
    expect(s.families.has("vexil_db_pool_size")).toBe(false);
  }, 90_000);
});
