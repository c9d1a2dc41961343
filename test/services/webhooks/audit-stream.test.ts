/**
 * Committed audit entries through the audit stream (JetStream on a real nats-server), with two
 * webhooks instances over one Postgres: the stream and its consumer as configured, every entry
 * delivered once per webhook in commit order per resource, a re-published entry stored once, and a
 * nats-server restarted while entries are being published losing nothing.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type NatsConnection } from "nats";
import { auditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import { createAssertions } from "@vexil/shared/assertion";
import { connectNatsBus, type NatsBus } from "@vexil/shared/bus/nats-bus";
import { CALLER_HEADER, type Caller } from "@vexil/shared/caller";
import { openDatabase, type Database } from "@vexil/shared/db/connector";
import { rowsOf } from "@vexil/shared/db/migrate";
import { silentLogger } from "@vexil/shared/logger";
import { sql } from "drizzle-orm";
import { AUDIT_CONSUMER, AUDIT_STREAM } from "@vexil/webhooks/delivery/audit-stream";
import { startWebhooksService } from "@vexil/webhooks/service";
import { startNats, type NatsServer } from "../../support/nats.ts";
import { testDatabaseUrl } from "../../support/postgres.ts";

const admin: Caller = {
  kind: "token",
  tokenId: "t-admin",
  tokenName: "admin",
  memberId: null,
  memberEmail: null,
  role: "admin",
  serviceToken: true,
  grants: [{ base: "reader", statements: [{ effect: "allow", resources: ["webhook/*", "proj/*"], actions: ["*"] }] }],
};
const assertions = createAssertions(new TextEncoder().encode("x".repeat(32)));

let nats: NatsServer;
let database: Database;
let nc: NatsConnection;
const buses: NatsBus[] = [];
const services: Array<Awaited<ReturnType<typeof startWebhooksService>>> = [];

interface Got {
  id: string;
  entry: string;
  resource: string;
  n: number;
}

function receiver() {
  const got: Got[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const body = (await request.json()) as { _id: string; target: { resources: string[] }; _currentVersionNumber: number };
      got.push({ id: request.headers.get("webhook-id")!, entry: body._id, resource: body.target.resources[0]!, n: body._currentVersionNumber });
      return new Response("ok");
    },
  });
  return { got, url: `http://127.0.0.1:${server.port}/hook`, stop: () => server.stop(true) };
}

async function createHook(url: string, flags: string) {
  const headers = { [CALLER_HEADER]: await assertions.sign(admin), "content-type": "application/json" };
  const body = { url, sign: false, on: true, statements: [{ effect: "allow", actions: ["updateOn"], resources: [`proj/p:env/e:flag/${flags}`] }] };
  const res = await services[0]!.handle(new Request("http://webhooks/api/v2/webhooks", { method: "POST", headers, body: JSON.stringify(body) }));
  expect(res.status).toBe(200);
}

let n = 0;
/** An entry committed as a service writes one; `n` numbers the changes in commit order. */
async function change(flag: string) {
  const spec = `proj/p:env/e:flag/${flag}`;
  const entry = auditEntry({ caller: admin, kind: "flag", spec, name: flag, verb: "updated", actions: ["updateOn"], current: { n: ++n }, currentVersion: n });
  await database.db.insert(auditLog).values(entry);
  return entry;
}

