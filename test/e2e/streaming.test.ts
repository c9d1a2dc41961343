/**
 * The streaming endpoints at the wire level, against the all-in-one process: the embedded default
 * for the protocol (put first, patch and delete after, heartbeats, ETags, credentials, the stream
 * limit, shutdown), and Postgres with a real nats-server for a bus outage mid-stream.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNats, type NatsServer } from "../../infra/local/nats.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";
import { testDatabaseUrl } from "../support/postgres.ts";
import { openSse, type SseReader } from "../support/sse.ts";

const TOKEN = "streaming-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const toggle = (client: Client, key: string, kind: "turnFlagOn" | "turnFlagOff") =>
  client.call("PATCH", `/api/v2/flags/app/${key}`, { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind }] } });

interface Setup {
  vexil: Running;
  admin: Client;
  sdkKey: string;
  mobileKey: string;
  dataDir: string;
}

async function setUp(env: Record<string, string>): Promise<Setup> {
  const dataDir = mkdtempSync(join(tmpdir(), "vexil-streaming-"));
  const vexil = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: dataDir, ...env });
  const admin = makeClient([vexil.url], TOKEN);
  const project = await admin.call("POST", "/api/v2/projects", { body: { key: "app", name: "App", environments: [{ key: "live", name: "Live", color: "0000ff" }] } });
  expect(project.status).toBe(201);
  expect((await admin.call("POST", "/api/v2/flags/app", { body: { key: "banner", name: "Banner" } })).status).toBe(201);
  return { vexil, admin, sdkKey: project.body.environments[0].apiKey, mobileKey: project.body.environments[0].mobileKey, dataDir };
}

const flagsOf = (e: { data: string }) => JSON.parse(e.data).data.flags as Record<string, { on: boolean; version: number }>;

describe("streaming (embedded)", () => {
  let s: Setup;
  const open: SseReader[] = [];
  const stream = async (key?: string) => {
    const r = await openSse(`${s.vexil.url}/all`, { headers: key === undefined ? {} : { authorization: key } });
    open.push(r);
    return r;
  };

  beforeAll(async () => {
    s = await setUp({ VEXIL_STREAM_HEARTBEAT_MS: "300", VEXIL_STREAM_LIMIT: "4" });
  }, 60_000);

  afterAll(async () => {
    for (const r of open) r.close();
    await s?.vexil.stop();
    if (s) rmSync(s.dataDir, { recursive: true, force: true });
  }, 30_000);

  test("a stream starts with the whole environment, then gets each change as a patch with a higher version", async () => {
    const r = await stream(s.sdkKey);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/event-stream");
    const put = await r.next((e) => e.event === "put");
    expect(r.events[0]).toBe(put);
    expect(JSON.parse(put.data).path).toBe("/");
    const before = flagsOf(put).banner!;
    expect(before.on).toBe(false);
    expect((await toggle(s.admin, "banner", "turnFlagOn")).status).toBe(200);
    const patch = JSON.parse((await r.next((e) => e.event === "patch")).data);
    expect(patch.path).toBe("/flags/banner");
    expect(patch.data).toMatchObject({ key: "banner", on: true });
    expect(patch.data.version).toBeGreaterThan(before.version);
    // A delete goes out with a version above the last one sent.
    expect((await s.admin.call("POST", "/api/v2/flags/app", { body: { key: "gone", name: "Gone" } })).status).toBe(201);
    const created = JSON.parse((await r.next((e) => e.event === "patch" && e.data.includes('"/flags/gone"'))).data);
    expect((await s.admin.call("DELETE", "/api/v2/flags/app/gone")).status).toBe(204);
    const deleted = JSON.parse((await r.next((e) => e.event === "delete")).data);
    expect(deleted).toEqual({ path: "/flags/gone", version: created.data.version + 1 });
    r.close();
  });

  test("idle streams get comment heartbeats", async () => {
    const r = await stream(s.sdkKey);
    await r.next((e) => e.event === "put");
    const deadline = Date.now() + 3_000;
    while (r.comments < 2 && Date.now() < deadline) await Bun.sleep(50);
    expect(r.comments).toBeGreaterThanOrEqual(2);
    r.close();
  });

  test("no key, a wrong key, or a mobile key on /all is 401 with the JSON error", async () => {
    for (const key of [undefined, "sdk-abcdefghijkl_abcdefghijklmnopqrstuvwxyzab", s.mobileKey, TOKEN]) {
      const res = await fetch(`${s.vexil.url}/all`, { headers: key ? { authorization: key } : {} });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: "unauthorized" });
    }
    // `Bearer` is accepted too.
    const bearer = await stream(`Bearer ${s.sdkKey}`);
    expect(bearer.status).toBe(200);
    bearer.close();
  });

  test("polling answers with an ETag, 304 while nothing changed, and new data after a change", async () => {
    const auth = { authorization: s.sdkKey };
    const first = await fetch(`${s.vexil.url}/sdk/latest-all`, { headers: auth });
    expect(first.status).toBe(200);
    const etag = first.headers.get("etag")!;
    expect(etag).toBeTruthy();
    expect(Object.keys(((await first.json()) as { flags: object }).flags)).toContain("banner");
    expect((await fetch(`${s.vexil.url}/sdk/latest-all`, { headers: { ...auth, "if-none-match": etag } })).status).toBe(304);
    expect((await toggle(s.admin, "banner", "turnFlagOff")).status).toBe(200);
    let changed: Response | undefined;
    for (let i = 0; i < 100; i++) {
      changed = await fetch(`${s.vexil.url}/sdk/latest-all`, { headers: { ...auth, "if-none-match": etag } });
      if (changed.status === 200) break;
      await Bun.sleep(20);
    }
    expect(changed!.status).toBe(200);
    expect(changed!.headers.get("etag")).not.toBe(etag);
    expect(((await changed!.json()) as { flags: { banner: { on: boolean } } }).flags.banner.on).toBe(false);
    const one = await fetch(`${s.vexil.url}/sdk/latest-flags/banner`, { headers: auth });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ key: "banner", on: false });
    expect((await fetch(`${s.vexil.url}/sdk/latest-flags/nope`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${s.vexil.url}/sdk/latest-all`)).status).toBe(401);
  });

  test("event reports are accepted with 202", async () => {
    const body = JSON.stringify([{ kind: "summary", startDate: 1, endDate: 2, features: { banner: { counters: [{ value: true, count: 3, variation: 0, version: 1 }] } } }]);
    const bulk = await fetch(`${s.vexil.url}/bulk`, { method: "POST", headers: { authorization: s.sdkKey, "content-type": "application/json" }, body });
    expect(bulk.status).toBe(202);
    const gzipped = await fetch(`${s.vexil.url}/bulk`, { method: "POST", headers: { authorization: s.sdkKey, "content-type": "application/json", "content-encoding": "gzip" }, body: Bun.gzipSync(body) });
    expect(gzipped.status).toBe(202);
    expect((await fetch(`${s.vexil.url}/diagnostic`, { method: "POST", headers: { authorization: s.sdkKey }, body: "{}" })).status).toBe(202);
    expect((await fetch(`${s.vexil.url}/bulk`, { method: "POST", body })).status).toBe(401);
  });

  test("past the stream limit a new stream gets 503, never 401 or 404, and a slot frees when one closes", async () => {
    const held = [];
    for (let i = 0; i < 4; i++) {
      const r = await stream(s.sdkKey);
      expect(r.status).toBe(200);
      held.push(r);
    }
    const refused = await fetch(`${s.vexil.url}/all`, { headers: { authorization: s.sdkKey } });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe("service_unavailable");
    held[0]!.close();
    let again: SseReader | undefined;
    for (let i = 0; i < 100 && again?.status !== 200; i++) {
      again?.close();
      await Bun.sleep(20);
      again = await stream(s.sdkKey);
    }
    expect(again!.status).toBe(200);
    for (const r of [...held, again!]) r.close();
  });

  test("SIGTERM closes the open streams, so their SDKs reconnect elsewhere, and the process exits 0", async () => {
    // The last test of this block: it stops the process.
    await Bun.sleep(100);
    const r = await stream(s.sdkKey);
    await r.next((e) => e.event === "put");
    const exited = s.vexil.stop("SIGTERM");
    await r.waitEnded(5_000);
    expect(await exited).toBe(0);
  });
});

describe("streaming (Postgres and nats-server)", () => {
  let nats: NatsServer;
  let s: Setup;

  beforeAll(async () => {
    nats = await startNats();
    s = await setUp({ DATABASE_URL: await testDatabaseUrl(), NATS_URL: nats.url });
  }, 60_000);

  afterAll(async () => {
    await s?.vexil.stop();
    await nats?.destroy();
    if (s) rmSync(s.dataDir, { recursive: true, force: true });
  }, 30_000);

  test("with the nats-server stopped and restarted mid-stream, the stream converges to what was committed meanwhile", async () => {
    const r = await openSse(`${s.vexil.url}/all`, { headers: { authorization: s.sdkKey } });
    const put = await r.next((e) => e.event === "put");
    expect(flagsOf(put).banner!.on).toBe(false);
    // The token's verdict is cached, so the admin API works without the bus.
    expect((await s.admin.call("GET", "/api/v2/flags/app/banner")).status).toBe(200);
    await nats.stop();
    expect((await toggle(s.admin, "banner", "turnFlagOn")).status).toBe(200);
    expect((await s.admin.call("POST", "/api/v2/flags/app", { body: { key: "while-down", name: "While down" } })).status).toBe(201);
    await Bun.sleep(300);
    await nats.start();
    // Whether by the delayed events or a fresh put after the reconnect, the stream ends up with both changes.
    const state = new Map<string, { on: boolean }>();
    await (async () => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        state.clear();
        for (const e of r.events) {
          const data = JSON.parse(e.data);
          if (e.event === "put") {
            state.clear();
            for (const [k, v] of Object.entries(data.data.flags)) state.set(k, v as { on: boolean });
          } else if (e.event === "patch") state.set(data.data.key, data.data);
        }
        if (state.get("banner")?.on === true && state.has("while-down")) return;
        if (Date.now() > deadline) throw new Error(`stream did not converge: ${JSON.stringify([...state])}`);
        await Bun.sleep(50);
      }
    })();
    r.close();
  }, 40_000);
});
