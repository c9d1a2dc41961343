/**
 * Who may do what, end to end on a distributed cluster (2 gateways, 1 auth, 1 flags) over real
 * Postgres and NATS: 401 versus 403 for every kind of credential, revocation seen by both gateways
 * on the very next call, key resets, sessions, and no secret in the database or the logs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import type { Bus } from "@vexil/shared/bus/bus";
import { connectNatsBus } from "@vexil/shared/bus/nats-bus";
import { requestJson } from "@vexil/shared/bus/rpc";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import { makeClient, type Client } from "../support/client.ts";

const ADMIN = "access-admin-token-0001";
const ORIGIN = "http://vexil.test";
let cluster: Cluster;
let admin: Client;
let gw1: Client;
let gw2: Client;
let bus: Bus;
/** Every secret this file sees; none may end up in the database or the logs. */
const secrets: string[] = [ADMIN];

beforeAll(async () => {
  cluster = await launchCluster({
    counts: { gateway: 2, auth: 1, flags: 1, streaming: 0 },
    adminToken: ADMIN,
    env: { VEXIL_PUBLIC_ORIGIN: ORIGIN, VEXIL_AUTH_FAILURE_LIMIT: "400" },
  });
  admin = makeClient(cluster.gateways, ADMIN);
  gw1 = makeClient([cluster.gateways[0]!], ADMIN);
  gw2 = makeClient([cluster.gateways[1]!], ADMIN);
  bus = await connectNatsBus(cluster.natsUrl, "access-test", silentLogger);
}, 120_000);

afterAll(async () => {
  await bus?.drain();
  await cluster?.stop();
}, 60_000);

async function member(email: string, role: string, password?: string): Promise<string> {
  const res = await admin.call("POST", "/api/v2/members", { body: [{ email, role, ...(password ? { password } : {}) }] });
  expect(res.status).toBe(201);
  if (password) secrets.push(password);
  return res.body.items[0]._id;
}

async function token(body: Record<string, unknown>, as: Client = admin): Promise<{ id: string; value: string }> {
  const res = await as.call("POST", "/api/v2/tokens", { body });
  expect(res.status).toBe(201);
  expect(res.body.token).toMatch(/^api-/);
  secrets.push(res.body.token);
  return { id: res.body._id, value: res.body.token };
}

const verifyKey = (key: string) => requestJson<{ ok: boolean; environmentId?: string }>(bus, subjects.authVerifyEnvironmentKey, { key }, 2_000);

