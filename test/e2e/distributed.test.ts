/**
 * The distributed cluster: every service its own process (2 gateways, 1 auth, 2 flags,
 * 1 streaming) over a throwaway Postgres and nats-server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isAlive, launchCluster, waitReady, type Cluster } from "../../infra/launcher.ts";
import { makeClient, settlingClient, type Client } from "../support/client.ts";
import { runFlagsScenario } from "./flags-scenario.ts";
import { runScenario } from "./scenario.ts";

const token = "distributed-admin-token-0001";
let cluster: Cluster;
let client: Client;

beforeAll(async () => {
  cluster = await launchCluster({ counts: { gateway: 2, auth: 1, flags: 2, streaming: 1 }, adminToken: token });
  // Two flags instances: a write is read back once the other instance has heard of it.
  client = settlingClient(makeClient(cluster.gateways, token));
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe("distributed cluster", () => {
  test("runs the scenario through both gateways", async () => {
    expect(cluster.gateways.length).toBe(2);
    await runScenario(client, "dist");
  }, 120_000);

  test("runs the flags scenario through both gateways on Postgres", async () => {
    await runFlagsScenario(client, "dist-flags");
  }, 60_000);

  test("no lost update: 50 concurrent semantic addTargets all land", async () => {
    expect((await client.call("POST", "/api/v2/projects", { body: { key: "race", name: "Race" } })).status).toBe(201);
    const flag = await client.call("POST", "/api/v2/flags/race", { body: { key: "targets", name: "Targets" } });
    const variationId = flag.body.variations[0]._id;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.call("PATCH", "/api/v2/flags/race/targets", {
          headers: { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" },
          body: { environmentKey: "production", instructions: [{ kind: "addTargets", values: [`user-${i}`], variationId }] },
        }),
      ),
    );
    expect(results.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    const after = await client.call("GET", "/api/v2/flags/race/targets");
    expect(after.body.environments.production.targets[0].values.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `user-${i}`).sort());
    expect(after.body._version).toBe(51);
    expect(after.body.environments.production.version).toBe(51);
  }, 60_000);

  test("20 concurrent JSON patches testing /_version: exactly one per version wins, the rest get 409, one audit entry each", async () => {
    const flag = await client.call("POST", "/api/v2/flags/race", { body: { key: "versions", name: "Versions" } });
    expect(flag.status).toBe(201);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client.call("PATCH", "/api/v2/flags/race/versions", { body: { comment: `writer ${i}`, patch: [{ op: "test", path: "/_version", value: 1 }, { op: "replace", path: "/description", value: `writer ${i}` }] } }),
      ),
    );
    const won = results.filter((r) => r.status === 200);
    expect(won.length).toBe(1);
    expect(results.filter((r) => r.status === 409).length).toBe(19);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe("optimistic_locking_error");
    const after = await client.call("GET", "/api/v2/flags/race/versions");
    expect(after.body._version).toBe(2);
    expect(after.body.description).toBe(won[0]!.body.description);
    const audit = await client.call("GET", `/api/v2/auditlog?spec=${encodeURIComponent("proj/race:env/*:flag/versions")}&limit=20`);
    expect(audit.body.items.length).toBe(2);
  }, 60_000);

  test("text Postgres cannot store is a 400 naming the field on every kind of route, never a 500", async () => {
    const probes: Array<[string, string, unknown]> = [
      ["POST", "/api/v2/projects", { key: "nul", name: "a\u0000b" }],
      ["POST", "/api/v2/flags/default", { key: "nul", name: "a\u0000b" }],
      ["POST", "/api/v2/flags/default", { key: "nul", name: "ok", variations: [{ value: "a\u0000" }, { value: "b" }] }],
      ["PATCH", "/api/v2/projects/default", { name: "x\u0000" }],
      ["POST", "/api/v2/members", [{ email: "a\u0000@b.c" }]],
      ["POST", "/api/v2/tokens", { name: "t\u0000" }],
      ["POST", "/api/v2/roles", { key: "r", name: "r\u0000", policy: [] }],
      ["POST", "/api/v2/segments/default/test", { key: "s", name: "s\u0000" }],
      ["POST", "/api/v2/projects", { key: "lone", name: "\ud800" }],
      ["GET", `/api/v2/projects?filter=${encodeURIComponent("query:\u0000")}`, undefined],
      ["GET", `/api/v2/auditlog?q=${encodeURIComponent("\u0000")}`, undefined],
      ["GET", `/api/v2/flags/default?filter=${encodeURIComponent("query:\u0000")}`, undefined],
      ["GET", "/api/v2/projects/%00", undefined],
      ["POST", "/api/v2/sessions", { email: "\u0000", password: "x" }],
    ];
    for (const [method, path, body] of probes) {
      const res = await client.call(method, path, { body });
      expect([method, path, res.status]).toEqual([method, path, 400]);
      expect(res.body.code).toBe("invalid_request");
    }
    expect((await client.call("GET", "/api/v2/projects/nul")).status).toBe(404);
  });

  test("every service started alone answers /healthz and /readyz", async () => {
    for (const instance of cluster.instances) {
      expect((await fetch(`${instance.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${instance.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks.bus).toBe("ok");
    }
  });

  test("killing one of two flags instances while a client writes loses no acknowledged write", async () => {
    const flags = cluster.instances.filter((i) => i.kind === "flags" && isAlive(i));
    expect(flags.length).toBe(2);
    const acknowledged: string[] = [];
    const refused: number[] = [];
    let n = 0;
    const writer = async (worker: number) => {
      const deadline = Date.now() + 4_000;
      while (Date.now() < deadline) {
        const key = `kill-${worker}-${n++}`;
        const res = await client.call("POST", "/api/v2/projects", { body: { key, name: key, environments: [{ key: "only", name: "Only", color: "123456" }] } });
        if (res.status === 201) acknowledged.push(key);
        else {
          refused.push(res.status);
          expect(res.status).toBeGreaterThanOrEqual(500);
          expect(res.body.code).toMatch(/^(service_unavailable|gateway_timeout|internal_error)$/);
        }
      }
    };
    const writers = Promise.all([writer(1), writer(2), writer(3), writer(4)]);
    await Bun.sleep(1_000);
    expect(await cluster.kill(flags[0]!, "SIGKILL")).not.toBe(0);
    await writers;

    expect(acknowledged.length).toBeGreaterThan(20);
    for (const key of acknowledged) {
      const res = await client.call("GET", `/api/v2/projects/${key}`);
      expect(res.status).toBe(200);
    }
    // The survivor takes all the work now.
    expect((await client.call("POST", "/api/v2/projects", { body: { key: "after-kill", name: "After" } })).status).toBe(201);
    await cluster.add("flags");
  }, 60_000);

  test("a graceful SIGTERM of a flags instance finishes in-flight requests and exits 0", async () => {
    const flags = cluster.instances.filter((i) => i.kind === "flags" && isAlive(i));
    const inflight = Array.from({ length: 20 }, (_, i) => client.call("POST", "/api/v2/projects", { body: { key: `term-${i}`, name: "T" } }));
    const code = await cluster.kill(flags[0]!, "SIGTERM");
    const results = await Promise.all(inflight);
    expect(code).toBe(0);
    for (const r of results) expect(r.status).toBe(201);
    await cluster.add("flags");
  }, 60_000);

  test("with no flags instance left the gateway answers a JSON 503 at once, and recovers when one starts", async () => {
    for (const i of cluster.instances.filter((x) => x.kind === "flags" && isAlive(x))) await cluster.kill(i, "SIGTERM");
    const res = await client.call("GET", "/api/v2/projects");
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("service_unavailable");
    expect(res.headers.get("retry-after")).toBe("1");
    const started = await cluster.add("flags");
    await waitReady(started.url);
    expect((await client.call("GET", "/api/v2/projects")).status).toBe(200);
  }, 60_000);

  test("readiness reports a stopped database, and recovers when it is back", async () => {
    const auth = cluster.instances.find((i) => i.kind === "auth" && isAlive(i))!;
    await cluster.postgres!.stop();
    try {
      const res = await fetch(`${auth.url}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { code: string; message: string; id: string };
      expect(body.code).toBe("not_ready");
      expect(body.message).toContain("database");
      expect(typeof body.id).toBe("string");
    } finally {
      await cluster.postgres!.start();
    }
    await waitReady(auth.url, 20_000);
    // Pooled connections to the old server fail once each, then the pools reconnect.
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await client.call("GET", "/api/v2/projects/default")).status;
      if (status !== 200) await Bun.sleep(100);
    }
    expect(status).toBe(200);
  }, 60_000);

  test("no log line holds the admin token or an environment key", async () => {
    const created = await client.call("POST", "/api/v2/projects", { body: { key: "secret-check", name: "S" } });
    const keys = created.body.environments.flatMap((e: { apiKey: string; mobileKey: string }) => [e.apiKey, e.mobileKey]);
    const logs = cluster.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [token, ...keys]) expect(logs).not.toContain(secret);
  });
});
