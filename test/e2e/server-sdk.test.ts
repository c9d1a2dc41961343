/**
 * The unmodified LaunchDarkly server-side SDK against Vexil: the all-in-one process on real Postgres
 * with a real nats-server, and the embedded default (PGlite, in-process bus). The SDK initialises
 * with an SDK key made through the admin API, evaluates what it receives, sees changes made through
 * the admin API, polls when told not to stream, gives up at once on a wrong key, and stops when its
 * key is reset.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basicLogger, init, type LDClient, type LDOptions } from "@launchdarkly/node-server-sdk";
import { startNats, type NatsServer } from "../../infra/local/nats.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";
import { testDatabaseUrl } from "../support/postgres.ts";

const TOKEN = "server-sdk-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const quiet = basicLogger({ level: "none" });

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

for (const mode of ["postgres-nats", "embedded"] as const) {
  describe(`server-side SDK (${mode})`, () => {
    let nats: NatsServer | undefined;
    let vexil: Running;
    let admin: Client;
    let dataDir: string;
    let sdkKey: string;
    const clients: LDClient[] = [];

    const sdk = (options: LDOptions = {}, key = sdkKey) => {
      const client = init(key, { baseUri: vexil.url, streamUri: vexil.url, eventsUri: vexil.url, logger: quiet, ...options });
      clients.push(client);
      return client;
    };

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), "vexil-sdk-"));
      const env: Record<string, string> = { VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: dataDir };
      if (mode === "postgres-nats") {
        nats = await startNats();
        Object.assign(env, { DATABASE_URL: await testDatabaseUrl(), NATS_URL: nats.url });
      }
      vexil = await startEntry("services/all-in-one/main.ts", freePort(), env);
      admin = makeClient([vexil.url], TOKEN);
      const project = await admin.call("POST", "/api/v2/projects", { body: { key: "shop", name: "Shop", environments: [{ key: "live", name: "Live", color: "00ff00" }] } });
      expect(project.status).toBe(201);
      sdkKey = project.body.environments[0].apiKey;
      const flag = await admin.call("POST", "/api/v2/flags/shop", {
        body: { key: "checkout", name: "Checkout", variations: [{ value: "old" }, { value: "new" }, { value: "beta" }], defaults: { onVariation: 1, offVariation: 0 } },
      });
      expect(flag.status).toBe(201);
      const [, , beta] = flag.body.variations.map((v: { _id: string }) => v._id);
      const on = await admin.call("PATCH", "/api/v2/flags/shop/checkout", {
        headers: SEMANTIC,
        body: {
          environmentKey: "live",
          instructions: [
            { kind: "turnFlagOn" },
            { kind: "addTargets", variationId: beta, values: ["alice"] },
            { kind: "addRule", variationId: beta, clauses: [{ contextKind: "user", attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }] },
          ],
        },
      });
      expect(on.status).toBe(200);
    }, 60_000);

    afterAll(async () => {
      for (const c of clients) c.close();
      await vexil?.stop();
      await nats?.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }, 30_000);

    test("initialises over the stream and evaluates targets, rules and the fallthrough", async () => {
      const client = sdk();
      await client.waitForInitialization({ timeout: 10 });
      expect(await client.variationDetail("checkout", { kind: "user", key: "alice" }, "default")).toEqual({ value: "beta", variationIndex: 2, reason: { kind: "TARGET_MATCH" } });
      const rule = await client.variationDetail("checkout", { kind: "user", key: "bob", email: "bob@example.com" }, "default");
      expect(rule.value).toBe("beta");
      expect(rule.reason).toMatchObject({ kind: "RULE_MATCH", ruleIndex: 0 });
      expect(await client.variationDetail("checkout", { kind: "user", key: "carol" }, "default")).toEqual({ value: "new", variationIndex: 1, reason: { kind: "FALLTHROUGH" } });
      expect((await client.variationDetail("missing", { kind: "user", key: "carol" }, "default")).reason).toEqual({ kind: "ERROR", errorKind: "FLAG_NOT_FOUND" });
    });

    test("sees a change made through the admin API (update:<key>), and a new flag", async () => {
      const client = sdk();
      await client.waitForInitialization({ timeout: 10 });
      const updated = new Promise<void>((resolve) => client.once("update:checkout", () => resolve()));
      const off = await admin.call("PATCH", "/api/v2/flags/shop/checkout", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOff" }] } });
      expect(off.status).toBe(200);
      await updated;
      expect(await client.variationDetail("checkout", { kind: "user", key: "alice" }, "default")).toEqual({ value: "old", variationIndex: 0, reason: { kind: "OFF" } });
      expect((await admin.call("POST", "/api/v2/flags/shop", { body: { key: "fresh", name: "Fresh" } })).status).toBe(201);
      await waitFor("the new flag", async () => (await client.variationDetail("fresh", { kind: "user", key: "x" }, "default")).reason.kind !== "ERROR" || undefined);
      expect(await client.variation("fresh", { kind: "user", key: "x" }, "default")).toBe(false);
      // Back on for the tests after this one.
      expect((await admin.call("PATCH", "/api/v2/flags/shop/checkout", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(200);
      await waitFor("the flag back on", async () => (await client.variation("checkout", { kind: "user", key: "carol" }, "default")) === "new" || undefined);
    });

    test("a deleted flag disappears from the SDK", async () => {
      const client = sdk();
      await client.waitForInitialization({ timeout: 10 });
      expect((await admin.call("POST", "/api/v2/flags/shop", { body: { key: "doomed", name: "Doomed" } })).status).toBe(201);
      await waitFor("the flag", async () => (await client.variationDetail("doomed", { kind: "user", key: "x" }, "dflt")).reason.kind !== "ERROR" || undefined);
      expect((await admin.call("DELETE", "/api/v2/flags/shop/doomed")).status).toBe(204);
      await waitFor("the deletion", async () => (await client.variationDetail("doomed", { kind: "user", key: "x" }, "dflt")).reason.kind === "ERROR" || undefined);
      expect(await client.variation("doomed", { kind: "user", key: "x" }, "dflt")).toBe("dflt");
    });

    // Polling waits out the SDK's 30 s interval; the path is the same in both modes, so one runs it.
    test.skipIf(mode === "embedded")("with stream: false it polls: it initialises, evaluates, and picks up a change at its next poll", async () => {
      const client = sdk({ stream: false, pollInterval: 30 });
      await client.waitForInitialization({ timeout: 10 });
      expect(await client.variation("checkout", { kind: "user", key: "alice" }, "default")).toBe("beta");
      const updated = new Promise<void>((resolve) => client.once("update:checkout", () => resolve()));
      expect((await admin.call("PATCH", "/api/v2/flags/shop/checkout", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "removeTargets", variationId: (await admin.call("GET", "/api/v2/flags/shop/checkout")).body.variations[2]._id, values: ["alice"] }] } })).status).toBe(200);
      // The SDK polls every 30 s at the most often.
      await updated;
      expect(await client.variation("checkout", { kind: "user", key: "alice" }, "default")).toBe("new");
    }, 45_000);

    test("an expiring target disappears at its time, and a scheduled turnFlagOn turns the flag on", async () => {
      const client = sdk();
      await client.waitForInitialization({ timeout: 10 });
      const trial = await admin.call("POST", "/api/v2/flags/shop", { body: { key: "trial", name: "Trial", defaults: { onVariation: 1, offVariation: 1 } } });
      expect(trial.status).toBe(201);
      const yes = trial.body.variations[0]._id;
      expect((await admin.call("PATCH", "/api/v2/flags/shop/trial", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }, { kind: "addTargets", variationId: yes, values: ["alice"] }] } })).status).toBe(200);
      expect((await admin.call("POST", "/api/v2/flags/shop", { body: { key: "launch", name: "Launch" } })).status).toBe(201);
      const due = Date.now() + 3_000;
      const expiring = await admin.call("PATCH", "/api/v2/flags/shop/trial/expiring-targets/live", { headers: SEMANTIC, body: { instructions: [{ kind: "addExpiringTarget", variationId: yes, contextKey: "alice", contextKind: "user", value: due }] } });
      expect(expiring.body).toMatchObject({ successfulInstructions: 1, failedInstructions: 0 });
      const scheduled = await admin.call("POST", "/api/v2/projects/shop/flags/launch/environments/live/scheduled-changes", { body: { executionDate: due, instructions: [{ kind: "turnFlagOn" }] } });
      expect(scheduled.status).toBe(201);
      const alice = { kind: "user", key: "alice" };
      await waitFor("the SDK to have both flags", async () => (await client.variationDetail("trial", alice, "dflt")).value === true && (await client.variationDetail("launch", alice, "dflt")).reason.kind === "OFF" || undefined);
      // At their time: alice is no longer targeted, and the flag is on; SDKs hear of both as of any change.
      await waitFor("alice's target to expire", async () => (await client.variationDetail("trial", alice, "dflt")).reason.kind === "FALLTHROUGH" || undefined);
      expect(await client.variationDetail("trial", alice, "dflt")).toEqual({ value: false, variationIndex: 1, reason: { kind: "FALLTHROUGH" } });
      await waitFor("the scheduled change", async () => (await client.variationDetail("launch", alice, "dflt")).reason.kind === "FALLTHROUGH" || undefined);
      expect(await client.variation("launch", alice, "dflt")).toBe(true);
      expect((await admin.call("GET", "/api/v2/flags/shop/trial/expiring-targets/live")).body.items).toEqual([]);
      expect((await admin.call("GET", "/api/v2/projects/shop/flags/launch/environments/live/scheduled-changes")).body.items).toEqual([]);
    });

    test("a wrong key fails fast and for good, streaming or polling", async () => {
      const started = Date.now();
      const streaming = sdk({}, "sdk-wrongwrongwr_ongwrongwrongwrongwrongwrongw");
      await expect(streaming.waitForInitialization({ timeout: 10 })).rejects.toThrow();
      const polling = sdk({ stream: false }, "sdk-wrongwrongwr_ongwrongwrongwrongwrongwrongw");
      await expect(polling.waitForInitialization({ timeout: 10 })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(8_000);
    });

    test("resetting the SDK key closes its streams, and the SDK stops", async () => {
      const client = sdk();
      await client.waitForInitialization({ timeout: 10 });
      const failed = new Promise<void>((resolve) => client.on("failed", () => resolve()));
      const reset = await admin.call("POST", "/api/v2/projects/shop/environments/live/apiKey");
      expect(reset.status).toBe(200);
      const newKey = reset.body.apiKey;
      expect(newKey).not.toBe(sdkKey);
      await failed;
      expect(client.initialized()).toBe(true);
      // The new key works.
      sdkKey = newKey;
      const fresh = sdk();
      await fresh.waitForInitialization({ timeout: 10 });
      expect(await fresh.variation("checkout", { kind: "user", key: "carol" }, "default")).toBe("new");
    });
  });
}
