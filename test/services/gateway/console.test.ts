/**
 * The gateway's answers for the console (`@vexil/console/serve`) over a build on disk: the page with
 * its CSP, hashed assets cached for good, client routes only for browsers asking for a page outside
 * the API, the SDK paths and the docs, and the JSON 404 for everything else or without a build.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONTENT_SECURITY_POLICY, consoleHandler } from "@vexil/console/serve";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { createAssertions } from "@vexil/shared/assertion";
import { silentLogger } from "@vexil/shared/logger";
import type { ServiceClient } from "@vexil/shared/transport/http-over-bus";
import { createGateway } from "@vexil/gateway/app";
import { busCallerVerifier } from "@vexil/gateway/caller-verifier";

const PAGE = '<!doctype html><script type="module" src="/assets/main-abc123.js"></script>';
let dir: string;
const bus = new MemoryBus();
const verifier = busCallerVerifier(bus, { timeoutMs: 50, assertions: createAssertions(crypto.getRandomValues(new Uint8Array(32))) });
const nothing: ServiceClient = { handle: async () => Response.json({ code: "unexpected", message: "no service call expected", id: "x" }, { status: 418 }) };
const gatewayOver = (build: string) =>
  createGateway({ services: { auth: nothing, flags: nothing }, verifier, logger: silentLogger, readiness: { checks: {}, isShuttingDown: () => false }, publicOrigin: "http://localhost", console: consoleHandler(build) });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vexil-console-serve-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), PAGE);
  writeFileSync(join(dir, "assets", "main-abc123.js"), "console.log(1)");
  writeFileSync(join(dir, "assets", "main-abc123.css"), "body{}");
});
afterAll(() => {
  verifier.stop();
  rmSync(dir, { recursive: true, force: true });
});

const HTML = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
const call = (path: string, headers: Record<string, string> = {}, method = "GET", build = dir) => gatewayOver(build).handle(new Request(`http://localhost${path}`, { method, headers }));

describe("console at the gateway", () => {
  test("/ is the page: no-cache, a CSP of 'self' only, framing refused", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(PAGE);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe|https?:|\*/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const head = await call("/", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  test("hashed assets are cached for a year, immutable, with their type; anything else under /assets is a JSON 404", async () => {
    const js = await call("/assets/main-abc123.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(js.headers.get("content-type")).toContain("javascript");
    expect(await js.text()).toBe("console.log(1)");
    expect((await call("/assets/main-abc123.css")).headers.get("content-type")).toContain("text/css");
    for (const path of ["/assets/missing.js", "/assets/.hidden", "/assets/", "/assets/a/b.js", "/assets/%2e%2e%2findex.html"]) {
      const res = await call(path, HTML);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe("not_found");
    }
    expect((await call("/assets/main-abc123.js", {}, "POST")).status).toBe(404);
  });

  test("client routes answer the page to a browser's GET or HEAD, outside the API, the SDK paths and the docs", async () => {
    for (const path of ["/projects/shop", "/projects/shop/flags/checkout", "/audit", "/tokens?x=1"]) {
      const res = await call(path, HTML);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(PAGE);
      expect((await call(path, HTML, "HEAD")).status).toBe(200);
    }
    // Not a browser asking for a page, or not a page's method: the JSON 404.
    for (const [path, headers, method] of [
      ["/projects/shop", {}, "GET"],
      ["/projects/shop", { accept: "application/json" }, "GET"],
      ["/projects/shop", HTML, "POST"],
      ["/projects/shop", HTML, "DELETE"],
      ["/api/v2/nothing", HTML, "GET"],
      ["/api", HTML, "GET"],
      ["/sdk/latest-all", HTML, "GET"],
      ["/msdk/evalx/contexts/x", HTML, "GET"],
      ["/eval/x/y", HTML, "GET"],
      ["/ofrep/v1/evaluate/flags", HTML, "GET"],
      ["/all", HTML, "GET"],
    ] as Array<[string, Record<string, string>, string]>) {
      const res = await call(path, headers, method);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe("not_found");
    }
  });

  test("without a build, / and client routes are the JSON 404 as before", async () => {
    const missing = join(dir, "no-build-here");
    for (const path of ["/", "/projects/shop"]) {
      const res = await call(path, HTML, "GET", missing);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe("not_found");
    }
  });
});
