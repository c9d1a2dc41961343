/**
 * Flag statuses from real SDK reports: the LaunchDarkly Node server SDK evaluates a flag and flushes
 * its events; the statuses then show it requested (`active`: it was created moments ago, so its
 * targeting changed within the week), with `lastRequested` and the default the application passed,
 * while a flag no SDK asked for is `new`. LaunchDarkly's generated REST client reads all three
 * status operations unchanged. Runs on the embedded default (PGlite, in-process bus) and on a
 * cluster of separate processes (Postgres, NATS) with two flags instances, where each batch must be
 * stored once: the flags instances share it through their queue group.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { basicLogger, init, type LDClient } from "@launchdarkly/node-server-sdk";
import { Configuration, FeatureFlagsApi, type FeatureFlagStatusAcrossEnvironments, type FeatureFlagStatuses, type FlagStatusRep } from "launchdarkly-api-typescript";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";

const TOKEN = "flag-statuses-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
/** SDK reports reach the statuses within a fifth of a second (instead of every 30 s). */
const FLUSH = { VEXIL_EVALUATIONS_FLUSH_MS: "200" };
const EVALUATIONS = 5;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

interface Setup {
  /** Where the REST API is. */
  api: string;
  /** Where SDKs connect. */
  sdk: string;
  stop(): Promise<void>;
  /** The evaluations stored for one flag in one environment, straight from the database (cluster only). */
  storedEvaluations?: (flagKey: string) => Promise<number>;
}

const modes: Array<[string, () => Promise<Setup>]> = [
  [
    "embedded",
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "vexil-statuses-"));
      const vexil: Running = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: dataDir, ...FLUSH });
      return {
        api: vexil.url,
        sdk: vexil.url,
        stop: async () => {
          await vexil.stop();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    "cluster with two flags instances",
    async () => {
      const cluster: Cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 2, streaming: 1 }, adminToken: TOKEN, env: FLUSH });
      const sql = postgres(cluster.databaseUrl, { max: 1, onnotice: () => {} });
      return {
        api: cluster.gateways[0]!,
        sdk: cluster.instances.find((i) => i.kind === "streaming")!.url,
        stop: async () => {
          await sql.end();
          await cluster.stop();
        },
        storedEvaluations: async (flagKey) => {
          const rows = await sql`select u.evaluations from flag_usage u join flags f on f.id = u.flag_id where f.key = ${flagKey}`;
          return rows.reduce((n, r) => n + Number(r.evaluations), 0);
        },
      };
    },
  ],
];

