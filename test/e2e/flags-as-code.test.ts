/**
 * Flags as code against the real all-in-one process on Postgres and nats-server: a file with
 * every construct applied to an empty project, exported, imported into another empty project and
 * exported again byte for byte; plans (empty after an export, one instruction for one edited
 * line); apply through the ordinary write path (audit entries with the comment, the real server
 * SDK sees the change); a change made between plan and apply is reported, not overwritten;
 * hostile files change nothing; promotion between environments; and the command-line tool's exit
 * codes, by running it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { basicLogger, init, type LDClient } from "@launchdarkly/node-server-sdk";
import { startNats, type NatsServer } from "../../infra/local/nats.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { ROOT, startEntry, type Running } from "../support/process.ts";
import { testDatabaseUrl } from "../support/postgres.ts";

const TOKEN = "flags-as-code-admin-token";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const ENVIRONMENTS = [
  { key: "production", name: "Production", color: "417505" },
  { key: "staging", name: "Staging", color: "f5a623" },
];

/** A file with every construct: all clause operators, rollouts with bucketBy, prerequisites, context targets, segments. */
const FILE = `version: 1
environments:
  production:
    name: Production
    color: "417505"
    critical: false
    requireComments: false
    confirmChanges: false
    defaultTtl: 0
    secureMode: false
    defaultTrackEvents: false
  staging:
    name: Staging
    color: F5A623
    critical: false
    requireComments: false
    confirmChanges: false
    defaultTtl: 0
    secureMode: false
    defaultTrackEvents: false
flags:
  - key: checkout
    name: New checkout
    description: The new checkout flow
    tags: [payments, web]
    temporary: true
    clientSideAvailability:
      usingEnvironmentId: true
      usingMobileKey: false
    variations:
      - key: old
        value: old
        name: Old
      - key: new
        value: new
        name: New
        description: The redesigned flow
      - key: beta
        value: beta
        name: Beta
    defaults:
      onVariation: new
      offVariation: old
    environments:
      production:
        "on": true
        offVariation: old
        fallthrough:
          rollout:
            bucketBy: tenant
            variations:
              old: 50000
              new: 50000
        targets:
          - variation: beta
            values: [alice, bob]
        contextTargets:
          - contextKind: org
            variation: new
            values: [acme]
        prerequisites:
          - flag: payments-api
            variation: "on"
        rules:
          - description: Staff
            clauses:
              - attribute: email
                op: endsWith
                values: ["@example.com"]
            variation: beta
            trackEvents: true
          - description: Every operator
            clauses:
              - attribute: key
                op: in
                values: [carol]
              - attribute: name
                op: startsWith
                values: [Dr]
              - attribute: name
                op: matches
                values: ["^[A-Z]"]
              - attribute: name
                op: contains
                values: [x]
                negate: true
              - attribute: age
                op: lessThan
                values: [90]
              - attribute: age
                op: lessThanOrEqual
                values: [89]
              - attribute: age
                op: greaterThan
                values: [17]
              - attribute: age
                op: greaterThanOrEqual
                values: [18]
              - attribute: joined
                op: before
                values: ["2030-01-01T00:00:00Z"]
              - attribute: joined
                op: after
                values: ["2000-01-01T00:00:00Z"]
              - attribute: app
                op: semVerEqual
                values: [2.0.0]
              - attribute: app
                op: semVerLessThan
                values: [3.0.0]
              - attribute: app
                op: semVerGreaterThan
                values: [1.0.0]
            variation: new
          - description: Beta testers by company
            clauses:
              - contextKind: org
                attribute: key
                op: segmentMatch
                values: [beta-testers]
            rollout:
              contextKind: org
              bucketBy: region
              variations:
                new: 30000
                beta: 70000
        trackEventsFallthrough: true
      staging:
        "on": false
        offVariation: old
        fallthrough:
          variation: new
  - key: payments-api
    name: Payments API
    temporary: false
    clientSideAvailability:
      usingEnvironmentId: false
      usingMobileKey: false
    variations:
      - key: "on"
        value: true
        name: "On"
      - key: "off"
        value: false
        name: "Off"
    defaults:
      onVariation: "on"
      offVariation: "off"
    environments:
      production:
        "on": true
        offVariation: "off"
        fallthrough:
          variation: "on"
      staging:
        "on": true
        offVariation: "off"
        fallthrough:
          variation: "on"
segments:
  production:
    - key: beta-testers
      name: Beta testers
      description: Companies that try features first
      tags: [beta]
      included: [dave]
      excluded: [eve]
      includedContexts:
        - contextKind: org
          values: [initech]
      rules:
        - description: Large companies
          clauses:
            - contextKind: org
              attribute: size
              op: greaterThan
              values: [1000]
          weight: 50000
          bucketBy: region
          rolloutContextKind: org
  staging: []
`;

