/** The scenario through the gateway's `handle`, with every service in memory: no server, no database. */
import { describe, expect, test } from "bun:test";
import { createAuthApp } from "@vexil/auth/app";
import { busAuthEvents, serveAuthBus } from "@vexil/auth/bus-handlers";
import type { AuthContext } from "@vexil/auth/domain/context";
import { createAssertions } from "@vexil/shared/assertion";
import { bootstrapAuth } from "@vexil/auth/domain/bootstrap";
import { MemoryAuthStore } from "@vexil/auth/storage/memory-auth-store";
import { createFlagsApp } from "@vexil/flags/app";
import { bootstrapDefaultProject } from "@vexil/flags/domain/projects";
import { busKeyIssuer } from "@vexil/flags/env-keys-client";
import { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { createGateway } from "@vexil/gateway/app";
import { busCallerVerifier } from "@vexil/gateway/caller-verifier";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { silentLogger } from "@vexil/shared/logger";
import { inProcessServiceClient } from "@vexil/shared/transport/http-over-bus";
import { makeClient } from "../support/client.ts";
import { runFlagsScenario } from "./flags-scenario.ts";
import { runScenario } from "./scenario.ts";

/** The whole system in one process, every store in memory. */
export async function inMemoryGateway(adminToken: string) {
  const bus = new MemoryBus();
  const assertions = createAssertions(crypto.getRandomValues(new Uint8Array(32)));
  const authStore = new MemoryAuthStore();
  await bootstrapAuth(authStore, adminToken);
  const authCtx: AuthContext = {
    store: authStore,
    events: busAuthEvents(bus),
    logger: silentLogger,
    now: Date.now,
    sessionKeys: [{ kid: "test", secret: crypto.getRandomValues(new Uint8Array(32)) }],
    publicOrigin: "http://localhost",
  };
  serveAuthBus(bus, authCtx);
  const flagsStore = new MemoryFlagStore();
  const flagsCtx = { store: flagsStore, flags: flagsStore, segments: flagsStore, schedules: flagsStore.schedules, approvals: flagsStore.approvals, usage: flagsStore, audit: flagsStore, keys: busKeyIssuer(bus, 1_000), logger: silentLogger, now: Date.now };
  await bootstrapDefaultProject(flagsCtx);
  const auth = createAuthApp(authCtx, assertions);
  const flags = createFlagsApp(flagsCtx, assertions);
  const gateway = createGateway({
    services: {
      auth: inProcessServiceClient("auth", (r) => auth.handle(r), 1_000),
      flags: inProcessServiceClient("flags", (r) => flags.handle(r), 1_000),
    },
    verifier: busCallerVerifier(bus, { timeoutMs: 1_000, assertions }),
    logger: silentLogger,
    readiness: { checks: {}, isShuttingDown: () => false },
    publicOrigin: "http://localhost",
  });
  return { ...gateway, authStore, authCtx, bus };
}

describe("in-process gateway with in-memory services", () => {
  test("projects and environments scenario", async () => {
    const token = "in-process-admin-token";
    const gateway = await inMemoryGateway(token);
    await runScenario(makeClient(["http://localhost"], `Bearer ${token}`, (r) => gateway.handle(r)));
  });
});

describe("flags in-process", () => {
  test("flags scenario", async () => {
    const token = "in-process-admin-token";
    const gateway = await inMemoryGateway(token);
    await runFlagsScenario(makeClient(["http://localhost"], token, (r) => gateway.handle(r)), "flagship");
  });
});

describe("methods", () => {
  test("a path that exists answers another method with 405 and the methods it takes in Allow; an unknown path is 404", async () => {
    const token = "in-process-admin-token";
    const gateway = await inMemoryGateway(token);
    const client = makeClient(["http://localhost"], token, (r) => gateway.handle(r));
    const cases: Array<[string, string, string]> = [
      ["PUT", "/api/v2/projects", "GET, HEAD, POST"],
      ["POST", "/api/v2/projects/default", "DELETE, GET, HEAD, PATCH"],
      ["PUT", "/api/v2/flags/default/some-flag", "DELETE, GET, HEAD, PATCH"],
      ["DELETE", "/api/v2/tokens", "GET, HEAD, POST"],
      ["PATCH", "/api/v2/auditlog", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await client.call(method, path, method === "DELETE" ? {} : { body: {} });
      expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 405, code: "method_not_allowed" });
      expect(res.headers.get("allow")).toBe(allow);
    }
    const unknown = await client.call("GET", "/api/v2/projects/default/nothing-here");
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("not_found");
  });
});

describe("versions and beta", () => {
  test("a beta resource is 403 without LD-API-Version: beta, and answers with it", async () => {
    const token = "in-process-admin-token";
    const gateway = await inMemoryGateway(token);
    const client = makeClient(["http://localhost"], token, (r) => gateway.handle(r));
    const semantic = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
    for (const key of ["base", "child", "other"]) expect((await client.call("POST", "/api/v2/flags/default", { body: { key, name: key } })).status).toBe(201);
    const base = (await client.call("GET", "/api/v2/flags/default/base")).body;
    const added = await client.call("PATCH", "/api/v2/flags/default/child", { headers: semantic, body: { environmentKey: "production", instructions: [{ kind: "addPrerequisite", key: "base", variationId: base.variations[0]._id }] } });
    expect(added.status).toBe(200);
    const refused = await client.call("GET", "/api/v2/flags/default/base/dependent-flags");
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe("forbidden");
    expect(refused.body.message).toContain("beta");
    const beta = { "ld-api-version": "beta" };
    const all = await client.call("GET", "/api/v2/flags/default/base/dependent-flags", { headers: beta });
    expect(all.status).toBe(200);
    expect(all.body.items.map((i: { key: string; environments: Array<{ key: string }> }) => [i.key, i.environments.map((e) => e.key)])).toEqual([["child", ["production"]]]);
    expect((await client.call("GET", "/api/v2/flags/default/base/dependent-flags/test", { headers: beta })).body.items).toEqual([]);
    expect((await client.call("GET", "/api/v2/flags/default/base/dependent-flags/production", { headers: beta })).body.items.map((i: { key: string }) => i.key)).toEqual(["child"]);
    expect((await client.call("GET", "/api/v2/flags/default/nope/dependent-flags", { headers: beta })).status).toBe(404);
  });

  test("without LD-API-Version a call speaks its token's defaultApiVersion; the header wins", async () => {
    const token = "in-process-admin-token";
    const gateway = await inMemoryGateway(token);
    const client = makeClient(["http://localhost"], token, (r) => gateway.handle(r));
    const created = await client.call("POST", "/api/v2/tokens", { body: { name: "old-client", role: "reader", defaultApiVersion: 20220603 } });
    expect(created.status).toBe(201);
    const old = client.as(created.body.token);
    expect((await old.call("GET", "/api/v2/versions")).body).toMatchObject({ currentVersion: 20220603, beta: false });
    expect((await old.call("GET", "/api/v2/versions", { headers: { "ld-api-version": "20240415" } })).body.currentVersion).toBe(20240415);
    expect((await client.call("GET", "/api/v2/versions")).body.currentVersion).toBe(20240415);
  });
});