async function until<T>(what: string, f: () => T | Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/** Every change arrived, first arrivals in commit order per resource; duplicates only under the delivery id of the first. */
function expectAllInOrder(got: Got[], made: Array<{ id: string; spec: string }>) {
  const first = new Map<string, Got>();
  for (const g of got) {
    const seen = first.get(g.id);
    if (seen) expect(g.entry).toBe(seen.entry);
    else first.set(g.id, g);
  }
  const firsts = [...first.values()];
  expect(new Set(firsts.map((g) => g.entry)).size).toBe(firsts.length);
  expect(firsts.map((g) => g.entry).sort()).toEqual(made.map((e) => e.id).sort());
  for (const resource of new Set(made.map((e) => e.spec))) {
    const arrived = firsts.filter((g) => g.resource === resource).map((g) => g.n);
    expect(arrived).toEqual([...arrived].sort((a, b) => a - b));
  }
}

async function startInstance() {
  const bus = await connectNatsBus(nats.url, `test-webhooks-${buses.length}`, silentLogger);
  buses.push(bus);
  services.push(
    await startWebhooksService({
      database,
      bus,
      assertions,
      logger: silentLogger,
      secretsKey: "s".repeat(32),
      allowedNetworks: ["127.0.0.0/8"],
      timeoutMs: 2_000,
      maxAttempts: 100,
      retryBaseMs: 50,
      retryMaxMs: 500,
      concurrency: 8,
    }),
  );
}

beforeAll(async () => {
  nats = await startNats();
  database = await openDatabase({ url: await testDatabaseUrl(), dataDir: "" });
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  await startInstance();
  await startInstance();
}, 60_000);

afterAll(async () => {
  for (const s of services) await s.stop();
  for (const b of buses) await b.drain();
  await nc?.close();
  await database?.close();
  await nats?.destroy();
}, 60_000);

test("the stream of committed audit entries and its durable consumer exist, as configured", async () => {
  const jsm = await nc.jetstreamManager();
  const stream = await jsm.streams.info(AUDIT_STREAM.name);
  expect(stream.config).toMatchObject({ subjects: ["vexil.audit.>"], retention: "workqueue", storage: "file", discard: "new", max_bytes: AUDIT_STREAM.maxBytes });
  expect(stream.config.max_age).toBe(AUDIT_STREAM.maxAgeMs * 1_000_000);
  expect(stream.config.duplicate_window).toBe(AUDIT_STREAM.duplicateWindowMs * 1_000_000);
  const consumer = await jsm.consumers.info(AUDIT_STREAM.name, AUDIT_CONSUMER.durable);
  expect(consumer.config).toMatchObject({ durable_name: "vexil-webhooks", ack_policy: "explicit", max_deliver: AUDIT_CONSUMER.maxDeliveries, max_ack_pending: AUDIT_CONSUMER.maxAckPending });
  expect(consumer.config.ack_wait).toBe(AUDIT_CONSUMER.ackWaitsMs[0]! * 1_000_000);
  // A webhooks instance started again finds them as they are.
  await startInstance();
  expect((await jsm.consumers.info(AUDIT_STREAM.name, AUDIT_CONSUMER.durable)).config.max_ack_pending).toBe(AUDIT_CONSUMER.maxAckPending);
});

test("an entry published again within the duplicate window is stored once", async () => {
  const bus = buses[0]!;
  const id = `dup-${crypto.randomUUID()}`;
  const first = await bus.streams.publish("vexil.audit.test", new TextEncoder().encode("{}"), { id, timeoutMs: 5_000 });
  const again = await bus.streams.publish("vexil.audit.test", new TextEncoder().encode("{}"), { id, timeoutMs: 5_000 });
  expect(first.duplicate).toBe(false);
  expect(again).toEqual({ seq: first.seq, duplicate: true });
});

test("entries reach a webhook through the stream, each once, in commit order per resource; the stream and the feed end empty", async () => {
  const r = receiver();
  try {
    await createHook(r.url, "order-*");
    const made = [];
    for (let i = 0; i < 200; i++) made.push(await change(`order-${i % 8}`));
    await until("200 deliveries", () => new Set(r.got.map((g) => g.id)).size >= 200);
    expectAllInOrder(r.got, made);
    const jsm = await nc.jetstreamManager();
    await until("the stream emptied by acknowledgments", async () => (await jsm.streams.info(AUDIT_STREAM.name)).state.messages === 0);
    expect(rowsOf(await database.db.execute(sql`select 1 from webhook_feed`))).toEqual([]);
  } finally {
    r.stop();
  }
}, 90_000);

test("a nats-server restarted while entries are being published loses nothing", async () => {
  const r = receiver();
  try {
    await createHook(r.url, "restart-*");
    const made: Array<{ id: string; spec: string }> = [];
    const changes = (async () => {
      for (let i = 0; i < 300; i++) {
        made.push(await change(`restart-${i % 5}`));
        await Bun.sleep(5);
      }
    })();
    await until("publishing under way", () => r.got.length >= 20);
    // Killed (SIGKILL) mid-publication; changes committed meanwhile wait in the feed.
    await nats.stop();
    await Bun.sleep(1_000);
    await nats.start();
    await changes;
    await until("300 deliveries", () => new Set(r.got.map((g) => g.id)).size >= 300, 90_000);
    expectAllInOrder(r.got, made);
    expect(rowsOf(await database.db.execute(sql`select 1 from webhook_feed`))).toEqual([]);
  } finally {
    r.stop();
  }
}, 120_000);
