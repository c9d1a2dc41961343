/**
 * Rule ids end to end, with the unmodified LaunchDarkly server SDK against the all-in-one process
 * on real Postgres and a real nats-server: LaunchDarkly's documented JSON Patch adds a rule without
 * any id; the REST API shows the id the server gave it, the SDK's evaluation reason names the same
 * id (and keeps naming it when another rule is inserted before it), a semantic `removeRule` finds
 * the rule by it, and a Terraform-style replace of the whole `rules` array without ids reaches the
 * SDK too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { basicLogger, init, type LDClient, type LDEvaluationDetail } from "@launchdarkly/node-server-sdk";
import { startNats, type NatsServer } from "../../infra/local/nats.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";
import { testDatabaseUrl } from "../support/postgres.ts";

const TOKEN = "rule-ids-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const FLAG = "/api/v2/flags/shop/checkout";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** LaunchDarkly's documented JSON Patch for adding a rule, exactly. */
const DOCUMENTED_ADD_RULE = [{ op: "add", path: "/environments/production/rules/0", value: { clauses: [{ attribute: "email", op: "endsWith", values: ["@example.com"] }], variation: 0 } }];

const alice = { kind: "user", key: "u1", email: "a@example.com" };
const swede = { kind: "user", key: "u2", email: "s@example.se", country: "SE" };

/** Polls `probe` until it gives a value, for up to ten seconds (an SDK sees a change a moment after the API answers). */
async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

describe("rule ids assigned by the server, seen by the server-side SDK", () => {
  let nats: NatsServer;
  let vexil: Running;
  let admin: Client;
  let sdk: LDClient;

  /** The SDK's detail for `context` once it equals `expected` (the SDK catches up with the API). */
  const evaluatesTo = (context: typeof alice, expected: LDEvaluationDetail) =>
    waitFor(JSON.stringify(expected), async () => {
      const detail = await sdk.variationDetail("checkout", context, "default");
      return Bun.deepEquals(detail, expected) ? detail : undefined;
    });

  beforeAll(async () => {
    nats = await startNats();
    vexil = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_ADMIN_TOKEN: TOKEN, DATABASE_URL: await testDatabaseUrl(), NATS_URL: nats.url });
    admin = makeClient([vexil.url], TOKEN);
    const project = await admin.call("POST", "/api/v2/projects", { body: { key: "shop", name: "Shop", environments: [{ key: "production", name: "Production", color: "ff0000" }] } });
    expect(project.status).toBe(201);
    // On, serving false by default, so a rule serving variation 0 (true) shows.
    expect((await admin.call("POST", "/api/v2/flags/shop", { body: { key: "checkout", name: "Checkout", defaults: { onVariation: 1, offVariation: 1 } } })).status).toBe(201);
    expect((await admin.call("PATCH", FLAG, { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(200);
    sdk = init(project.body.environments[0].apiKey, { baseUri: vexil.url, streamUri: vexil.url, eventsUri: vexil.url, logger: basicLogger({ level: "none" }) });
    await sdk.waitForInitialization({ timeout: 10 });
  }, 60_000);

  afterAll(async () => {
    sdk?.close();
    await vexil?.stop();
    await nats?.destroy();
  }, 30_000);

  test("the documented JSON Patch adds a rule; the SDK's reason names the id the API shows; removeRule by that id falls through again", async () => {
    expect(await sdk.variationDetail("checkout", alice, "default")).toEqual({ value: false, variationIndex: 1, reason: { kind: "FALLTHROUGH" } });
    const added = await admin.call("PATCH", FLAG, { body: DOCUMENTED_ADD_RULE });
    expect(added.status).toBe(200);
    const [rule] = (await admin.call("GET", FLAG)).body.environments.production.rules;
    expect(rule).toEqual({ _id: expect.stringMatching(UUID), clauses: [{ _id: expect.stringMatching(UUID), attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }], variation: 0, trackEvents: false });
    await evaluatesTo(alice, { value: true, variationIndex: 0, reason: { kind: "RULE_MATCH", ruleIndex: 0, ruleId: rule._id } });

    // A rule inserted before it: the SDK names the same rule by the same id, at its new index.
    const before = await admin.call("PATCH", FLAG, { body: [{ op: "add", path: "/environments/production/rules/0", value: { clauses: [{ attribute: "country", op: "in", values: ["NO"] }], variation: 0 } }] });
    expect(before.status).toBe(200);
    expect(before.body.environments.production.rules[1]).toEqual(rule);
    await evaluatesTo(alice, { value: true, variationIndex: 0, reason: { kind: "RULE_MATCH", ruleIndex: 1, ruleId: rule._id } });

    const removed = await admin.call("PATCH", FLAG, { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind: "removeRule", ruleId: rule._id }] } });
    expect(removed.status).toBe(200);
    expect(removed.body.environments.production.rules.map((r: { _id: string }) => r._id)).not.toContain(rule._id);
    await evaluatesTo(alice, { value: false, variationIndex: 1, reason: { kind: "FALLTHROUGH" } });
  });

  test("a Terraform-style replace of the whole rules array without ids reaches the SDK with the ids the API shows", async () => {
    const replaced = await admin.call("PATCH", FLAG, {
      body: [
        {
          op: "replace",
          path: "/environments/production/rules",
          value: [
            { description: "Staff", variation: 0, clauses: [{ attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }] },
            { description: "Sweden", rollout: { variations: [{ variation: 0, weight: 100_000 }, { variation: 1, weight: 0 }], bucketBy: "key" }, clauses: [{ attribute: "country", op: "in", values: ["SE"], negate: false }] },
          ],
        },
      ],
    });
    expect(replaced.status).toBe(200);
    const rules: Array<{ _id: string; clauses: Array<{ _id: string }> }> = (await admin.call("GET", FLAG)).body.environments.production.rules;
    expect(rules).toHaveLength(2);
    for (const r of rules) {
      expect(r._id).toMatch(UUID);
      expect(r.clauses[0]!._id).toMatch(UUID);
    }
    expect(rules[0]!._id).not.toBe(rules[1]!._id);
    await evaluatesTo(alice, { value: true, variationIndex: 0, reason: { kind: "RULE_MATCH", ruleIndex: 0, ruleId: rules[0]!._id } });
    await evaluatesTo(swede, { value: true, variationIndex: 0, reason: { kind: "RULE_MATCH", ruleIndex: 1, ruleId: rules[1]!._id } });
  });
});
