/**
 * Webhooks end to end on a cluster of separate processes (gateway, auth, flags and two webhooks
 * instances over a throwaway Postgres and nats-server): flag changes made through the API reach a
 * receiver (Bun.serve) that checks every signature, in commit order per flag, none missing — with
 * the receiver down while 200 changes are made, with the two instances sharing the work, and with
 * one of them killed (SIGKILL) mid-delivery, where the only duplicates carry the same delivery id.
 * The entries travel through the audit stream (JetStream), as in every deployment over NATS.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "nats";
import postgres from "postgres";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import { ldSignature, standardSignature } from "@vexil/webhooks/domain/signing";
import { makeClient, type Client } from "../support/client.ts";

const token = "webhooks-admin-token-00001";
const PROJECT = "wh";
const SECRET = "frobozz-e2e";
let cluster: Cluster;
let client: Client;

interface Got {
  id: string;
  entry: string;
  flag: string;
  version: number;
}

/** A receiver that checks both signatures of every request and records what it got; `stop` and `start` again on the same port. */
function receiver(secret: string) {
  const got: Got[] = [];
  const badSignatures: string[] = [];
  let delayMs = 0;
  let server: ReturnType<typeof Bun.serve> | undefined;
  let port = 0;
  const start = () => {
    server = Bun.serve({
      port,
      hostname: "127.0.0.1",
      async fetch(request) {
        const raw = await request.text();
        const id = request.headers.get("webhook-id") ?? "";
        const ts = Number(request.headers.get("webhook-timestamp"));
        if (request.headers.get("x-ld-signature") !== ldSignature(secret, raw) || request.headers.get("webhook-signature") !== standardSignature(secret, id, ts, raw)) {
          badSignatures.push(id);
          return new Response("bad signature", { status: 401 });
        }
        const body = JSON.parse(raw);
        // Recorded on arrival: a sender killed while this request is held has still delivered it.
        got.push({ id, entry: body._id, flag: String(body.target.resources[0]).split(":flag/")[1] ?? "", version: body._currentVersionNumber });
        if (delayMs > 0) await Bun.sleep(delayMs);
        return new Response("ok");
      },
    });
    port = server.port!;
  };
  start();
  return {
    got,
    badSignatures,
    get url() {
      return `http://127.0.0.1:${port}/hook`;
    },
    delay(ms: number) {
      delayMs = ms;
    },
    stop: () => server?.stop(true),
    start,
  };
}

async function until<T>(what: string, f: () => T | Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** Toggles each flag `perFlag` times, the flags concurrently; returns each flag's versions after its changes. */
async function toggle(flags: string[], perFlag: number): Promise<Map<string, number[]>> {
  const versions = new Map<string, number[]>();
  await Promise.all(
    flags.map(async (flag) => {
      const list: number[] = [];
      versions.set(flag, list);
      for (let i = 0; i < perFlag; i++) {
        const res = await client.call("GET", `/api/v2/flags/${PROJECT}/${flag}`);
        const res2 = await client.call("PATCH", `/api/v2/flags/${PROJECT}/${flag}`, { body: [{ op: "replace", path: "/environments/production/on", value: !res.body.environments.production.on }] });
        expect(res2.status).toBe(200);
        list.push(res2.body._version);
      }
    }),
  );
  return versions;
}

async function makeFlags(prefix: string, n: number): Promise<string[]> {
  const keys = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const key of keys) expect((await client.call("POST", `/api/v2/flags/${PROJECT}`, { body: { key, name: key } })).status).toBe(201);
  return keys;
}

async function hook(url: string, flagsGlob: string) {
  const res = await client.call("POST", "/api/v2/webhooks", {
    body: { url, sign: true, secret: SECRET, on: true, statements: [{ effect: "allow", actions: ["updateOn"], resources: [`proj/${PROJECT}:env/production:flag/${flagsGlob}`] }] },
  });
  expect(res.status).toBe(200);
  return res.body;
}

/** Every change of every flag arrived, first arrivals in version order; duplicates only of one delivery id with the same entry. */
function expectAllInOrder(r: ReturnType<typeof receiver>, expected: Map<string, number[]>) {
  const firstById = new Map<string, Got>();
  const duplicates: Got[] = [];
  for (const g of r.got) {
    const seen = firstById.get(g.id);
    if (seen) {
      expect(g.entry).toBe(seen.entry);
      duplicates.push(g);
    } else firstById.set(g.id, g);
  }
  const firsts = [...firstById.values()];
  for (const [flag, versions] of expected) {
    expect(firsts.filter((g) => g.flag === flag).map((g) => g.version)).toEqual(versions);
  }
  expect(new Set(firsts.map((g) => g.entry)).size).toBe(firsts.length);
  expect(r.badSignatures).toEqual([]);
  return { duplicates: duplicates.length, distinct: firsts.length };
}

