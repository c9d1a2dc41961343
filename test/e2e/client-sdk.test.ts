/**
 * Client-side and mobile SDK endpoints against the all-in-one process (embedded default): the real
 * LaunchDarkly Node client-side SDK gets evaluated flags for its context and live changes, by GET
 * and by REPORT; only flags made available to the credential's kind are served; a segment change
 * reaches a stream as a patch of the flags using it; browsers get CORS.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initialize, type LDClient } from "launchdarkly-node-client-sdk";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";
import { openSse } from "../support/sse.ts";

const TOKEN = "client-sdk-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const encode = (context: object) => Buffer.from(JSON.stringify(context)).toString("base64url");

let vexil: Running;
let admin: Client;
let dataDir: string;
let envId: string;
let mobileKey: string;
const clients: LDClient[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "vexil-client-sdk-"));
  vexil = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: dataDir });
  admin = makeClient([vexil.url], TOKEN);
  const project = await admin.call("POST", "/api/v2/projects", { body: { key: "web", name: "Web", environments: [{ key: "live", name: "Live", color: "abcdef" }] } });
  expect(project.status).toBe(201);
  envId = project.body.environments[0]._id;
  mobileKey = project.body.environments[0].mobileKey;
  const both = { usingEnvironmentId: true, usingMobileKey: true };
  expect((await admin.call("POST", "/api/v2/flags/web", { body: { key: "banner", name: "Banner", clientSideAvailability: both } })).status).toBe(201);
  expect((await admin.call("POST", "/api/v2/flags/web", { body: { key: "mobile-only", name: "Mobile only", clientSideAvailability: { usingEnvironmentId: false, usingMobileKey: true } } })).status).toBe(201);
  expect((await admin.call("POST", "/api/v2/flags/web", { body: { key: "server-only", name: "Server only", clientSideAvailability: { usingEnvironmentId: false, usingMobileKey: false } } })).status).toBe(201);
  // A flag whose result depends on a segment: members of "testers" get true, everyone else false.
  expect((await admin.call("POST", "/api/v2/segments/web/live", { body: { key: "testers", name: "Testers" } })).status).toBe(201);
  const segmented = await admin.call("POST", "/api/v2/flags/web", { body: { key: "preview", name: "Preview", clientSideAvailability: both } });
  expect(segmented.status).toBe(201);
  const on = await admin.call("PATCH", "/api/v2/flags/web/preview", {
    headers: SEMANTIC,
    body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }, { kind: "updateFallthroughVariationOrRollout", variationId: segmented.body.variations[1]._id }, { kind: "addRule", variationId: segmented.body.variations[0]._id, clauses: [{ attribute: "segmentMatch", op: "segmentMatch", values: ["testers"], negate: false }] }] },
  });
  expect(on.status).toBe(200);
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await vexil?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe("client-side SDK", () => {
  for (const useReport of [false, true]) {
    test(`the Node client-side SDK gets its flags and a live change (${useReport ? "REPORT" : "GET"})`, async () => {
      const client = initialize(envId, { kind: "user", key: `alice-${useReport}` }, { baseUrl: vexil.url, streamUrl: vexil.url, eventsUrl: vexil.url, streaming: true, sendEvents: false, useReport, evaluationReasons: true, logger: quiet });
      clients.push(client);
      await client.waitForInitialization(10);
      const all = client.allFlags();
      const bannerOn = (await admin.call("GET", "/api/v2/flags/web/banner")).body.environments.live.on as boolean;
      expect(all.banner).toBe(bannerOn);
      expect(all.preview).toBe(false);
      expect("server-only" in all).toBe(false);
      expect("mobile-only" in all).toBe(false);
      expect(client.variationDetail("banner", "dflt")).toMatchObject(bannerOn ? { value: true, variationIndex: 0, reason: { kind: "FALLTHROUGH" } } : { value: false, variationIndex: 1, reason: { kind: "OFF" } });
      const changed = new Promise<unknown>((resolve) => client.on("change:banner", (value: unknown) => resolve(value)));
      expect((await admin.call("PATCH", "/api/v2/flags/web/banner", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: bannerOn ? "turnFlagOff" : "turnFlagOn" }] } })).status).toBe(200);
      expect(await changed).toBe(!bannerOn);
      expect(client.variation("banner", "dflt")).toBe(!bannerOn);
    });
  }

  test("a segment change reaches an open stream as a patch of the flag using it", async () => {
    const context = { kind: "user", key: "tess" };
    const r = await openSse(`${vexil.url}/eval/${envId}/${encode(context)}`);
    expect(r.status).toBe(200);
    const put = JSON.parse((await r.next((e) => e.event === "put")).data);
    expect(put.preview.value).toBe(false);
    expect((await admin.call("PATCH", "/api/v2/segments/web/live/testers", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["tess"] }] } })).status).toBe(200);
    const patch = JSON.parse((await r.next((e) => e.event === "patch" && e.data.includes('"preview"'))).data);
    expect(patch).toMatchObject({ key: "preview", value: true, variation: 0 });
    expect(patch.version).toBeGreaterThan(put.preview.version);
    expect(patch.flagVersion).toBe(put.preview.flagVersion);
    r.close();
  });

  test("evalx by GET and REPORT, with reasons when asked; a bad context is 400 and an unknown client-side ID 404", async () => {
    const context = { kind: "user", key: "zoë", name: "Zoë" };
    const get = await fetch(`${vexil.url}/sdk/evalx/${envId}/contexts/${encode(context)}?withReasons=true`);
    expect(get.status).toBe(200);
    const flags = (await get.json()) as Record<string, { value: unknown; variation: number; version: number; flagVersion: number; reason?: { kind: string } }>;
    expect(Object.keys(flags).sort()).toEqual(["banner", "preview"]);
    expect(flags.preview).toMatchObject({ value: false, variation: 1, reason: { kind: "FALLTHROUGH" } });
    const report = await fetch(`${vexil.url}/sdk/evalx/${envId}/context`, { method: "REPORT", headers: { "content-type": "application/json" }, body: JSON.stringify(context) });
    expect(report.status).toBe(200);
    const reported = (await report.json()) as typeof flags;
    expect(reported.preview!.value).toBe(false);
    expect(reported.preview!.reason).toBeUndefined();
    expect((await fetch(`${vexil.url}/sdk/evalx/${envId}/contexts/not-base64-json`)).status).toBe(400);
    expect((await fetch(`${vexil.url}/sdk/evalx/${envId}/context`, { method: "REPORT", body: "{nope" })).status).toBe(400);
    expect((await fetch(`${vexil.url}/sdk/evalx/${envId}/contexts/${encode({ kind: "user" })}`)).status).toBe(400);
    expect((await fetch(`${vexil.url}/sdk/evalx/000000000000000000000000/contexts/${encode(context)}`)).status).toBe(404);
    expect(await (await fetch(`${vexil.url}/sdk/goals/${envId}`)).json()).toEqual([]);
  });

  test("mobile endpoints take the mobile key and serve the flags available to mobile SDKs", async () => {
    const context = { kind: "user", key: "mo" };
    const res = await fetch(`${vexil.url}/msdk/evalx/contexts/${encode(context)}`, { headers: { authorization: mobileKey } });
    expect(res.status).toBe(200);
    expect(Object.keys((await res.json()) as object).sort()).toEqual(["banner", "mobile-only", "preview"]);
    expect((await fetch(`${vexil.url}/msdk/evalx/contexts/${encode(context)}`)).status).toBe(401);
    const r = await openSse(`${vexil.url}/meval/${encode(context)}`, { headers: { authorization: mobileKey } });
    expect(r.status).toBe(200);
    expect(Object.keys(JSON.parse((await r.next((e) => e.event === "put")).data))).toContain("mobile-only");
    r.close();
    expect((await fetch(`${vexil.url}/mobile`, { method: "POST", headers: { authorization: mobileKey, "content-type": "application/json" }, body: "[]" })).status).toBe(202);
  });

  test("browsers get CORS on the client-side endpoints, preflights included", async () => {
    const preflight = await fetch(`${vexil.url}/sdk/evalx/${envId}/context`, { method: "OPTIONS", headers: { origin: "https://shop.example", "access-control-request-method": "REPORT" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://shop.example");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("REPORT");
    const get = await fetch(`${vexil.url}/sdk/evalx/${envId}/contexts/${encode({ kind: "user", key: "b" })}`, { headers: { origin: "https://shop.example" } });
    expect(get.headers.get("access-control-allow-origin")).toBe("https://shop.example");
    const events = await fetch(`${vexil.url}/events/bulk/${envId}`, { method: "POST", headers: { origin: "https://shop.example", "content-type": "application/json" }, body: "[]" });
    expect(events.status).toBe(202);
    expect(events.headers.get("access-control-allow-origin")).toBe("https://shop.example");
  });
});
