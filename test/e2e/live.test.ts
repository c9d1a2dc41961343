/**
 * The live feed (`GET /api/v2/live`) on the all-in-one process over real Postgres and nats-server:
 * changes made through the API arrive as events naming what changed (never its contents), for a
 * token and for a session cookie; a project filter holds; a caller who may read nothing is refused,
 * and a member demoted to no access while the feed is open gets no more events and the feed ends.
 * In a cluster of separate processes behind the edge, every gateway serves the feed, and a change
 * heard by two flags instances is sent once. The feed is resumable: a feed that reconnects with
 * `Last-Event-ID` gets what it missed, and changes committed while the server's own listening
 * connection to Postgres was being renewed arrive all the same.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import { startNats, type NatsServer } from "../../infra/local/nats.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";
import { testDatabaseUrl } from "../support/postgres.ts";
import { openSse, type SseReader } from "../support/sse.ts";

const TOKEN = "live-admin-token-000001";
const PASSWORD = "correct horse battery staple";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const CONTENT = "top-secret-variation-value";

describe("live feed", () => {
  let nats: NatsServer;
  let vexil: Running;
  let admin: Client;
  let dataDir: string;
  let origin: string;
  let databaseUrl: string;
  const readers: SseReader[] = [];

  const feed = async (query: string, headers: Record<string, string>) => {
    const reader = await openSse(`${vexil.url}/api/v2/live${query}`, { headers });
    readers.push(reader);
    return reader;
  };
  const data = (reader: SseReader) => reader.events.filter((e) => e.event === "change").map((e) => JSON.parse(e.data));
  const changeOf = (reader: SseReader, match: Record<string, unknown>, from = 0) =>
    reader.next((e) => e.event === "change" && Object.entries(match).every(([k, v]) => JSON.parse(e.data)[k] === v), 10_000, from).then((e) => JSON.parse(e.data));

  async function signIn(email: string): Promise<string> {
    const login = await admin.call("POST", "/api/v2/sessions", { token: null, body: { email, password: PASSWORD } });
    expect(login.status).toBe(201);
    return login.headers.get("set-cookie")!.split(";")[0]!;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "vexil-live-"));
    nats = await startNats();
    const port = freePort();
    origin = `http://127.0.0.1:${port}`;
    vexil = await startEntry("services/all-in-one/main.ts", port, {
      VEXIL_ADMIN_TOKEN: TOKEN,
      VEXIL_DATA_DIR: dataDir,
      DATABASE_URL: (databaseUrl = await testDatabaseUrl()),
      NATS_URL: nats.url,
      VEXIL_PUBLIC_ORIGIN: origin,
    });
    admin = makeClient([vexil.url], TOKEN);
    for (const key of ["live", "other"]) expect((await admin.call("POST", "/api/v2/projects", { body: { key, name: key } })).status).toBe(201);
    const members = await admin.call("POST", "/api/v2/members", {
      body: [
        { email: "reader@example.com", role: "reader", password: PASSWORD },
      ],
    });
    expect(members.status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    for (const r of readers) r.close();
    await vexil?.stop();
    await nats?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("a token's feed gets each change of a flag, segment, environment and project, naming it without its contents", async () => {
    const all = await feed("", { authorization: TOKEN });
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toContain("text/event-stream");
    const created = await admin.call("POST", "/api/v2/flags/live", { body: { key: "checkout", name: "Checkout", variations: [{ value: CONTENT }, { value: "b" }] } });
    expect(created.status).toBe(201);
    expect(await changeOf(all, { kind: "flag", key: "checkout" })).toEqual({ v: 1, id: expect.any(String), kind: "flag", project: "live", environment: null, key: "checkout", version: 1 });

    const on = await admin.call("PATCH", "/api/v2/flags/live/checkout", { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] } });
    expect(on.status).toBe(200);
    expect(await changeOf(all, { kind: "flag", key: "checkout", environment: "production" })).toMatchObject({ project: "live", version: on.body._version });

    expect((await admin.call("POST", "/api/v2/segments/live/test", { body: { key: "beta", name: "Beta" } })).status).toBe(201);
    expect(await changeOf(all, { kind: "segment", key: "beta" })).toMatchObject({ project: "live", environment: "test", version: 1 });
    expect((await admin.call("PATCH", "/api/v2/projects/live/environments/test", { body: [{ op: "replace", path: "/name", value: "Testing" }] })).status).toBe(200);
    expect(await changeOf(all, { kind: "environment", environment: "test" })).toMatchObject({ project: "live", key: null });
    expect((await admin.call("PATCH", "/api/v2/projects/live", { body: [{ op: "replace", path: "/name", value: "Live!" }] })).status).toBe(200);
    expect(await changeOf(all, { kind: "project" })).toMatchObject({ project: "live", environment: null, key: null });
    expect((await admin.call("DELETE", "/api/v2/segments/live/test/beta")).status).toBe(204);
    expect(await changeOf(all, { kind: "segment", key: "beta", version: null })).toMatchObject({ project: "live" });

    // Names only: no variation, rule or name of any change is in the feed.
    const raw = all.events.map((e) => e.data).join("\n");
    expect(raw).not.toContain(CONTENT);
    expect(raw).not.toContain("Testing");
    for (const event of data(all)) expect(Object.keys(event).sort()).toEqual(["environment", "id", "key", "kind", "project", "v", "version"]);
    // Each change once, though every flags instance hears it.
    const ids = data(all).map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const metrics = await (await fetch(`${vexil.url}/metrics`)).text();
    expect(Number(/^vexil_live_feeds_open (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^vexil_live_events_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(ids.length);
  }, 30_000);

  test("a session cookie from the public origin works; the project filter holds", async () => {
    const cookie = await signIn("reader@example.com");
    expect((await feed("", { cookie, origin: "http://evil.test" })).status).toBe(403);
    const other = await feed("?project=other", { cookie, origin });
    const live = await feed("?project=live", { cookie });
    expect(other.status).toBe(200);
    expect(live.status).toBe(200);
    expect((await admin.call("POST", "/api/v2/flags/live", { body: { key: "only-live", name: "L", variations: [{ value: true }, { value: false }] } })).status).toBe(201);
    expect(await changeOf(live, { key: "only-live" })).toMatchObject({ project: "live" });
    expect((await admin.call("POST", "/api/v2/flags/other", { body: { key: "only-other", name: "O", variations: [{ value: true }, { value: false }] } })).status).toBe(201);
    expect(await changeOf(other, { key: "only-other" })).toMatchObject({ project: "other" });
    // The flags instance publishes in commit order: "only-live" went out before "only-other" arrived.
    expect(data(other).map((e) => e.project)).toEqual(["other"]);
    expect(data(live).some((e) => e.project !== "live")).toBe(false);
    expect((await feed("?project=no%20such", { cookie })).status).toBe(400);
  }, 30_000);

  test("a scheduled change, executed by the scheduler, arrives like any other", async () => {
    const all = await feed("?project=live", { authorization: TOKEN });
    const at = Date.now() + 1_000;
    const scheduled = await admin.call("POST", "/api/v2/projects/live/flags/checkout/environments/production/scheduled-changes", { body: { executionDate: at, instructions: [{ kind: "turnFlagOff" }] } });
    expect(scheduled.status).toBe(201);
    // Scheduling is a change of its own (an audit entry of the flag); the execution comes after it.
    const match = { kind: "flag", key: "checkout", environment: "production" };
    const scheduling = await changeOf(all, match);
    const change = await changeOf(all, match, all.events.findIndex((e) => e.id === scheduling.id) + 1);
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    const flag = await admin.call("GET", "/api/v2/flags/live/checkout?env=production");
    expect(flag.body.environments.production.on).toBe(false);
    expect(change.version).toBe(flag.body._version);
  }, 30_000);

  const createFlag = async (key: string) => expect((await admin.call("POST", "/api/v2/flags/live", { body: { key, name: key, variations: [{ value: true }, { value: false }] } })).status).toBe(201);

  test("a feed that reconnects with Last-Event-ID first gets the changes it missed", async () => {
    const first = await feed("?project=live", { authorization: TOKEN });
    await createFlag("resume-a");
    const seen = await first.next((e) => e.event === "change" && JSON.parse(e.data).key === "resume-a");
    first.close();
    await createFlag("resume-b");
    await createFlag("resume-c");
    const again = await feed("?project=live", { authorization: TOKEN, "last-event-id": seen.id! });
    expect(again.status).toBe(200);
    await changeOf(again, { key: "resume-c" });
    const keys = data(again).map((e) => e.key);
    expect(keys.indexOf("resume-b")).toBeGreaterThanOrEqual(0);
    expect(keys.indexOf("resume-b")).toBeLessThan(keys.indexOf("resume-c"));
    // A position from long ago is beyond what is replayed: read everything again.
    const stale = await feed("?project=live", { authorization: TOKEN, "last-event-id": "0".repeat(24) });
    await stale.next((e) => e.event === "reset");
  }, 30_000);

  test("changes committed while the server's listening connection to Postgres is renewed all arrive", async () => {
    const all = await feed("?project=live", { authorization: TOKEN });
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const keys: string[] = [];
      for (let i = 0; i < 6; i++) {
        // The connection that LISTENs is ended; the change is made before (or while) the server listens again.
        const ended = await sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and query ilike 'listen %' and pid <> pg_backend_pid()`;
        if (i === 0) expect(ended.length).toBeGreaterThan(0);
        keys.push(`gap-${i}`);
        await createFlag(`gap-${i}`);
      }
      for (const key of keys) await changeOf(all, { key }, 0);
    } finally {
      await sql.end();
    }
  }, 60_000);

  test("a caller who may read nothing is refused, and one demoted while listening hears nothing more", async () => {
    expect((await feed("", {})).status).toBe(401);
    expect((await feed("", { authorization: "api-not-a-token" })).status).toBe(401);
    // A token whose only role reads nothing (it may rename project "other"'s environments).
    const role = await admin.call("POST", "/api/v2/roles", {
      body: { key: "renamer", name: "Renamer", basePermissions: "no_access", policy: [{ effect: "allow", resources: ["proj/other:env/*"], actions: ["updateName"] }] },
    });
    expect(role.status).toBe(201);
    const renamer = await admin.call("POST", "/api/v2/tokens", { body: { name: "renamer", serviceToken: true, customRoleIds: ["renamer"] } });
    expect(renamer.status).toBe(201);
    expect((await admin.call("GET", "/api/v2/projects/other", { token: renamer.body.token })).status).toBe(403);
    expect((await feed("", { authorization: renamer.body.token })).status).toBe(403);

    const readerCookie = await signIn("reader@example.com");
    const listening = await feed("", { cookie: readerCookie, origin });
    expect(listening.status).toBe(200);
    expect((await admin.call("PATCH", "/api/v2/flags/live/checkout", { headers: SEMANTIC, body: { environmentKey: "test", instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(200);
    await changeOf(listening, { key: "checkout", environment: "test" });

    const members = await admin.call("GET", "/api/v2/members");
    const reader = members.body.items.find((m: { email: string }) => m.email === "reader@example.com");
    expect((await admin.call("PATCH", `/api/v2/members/${reader._id}`, { body: [{ op: "replace", path: "/role", value: "no_access" }] })).status).toBe(200);
    const watching = await feed("", { authorization: TOKEN });
    expect((await admin.call("PATCH", "/api/v2/flags/live/checkout", { headers: SEMANTIC, body: { environmentKey: "test", instructions: [{ kind: "turnFlagOff" }] } })).status).toBe(200);
    // The admin's feed got the change; the demoted member's feed ended without it.
    await changeOf(watching, { key: "checkout", environment: "test" });
    await listening.waitEnded();
    expect(data(listening).filter((e) => e.key === "checkout" && e.environment === "test")).toHaveLength(1);
  }, 30_000);
});

describe("live feed in a cluster", () => {
  let cluster: Cluster;
  const readers: SseReader[] = [];

  beforeAll(async () => {
    cluster = await launchCluster({ counts: { gateway: 2, auth: 1, flags: 2, streaming: 0 }, adminToken: TOKEN, edge: true });
  }, 120_000);

  afterAll(async () => {
    for (const r of readers) r.close();
    await cluster?.stop();
  });

  test("each gateway and the edge serve the feed; a change made through one gateway reaches all, once, though two flags instances hear it", async () => {
    const urls = [...cluster.gateways, cluster.edge!.url];
    for (const url of urls) {
      const reader = await openSse(`${url}/api/v2/live?project=default`, { headers: { authorization: TOKEN } });
      expect(reader.status).toBe(200);
      readers.push(reader);
    }
    const admin = makeClient([cluster.gateways[0]!], TOKEN);
    for (const key of ["one", "two"]) expect((await admin.call("POST", "/api/v2/flags/default", { body: { key, name: key, variations: [{ value: true }, { value: false }] } })).status).toBe(201);
    for (const reader of readers) await reader.next((e) => e.event === "change" && JSON.parse(e.data).key === "two");
    // "one" committed before "two" and went out first; each arrived once on every feed.
    for (const reader of readers) expect(reader.events.filter((e) => e.event === "change").map((e) => JSON.parse(e.data).key)).toEqual(["one", "two"]);
  }, 30_000);
});
