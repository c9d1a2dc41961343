/**
 * The webhooks service over a real Postgres, with receivers on Bun.serve: audit entries written to
 * the log (as any service writes them) reach the webhooks that want them, signed, in commit order
 * per resource; failures are retried and end failed; the log and redelivery; destinations checked
 * at creation and at every attempt; redirects, slow and talkative receivers. The bus is a real
 * nats-server, so entries travel through the audit stream (JetStream) as in a distributed
 * deployment; the embedded mode's feed is covered by the store's tests and `test/e2e/api-client.test.ts`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { auditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import { createAssertions } from "@vexil/shared/assertion";
import { CALLER_HEADER, type Caller } from "@vexil/shared/caller";
import { openDatabase, type Database } from "@vexil/shared/db/connector";
import { silentLogger } from "@vexil/shared/logger";
import { ldSignature, standardSignature } from "@vexil/webhooks/domain/signing";
import { startWebhooksService } from "@vexil/webhooks/service";
import { connectNatsBus, type NatsBus } from "@vexil/shared/bus/nats-bus";
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
const reader: Caller = { ...admin, tokenId: "t-reader", tokenName: "reader", role: "reader", grants: [{ base: "reader", statements: [] }] };

interface Received {
  id: string;
  timestamp: string;
  body: any;
  raw: string;
  ld: string | null;
  standard: string | null;
}

/** A receiver whose answer each test sets. */
function receiver() {
  const seen: Received[] = [];
  let answer: (r: Received) => Response | Promise<Response> = () => new Response("ok");
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const raw = await request.text();
      const r: Received = {
        id: request.headers.get("webhook-id")!,
        timestamp: request.headers.get("webhook-timestamp")!,
        body: JSON.parse(raw),
        raw,
        ld: request.headers.get("x-ld-signature"),
        standard: request.headers.get("webhook-signature"),
      };
      seen.push(r);
      return answer(r);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    seen,
    /** Entries of this kind only (webhooks hear of their own changes too). */
    of: (kind = "flag") => seen.filter((r) => r.body.kind === kind),
    answer(f: typeof answer) {
      answer = f;
    },
    stop: () => server.stop(true),
  };
}

let database: Database;
let nats: NatsServer;
let bus: NatsBus;
let service: Awaited<ReturnType<typeof startWebhooksService>>;
const assertions = createAssertions(new TextEncoder().encode("x".repeat(32)));
const names: Record<string, string[]> = {};
const receivers: Array<ReturnType<typeof receiver>> = [];
const created: string[] = [];