describe("flags as code", () => {
  let nats: NatsServer;
  let vexil: Running;
  let admin: Client;
  let sdkKey: string;
  let exported: string;
  const clients: LDClient[] = [];

  const plan = (project: string, body: Record<string, unknown>) => admin.call("POST", `/api/v2/projects/${project}/plan`, { body });
  const apply = (project: string, body: Record<string, unknown>) => admin.call("POST", `/api/v2/projects/${project}/apply`, { body });
  const exportOf = async (project: string, query = "") => {
    const res = await admin.call("GET", `/api/v2/projects/${project}/export${query}`);
    expect(res.status).toBe(200);
    return res.text;
  };

  async function cli(args: string[], env: Record<string, string> = {}) {
    const proc = Bun.spawn(["bun", "run", "vexil", "--", ...args], {
      cwd: ROOT,
      env: { ...process.env, VEXIL_URL: vexil.url, VEXIL_TOKEN: TOKEN, NO_COLOR: "1", ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { stdout, stderr, code };
  }

  beforeAll(async () => {
    nats = await startNats();
    vexil = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_ADMIN_TOKEN: TOKEN, DATABASE_URL: await testDatabaseUrl(), NATS_URL: nats.url });
    admin = makeClient([vexil.url], TOKEN);
    for (const key of ["shop", "copy", "empty"]) {
      const res = await admin.call("POST", "/api/v2/projects", { body: { key, name: key, environments: ENVIRONMENTS } });
      expect(res.status).toBe(201);
      if (key === "shop") sdkKey = res.body.environments.find((e: { key: string }) => e.key === "production").apiKey;
    }
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await vexil?.stop();
    await nats?.stop();
  });

  test("a file applied to an empty project exports as itself, and imports into another project byte for byte", async () => {
    const planned = await plan("shop", { file: FILE });
    expect(planned.status).toBe(200);
    expect(planned.body.items.map((i: { resource: string; key: string; action: string }) => `${i.action} ${i.resource} ${i.key}`)).toEqual([
      "create segment beta-testers",
      "create flag payments-api",
      "create flag checkout",
    ]);
    const applied = await apply("shop", { file: FILE, comment: "initial import" });
    expect(applied.status).toBe(200);
    expect({ conflicts: applied.body.conflicts, errors: applied.body.errors }).toEqual({ conflicts: [], errors: [] });
    expect(applied.body.applied.length).toBe(3);

    // A flag made through the API, not the file, is exported too.
    expect((await admin.call("POST", "/api/v2/flags/shop", { body: { key: "banner", name: "Banner", variations: [{ value: { size: 1 } }, { value: { size: 2 } }, { value: { size: 3, big: true } }] } })).status).toBe(201);
    const banner = (await admin.call("GET", "/api/v2/flags/shop/banner")).body;
    const patched = await admin.call("PATCH", "/api/v2/flags/shop/banner", {
      headers: SEMANTIC,
      body: { environmentKey: "staging", instructions: [{ kind: "turnFlagOn" }, { kind: "addTargets", contextKind: "device", variationId: banner.variations[2]._id, values: ["d1"] }] },
    });
    expect(patched.status).toBe(200);

    exported = await exportOf("shop");
    // Everything of the file is in the export (the extra flag sorted in), in the file's order.
    const withoutBanner = exported.replace(/  - key: banner\n(    .*\n|      .*\n)*/m, "");
    expect(withoutBanner).toBe(FILE);
    expect(exported).toContain("contextKind: device");
    expect(await exportOf("shop")).toBe(exported);

    // Import into another empty project: its export is the same bytes.
    const imported = await apply("copy", { file: exported, comment: "copy" });
    expect({ conflicts: imported.body.conflicts, errors: imported.body.errors }).toEqual({ conflicts: [], errors: [] });
    expect(await exportOf("copy")).toBe(exported);
    const asJson = await exportOf("copy", "?format=json");
    expect(JSON.parse(asJson)).toEqual(JSON.parse(await exportOf("shop", "?format=json")));
    expect((await plan("copy", { file: JSON.parse(asJson) })).body.items).toEqual([]);

    // Narrowed to one environment.
    const staging = await exportOf("shop", "?env=staging");
    expect(staging).not.toContain("production:");
    expect((await admin.call("GET", "/api/v2/projects/shop/export?env=nowhere")).status).toBe(400);
    expect((await admin.call("GET", "/api/v2/projects/shop/export?format=xml")).status).toBe(400);
  }, 60_000);

  test("a plan right after an export is empty; one edited line plans one instruction; apply makes it live for the SDK", async () => {
    const empty = await plan("shop", { file: exported });
    expect(empty.status).toBe(200);
    expect(empty.body.items).toEqual([]);
    expect(empty.body.notes).toEqual([]);

    const edited = exported.replace('values: ["@example.com"]', 'values: ["@example.org"]');
    expect(edited).not.toBe(exported);
    const one = await plan("shop", { file: edited });
    expect(one.body.items.length).toBe(1);
    expect(one.body.items[0]).toMatchObject({ resource: "flag", key: "checkout", action: "update" });
    expect(one.body.items[0].instructions.length).toBe(1);
    expect(one.body.items[0].instructions[0]).toMatchObject({ kind: "replaceRules", environmentKey: "production" });
    // Planning changed nothing.
    expect(await exportOf("shop")).toBe(exported);

    const client = init(sdkKey, { baseUri: vexil.url, streamUri: vexil.url, eventsUri: vexil.url, logger: basicLogger({ level: "none" }) });
    clients.push(client);
    await client.waitForInitialization({ timeout: 10 });
    const staff = { kind: "user", key: "zed", email: "zed@example.org" };
    expect(await client.variation("checkout", staff, "fallback")).not.toBe("beta");

    const applied = await apply("shop", { plan: one.body, comment: "commit 3f2c0f9" });
    expect(applied.status).toBe(200);
    expect(applied.body.applied).toEqual([{ resource: "flag", key: "checkout", action: "update", version: expect.any(Number) }]);
    expect(await exportOf("shop")).toBe(edited);
    exported = edited;

    // The SDK sees it, over its stream.
    const deadline = Date.now() + 10_000;
    while ((await client.variation("checkout", staff, "fallback")) !== "beta" && Date.now() < deadline) await Bun.sleep(20);
    expect(await client.variation("checkout", staff, "fallback")).toBe("beta");
    // And other constructs evaluate as the file says: targets, context targets, the prerequisite.
    expect(await client.variation("checkout", { kind: "user", key: "alice" }, "fallback")).toBe("beta");
    expect(await client.variation("checkout", { kind: "org", key: "acme" }, "fallback")).toBe("new");

    const audit = await admin.call("GET", "/api/v2/auditlog?q=3f2c0f9");
    expect(audit.status).toBe(200);
    expect(audit.body.items.length).toBe(1);
    expect(audit.body.items[0].comment).toBe("commit 3f2c0f9");
    const initial = await admin.call("GET", "/api/v2/auditlog?q=initial%20import&limit=20");
    expect(initial.body.items.length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  test("a change made between plan and apply is reported, not overwritten", async () => {
    const edited = exported.replace("      staging:\n        \"on\": false\n        offVariation: old", "      staging:\n        \"on\": true\n        offVariation: old");
    expect(edited).not.toBe(exported);
    const planned = await plan("shop", { file: edited });
    expect(planned.body.items.length).toBe(1);
    const meanwhile = await admin.call("PATCH", "/api/v2/flags/shop/checkout", { headers: SEMANTIC, body: { environmentKey: "staging", instructions: [{ kind: "updateTrackEvents", trackEvents: true }] } });
    expect(meanwhile.status).toBe(200);
    const applied = await apply("shop", { plan: planned.body, comment: "late" });
    expect(applied.status).toBe(200);
    expect(applied.body.applied).toEqual([]);
    expect(applied.body.conflicts.length).toBe(1);
    expect(applied.body.conflicts[0]).toMatchObject({ key: "checkout", action: "update" });
    expect(applied.body.conflicts[0].message).toContain("changed since the plan");
    const flag = (await admin.call("GET", "/api/v2/flags/shop/checkout")).body;
    expect(flag.environments.staging.on).toBe(false);
    expect(flag.environments.staging.trackEvents).toBe(true);
    // Planned again, it applies, keeping nothing of the file's out: trackEvents goes back to the file's.
    const again = await apply("shop", { file: edited, comment: "again" });
    expect(again.body.applied.length).toBe(1);
    expect(await exportOf("shop")).toBe(edited);
    exported = edited;
  }, 60_000);

  test("hostile files get clear errors and change nothing", async () => {
    const before = await exportOf("shop");
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 9; i++) {
      const [prev, next] = [String.fromCharCode(97 + i), String.fromCharCode(98 + i)];
      bomb.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    // payments-api (a prerequisite of checkout) made to depend on checkout in production.
    const cycle = exported.replace(
      "    environments:\n      production:\n        \"on\": true\n        offVariation: \"off\"",
      '    environments:\n      production:\n        "on": true\n        prerequisites:\n          - flag: checkout\n            variation: new\n        offVariation: "off"',
    );
    expect(cycle).not.toBe(exported);
    const cases: Array<[string, unknown, RegExp]> = [
      ["unknown key", exported.replace("    name: New checkout\n", "    name: New checkout\n    colour: red\n"), /colour|Unexpected property/],
      ["wrong type", exported.replace("        \"on\": true\n        offVariation: old", "        \"on\": yes please\n        offVariation: old"), /on: Expected boolean/],
      ["duplicate key", exported.replace("    name: New checkout\n", "    name: New checkout\n    name: Again\n"), /duplicate key at line \d+/],
      ["alias bomb", bomb.join("\n"), /too many aliases/],
      ["prerequisite cycle", cycle, /prerequisite cycle in production: .*checkout.*payments-api.*checkout|prerequisite cycle in production: .*payments-api.*checkout.*payments-api/],
      ["unknown variation", exported.replace("            variation: beta\n            trackEvents: true", "            variation: gamma\n            trackEvents: true"), /no variation "gamma"/],
      ["bad rollout", exported.replace("              new: 30000", "              new: 20000"), /sum to 100000/],
      ["not YAML", "version: [1\n", /file: /],
      ["unknown environment", exported.replace("  staging:\n    name: Staging", "  qa:\n    name: Staging"), /.+/],
    ];
    for (const [name, file, message] of cases) {
      for (const [call, extra] of [[plan, {}], [apply, { comment: "hostile" }]] as const) {
        const res = await call("shop", { file, ...extra });
        expect({ name, status: res.status, code: res.body?.code }).toEqual({ name, status: 400, code: "invalid_request" });
        expect(typeof res.body.id).toBe("string");
        expect([name, res.body.message]).toEqual([name, expect.stringMatching(message)]);
      }
    }
    // Ten megabytes never reach the flags service: the gateway's body limit answers.
    const huge = await plan("shop", { file: `version: 1\n# ${"x".repeat(10 * 1024 * 1024)}\n` });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBeString();
    // A plan that is not a plan, or is another project's.
    expect((await apply("shop", { plan: { items: "all" } })).status).toBe(400);
    const other = (await plan("copy", { file: exported })).body;
    expect((await apply("shop", { plan: other })).status).toBe(400);
    expect(await exportOf("shop")).toBe(before);
    expect((await admin.call("GET", "/api/v2/auditlog?q=hostile")).body.items).toEqual([]);
  }, 60_000);

  test("prune deletes what the file leaves out; promotion plans staging's targeting for production", async () => {
    const withoutBanner = exported.replace(/  - key: banner\n(    .*\n|      .*\n)*/m, "");
    expect((await plan("shop", { file: withoutBanner })).body.items).toEqual([]);
    const pruning = await plan("shop", { file: withoutBanner, prune: true });
    expect(pruning.body.items.map((i: { action: string; key: string }) => `${i.action} ${i.key}`)).toEqual(["delete banner"]);
    expect((await apply("shop", { plan: pruning.body, comment: "prune" })).body.applied.length).toBe(1);
    expect((await admin.call("GET", "/api/v2/flags/shop/banner")).status).toBe(404);

    const promotion = await plan("shop", { fromEnv: "staging", toEnv: "production" });
    expect(promotion.status).toBe(200);
    const checkout = promotion.body.items.find((i: { key: string }) => i.key === "checkout");
    expect(checkout.instructions.every((i: { environmentKey: string }) => i.environmentKey === "production")).toBe(true);
    expect(checkout.instructions.map((i: { kind: string }) => i.kind)).toContain("replaceRules");
    expect((await plan("shop", { fromEnv: "staging", toEnv: "staging" })).status).toBe(400);
    expect((await plan("shop", { fromEnv: "staging", toEnv: "production", file: exported })).status).toBe(400);
  }, 60_000);

  test("the command-line tool: export, plan and apply with exit codes 0, 2 and 1", async () => {
    const current = await exportOf("shop");
    const dir = `${ROOT}/.tmp-vexil-cli-${process.pid}`;
    await Bun.write(`${dir}/flags.yaml`, current);
    const out = await cli(["export", "--project", "shop"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(current);

    const nothing = await cli(["plan", "--project", "shop", "--file", `${dir}/flags.yaml`]);
    expect([nothing.code, nothing.stdout]).toEqual([0, expect.stringContaining("Nothing to do")]);

    await Bun.write(`${dir}/edited.yaml`, current.replace("    name: New checkout\n", "    name: Newest checkout\n"));
    const changes = await cli(["plan", "--project", "shop", "--file", `${dir}/edited.yaml`, "--out", `${dir}/plan.json`]);
    expect(changes.code).toBe(2);
    expect(changes.stdout).toContain("~ flag checkout");
    expect(changes.stdout).toContain('name "Newest checkout"');
    const colored = await cli(["plan", "--project", "shop", "--file", `${dir}/edited.yaml`], { NO_COLOR: "", FORCE_COLOR: "1" });
    expect(colored.stdout).toContain("\x1b[33m");

    const applied = await cli(["apply", "--project", "shop", "--plan", `${dir}/plan.json`, "--comment", "from the CLI"]);
    expect([applied.code, applied.stdout]).toEqual([0, expect.stringContaining("1 applied")]);
    expect((await admin.call("GET", "/api/v2/flags/shop/checkout")).body.name).toBe("Newest checkout");
    // The same plan again: the flag changed since, so it is reported and the exit code is 1.
    const stale = await cli(["apply", "--project", "shop", "--plan", `${dir}/plan.json`]);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toContain("changed since the plan");

    // A file applied directly: planned, then applied.
    const back = await cli(["apply", "--project", "shop", "--file", `${dir}/flags.yaml`, "--comment", "back"]);
    expect([back.code, back.stdout]).toEqual([0, expect.stringContaining("1 applied")]);
    expect((await admin.call("GET", "/api/v2/flags/shop/checkout")).body.name).toBe("New checkout");
    expect((await cli(["plan", "--project", "shop", "--file", `${dir}/flags.yaml`])).code).toBe(0);

    const promotion = await cli(["plan", "--project", "shop", "--from-env", "staging", "--to-env", "production"]);
    expect([promotion.code, promotion.stdout]).toEqual([2, expect.stringContaining("production: rules")]);
    const asJson = await cli(["export", "--project", "shop", "--format", "json", "--env", "staging", "--out", `${dir}/staging.json`]);
    expect(asJson.code).toBe(0);
    expect(Object.keys((await Bun.file(`${dir}/staging.json`).json()).environments)).toEqual(["staging"]);

    const badToken = await cli(["plan", "--project", "shop", "--file", `${dir}/flags.yaml`], { VEXIL_TOKEN: "nope" });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain("401");
    await Bun.write(`${dir}/bad.yaml`, "version: 1\nversion: 1\n");
    const badFile = await cli(["plan", "--project", "shop", "--file", `${dir}/bad.yaml`]);
    expect([badFile.code, badFile.stderr]).toEqual([1, expect.stringContaining("duplicate key")]);
    expect((await cli(["frobnicate"])).code).toBe(1);
    expect((await cli(["plan", "--project", "shop", "--file", `${dir}/missing.yaml`])).code).toBe(1);
    await Bun.$`rm -rf ${dir}`.quiet();
  }, 60_000);
  test("where an environment requires approval, a writer's apply opens an approval request for it and applies the rest", async () => {
    const gate = async (required: boolean) =>
      expect((await admin.call("PATCH", "/api/v2/projects/shop/environments/production", { body: [{ op: "replace", path: "/approvalSettings/required", value: required }, { op: "replace", path: "/approvalSettings/canReviewOwnRequest", value: required }] })).status).toBe(200);
    const writerToken = (await admin.call("POST", "/api/v2/tokens", { body: { name: "flags-as-code writer", role: "writer" } })).body.token as string;
    expect(writerToken).toBeString();
    const writer = admin.as(writerToken);
    await gate(true);
    try {
      const before = (await admin.call("GET", "/api/v2/flags/shop/checkout")).body;
      const file = JSON.parse(await exportOf("shop", "?format=json"));
      const checkout = file.flags.find((f: { key: string }) => f.key === "checkout");
      for (const env of ["production", "staging"]) checkout.environments[env].on = !before.environments[env].on;
      const planned = await writer.call("POST", "/api/v2/projects/shop/plan", { body: { file: JSON.stringify(file) } });
      expect({ status: planned.status, body: planned.status === 200 ? undefined : planned.body }).toEqual({ status: 200, body: undefined });
      expect(planned.body.items.length).toBe(1);
      const applied = await writer.call("POST", "/api/v2/projects/shop/apply", { body: { plan: planned.body, comment: "commit abc123" } });
      expect(applied.status).toBe(200);
      expect(applied.body.errors).toEqual([]);
      expect(applied.body.approvals).toEqual([expect.objectContaining({ key: "checkout", environmentKey: "production", approvalRequestId: expect.any(String) })]);
      expect(applied.body.summary).toContain("1 approval requests opened");
      // Staging changed; production waits for review, with the file's instruction in its request.
      const after = (await admin.call("GET", "/api/v2/flags/shop/checkout")).body;
      expect(after.environments.staging.on).toBe(!before.environments.staging.on);
      expect(after.environments.production.on).toBe(before.environments.production.on);
      const request = await admin.call("GET", `/api/v2/projects/shop/flags/checkout/environments/production/approval-requests/${applied.body.approvals[0].approvalRequestId}`);
      expect(request.status).toBe(200);
      expect(request.body).toMatchObject({ status: "pending", description: "commit abc123", instructions: [{ kind: before.environments.production.on ? "turnFlagOff" : "turnFlagOn" }] });
      // Approved and applied (the writer's token and the admin's act for the same member here: own reviews are allowed), the file's change lands.
      expect((await admin.call("POST", `/api/v2/projects/shop/flags/checkout/environments/production/approval-requests/${request.body._id}/reviews`, { body: { kind: "approve" } })).status).toBe(200);
      expect((await admin.call("POST", `/api/v2/projects/shop/flags/checkout/environments/production/approval-requests/${request.body._id}/apply`, { body: {} })).status).toBe(200);
      expect((await admin.call("GET", "/api/v2/flags/shop/checkout")).body.environments.production.on).toBe(!before.environments.production.on);
      const replan = await writer.call("POST", "/api/v2/projects/shop/plan", { body: { file: JSON.stringify(file) } });
      expect(replan.body.items).toEqual([]);
    } finally {
      await gate(false);
    }
  }, 60_000);
});