describe("authentication and permissions", () => {
  let project: any;

  test("setup: a project whose environments give SDK keys, mobile keys and client-side IDs", async () => {
    const res = await admin.call("POST", "/api/v2/projects", { body: { key: "acc", name: "Access" } });
    expect(res.status).toBe(201);
    project = res.body;
    for (const env of project.environments) secrets.push(env.apiKey, env.mobileKey);
  });

  test("401 for every credential that is not an access token, on every kind of route", async () => {
    const env = project.environments[0];
    const credentials: Array<[string, string | null]> = [
      ["none", null],
      ["garbage", "definitely-not-a-token-value"],
      ["sdk key", env.apiKey],
      ["mobile key", env.mobileKey],
      ["client-side id", env._id],
      ["bearer sdk key", `Bearer ${env.apiKey}`],
    ];
    const routes: Array<[string, string, unknown?]> = [
      ["GET", "/api/v2/projects"],
      ["POST", "/api/v2/projects", { key: "never", name: "Never" }],
      ["PATCH", "/api/v2/projects/acc", { name: "x" }],
      ["DELETE", "/api/v2/projects/acc"],
      ["GET", "/api/v2/projects/acc/environments/test"],
      ["POST", "/api/v2/projects/acc/environments/test/apiKey"],
      ["GET", "/api/v2/tokens"],
      ["POST", "/api/v2/tokens", { name: "x" }],
      ["GET", "/api/v2/members"],
      ["POST", "/api/v2/roles", { key: "r", name: "R", policy: [] }],
      ["GET", "/api/v2/caller-identity"],
    ];
    for (const [kind, credential] of credentials) {
      for (const [method, path, body] of routes) {
        const res = await admin.call(method, path, { token: credential, body });
        expect([kind, method, path, res.status]).toEqual([kind, method, path, 401]);
        expect(res.body.code).toBe("unauthorized");
        expect(res.headers.get("www-authenticate")).toContain("Bearer");
      }
    }
    const sdk = await admin.call("GET", "/api/v2/projects", { token: env.apiKey });
    expect(sdk.body.message).toContain("SDK keys");
    expect((await admin.call("GET", "/api/v2/projects/acc")).body.name).toBe("Access");
  });

  test("a reader's token reads but cannot create, patch or delete anything (403, nothing changes)", async () => {
    const readerId = await member("reader@example.com", "reader");
    const readerToken = await token({ name: "reader's", memberId: readerId, role: "reader" });
    const reader = admin.as(readerToken.value);
    expect((await reader.call("GET", "/api/v2/projects")).status).toBe(200);
    expect((await reader.call("GET", "/api/v2/members")).status).toBe(200);
    const writes: Array<[string, string, unknown?]> = [
      ["POST", "/api/v2/projects", { key: "by-reader", name: "R" }],
      ["PATCH", "/api/v2/projects/acc", { name: "by reader" }],
      ["DELETE", "/api/v2/projects/acc"],
      ["POST", "/api/v2/projects/acc/environments", { key: "r", name: "R", color: "000000" }],
      ["PATCH", "/api/v2/projects/acc/environments/test", { name: "by reader" }],
      ["DELETE", "/api/v2/projects/acc/environments/test"],
      ["POST", "/api/v2/projects/acc/environments/test/apiKey"],
      ["POST", "/api/v2/projects/acc/environments/test/mobileKey"],
      ["POST", "/api/v2/tokens", { name: "mine", role: "reader" }],
      ["POST", "/api/v2/members", [{ email: "new@example.com" }]],
      ["PATCH", `/api/v2/members/${readerId}`, [{ op: "replace", path: "/role", value: "admin" }]],
      ["DELETE", `/api/v2/members/${readerId}`],
      ["POST", "/api/v2/roles", { key: "by-reader", name: "R", policy: [] }],
      ["DELETE", `/api/v2/tokens/${readerToken.id}`],
    ];
    for (const [method, path, body] of writes) {
      const res = await reader.call(method, path, { body });
      expect([method, path, res.status]).toEqual([method, path, 403]);
      expect(res.body.code).toBe("forbidden");
    }
    const after = await admin.call("GET", "/api/v2/projects/acc?expand=environments");
    expect(after.body.name).toBe("Access");
    expect(after.body.environments.totalCount).toBe(2);
    expect((await admin.call("GET", "/api/v2/projects/by-reader")).status).toBe(404);
    expect((await admin.call("GET", `/api/v2/members/${readerId}`)).body.role).toBe("reader");
  });

  test("a writer changes project data and its own tokens, but not others' tokens, members or roles", async () => {
    const writerId = await member("writer@example.com", "writer");
    const otherId = await member("other@example.com", "writer");
    const writerToken = await token({ name: "writer's", memberId: writerId, role: "writer" });
    const othersToken = await token({ name: "other's", memberId: otherId, role: "writer" });
    const writer = admin.as(writerToken.value);
    expect((await writer.call("POST", "/api/v2/projects", { body: { key: "by-writer", name: "W" } })).status).toBe(201);
    expect((await writer.call("PATCH", "/api/v2/projects/by-writer", { body: { name: "Written" } })).status).toBe(200);
    const own = await writer.call("POST", "/api/v2/tokens", { body: { name: "own", role: "reader" } });
    expect(own.status).toBe(201);
    secrets.push(own.body.token);
    expect(own.body.memberId).toBe(writerId);
    expect((await writer.call("DELETE", `/api/v2/tokens/${own.body._id}`)).status).toBe(204);
    for (const [method, path, body] of [
      ["GET", `/api/v2/tokens/${othersToken.id}`],
      ["DELETE", `/api/v2/tokens/${othersToken.id}`],
      ["POST", `/api/v2/tokens/${othersToken.id}/reset`],
      ["PATCH", `/api/v2/tokens/${othersToken.id}`, [{ op: "replace", path: "/name", value: "mine now" }]],
      ["POST", "/api/v2/tokens", { name: "for other", memberId: otherId }],
      ["POST", "/api/v2/tokens", { name: "service", serviceToken: true }],
      ["POST", "/api/v2/tokens", { name: "escalate", role: "admin" }],
      ["GET", "/api/v2/tokens?showAll=true"],
      ["POST", "/api/v2/members", [{ email: "w-new@example.com" }]],
      ["PATCH", `/api/v2/members/${otherId}`, [{ op: "replace", path: "/role", value: "reader" }]],
      ["DELETE", `/api/v2/members/${otherId}`],
      ["POST", "/api/v2/roles", { key: "by-writer", name: "W", policy: [] }],
    ] as Array<[string, string, unknown?]>) {
      const res = await writer.call(method, path, { body });
      expect([method, path, res.status]).toEqual([method, path, 403]);
    }
    const mine = await writer.call("GET", "/api/v2/tokens");
    expect(mine.body.items.map((t: any) => t._id)).toEqual([writerToken.id]);
    expect(mine.body.items[0].token).toBe(writerToken.value.slice(-4));
    const all = await admin.call("GET", "/api/v2/tokens?showAll=true&limit=100");
    expect(all.body.items.map((t: any) => t._id)).toContain(othersToken.id);
  });

  test("a personal token never does more than its member can now", async () => {
    const id = await member("demoted@example.com", "admin");
    const t = await token({ name: "admin's", memberId: id, role: "admin" });
    const as = admin.as(t.value);
    expect((await as.call("POST", "/api/v2/projects", { body: { key: "before-demotion", name: "B" } })).status).toBe(201);
    const demote = await gw1.call("PATCH", `/api/v2/members/${id}`, { body: [{ op: "replace", path: "/role", value: "reader" }] });
    expect(demote.status).toBe(200);
    for (const gw of cluster.gateways) {
      const res = await makeClient([gw], t.value).call("POST", "/api/v2/projects", { body: { key: `after-${gw.slice(-5)}`, name: "A" } });
      expect(res.status).toBe(403);
    }
    expect((await as.call("GET", "/api/v2/projects/before-demotion")).status).toBe(200);
    expect((await gw2.call("DELETE", `/api/v2/members/${id}`)).status).toBe(204);
    for (const gw of cluster.gateways) expect((await makeClient([gw], t.value).call("GET", "/api/v2/projects")).status).toBe(401);
  });

  test("a custom role and an inline policy grant exactly what they say", async () => {
    const role = await admin.call("POST", "/api/v2/roles", {
      body: { key: "acc-env-editor", name: "Editor of acc test", policy: [{ effect: "allow", resources: ["proj/acc:env/test"], actions: ["updateName"] }] },
    });
    expect(role.status).toBe(201);
    const id = await member("custom@example.com", "reader");
    const viaRole = await token({ name: "custom", memberId: id, customRoleIds: ["acc-env-editor"] });
    expect((await admin.call("PATCH", `/api/v2/members/${id}`, { body: [{ op: "add", path: "/customRoles/-", value: "acc-env-editor" }] })).status).toBe(200);
    const c = admin.as(viaRole.value);
    expect((await c.call("PATCH", "/api/v2/projects/acc/environments/test", { body: { name: "Test (edited)" } })).status).toBe(200);
    expect((await c.call("PATCH", "/api/v2/projects/acc/environments/production", { body: { name: "nope" } })).status).toBe(403);
    expect((await c.call("PATCH", "/api/v2/projects/acc/environments/test", { body: { color: "000000" } })).status).toBe(403);

    const inline = await token({ name: "inline", inlineRole: [{ effect: "allow", resources: ["proj/acc:env/*"], actions: ["updateApiKey"] }, { effect: "deny", resources: ["proj/acc:env/production"], actions: ["*"] }] });
    const i = admin.as(inline.value);
    const reset = await i.call("POST", "/api/v2/projects/acc/environments/test/apiKey");
    expect(reset.status).toBe(200);
    secrets.push(reset.body.apiKey);
    expect((await i.call("POST", "/api/v2/projects/acc/environments/production/apiKey")).status).toBe(403);
    expect((await admin.call("DELETE", "/api/v2/roles/acc-env-editor")).status).toBe(409);
    // A role change reaches cached verdicts at once.
    const narrowed = await admin.call("PATCH", "/api/v2/roles/acc-env-editor", { body: { policy: [] } });
    expect(narrowed.status).toBe(200);
    expect((await c.call("PATCH", "/api/v2/projects/acc/environments/test", { body: { name: "again" } })).status).toBe(403);
  });

  test("a token whose inline policy allows only updateOn on proj/acc:env/test:flag/* turns a flag on in test and gets 403 in production", async () => {
    expect((await admin.call("POST", "/api/v2/flags/acc", { body: { key: "launch", name: "Launch" } })).status).toBe(201);
    const t = await token({ name: "toggler", inlineRole: [{ effect: "allow", resources: ["proj/acc:env/test:flag/*"], actions: ["updateOn"] }] });
    const toggler = admin.as(t.value);
    const semantic = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
    const on = await toggler.call("PATCH", "/api/v2/flags/acc/launch", { headers: semantic, body: { environmentKey: "test", instructions: [{ kind: "turnFlagOn" }] } });
    expect(on.status).toBe(200);
    expect(on.body.environments.test.on).toBe(true);
    const prod = await toggler.call("PATCH", "/api/v2/flags/acc/launch", { headers: semantic, body: { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] } });
    expect(prod.status).toBe(403);
    expect(prod.body.code).toBe("forbidden");
    const viaJsonPatch = await toggler.call("PATCH", "/api/v2/flags/acc/launch", { body: [{ op: "replace", path: "/environments/production/on", value: true }] });
    expect(viaJsonPatch.status).toBe(403);
    const rename = await toggler.call("PATCH", "/api/v2/flags/acc/launch", { body: { name: "renamed" } });
    expect(rename.status).toBe(403);
    const current = await admin.call("GET", "/api/v2/flags/acc/launch");
    expect(current.body.environments.production.on).toBe(false);
    expect(current.body.name).toBe("Launch");
    expect((await toggler.call("POST", "/api/v2/flags/acc", { body: { key: "by-toggler", name: "T" } })).status).toBe(403);
  });

  test("a deleted or reset token is refused by both gateways on the very next call", async () => {
    for (let round = 0; round < 5; round++) {
      const t = await token({ name: `revoke-${round}`, role: "reader" });
      const on1 = makeClient([cluster.gateways[0]!], t.value);
      const on2 = makeClient([cluster.gateways[1]!], t.value);
      expect((await on1.call("GET", "/api/v2/projects")).status).toBe(200);
      expect((await on2.call("GET", "/api/v2/projects")).status).toBe(200);
      const revoker = round % 2 === 0 ? gw1 : gw2;
      expect((await revoker.call("DELETE", `/api/v2/tokens/${t.id}`)).status).toBe(204);
      expect((await on2.call("GET", "/api/v2/projects")).status).toBe(401);
      expect((await on1.call("GET", "/api/v2/projects")).status).toBe(401);
    }
    for (let round = 0; round < 5; round++) {
      const t = await token({ name: `reset-${round}`, role: "reader" });
      const old1 = makeClient([cluster.gateways[0]!], t.value);
      const old2 = makeClient([cluster.gateways[1]!], t.value);
      expect((await old1.call("GET", "/api/v2/projects")).status).toBe(200);
      expect((await old2.call("GET", "/api/v2/projects")).status).toBe(200);
      const reset = await (round % 2 === 0 ? gw2 : gw1).call("POST", `/api/v2/tokens/${t.id}/reset`);
      expect(reset.status).toBe(200);
      secrets.push(reset.body.token);
      expect(reset.body.token).not.toBe(t.value);
      expect((await old1.call("GET", "/api/v2/projects")).status).toBe(401);
      expect((await old2.call("GET", "/api/v2/projects")).status).toBe(401);
      expect((await makeClient(cluster.gateways, reset.body.token).call("GET", "/api/v2/projects")).status).toBe(200);
      expect((await admin.call("GET", `/api/v2/tokens/${t.id}`)).body.token).toBe(reset.body.token.slice(-4));
    }
  });

  test("a token reset with an expiry keeps the old secret working until then", async () => {
    const t = await token({ name: "grace", role: "reader" });
    const reset = await admin.call("POST", `/api/v2/tokens/${t.id}/reset?expiry=${Date.now() + 1_500}`);
    expect(reset.status).toBe(200);
    secrets.push(reset.body.token);
    expect((await makeClient(cluster.gateways, t.value).call("GET", "/api/v2/projects")).status).toBe(200);
    await Bun.sleep(7_000); // past the expiry and the gateways' verdict cache
    expect((await makeClient(cluster.gateways, t.value).call("GET", "/api/v2/projects")).status).toBe(401);
    expect((await makeClient(cluster.gateways, reset.body.token).call("GET", "/api/v2/projects")).status).toBe(200);
  }, 30_000);

  test("an SDK key reset with an expiry works until then and not after; a mobile key reset kills the old key at once", async () => {
    const env = project.environments.find((e: any) => e.key === "production");
    expect((await verifyKey(env.apiKey)).ok).toBe(true);
    const reset = await admin.call("POST", `/api/v2/projects/acc/environments/production/apiKey?expiry=${Date.now() + 1_500}`);
    expect(reset.status).toBe(200);
    secrets.push(reset.body.apiKey);
    expect(reset.body.apiKey).not.toBe(env.apiKey);
    expect((await verifyKey(env.apiKey)).ok).toBe(true);
    expect(await verifyKey(reset.body.apiKey)).toEqual({ v: 1, ok: true, environmentId: env._id, kind: "sdk" } as never);
    expect((await admin.call("GET", "/api/v2/projects/acc/environments/production")).body.apiKey).toBe(`sdk-****${reset.body.apiKey.slice(-4)}`);
    await Bun.sleep(1_700);
    expect((await verifyKey(env.apiKey)).ok).toBe(false);
    expect((await verifyKey(reset.body.apiKey)).ok).toBe(true);

    const mob = await admin.call("POST", "/api/v2/projects/acc/environments/production/mobileKey");
    expect(mob.status).toBe(200);
    secrets.push(mob.body.mobileKey);
    expect((await verifyKey(env.mobileKey)).ok).toBe(false);
    expect((await verifyKey(mob.body.mobileKey)).ok).toBe(true);
  }, 20_000);

  test("sessions: email and password give an HttpOnly cookie that works from the public origin only, until logout", async () => {
    const password = "correct horse battery staple";
    await member("browser@example.com", "writer", password);
    const wrong = await admin.call("POST", "/api/v2/sessions", { token: null, body: { email: "browser@example.com", password: "wrong password" } });
    expect(wrong.status).toBe(401);
    const login = await admin.call("POST", "/api/v2/sessions", { token: null, body: { email: "browser@example.com", password } });
    expect(login.status).toBe(201);
    const setCookie = login.headers.get("set-cookie")!;
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    const cookie = setCookie.split(";")[0]!;
    secrets.push(cookie.split("=")[1]!);
    const browser = (origin?: string) => ({ token: null, headers: { cookie, ...(origin ? { origin } : {}) } });
    expect((await admin.call("GET", "/api/v2/projects", browser(ORIGIN))).status).toBe(200);
    expect((await admin.call("GET", "/api/v2/projects", browser())).status).toBe(200);
    expect((await admin.call("POST", "/api/v2/projects", { ...browser(ORIGIN), body: { key: "by-session", name: "S" } })).status).toBe(201);
    expect((await admin.call("POST", "/api/v2/projects", { ...browser("http://evil.test"), body: { key: "csrf", name: "S" } })).status).toBe(403);
    expect((await admin.call("POST", "/api/v2/projects", { ...browser(), body: { key: "csrf", name: "S" } })).status).toBe(403);
    const identity = await admin.call("GET", "/api/v2/caller-identity", browser(ORIGIN));
    expect(identity.body).toMatchObject({ authKind: "session", memberEmail: "browser@example.com", role: "writer" });
    // A token-authenticated call ignores Origin.
    expect((await admin.call("GET", "/api/v2/projects", { headers: { origin: "http://evil.test" } })).status).toBe(200);
    const logout = await admin.call("DELETE", "/api/v2/sessions", browser(ORIGIN));
    expect(logout.status).toBe(204);
    expect(logout.headers.get("set-cookie")).toContain("Max-Age=0");
    for (const gw of cluster.gateways) expect((await makeClient([gw], null).call("GET", "/api/v2/projects", browser(ORIGIN))).status).toBe(401);
  });

  test("caller identity describes the token", async () => {
    const res = await admin.call("GET", "/api/v2/caller-identity");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ authKind: "token", tokenName: "bootstrap admin token", role: "admin", serviceToken: false });
  });

  test("lastUsed is kept fresh without a write per request", async () => {
    const t = await token({ name: "used", role: "reader" });
    for (let i = 0; i < 5; i++) await makeClient(cluster.gateways, t.value).call("GET", "/api/v2/projects");
    let lastUsed: number | undefined;
    for (let i = 0; i < 40 && !lastUsed; i++) {
      await Bun.sleep(250);
      lastUsed = (await admin.call("GET", `/api/v2/tokens/${t.id}`)).body.lastUsed;
    }
    expect(lastUsed).toBeGreaterThan(Date.now() - 60_000);
  }, 20_000);

  test("every token, key, member and role change is in the audit log with its actor", async () => {
    const sql = postgres(cluster.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ kind: string; accesses: Array<{ action: string }>; token_name: string | null; member_id: string | null }[]>`select kind, accesses, token_name, member_id from audit_log`;
      const actions = new Set(rows.flatMap((r) => r.accesses.map((a) => `${r.kind}:${a.action}`)));
      for (const expected of [
        "token:createAccessToken",
        "token:deleteAccessToken",
        "token:resetAccessToken",
        "member:createMember",
        "member:updateMemberRole",
        "member:deleteMember",
        "role:createRole",
        "role:updatePolicy",
        "environment:updateApiKey",
        "environment:updateMobileKey",
      ]) {
        expect(actions.has(expected)).toBe(true);
      }
      // Every entry names its actor: a token, or the member of a session.
      expect(rows.every((r) => r.token_name !== null || r.member_id !== null)).toBe(true);
    } finally {
      await sql.end();
    }
  });

  test("repeated failed authentications from one address are slowed, valid callers are not", async () => {
    let limited = 0;
    // A valid caller is known here once it has been verified (for a few seconds): verify it now.
    expect((await gw1.call("GET", "/api/v2/projects")).status).toBe(200);
    // The window is 60 s from the first failure: enough attempts to fill it even if one closes midway.
    for (let i = 0; i < 1_000 && limited === 0; i++) {
      const res = await gw1.call("GET", "/api/v2/projects", { token: `wrong-token-number-${i}` });
      if (res.status === 429) {
        limited++;
        expect(res.body.code).toBe("rate_limited");
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      } else expect(res.status).toBe(401);
    }
    expect(limited).toBe(1);
    expect((await gw1.call("GET", "/api/v2/projects")).status).toBe(200);
    // Once the gateway's verdict for the admin token has expired (5 s), the token is checked again and still served.
    await Bun.sleep(5_500);
    expect((await gw1.call("GET", "/api/v2/projects", { token: "wrong-token-after" })).status).toBe(429);
    expect((await gw1.call("GET", "/api/v2/projects")).status).toBe(200);
  }, 60_000);

  test("a dump of the database and the logs of the run hold no token, key, password or cookie", async () => {
    const pgDump = [...new Bun.Glob("/usr/lib/postgresql/*/bin/pg_dump").scanSync()].sort().at(-1) ?? "pg_dump";
    const dump = Bun.spawnSync([pgDump, "--data-only", cluster.databaseUrl]);
    expect(dump.exitCode).toBe(0);
    const text = dump.stdout.toString();
    expect(text.includes("bootstrap admin token")).toBe(true);
    const logs = cluster.logs();
    expect(secrets.length).toBeGreaterThan(20);
    for (const secret of secrets) {
      expect(text.includes(secret)).toBe(false);
      expect(logs.includes(secret)).toBe(false);
    }
  });
});