const total = (m: Map<string, number[]>) => [...m.values()].reduce((n, v) => n + v.length, 0);

beforeAll(async () => {
  cluster = await launchCluster({
    counts: { gateway: 1, auth: 1, flags: 1, streaming: 0, webhooks: 2 },
    adminToken: token,
    env: {
      VEXIL_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.0/8",
      VEXIL_WEBHOOK_RETRY_BASE_MS: "200",
      VEXIL_WEBHOOK_RETRY_MAX_MS: "2000",
      VEXIL_WEBHOOK_MAX_ATTEMPTS: "100",
      VEXIL_WEBHOOK_TIMEOUT_MS: "3000",
      VEXIL_WEBHOOK_CONCURRENCY: "4",
      VEXIL_RATE_LIMIT_GLOBAL: "0",
      VEXIL_RATE_LIMIT_ROUTE: "0",
    },
  });
  client = makeClient(cluster.gateways, token);
  expect((await client.call("POST", "/api/v2/projects", { body: { key: PROJECT, name: "Webhooks" } })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe("webhooks across processes", () => {
  test("every audited change fires, whichever service makes it: projects, environments, flags, segments, tokens, roles, members, webhooks", async () => {
    const seen: Array<{ kind: string; action: string }> = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        const body = (await request.json()) as { kind: string; accesses: Array<{ action: string }> };
        seen.push({ kind: body.kind, action: body.accesses[0]!.action });
        return new Response("ok");
      },
    });
    try {
      const created = await client.call("POST", "/api/v2/webhooks", { body: { url: `http://127.0.0.1:${server.port}/all`, sign: false, on: true } });
      expect(created.status).toBe(200);
      const calls: Array<[string, string, unknown]> = [
        ["POST", `/api/v2/projects/${PROJECT}/environments`, { key: "staging", name: "Staging", color: "00ff00" }],
        ["POST", `/api/v2/flags/${PROJECT}`, { key: "every-change", name: "Every change" }],
        ["POST", `/api/v2/segments/${PROJECT}/production`, { key: "every-segment", name: "Every segment" }],
        ["POST", "/api/v2/tokens", { name: "every-token", role: "reader" }],
        ["POST", "/api/v2/roles", { key: "every-role", name: "Every role", policy: [{ effect: "allow", resources: ["proj/*"], actions: ["*"] }] }],
        ["POST", "/api/v2/members", [{ email: "every@example.com", role: "reader" }]],
        ["PATCH", `/api/v2/webhooks/${created.body._id}`, [{ op: "replace", path: "/name", value: "every" }]],
      ];
      for (const [method, path, body] of calls) expect({ path, status: (await client.call(method, path, { body })).status }).toEqual({ path, status: method === "PATCH" ? 200 : 201 });
      const kinds = ["environment", "flag", "segment", "token", "role", "member", "webhook"];
      await until("an entry of every kind", () => kinds.every((k) => seen.some((s) => s.kind === k && s.action !== "createWebhook")));
      expect(seen.map((s) => s.action)).toEqual(expect.arrayContaining(["createEnvironment", "createFlag", "createSegment", "createRole", "updateName"]));
      expect((await client.call("DELETE", `/api/v2/webhooks/${created.body._id}`)).status).toBe(204);
    } finally {
      server.stop(true);
    }
  }, 60_000);

  test("a receiver checks every signature and sees every change, in order per flag", async () => {
    const r = receiver(SECRET);
    try {
      const flags = await makeFlags("order", 4);
      await hook(r.url, "order-*");
      const expected = await toggle(flags, 10);
      await until("40 changes", () => new Set(r.got.map((g) => g.id)).size >= 40);
      expect(expectAllInOrder(r, expected).distinct).toBe(40);
    } finally {
      r.stop();
    }
  }, 120_000);

  test("the receiver down while 200 changes are made gets all 200 afterwards, in order per flag", async () => {
    const r = receiver(SECRET);
    try {
      const flags = await makeFlags("outage", 4);
      const created = await hook(r.url, "outage-*");
      r.stop();
      const started = Date.now();
      const expected = await toggle(flags, 50);
      // Down for 20 s in all (the deliveries back off to VEXIL_WEBHOOK_RETRY_MAX_MS meanwhile).
      await Bun.sleep(Math.max(0, 20_000 - (Date.now() - started)));
      expect(r.got).toHaveLength(0);
      r.start();
      await until("200 changes", () => new Set(r.got.map((g) => g.id)).size >= 200, 90_000);
      expect(expectAllInOrder(r, expected).distinct).toBe(total(expected));
      const log = await client.call("GET", `/api/v2/webhooks/${created._id}/deliveries?limit=100`);
      expect(log.body.totalCount).toBe(200);
      const older = await client.call("GET", `/api/v2/webhooks/${created._id}/deliveries?limit=100&offset=100`);
      const items = [...log.body.items, ...older.body.items];
      expect(items.every((d: any) => d.status === "delivered")).toBe(true);
      // The first change of each flag was tried while the receiver was down (connection refused), then delivered.
      expect(items.filter((d: any) => d.attempts.length > 1 && d.attempts[0].statusCode === undefined && d.attempts[0].error && d.attempts.at(-1).statusCode === 200).length).toBeGreaterThanOrEqual(4);
      expect(items.some((d: any) => d.attempts.length > 1 && d.attempts[0].statusCode === undefined && d.attempts.at(-1).statusCode === 200)).toBe(true);
    } finally {
      r.stop();
    }
  }, 180_000);

  test("two instances share the work; one killed mid-delivery loses nothing, duplicates only with the same delivery id", async () => {
    const r = receiver(SECRET);
    const sql = postgres(cluster.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      r.delay(150);
      const flags = await makeFlags("kill", 8);
      const created = await hook(r.url, "kill-*");
      const changes = toggle(flags, 10);
      await until("deliveries going out", () => r.got.length >= 10);
      // From now on the receiver holds each request 2.5 s before answering, so a delivery the victim
      // has claimed is one whose request is open at the receiver when the victim dies.
      r.delay(2_500);
      await Bun.sleep(500);
      const victim = cluster.instances.find((i) => i.kind === "webhooks" && i.process.exitCode === null)!;
      await until("the victim in the middle of a delivery", async () => {
        const [row] = await sql<{ n: number }[]>`
          select count(*)::int as n from webhook_deliveries
          where webhook_id = ${created._id} and lease_token like ${`%:${victim.process.pid}:%`} and lease_until > ${Date.now()}`;
        return row!.n > 0;
      }, 10_000);
      await cluster.kill(victim, "SIGKILL");
      r.delay(150);
      const expected = await changes;
      await until("80 changes", () => new Set(r.got.map((g) => g.id)).size >= total(expected), 90_000);
      const { duplicates, distinct } = expectAllInOrder(r, expected);
      expect(distinct).toBe(80);
      // The delivery the victim held arrived, and arrives again from the other instance under the same id.
      expect(duplicates).toBeGreaterThanOrEqual(1);
      console.log(`webhooks: ${duplicates} duplicate deliveries (same delivery id) after the SIGKILL`);
      const workers = await sql<{ worker: string }[]>`
        select distinct a.worker from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id where d.webhook_id = ${created._id}`;
      expect(workers.length).toBe(2);
    } finally {
      r.stop();
      await sql.end();
    }
  }, 180_000);

  test("the entries travelled through the audit stream: its durable consumer handed them out and every one was acknowledged", async () => {
    const nc = await connect({ servers: cluster.natsUrl });
    const sql = postgres(cluster.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const jsm = await nc.jetstreamManager();
      const [entries] = await sql<{ n: number }[]>`select count(*)::int as n from audit_log`;
      await until("every message acknowledged", async () => (await jsm.consumers.info("VEXIL_AUDIT", "vexil-webhooks")).num_ack_pending === 0 && (await jsm.streams.info("VEXIL_AUDIT")).state.messages === 0);
      const consumer = await jsm.consumers.info("VEXIL_AUDIT", "vexil-webhooks");
      // At least the 320 flag changes made while a webhook was on; nothing left waiting in the feed.
      expect(consumer.delivered.stream_seq).toBeGreaterThanOrEqual(320);
      expect(consumer.delivered.stream_seq).toBeLessThanOrEqual(entries!.n);
      expect(consumer.num_pending).toBe(0);
      const [feed] = await sql<{ n: number }[]>`select count(*)::int as n from webhook_feed`;
      expect(feed!.n).toBe(0);
      const [cursor] = await sql<{ through: string }[]>`select planned_through::text as through from webhook_stream_cursor`;
      expect(Number(cursor!.through)).toBe(consumer.delivered.stream_seq);
    } finally {
      await nc.close();
      await sql.end();
    }
  });
});