async function call(method: string, path: string, body?: unknown, caller: Caller = admin) {
  const headers: Record<string, string> = { [CALLER_HEADER]: await assertions.sign(caller) };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await service.handle(new Request(`http://webhooks${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function createHook(post: Record<string, unknown>) {
  const res = await call("POST", "/api/v2/webhooks", { sign: false, on: true, ...post });
  expect(res.status).toBe(200);
  created.push(res.body._id);
  return res.body;
}

let version = 0;
/** An audit entry committed as a service writes one: the change of `spec`. */
async function change(spec: string, action = "updateOn", tags: string[] = []) {
  const entry = auditEntry({ caller: admin, kind: spec.includes(":flag/") ? "flag" : "environment", spec, name: spec, verb: "updated", actions: [action], current: { tags, n: ++version }, currentVersion: version });
  await database.db.insert(auditLog).values(entry);
  return entry;
}

async function until<T>(what: string, f: () => T | Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

beforeAll(async () => {
  database = await openDatabase({ url: await testDatabaseUrl(), dataDir: "" });
  nats = await startNats();
  bus = await connectNatsBus(nats.url, "test-webhooks", silentLogger);
  service = await startWebhooksService({
    database,
    bus,
    assertions,
    logger: silentLogger,
    secretsKey: "s".repeat(32),
    allowedNetworks: ["127.0.0.0/8"],
    timeoutMs: 1_000,
    maxAttempts: 3,
    retryBaseMs: 40,
    retryMaxMs: 200,
    concurrency: 8,
    lookup: async (host) => {
      if (!(host in names)) throw new Error("ENOTFOUND");
      return names[host]!;
    },
  });
}, 60_000);

afterEach(async () => {
  // Webhooks of one test do not receive the next test's changes.
  for (const id of created.splice(0)) await call("DELETE", `/api/v2/webhooks/${id}`);
  for (const r of receivers.splice(0)) r.stop();
});

afterAll(async () => {
  await service.stop();
  await bus.drain();
  await database.close();
  await nats.destroy();
});

function listen() {
  const r = receiver();
  receivers.push(r);
  return r;
}

describe("the webhooks API", () => {
  test("create shows the secret once; reads never; patch and delete; LaunchDarkly's shapes", async () => {
    const r = listen();
    const res = await call("POST", "/api/v2/webhooks", { name: "ops", url: `${r.url}/hook`, sign: true, secret: "frobozz", on: true, statements: [{ effect: "allow", actions: ["*"], resources: ["proj/*"] }], tags: ["a"] });
    expect(res.status).toBe(200);
    created.push(res.body._id);
    expect(res.body).toMatchObject({ name: "ops", url: `${r.url}/hook`, secret: "frobozz", on: true, tags: ["a"], statements: [{ effect: "allow", actions: ["*"], resources: ["proj/*"] }] });
    expect(res.body._id).toMatch(/^[0-9a-f]{24}$/);
    expect(res.body._links.self).toEqual({ href: `/api/v2/webhooks/${res.body._id}`, type: "application/json" });
    const got = await call("GET", `/api/v2/webhooks/${res.body._id}`);
    expect(got.status).toBe(200);
    expect(got.body.secret).toBeUndefined();
    expect(got.body._signed).toBe(true);
    expect(JSON.stringify((await call("GET", "/api/v2/webhooks")).body)).not.toContain("frobozz");
    // Stored sealed.
    const stored = await database.db.execute("select secret_cipher from webhooks" as never);
    expect(JSON.stringify(stored)).not.toContain("frobozz");

    const patched = await call("PATCH", `/api/v2/webhooks/${res.body._id}`, [
      { op: "replace", path: "/on", value: false },
      { op: "replace", path: "/name", value: "ops 2" },
      { op: "remove", path: "/statements" },
      { op: "add", path: "/tags/-", value: "b" },
    ]);
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: "ops 2", on: false, tags: ["a", "b"], _signed: true });
    expect(patched.body.statements).toBeUndefined();
    expect((await call("PATCH", `/api/v2/webhooks/${res.body._id}`, [{ op: "remove", path: "/secret" }])).body._signed).toBe(false);
    expect((await call("PATCH", `/api/v2/webhooks/${res.body._id}`, [{ op: "replace", path: "/_id", value: "x" }])).status).toBe(400);
    expect((await call("PATCH", `/api/v2/webhooks/${res.body._id}`, [{ op: "replace", path: "/url", value: "http://10.0.0.1/" }])).status).toBe(400);
    expect((await call("PATCH", `/api/v2/webhooks/${res.body._id}`, [{ op: "replace", path: "/on", value: true }], reader)).status).toBe(403);

    const unsignedGenerated = await call("POST", "/api/v2/webhooks", { url: `${r.url}/two`, sign: true, on: false });
    created.push(unsignedGenerated.body._id);
    expect(unsignedGenerated.body.secret).toMatch(/^whsec_/);
    const noSign = await call("POST", "/api/v2/webhooks", { url: `${r.url}/three`, sign: false, secret: "ignored", on: false });
    created.push(noSign.body._id);
    expect(noSign.body.secret).toBeUndefined();
    expect(noSign.body._signed).toBe(false);

    expect((await call("POST", "/api/v2/webhooks", { url: `${r.url}/x`, sign: false, on: true }, reader)).status).toBe(403);
    expect((await call("POST", "/api/v2/webhooks", { url: `${r.url}/x`, on: true })).status).toBe(400);
    expect((await call("POST", "/api/v2/webhooks", { url: `${r.url}/x`, sign: false, on: true, statements: [{ effect: "allow", actions: ["*"], resources: ["proj/"] }] })).status).toBe(400);
    expect((await call("DELETE", `/api/v2/webhooks/${res.body._id}`)).status).toBe(204);
    expect((await call("GET", `/api/v2/webhooks/${res.body._id}`)).status).toBe(404);
    expect((await call("GET", "/api/v2/webhooks/not-an-id")).status).toBe(404);
  });

  test.each([
    "http://10.0.0.1/hook",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/hook",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://inside.test/hook",
    "http://nowhere.test/hook",
    "gopher://127.0.0.1/",
  ])("%s is refused at creation", async (url) => {
    names["inside.test"] = ["10.9.8.7", "fe80::1"];
    const res = await call("POST", "/api/v2/webhooks", { url, sign: false, on: true });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_request");
    expect(res.body.message).toStartWith("url: ");
  });
});

describe("deliveries", () => {
  test("every entry, signed both ways, in commit order per resource; the body is the audit entry", async () => {
    const r = listen();
    const hook = await createHook({ url: `${r.url}/in`, sign: true, secret: "frobozz" });
    const entries: Array<Awaited<ReturnType<typeof change>>> = [];
    for (let i = 0; i < 10; i++) entries.push(await change(`proj/p:env/production:flag/f${i % 3}`));
    await until("10 deliveries", () => r.of().length >= 10);
    for (const got of r.of()) {
      expect(got.ld).toBe(ldSignature("frobozz", got.raw));
      expect(got.standard).toBe(standardSignature("frobozz", got.id, Number(got.timestamp), got.raw));
      expect(Math.abs(Number(got.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    }
    expect(new Set(r.of().map((g) => g.body._id))).toEqual(new Set(entries.map((e) => e.id)));
    for (const flag of ["f0", "f1", "f2"]) {
      const spec = `proj/p:env/production:flag/${flag}`;
      expect(r.of().filter((g) => g.body.target.resources[0] === spec).map((g) => g.body._id)).toEqual(entries.filter((e) => e.spec === spec).map((e) => e.id));
    }
    const first = r.of().find((g) => g.body._id === entries[0]!.id)!.body;
    expect(first).toMatchObject({ _id: entries[0]!.id, kind: "flag", accesses: [{ action: "updateOn", resource: entries[0]!.spec }], _links: { self: { href: `/api/v2/auditlog/${entries[0]!.id}` } }, currentVersion: { n: entries[0]!.currentVersion } });

    // A receipt is recorded once the receiver's answer is back, a moment after the receiver saw the request.
    const flagDeliveries = await until("10 recorded deliveries", async () => {
      const log = await call("GET", `/api/v2/webhooks/${hook._id}/deliveries?limit=50`);
      expect(log.status).toBe(200);
      const items = log.body.items.filter((d: any) => d.resource.includes(":flag/"));
      return items.length === 10 && items.every((d: any) => d.status !== "pending") ? items : null;
    });
    expect(flagDeliveries).toHaveLength(10);
    for (const d of flagDeliveries) {
      expect(d.status).toBe("delivered");
      expect(d.attempts).toHaveLength(1);
      expect(d.attempts[0]).toMatchObject({ attempt: 1, statusCode: 200, response: "ok" });
      expect(d.attempts[0].latencyMs).toBeGreaterThanOrEqual(0);
      expect(r.seen.some((g) => g.id === d._id)).toBe(true);
    }
  });

  test("statements choose entries through the policy module; an off webhook gets nothing", async () => {
    const production = listen();
    const all = listen();
    const off = listen();
    await createHook({ url: production.url, statements: [{ effect: "allow", actions: ["*"], resources: ["proj/*:env/production:flag/*"] }, { effect: "deny", actions: ["deleteFlag"], resources: ["proj/*:env/*:flag/*"] }] });
    await createHook({ url: all.url });
    await createHook({ url: off.url, on: false });
    const a = await change("proj/p:env/production:flag/x");
    await change("proj/p:env/test:flag/x");
    await change("proj/p:env/production:flag/x", "deleteFlag");
    const d = await change("proj/p:env/production");
    await until("all four at the catch-all", () => all.seen.filter((g) => g.body.kind !== "webhook").length >= 4);
    await until("the production flag change", () => production.seen.length >= 1);
    await Bun.sleep(300);
    expect(production.seen.map((g) => g.body._id)).toEqual([a.id]);
    expect(new Set(all.seen.filter((g) => g.body.kind !== "webhook").map((g) => g.body._id))).toContain(d.id);
    expect(off.seen).toHaveLength(0);
  });

  test("a failing receiver: retried with the same id, later entries of the resource wait, others do not; failed after the last attempt; redelivered by hand", async () => {
    const r = listen();
    const failures = new Map<string, number>();
    let refuse = "";
    r.answer((got) => {
      if (got.body.target.resources[0] !== refuse) return new Response("ok");
      failures.set(got.id, (failures.get(got.id) ?? 0) + 1);
      return new Response("down for maintenance", { status: 503 });
    });
    const hook = await createHook({ url: r.url });
    refuse = "proj/p:env/e:flag/stuck";
    const stuck1 = await change("proj/p:env/e:flag/stuck");
    const stuck2 = await change("proj/p:env/e:flag/stuck");
    const other = await change("proj/p:env/e:flag/free");
    await until("the other resource's delivery", () => r.of().some((g) => g.body._id === other.id));
    // Three attempts of the first, then it is left failed and the next one is tried.
    await until("the first failed for good and the second tried", () => r.of().some((g) => g.body._id === stuck2.id));
    const firstTries = r.of().filter((g) => g.body._id === stuck1.id);
    expect(firstTries).toHaveLength(3);
    expect(new Set(firstTries.map((g) => g.id)).size).toBe(1);
    expect(r.of().findIndex((g) => g.body._id === stuck2.id)).toBeGreaterThan(r.of().findLastIndex((g) => g.body._id === stuck1.id));

    const log = (await call("GET", `/api/v2/webhooks/${hook._id}/deliveries`)).body.items;
    const failed = log.find((d: any) => d.auditLogEntryId === stuck1.id);
    expect(failed.status).toBe("failed");
    expect(failed.attempts.map((a: any) => [a.attempt, a.statusCode, a.response])).toEqual([
      [1, 503, "down for maintenance"],
      [2, 503, "down for maintenance"],
      [3, 503, "down for maintenance"],
    ]);
    expect(failed.attempts[1].date).toBeGreaterThan(failed.attempts[0].date);

    refuse = "";
    const again = await call("POST", `/api/v2/webhooks/${hook._id}/deliveries/${failed._id}/redeliver`);
    expect(again.status).toBe(200);
    expect(again.body._id).toBe(failed._id);
    await until("the redelivery", () => r.of().filter((g) => g.body._id === stuck1.id).length === 4);
    expect(r.of().filter((g) => g.body._id === stuck1.id).at(-1)!.id).toBe(failed._id);
    await until("delivered", async () => (await call("GET", `/api/v2/webhooks/${hook._id}/deliveries/${failed._id}`)).body.status === "delivered");
    expect((await call("POST", `/api/v2/webhooks/${hook._id}/deliveries/nope/redeliver`)).status).toBe(404);
  });

  test("a destination that resolves elsewhere at delivery is not sent to (DNS rebinding); redirects are not followed", async () => {
    const r = listen();
    names["rebind.test"] = ["127.0.0.1"];
    const hook = await createHook({ url: `http://rebind.test:${r.port}/hook` });
    names["rebind.test"] = ["169.254.169.254"];
    const entry = await change("proj/p:env/e:flag/rebind");
    const failed = await until("the delivery failed", async () => {
      const items = (await call("GET", `/api/v2/webhooks/${hook._id}/deliveries`)).body.items;
      const d = items.find((i: any) => i.auditLogEntryId === entry.id);
      return d?.status === "failed" ? d : undefined;
    });
    expect(failed.attempts[0].error).toBe('the destination "rebind.test" is not allowed: 169.254.169.254 is a linkLocal address');
    expect(r.of()).toHaveLength(0);

    // A name that resolves to a refused and an allowed address is sent to the allowed one, with its own Host.
    names["rebind.test"] = ["10.0.0.1", "127.0.0.1"];
    const next = await change("proj/p:env/e:flag/rebind2");
    await until("sent to the allowed address", () => r.of().some((g) => g.body._id === next.id));

    const target = listen();
    const redirecting = listen();
    redirecting.answer(() => new Response(null, { status: 302, headers: { location: `${target.url}/elsewhere` } }));
    const hook2 = await createHook({ url: redirecting.url });
    const moved = await change("proj/p:env/e:flag/redirect");
    const d = await until("the redirect recorded", async () => (await call("GET", `/api/v2/webhooks/${hook2._id}/deliveries`)).body.items.find((i: any) => i.auditLogEntryId === moved.id && i.status === "failed"));
    expect(d.attempts.map((a: any) => [a.statusCode, a.error])).toEqual([
      [302, "redirects are not followed"],
      [302, "redirects are not followed"],
      [302, "redirects are not followed"],
    ]);
    expect(target.seen).toHaveLength(0);
  });

  test("a receiver that never answers times out without holding up others; a long answer is cut", async () => {
    const slow = listen();
    slow.answer(() => new Promise<Response>(() => {}));
    const loud = listen();
    loud.answer(() => new Response("x".repeat(200_000)));
    const slowHook = await createHook({ url: slow.url });
    const loudHook = await createHook({ url: loud.url });
    const entry = await change("proj/p:env/e:flag/slow");
    await until("the loud receiver", () => loud.of().some((g) => g.body._id === entry.id), 5_000);
    const d = await until("the first timeout", async () => (await call("GET", `/api/v2/webhooks/${slowHook._id}/deliveries`)).body.items.find((i: any) => i.auditLogEntryId === entry.id && i.attempts.length > 0));
    expect(d.attempts[0].error).toBe("no complete answer within 1000 ms");
    expect(d.attempts[0].latencyMs).toBeGreaterThanOrEqual(900);
    const l = (await call("GET", `/api/v2/webhooks/${loudHook._id}/deliveries`)).body.items.find((i: any) => i.auditLogEntryId === entry.id);
    expect(l.attempts[0].response).toHaveLength(1024);
  });

  test("a receiver that hangs on many resources takes only its share of the slots", async () => {
    const slow = listen();
    slow.answer(() => new Promise<Response>(() => {}));
    const fast = listen();
    const slowHook = await createHook({ url: slow.url });
    await createHook({ url: fast.url });
    const entries: Array<Awaited<ReturnType<typeof change>>> = [];
    for (let i = 0; i < 12; i++) entries.push(await change(`proj/p:env/e:flag/share-${i}`));
    await until("every change at the fast receiver", () => entries.every((e) => fast.of().some((g) => g.body._id === e.id)), 10_000);
    // Meanwhile the hanging receiver's attempts were all still waiting for their timeout.
    const log = (await call("GET", `/api/v2/webhooks/${slowHook._id}/deliveries?limit=50`)).body.items;
    expect(log.filter((d: any) => d.resource.includes("share-") && d.attempts.length > 0)).toEqual([]);
    expect(slow.of().length).toBeLessThanOrEqual(2);
  });
});
