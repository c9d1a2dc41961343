/**
 * OpenFeature against Vexil, two ways, on the all-in-one process (embedded default): the OFREP
 * provider calling Vexil's OFREP endpoints, and LaunchDarkly's OpenFeature provider running the
 * server SDK on Vexil's stream. Both evaluate the same flags for the same contexts and must give the
 * same value, variant and reason. Then OFREP at the wire level: its error shapes, credentials, and
 * the bulk endpoint's ETags.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basicLogger } from "@launchdarkly/node-server-sdk";
import { LaunchDarklyProvider } from "@launchdarkly/openfeature-node-server";
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { OpenFeature, type Client as OpenFeatureClient, type EvaluationContext, type EvaluationDetails, type FlagValue } from "@openfeature/server-sdk";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";

const TOKEN = "openfeature-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const WRONG_KEY = "sdk-wrongwrongwr_ongwrongwrongwrongwrongwrongw";

let vexil: Running;
let admin: Client;
let dataDir: string;
let sdkKey: string;
let viaOfrep: OpenFeatureClient;
let viaLaunchDarkly: OpenFeatureClient;

const patch = (key: string, instructions: unknown[]) => admin.call("PATCH", `/api/v2/flags/app/${key}`, { headers: SEMANTIC, body: { environmentKey: "live", instructions } });

async function createFlag(body: Record<string, unknown>): Promise<string[]> {
  const created = await admin.call("POST", "/api/v2/flags/app", { body });
  expect(created.status).toBe(201);
  return created.body.variations.map((v: { _id: string }) => v._id);
}

const ofrep = (path: string, init: { body?: string; headers?: Record<string, string> } = {}) =>
  fetch(`${vexil.url}/ofrep/v1/evaluate/flags${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${sdkKey}`, "content-type": "application/json", ...init.headers },
    body: init.body ?? "{}",
  });

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "vexil-openfeature-"));
  vexil = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: dataDir });
  admin = makeClient([vexil.url], TOKEN);
  const project = await admin.call("POST", "/api/v2/projects", { body: { key: "app", name: "App", environments: [{ key: "live", name: "Live", color: "0000ff" }] } });
  expect(project.status).toBe(201);
  sdkKey = project.body.environments[0].apiKey;

  // A boolean flag: alice targeted, a user rule on email, an org rule on plan, false otherwise.
  const [yes] = await createFlag({ key: "new-checkout", name: "New checkout", variations: [{ value: true }, { value: false }], defaults: { onVariation: 1, offVariation: 1 } });
  const on = await patch("new-checkout", [
    { kind: "turnFlagOn" },
    { kind: "addTargets", variationId: yes, values: ["alice"] },
    { kind: "addRule", variationId: yes, clauses: [{ contextKind: "user", attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }] },
    { kind: "addRule", variationId: yes, clauses: [{ contextKind: "org", attribute: "plan", op: "in", values: ["enterprise"], negate: false }] },
  ]);
  expect(on.status).toBe(200);

  // A string flag served by a percentage rollout, with a rule that pins beta testers.
  const [light, dark, solar] = await createFlag({ key: "theme", name: "Theme", variations: [{ value: "light" }, { value: "dark" }, { value: "solar" }], defaults: { onVariation: 0, offVariation: 0 } });
  const rollout = await patch("theme", [
    { kind: "turnFlagOn" },
    { kind: "updateFallthroughVariationOrRollout", rolloutWeights: { [light!]: 34_000, [dark!]: 33_000, [solar!]: 33_000 } },
    { kind: "addRule", variationId: solar, clauses: [{ contextKind: "user", attribute: "beta", op: "in", values: [true], negate: false }] },
  ]);
  expect(rollout.status).toBe(200);

  // A flag left off: its off variation, reason OFF.
  await createFlag({ key: "maintenance", name: "Maintenance", variations: [{ value: true }, { value: false }], defaults: { onVariation: 0, offVariation: 1 } });

  const quiet = basicLogger({ level: "none" });
  await OpenFeature.setProviderAndWait("ofrep", new OFREPProvider({ baseUrl: vexil.url, headers: { Authorization: `Bearer ${sdkKey}` } }));
  await OpenFeature.setProviderAndWait("launchdarkly", new LaunchDarklyProvider(sdkKey, { baseUri: vexil.url, streamUri: vexil.url, eventsUri: vexil.url, sendEvents: false, logger: quiet }));
  viaOfrep = OpenFeature.getClient("ofrep");
  viaLaunchDarkly = OpenFeature.getClient("launchdarkly");
}, 60_000);

afterAll(async () => {
  await OpenFeature.close();
  await vexil?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

const contexts: EvaluationContext[] = [
  { targetingKey: "alice" },
  { targetingKey: "bob", email: "bob@example.com" },
  { targetingKey: "carol", name: "Carol", beta: true },
  // `key` stands in for a missing targetingKey.
  { key: "erin", email: "erin@elsewhere.org" },
  { kind: "org", targetingKey: "acme", plan: "enterprise" },
  { kind: "multi", user: { targetingKey: "dave", beta: false }, org: { targetingKey: "acme", plan: "enterprise" } },
  { kind: "multi", user: { targetingKey: "frank" }, org: { targetingKey: "initech", plan: "free" } },
  ...Array.from({ length: 24 }, (_, i) => ({ targetingKey: `user-${i}`, country: "nz" })),
];

type Details = EvaluationDetails<FlagValue>;
const summary = (d: Details) => ({ value: d.value, variant: d.variant, reason: d.reason, errorCode: d.errorCode });

async function both(flag: string, fallback: boolean | string, context: EvaluationContext): Promise<[Details, Details]> {
  if (typeof fallback === "boolean") return Promise.all([viaOfrep.getBooleanDetails(flag, fallback, context), viaLaunchDarkly.getBooleanDetails(flag, fallback, context)]);
  return Promise.all([viaOfrep.getStringDetails(flag, fallback, context), viaLaunchDarkly.getStringDetails(flag, fallback, context)]);
}

describe("OpenFeature: the OFREP provider and LaunchDarkly's provider agree", () => {
  test("same value, variant and reason for every flag and context", async () => {
    const seen = { reasons: new Set<string>(), themes: new Set<unknown>() };
    for (const [flag, fallback] of [["new-checkout", false], ["theme", "none"], ["maintenance", true]] as const) {
      for (const context of contexts) {
        const [remote, local] = await both(flag, fallback, context);
        expect({ flag, context, ...summary(remote) }).toEqual({ flag, context, ...summary(local) });
        expect(remote.errorCode).toBeUndefined();
        seen.reasons.add(remote.reason!);
        if (flag === "theme") seen.themes.add(remote.value);
      }
    }
    // The cases really were exercised: every reason and every variation of the rollout.
    expect([...seen.reasons].sort()).toEqual(["FALLTHROUGH", "OFF", "RULE_MATCH", "TARGET_MATCH"]);
    expect([...seen.themes].sort()).toEqual(["dark", "light", "solar"]);
  });

  test("the expected answers, with the reason's details as flag metadata", async () => {
    const target = await viaOfrep.getBooleanDetails("new-checkout", false, { targetingKey: "alice" });
    expect(summary(target)).toEqual({ value: true, variant: "0", reason: "TARGET_MATCH", errorCode: undefined });
    const rule = await viaOfrep.getBooleanDetails("new-checkout", false, { kind: "multi", user: { targetingKey: "dave" }, org: { targetingKey: "acme", plan: "enterprise" } });
    expect(summary(rule)).toEqual({ value: true, variant: "0", reason: "RULE_MATCH", errorCode: undefined });
    expect(rule.flagMetadata).toMatchObject({ ruleIndex: 1 });
    expect(typeof rule.flagMetadata.ruleId).toBe("string");
    const off = await viaOfrep.getBooleanDetails("maintenance", true, { targetingKey: "alice" });
    expect(summary(off)).toEqual({ value: false, variant: "1", reason: "OFF", errorCode: undefined });
  });

  test("an unknown flag and a context without a key are errors with the default value both ways", async () => {
    for (const [flag, context, code] of [
      ["no-such-flag", { targetingKey: "alice" }, "FLAG_NOT_FOUND"],
      ["new-checkout", { email: "nobody@example.com" }, "TARGETING_KEY_MISSING"],
    ] as const) {
      const [remote, local] = await both(flag, false, context);
      expect(summary(remote)).toEqual({ value: false, variant: undefined, reason: "ERROR", errorCode: code as never });
      expect(summary(local)).toEqual(summary(remote));
    }
  });

  test("a change made through the admin API shows up through OFREP", async () => {
    expect((await viaOfrep.getBooleanDetails("maintenance", true, { targetingKey: "zoe" })).reason).toBe("OFF");
    expect((await patch("maintenance", [{ kind: "turnFlagOn" }])).status).toBe(200);
    const on = await waitFor("the flag on through OFREP", async () => {
      const details = await viaOfrep.getBooleanDetails("maintenance", false, { targetingKey: "zoe" });
      return details.reason === "FALLTHROUGH" ? details : undefined;
    });
    expect(summary(on)).toEqual({ value: true, variant: "0", reason: "FALLTHROUGH", errorCode: undefined });
    // And both paths agree once the stream has it too.
    await waitFor("the flag on through the SDK", async () => ((await viaLaunchDarkly.getBooleanDetails("maintenance", false, { targetingKey: "zoe" })).value === true ? true : undefined));
    const [remote, local] = await both("maintenance", false, { targetingKey: "zoe" });
    expect(summary(remote)).toEqual(summary(local));
  });
});

describe("OFREP at the wire level", () => {
  const context = JSON.stringify({ context: { targetingKey: "alice" } });

  test("one flag: 200 with key, value, reason, variant and metadata as JSON", async () => {
    const res = await ofrep("/new-checkout", { body: context });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toEqual({ key: "new-checkout", value: true, reason: "TARGET_MATCH", variant: "0", metadata: {} });
  });

  test("the SDK key is accepted bare, as Bearer, and in X-API-Key; a wrong or missing key is 401", async () => {
    const good: Array<Record<string, string>> = [{ authorization: sdkKey }, { authorization: `Bearer ${sdkKey}` }, { authorization: "", "x-api-key": sdkKey }];
    for (const headers of good) {
      expect((await ofrep("/new-checkout", { body: context, headers })).status).toBe(200);
    }
    const bad: Array<Record<string, string>> = [{ authorization: WRONG_KEY }, { authorization: `Bearer ${WRONG_KEY}` }, { authorization: "", "x-api-key": WRONG_KEY }, { authorization: "" }, { authorization: TOKEN }];
    for (const headers of bad) {
      const res = await ofrep("/new-checkout", { body: context, headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: "unauthorized" });
    }
    expect((await ofrep("", { body: context, headers: { authorization: WRONG_KEY } })).status).toBe(401);
  });

  test("an unknown flag is 404 FLAG_NOT_FOUND", async () => {
    const res = await ofrep("/no-such-flag", { body: context });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ key: "no-such-flag", errorCode: "FLAG_NOT_FOUND", errorDetails: expect.any(String) });
    // The key is percent-decoded, and taken as it stands when it cannot be.
    expect(await (await ofrep("/new%2Dcheckout", { body: context })).json()).toMatchObject({ key: "new-checkout", value: true });
    const undecodable = await ofrep("/bad%ZZ", { body: context });
    expect(undecodable.status).toBe(404);
    expect(await undecodable.json()).toMatchObject({ key: "bad%ZZ", errorCode: "FLAG_NOT_FOUND" });
  });

  test("a context without a key is 400 TARGETING_KEY_MISSING, an unusable one 400 INVALID_CONTEXT", async () => {
    const cases: Array<[unknown, string]> = [
      [{ context: { email: "x@example.com" } }, "TARGETING_KEY_MISSING"],
      [{ context: { targetingKey: "" } }, "TARGETING_KEY_MISSING"],
      [{}, "TARGETING_KEY_MISSING"],
      [{ context: { kind: "multi", user: { targetingKey: "a" }, org: { plan: "free" } } }, "TARGETING_KEY_MISSING"],
      [{ context: { targetingKey: 42 } }, "INVALID_CONTEXT"],
      [{ context: { kind: "not a kind", targetingKey: "a" } }, "INVALID_CONTEXT"],
      [{ context: { kind: "multi" } }, "INVALID_CONTEXT"],
      [{ context: "alice" }, "INVALID_CONTEXT"],
      [{ context: ["alice"] }, "INVALID_CONTEXT"],
    ];
    for (const [body, errorCode] of cases) {
      const res = await ofrep("/new-checkout", { body: JSON.stringify(body) });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(await res.json()).toEqual({ key: "new-checkout", errorCode, errorDetails: expect.any(String) });
    }
  });

  test("bad bodies are 400 PARSE_ERROR (413 when too large), never a 500", async () => {
    for (const body of ["{not json", "", "null", "[]", '"context"', "42", "\u00ff\u00fe"]) {
      const res = await ofrep("/new-checkout", { body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(await res.json()).toMatchObject({ key: "new-checkout", errorCode: "PARSE_ERROR" });
    }
    const invalidUtf8 = await fetch(`${vexil.url}/ofrep/v1/evaluate/flags/new-checkout`, { method: "POST", headers: { authorization: sdkKey }, body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) });
    expect(invalidUtf8.status).toBe(400);
    expect(await invalidUtf8.json()).toMatchObject({ errorCode: "PARSE_ERROR" });
    const huge = await ofrep("/new-checkout", { body: JSON.stringify({ context: { targetingKey: "a", blob: "x".repeat(200_000) } }) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ key: "new-checkout", errorCode: "PARSE_ERROR" });
    const deep = await ofrep("/new-checkout", { body: `{"context":{"targetingKey":"a","deep":${"[".repeat(20_000)}${"]".repeat(20_000)}}}` });
    expect(deep.status).toBe(200);
    // A `__proto__` attribute is just an attribute.
    const proto = await ofrep("/new-checkout", { body: '{"context":{"targetingKey":"bob","__proto__":{"email":"x@example.com"}}}' });
    expect(await proto.json()).toMatchObject({ value: false, reason: "FALLTHROUGH" });
  });

  test("bulk: every flag for the context, an ETag, 304 while nothing changed, new answers after a change", async () => {
    const res = await ofrep("", { body: JSON.stringify({ context: { targetingKey: "bob", email: "bob@example.com" } }) });
    expect(res.status).toBe(200);
    const etag = res.headers.get("etag")!;
    expect(etag).toBeTruthy();
    const { flags } = (await res.json()) as { flags: Array<{ key: string; value: unknown; reason: string; variant: string }> };
    expect(flags.map((f) => f.key)).toEqual(["maintenance", "new-checkout", "theme"]);
    expect(flags.find((f) => f.key === "new-checkout")).toMatchObject({ value: true, variant: "0", reason: "RULE_MATCH", metadata: { ruleIndex: 0 } });
    const same = await ofrep("", { body: JSON.stringify({ context: { targetingKey: "bob", email: "bob@example.com" } }), headers: { "if-none-match": etag } });
    expect(same.status).toBe(304);
    expect(same.headers.get("etag")).toBe(etag);
    // Another context is another answer, so another ETag.
    const other = await ofrep("", { body: JSON.stringify({ context: { targetingKey: "alice" } }), headers: { "if-none-match": etag } });
    expect(other.status).toBe(200);
    expect(other.headers.get("etag")).not.toBe(etag);
    expect((await patch("new-checkout", [{ kind: "turnFlagOff" }])).status).toBe(200);
    const changed = await waitFor("a new bulk answer", async () => {
      const r = await ofrep("", { body: JSON.stringify({ context: { targetingKey: "bob", email: "bob@example.com" } }), headers: { "if-none-match": etag } });
      return r.status === 200 ? r : undefined;
    });
    expect(changed.headers.get("etag")).not.toBe(etag);
    const after = (await changed.json()) as { flags: Array<{ key: string; reason: string }> };
    expect(after.flags.find((f) => f.key === "new-checkout")).toMatchObject({ value: false, reason: "OFF" });
    // Bulk failures have no key.
    const bad = await ofrep("", { body: "{oops" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ errorCode: "PARSE_ERROR", errorDetails: expect.any(String) });
    const noKey = await ofrep("", { body: JSON.stringify({ context: {} }) });
    expect(noKey.status).toBe(400);
    expect(await noKey.json()).toEqual({ errorCode: "TARGETING_KEY_MISSING", errorDetails: expect.any(String) });
  });
});
