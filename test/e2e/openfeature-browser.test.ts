/**
 * OpenFeature in a real browser: a page on another origin (its own server, another port) loads the
 * unmodified OFREP web provider with OpenFeature's web SDK, bundled for the browser, and evaluates
 * flags on Vexil's streaming port with the environment's client-side ID (never an SDK key). Chromium
 * enforces CORS, so the preflight of `POST /ofrep/v1/evaluate/flags` must be answered. Only flags
 * available to client-side SDKs are served.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { chromium, type BrowserContext } from "playwright-core";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import { makeClient, type Client } from "../support/client.ts";

const TOKEN = "openfeature-browser-admin-0001";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const CHROMIUM = "/usr/bin/chromium";

let cluster: Cluster;
let admin: Client;
let streaming: string;
let clientSideId: string;
let sdkKey: string;
let page: Server<undefined>;
let browser: BrowserContext;
let userDataDir: string;

async function flag(key: string, value: string, clientSide: boolean) {
  const created = await admin.call("POST", "/api/v2/flags/web", {
    body: { key, name: key, variations: [{ value }, { value: "off" }], defaults: { onVariation: 0, offVariation: 1 }, clientSideAvailability: { usingEnvironmentId: clientSide, usingMobileKey: false } },
  });
  expect(created.status).toBe(201);
  expect((await admin.call("PATCH", `/api/v2/flags/web/${key}`, { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(200);
}

beforeAll(async () => {
  cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 1, streaming: 1 }, adminToken: TOKEN });
  admin = makeClient(cluster.gateways, TOKEN);
  streaming = cluster.instances.find((i) => i.kind === "streaming")!.url;
  const project = await admin.call("POST", "/api/v2/projects", { body: { key: "web", name: "Web", environments: [{ key: "live", name: "Live", color: "00ff00" }] } });
  expect(project.status).toBe(201);
  sdkKey = project.body.environments[0].apiKey;
  clientSideId = (await admin.call("GET", "/api/v2/projects/web/environments/live")).body._id;
  await flag("banner", "blue", true);
  await flag("secret", "hidden", false);

  // The page's origin: another port, serving the page and its script, bundled from the unmodified packages.
  const built = await Bun.build({ entrypoints: [join(import.meta.dir, "fixtures/ofrep-browser-page.ts")], target: "browser", format: "esm", minify: false });
  expect(built.success).toBe(true);
  const script = await built.outputs[0]!.text();
  page = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    development: false,
    fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname === "/app.js") return new Response(script, { headers: { "content-type": "text/javascript; charset=utf-8" } });
      if (pathname === "/") return new Response('<!doctype html><html><head><title>loading</title><script type="module" src="/app.js"></script></head><body></body></html>', { headers: { "content-type": "text/html; charset=utf-8" } });
      return new Response("not found", { status: 404 });
    },
  });

  userDataDir = mkdtempSync(join(tmpdir(), "vexil-chromium-"));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  page?.stop(true);
  await cluster?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
}, 60_000);

interface Detail {
  value: string;
  variant: string | null;
  reason: string | null;
  errorCode: string | null;
}

async function evaluateInBrowser(credential: string): Promise<{ result: { banner?: Detail; secret?: Detail; failed?: string }; ofrepRequests: string[] }> {
  const tab = await browser.newPage();
  const ofrepRequests: string[] = [];
  tab.on("request", (r) => {
    if (r.url().includes("/ofrep/")) ofrepRequests.push(`${r.method()} ${new URL(r.url()).pathname}`);
  });
  try {
    const query = new URLSearchParams({ base: streaming, clientSideId: credential });
    await tab.goto(`http://127.0.0.1:${page.port}/?${query}`);
    await tab.waitForFunction('document.title === "done"', undefined, { timeout: 30_000 });
    const result = (await tab.evaluate("window.vexilResult")) as { banner?: Detail; secret?: Detail; failed?: string };
    return { result, ofrepRequests };
  } finally {
    await tab.close();
  }
}

describe("the OFREP web provider in Chromium, on another origin", () => {
  test("evaluates a client-side flag with the client-side ID; a flag not available to client-side SDKs is not served", async () => {
    const { result, ofrepRequests } = await evaluateInBrowser(clientSideId);
    expect(result.failed).toBeUndefined();
    expect(result.banner).toEqual({ value: "blue", variant: "0", reason: "FALLTHROUGH", errorCode: null });
    expect(result.secret?.value).toBe("fallback");
    expect(result.secret?.errorCode).toBe("FLAG_NOT_FOUND");
    // The browser really crossed origins: the bulk evaluation was asked for (after its preflight).
    expect(ofrepRequests).toContain("POST /ofrep/v1/evaluate/flags");
  }, 60_000);

  test("with a client-side ID that is no environment's, nothing is served", async () => {
    const { result } = await evaluateInBrowser("000000000000000000000000");
    // The provider is refused (401): it fails to start, or reports an error for the flag.
    expect(result.failed ?? result.banner?.errorCode).toBeTruthy();
    expect(result.banner?.value ?? "fallback").toBe("fallback");
  }, 60_000);
});

describe("OFREP's CORS and credentials on the wire", () => {
  test("the preflight of both OFREP paths is answered for any origin, with the headers the provider sends", async () => {
    for (const path of ["/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/banner"]) {
      const res = await fetch(`${streaming}${path}`, {
        method: "OPTIONS",
        headers: { origin: "https://shop.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, if-none-match" },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("https://shop.example");
      expect(res.headers.get("access-control-allow-methods")).toContain("POST");
      const allowed = res.headers.get("access-control-allow-headers")!.toLowerCase();
      for (const h of ["authorization", "content-type", "if-none-match", "x-api-key"]) expect(allowed).toContain(h);
    }
  });

  test("a client-side ID sees only client-side flags; an SDK key sees every flag; answers carry CORS and expose the ETag", async () => {
    const bulk = (credential: string) =>
      fetch(`${streaming}/ofrep/v1/evaluate/flags`, { method: "POST", headers: { authorization: credential, "content-type": "application/json", origin: "https://shop.example" }, body: JSON.stringify({ context: { targetingKey: "u1" } }) });
    const asBrowser = await bulk(clientSideId);
    expect(asBrowser.status).toBe(200);
    expect(asBrowser.headers.get("access-control-allow-origin")).toBe("https://shop.example");
    expect(asBrowser.headers.get("access-control-expose-headers")!.toLowerCase()).toContain("etag");
    expect(((await asBrowser.json()) as { flags: Array<{ key: string }> }).flags.map((f) => f.key)).toEqual(["banner"]);
    const asServer = await bulk(sdkKey);
    expect(((await asServer.json()) as { flags: Array<{ key: string }> }).flags.map((f) => f.key)).toEqual(["banner", "secret"]);

    const one = (credential: string, key: string) =>
      fetch(`${streaming}/ofrep/v1/evaluate/flags/${key}`, { method: "POST", headers: { "x-api-key": credential, "content-type": "application/json" }, body: JSON.stringify({ context: { targetingKey: "u1" } }) });
    expect(((await (await one(clientSideId, "banner")).json()) as { value: string }).value).toBe("blue");
    const hidden = await one(clientSideId, "secret");
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toEqual({ key: "secret", errorCode: "FLAG_NOT_FOUND", errorDetails: 'Flag "secret" not found' });
    expect(((await (await one(sdkKey, "secret")).json()) as { value: string }).value).toBe("hidden");

    const unknown = await bulk("000000000000000000000000");
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get("access-control-allow-origin")).toBe("https://shop.example");
    // A mobile key is no credential for OFREP.
    const mobileKey = (await admin.call("POST", "/api/v2/projects/web/environments/live/mobileKey")).body.mobileKey;
    expect(mobileKey).toStartWith("mob-");
    expect((await bulk(mobileKey)).status).toBe(401);
  });
});
