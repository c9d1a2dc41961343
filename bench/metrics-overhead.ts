/**
 * What the request metrics add to one request, measured alone: the route template lookup over the
 * flags service's real route table, the counter and the histogram, and the gateway's reading and
 * removal of the template header — for the flag read `GET /api/v2/flags/default/bench-flag-<n>`.
 * The request itself is not run, so the figure is the metrics' cost and nothing else. For comparison
 * it also times the same counting with prom-client's labelled children (a counter and a histogram,
 * in a registry of their own), which hash their labels on every call.
 *
 *   bun bench/metrics-overhead.ts [--iterations 1000000]
 */
import { createFlagsApp } from "@vexil/flags/app";
import type { FlagsContext } from "@vexil/flags/domain/context";
import { createAssertions } from "@vexil/shared/assertion";
import { ROUTE_HEADER, routeTemplates } from "@vexil/shared/http/measured";
import { silentLogger } from "@vexil/shared/logger";
import { httpRecorder, pathOf } from "@vexil/shared/metrics";
import { Counter, Histogram, Registry } from "prom-client";

const arg = process.argv.indexOf("--iterations");
const iterations = arg > 0 ? Number(process.argv[arg + 1]) : 1_000_000;

// The app is only assembled for its route table; no route runs.
const app = createFlagsApp({ logger: silentLogger } as unknown as FlagsContext, createAssertions(new Uint8Array(32)));
const templateOf = routeTemplates(app.routes);
const service = httpRecorder("bench-flags");
const gateway = httpRecorder("bench-gateway");
const urls = Array.from({ length: 64 }, (_, n) => `http://vexil.internal/api/v2/flags/default/bench-flag-${n}?env=production`);
const response = new Response("{}");

function once(i: number): void {
  const url = urls[i & 63]!;
  const route = templateOf("GET", pathOf(url)) ?? "unmatched";
  response.headers.set(ROUTE_HEADER, route);
  service.record(route, "GET", 200, 0.0004);
  const told = response.headers.get(ROUTE_HEADER)!;
  response.headers.delete(ROUTE_HEADER);
  gateway.record(told, "GET", 200, 0.0009);
}

const own = new Registry();
const counter = new Counter({ name: "c_total", help: "c", labelNames: ["service", "route", "method", "status"], registers: [own] });
const histogram = new Histogram({ name: "h_seconds", help: "h", labelNames: ["service", "route", "method"], registers: [own], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
const children = ["bench-flags", "bench-gateway"].map((s) => ({ count: counter.labels(s, "/api/v2/flags/:projectKey/:flagKey", "GET", "200"), time: histogram.labels(s, "/api/v2/flags/:projectKey/:flagKey", "GET") }));
function withChildren(i: number): void {
  const url = urls[i & 63]!;
  const route = templateOf("GET", pathOf(url)) ?? "unmatched";
  response.headers.set(ROUTE_HEADER, route);
  children[0]!.count.inc();
  children[0]!.time.observe(0.0004);
  response.headers.get(ROUTE_HEADER);
  response.headers.delete(ROUTE_HEADER);
  children[1]!.count.inc();
  children[1]!.time.observe(0.0009);
}

function time(run: (i: number) => void): number {
  for (let i = 0; i < 100_000; i++) run(i);
  const started = performance.now();
  for (let i = 0; i < iterations; i++) run(i);
  return ((performance.now() - started) * 1e6) / iterations;
}

console.log(`route ${templateOf("GET", "/api/v2/flags/default/bench-flag-1")}, ${iterations} requests`);
console.log(`metrics per request (service and gateway together): ${time(once).toFixed(0)} ns`);
console.log(`the same with prom-client's labelled children: ${time(withChildren).toFixed(0)} ns`);