for (const [mode, start] of modes) {
  describe(`flag statuses from SDK reports (${mode})`, () => {
    let setup: Setup;
    let admin: Client;
    let sdk: LDClient;
    let flags: FeatureFlagsApi;
    let before: number;
    let after: number;

    beforeAll(async () => {
      setup = await start();
      admin = makeClient([setup.api], TOKEN);
      flags = new FeatureFlagsApi(new Configuration({ apiKey: TOKEN, basePath: setup.api }));
      const project = await admin.call("POST", "/api/v2/projects", {
        body: { key: "shop", name: "Shop", environments: [{ key: "live", name: "Live", color: "00ff00" }, { key: "test", name: "Test", color: "aaaaaa" }] },
      });
      expect(project.status).toBe(201);
      const sdkKey = project.body.environments.find((e: { key: string }) => e.key === "live").apiKey;
      const checkout = await admin.call("POST", "/api/v2/flags/shop", { body: { key: "checkout", name: "Checkout", variations: [{ value: "old" }, { value: "new" }], defaults: { onVariation: 1, offVariation: 0 } } });
      expect(checkout.status).toBe(201);
      expect((await admin.call("POST", "/api/v2/flags/shop", { body: { key: "untouched", name: "Untouched" } })).status).toBe(201);
      expect((await admin.call("PATCH", "/api/v2/flags/shop/checkout", { headers: SEMANTIC, body: { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(200);

      sdk = init(sdkKey, { baseUri: setup.sdk, streamUri: setup.sdk, eventsUri: setup.sdk, logger: basicLogger({ level: "none" }), diagnosticOptOut: true });
      await sdk.waitForInitialization({ timeout: 10 });
      // The SDK has the flag once it serves it from the targeting above.
      await waitFor("the flag on in the SDK", async () => ((await sdk.variation("checkout", { kind: "user", key: "probe" }, "fallback")) === "new" ? true : undefined));
      await sdk.flush();
      before = Date.now();
      for (let i = 0; i < EVALUATIONS; i++) expect(await sdk.variation("checkout", { kind: "user", key: `user-${i}` }, "fallback")).toBe("new");
      after = Date.now();
      await sdk.flush();
    }, 120_000);

    afterAll(async () => {
      sdk?.close();
      await setup?.stop();
    }, 60_000);

    test("the evaluated flag shows requested, with when and the default the application passed; the other is new", async () => {
      // Both flushes' reports are in once the count of the second arrives: wait for lastRequested to reach it.
      const status = await waitFor("the SDK's report in the statuses", async () => {
        const answer = await admin.call("GET", "/api/v2/flag-statuses/shop/live/checkout");
        expect(answer.status).toBe(200);
        return answer.body.lastRequested !== undefined && Date.parse(answer.body.lastRequested) >= before ? answer.body : undefined;
      });
      expect(status.name).toBe("active");
      expect(Date.parse(status.lastRequested)).toBeLessThanOrEqual(after);
      expect(status.default).toBe("fallback");
      expect(status._links.parent.href).toBe("/api/v2/flags/shop/checkout");

      const untouched = (await admin.call("GET", "/api/v2/flag-statuses/shop/live/untouched")).body;
      expect(untouched).toEqual({
        name: "new",
        _links: { parent: { href: "/api/v2/flags/shop/untouched", type: "application/json" }, self: { href: "/api/v2/flag-statuses/shop/live/untouched", type: "application/json" } },
      });
      // Reports of one environment say nothing of another.
      expect((await admin.call("GET", "/api/v2/flag-statuses/shop/test/checkout")).body.name).toBe("new");
    });

    if (mode.startsWith("cluster")) {
      test("each batch is stored once, by one of the two flags instances", async () => {
        // The probe evaluation and the five after it.
        await waitFor("every evaluation stored", async () => ((await setup.storedEvaluations!("checkout")) >= EVALUATIONS + 1 ? true : undefined));
        await Bun.sleep(1_000); // a second copy of a batch, were there one, would have come by now
        expect(await setup.storedEvaluations!("checkout")).toBe(EVALUATIONS + 1);
      });
    }

    test("LaunchDarkly's REST client reads the three status operations unchanged", async () => {
      const list: FeatureFlagStatuses = (await flags.getFeatureFlagStatuses("shop", "live")).data;
      const byKey = new Map((list.items ?? []).map((item: FlagStatusRep) => [String(item._links.parent?.href).split("/").pop(), item]));
      expect([...byKey.keys()].sort()).toEqual(["checkout", "untouched"]);
      expect(byKey.get("checkout")).toMatchObject({ name: "active", default: "fallback" });
      expect(byKey.get("untouched")!.name).toBe("new");
      expect(list._links.self!.href).toBe("/api/v2/flag-statuses/shop/live");

      const one: FlagStatusRep = (await flags.getFeatureFlagStatus("shop", "live", "checkout")).data;
      expect(one.name).toBe("active");
      expect(new Date(one.lastRequested!).getTime()).toBeGreaterThanOrEqual(before);

      const across: FeatureFlagStatusAcrossEnvironments = (await flags.getFeatureFlagStatusAcrossEnvironments("shop", "checkout")).data;
      expect(across.key).toBe("checkout");
      expect(Object.keys(across.environments).sort()).toEqual(["live", "test"]);
      expect(across.environments.live).toMatchObject({ name: "active", default: "fallback", lastRequested: one.lastRequested });
      expect(across.environments.test).toEqual({ name: "new" });
      expect(Object.keys((await flags.getFeatureFlagStatusAcrossEnvironments("shop", "checkout", "test")).data.environments)).toEqual(["test"]);

      const refused = await flags.getFeatureFlagStatus("shop", "live", "nope").then(
        () => undefined,
        (e: { response?: { status: number; data: { code: string } } }) => e.response,
      );
      expect(refused?.status).toBe(404);
      expect(refused?.data.code).toBe("not_found");
    });
  });
}
