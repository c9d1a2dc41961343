/**
 * LaunchDarkly's generated REST client (`launchdarkly-api-typescript`), unmodified, against the
 * all-in-one process: configured only with `apiKey` and `basePath` (the origin; every generated path
 * already starts with `/api/v2`), plus per-call axios options where the client has no method of its own
 * (semantic patch). Projects, environments, flags, JSON Patch with a comment, semantic patch, paging,
 * token create and reset, and errors as the client surfaces them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AccessTokensApi,
  AuditLogApi,
  Configuration,
  EnvironmentsApi,
  FeatureFlagsApi,
  OtherApi,
  ProjectsApi,
  ScheduledChangesApi,
  SegmentsApi,
  UserSettingsApi,
  WebhooksApi,
  type AuditLogEntryListingRep,
  type Webhook,
  type ExpiringTarget,
  type ExpiringUserTargetItem,
  type FeatureFlagScheduledChange,
  type Environment,
  type FeatureFlag,
  type FeatureFlagConfig,
  type PatchWithComment,
  type Project,
  type Token,
} from "launchdarkly-api-typescript";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";

const ADMIN = "api-client-admin-token";
const PROJECT = "client-app";
const SEMANTIC_PATCH = { headers: { "Content-Type": "application/json; domain-model=launchdarkly.semanticpatch" } };

/** What axios rejects with on a non-2xx answer (axios is the client's dependency, not ours, so the shape is declared here). */
interface ClientError {
  name: string;
  isAxiosError: boolean;
  response?: { status: number; data: unknown; headers: Record<string, unknown> };
}

async function rejection(call: Promise<unknown>): Promise<ClientError> {
  try {
    await call;
  } catch (e) {
    const err = e as ClientError;
    expect(err.isAxiosError).toBe(true);
    expect(err.name).toBe("AxiosError");
    expect(err.response).toBeDefined();
    return err;
  }
  throw new Error("the call succeeded, but it should have been refused");
}

function expectErrorBody(err: ClientError, status: number, code: string) {
  expect(err.response!.status).toBe(status);
  expect(String(err.response!.headers["content-type"])).toContain("application/json");
  const body = err.response!.data as { code: unknown; message: unknown; id: unknown };
  expect(body.code).toBe(code);
  expect(typeof body.message).toBe("string");
  expect((body.message as string).length).toBeGreaterThan(0);
  expect(typeof body.id).toBe("string");
  expect((body.id as string).length).toBeGreaterThan(0);
}

/**
 * The client checks nothing it receives, so a field its types declare required but the server leaves
 * out would only show up later as `undefined` in the caller's code; these lists are the required fields
 * of the client's interfaces.
 */
function expectRequired<T extends object>(value: T, fields: readonly (keyof T)[]) {
  const missing = fields.filter((f) => value[f] === undefined || value[f] === null);
  expect(missing).toEqual([]);
}
const PROJECT_FIELDS = ["_links", "_id", "key", "includeInSnippetByDefault", "name", "tags"] as const satisfies readonly (keyof Project)[];
const ENVIRONMENT_FIELDS = ["_links", "_id", "key", "name", "apiKey", "mobileKey", "color", "defaultTtl", "secureMode", "defaultTrackEvents", "requireComments", "confirmChanges", "tags", "critical"] as const satisfies readonly (keyof Environment)[];
const FLAG_FIELDS = ["name", "kind", "key", "_version", "creationDate", "variations", "temporary", "tags", "_links", "experiments", "customProperties", "archived"] as const satisfies readonly (keyof FeatureFlag)[];
const FLAG_CONFIG_FIELDS = ["on", "archived", "salt", "sel", "lastModified", "version", "_site", "_environmentName", "trackEvents", "trackEventsFallthrough"] as const satisfies readonly (keyof FeatureFlagConfig)[];
const TOKEN_FIELDS = ["_id", "ownerId", "memberId", "creationDate", "lastModified", "_links"] as const satisfies readonly (keyof Token)[];
const SCHEDULED_CHANGE_FIELDS = ["_id", "_creationDate", "_maintainerId", "_version", "executionDate", "instructions"] as const satisfies readonly (keyof FeatureFlagScheduledChange)[];
const EXPIRING_FIELDS = ["_id", "_version", "expirationDate", "contextKind", "contextKey", "_resourceId"] as const satisfies readonly (keyof ExpiringTarget)[];
const EXPIRING_USER_FIELDS = ["_id", "_version", "expirationDate", "userKey", "_resourceId"] as const satisfies readonly (keyof ExpiringUserTargetItem)[];
const WEBHOOK_FIELDS = ["_id", "_links", "url", "on", "tags"] as const satisfies readonly (keyof Webhook)[];
const AUDIT_FIELDS = ["_links", "_id", "_accountId", "date", "accesses", "kind", "name", "description", "shortDescription"] as const satisfies readonly (keyof AuditLogEntryListingRep)[];

function expectFlagShape(flag: FeatureFlag) {
  expectRequired(flag, FLAG_FIELDS);
  for (const config of Object.values(flag.environments ?? {})) expectRequired(config, FLAG_CONFIG_FIELDS);
}

/** The query of a `_links` href (Vexil's are paths relative to the origin). */
const queryOf = (href: string) => new URL(href, "http://origin.invalid").searchParams;

let vexil: Running;
let dataDir: string;
let config: Configuration;
const clients = (c: Configuration) => ({
  projects: new ProjectsApi(c),
  environments: new EnvironmentsApi(c),
  flags: new FeatureFlagsApi(c),
  tokens: new AccessTokensApi(c),
  other: new OtherApi(c),
  audit: new AuditLogApi(c),
  schedules: new ScheduledChangesApi(c),
  segments: new SegmentsApi(c),
  users: new UserSettingsApi(c),
  webhooks: new WebhooksApi(c),
});
let api: ReturnType<typeof clients>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "vexil-api-client-"));
  // Webhooks deliver to a receiver on this machine.
  vexil = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_ADMIN_TOKEN: ADMIN, VEXIL_DATA_DIR: dataDir, VEXIL_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.0/8" });
  config = new Configuration({ apiKey: ADMIN, basePath: vexil.url });
  api = clients(config);
}, 60_000);

afterAll(async () => {
  await vexil?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe("launchdarkly-api-typescript against Vexil", () => {
  let flag: FeatureFlag;

  test("postProject creates a project with its environment (201), and getProject reads it back", async () => {
    const created = await api.projects.postProject({
      key: PROJECT,
      name: "Client app",
      tags: ["sdk", "e2e"],
      environments: [{ key: "live", name: "Live", color: "0000ff" }],
    });
    expect(created.status).toBe(201);
    expectRequired(created.data, [...PROJECT_FIELDS, "environments"]);
    for (const env of created.data.environments) expectRequired(env, ENVIRONMENT_FIELDS);
    expect(created.data).toMatchObject({ key: PROJECT, name: "Client app", tags: ["sdk", "e2e"] });
    expect(typeof created.data._id).toBe("string");
    expect(typeof created.data.includeInSnippetByDefault).toBe("boolean");
    expect(created.data._links.self?.href).toBe(`/api/v2/projects/${PROJECT}`);
    // The environments given, and only those; their keys in full, this once.
    expect(created.data.environments.map((e) => e.key)).toEqual(["live"]);
    const live = created.data.environments[0]!;
    expect(live).toMatchObject({ key: "live", name: "Live" });
    // The color comes back as the same hex value (Vexil writes it in upper case).
    expect(live.color.toLowerCase()).toBe("0000ff");
    expect(live.apiKey).toMatch(/^sdk-/);
    expect(live.mobileKey).toMatch(/^mob-/);

    const read = await api.projects.getProject(PROJECT);
    expect(read.status).toBe(200);
    expectRequired(read.data, PROJECT_FIELDS);
    expect(read.data).toMatchObject({ _id: created.data._id, key: PROJECT, name: "Client app", tags: ["sdk", "e2e"] });
    expect(read.data.environments).toBeUndefined();

    const expanded = await api.projects.getProject(PROJECT, "environments");
    expect(expanded.status).toBe(200);
    expect(expanded.data.environments?.items.map((e) => e.key)).toEqual(["live"]);
    expectRequired(expanded.data.environments!.items[0]!, ENVIRONMENT_FIELDS);
    expect(expanded.data.environments?.items[0]?.apiKey).not.toBe(live.apiKey);
  });

  test("postEnvironment adds an environment (201), and getEnvironment reads it back with its keys masked", async () => {
    const created = await api.environments.postEnvironment(PROJECT, { key: "staging", name: "Staging", color: "F5A623", tags: ["pre"], defaultTtl: 5 });
    expect(created.status).toBe(201);
    expectRequired(created.data, ENVIRONMENT_FIELDS);
    expect(created.data).toMatchObject({ key: "staging", name: "Staging", color: "F5A623", tags: ["pre"], defaultTtl: 5 });
    expect(created.data.apiKey).toMatch(/^sdk-/);
    expect(created.data.mobileKey).toMatch(/^mob-/);
    for (const field of ["secureMode", "defaultTrackEvents", "requireComments", "confirmChanges", "critical"] as const) {
      expect(typeof created.data[field]).toBe("boolean");
    }

    const read = await api.environments.getEnvironment(PROJECT, "staging");
    expect(read.status).toBe(200);
    expectRequired(read.data, ENVIRONMENT_FIELDS);
    expect(read.data).toMatchObject({ _id: created.data._id, key: "staging", name: "Staging", color: "F5A623", defaultTtl: 5 });
    expect(read.data.apiKey).not.toBe(created.data.apiKey);
    expect(read.data.apiKey.endsWith(created.data.apiKey.slice(-4))).toBe(true);
  });

  test("postFeatureFlag creates a flag (201) and getFeatureFlag returns it in every environment", async () => {
    const created = await api.flags.postFeatureFlag(PROJECT, {
      key: "checkout",
      name: "New checkout",
      description: "The redesigned checkout",
      tags: ["payments"],
      temporary: false,
      variations: [
        { value: "old", name: "Old" },
        { value: "new", name: "New" },
      ],
      defaults: { onVariation: 1, offVariation: 0 },
    });
    expect(created.status).toBe(201);
    expectFlagShape(created.data);
    expect(created.data).toMatchObject({ key: "checkout", name: "New checkout", description: "The redesigned checkout", tags: ["payments"], temporary: false, kind: "multivariate", archived: false });
    expect(created.data.variations.map((v) => v.value)).toEqual(["old", "new"]);
    expect(typeof created.data._version).toBe("number");
    expect(typeof created.data.creationDate).toBe("number");

    const read = await api.flags.getFeatureFlag(PROJECT, "checkout");
    expect(read.status).toBe(200);
    flag = read.data;
    expectFlagShape(flag);
    expect(flag).toMatchObject({ key: "checkout", name: "New checkout", _version: created.data._version, customProperties: {} });
    expect(flag.experiments).toBeDefined();
    expect(flag._links.self?.href).toBe(`/api/v2/flags/${PROJECT}/checkout`);
    expect(Object.keys(flag.environments ?? {}).sort()).toEqual(["live", "staging"]);
    for (const env of ["live", "staging"]) {
      const config = flag.environments![env]!;
      expect(config.on).toBe(false);
      expect(config.offVariation).toBe(0);
      expect(config.fallthrough?.variation).toBe(1);
      expect(typeof config.version).toBe("number");
      expect(typeof config.salt).toBe("string");
    }

    const narrowed = await api.flags.getFeatureFlag(PROJECT, "checkout", "live");
    expect(Object.keys(narrowed.data.environments ?? {})).toEqual(["live"]);
  });

  test("patchFeatureFlag with a JSON Patch and a comment changes the flag, raises _version and records the comment", async () => {
    const body: PatchWithComment = {
      comment: "describe the rollout",
      patch: [
        { op: "test", path: "/_version", value: flag._version },
        { op: "replace", path: "/description", value: "Rolling out the new checkout" },
        { op: "add", path: "/tags/-", value: "q3" },
      ],
    };
    const patched = await api.flags.patchFeatureFlag(PROJECT, "checkout", body);
    expect(patched.status).toBe(200);
    expectFlagShape(patched.data);
    expect(patched.data.description).toBe("Rolling out the new checkout");
    expect(patched.data.tags).toEqual(["payments", "q3"]);
    expect(patched.data._version).toBeGreaterThan(flag._version);

    const read = await api.flags.getFeatureFlag(PROJECT, "checkout");
    expect(read.data).toMatchObject({ description: "Rolling out the new checkout", tags: ["payments", "q3"], _version: patched.data._version });

    const entries = await api.audit.getAuditLogEntries(undefined, undefined, undefined, 20);
    expect(entries.status).toBe(200);
    const entry = entries.data.items.find((e) => e.comment === "describe the rollout");
    expect(entry).toBeDefined();
    expectRequired(entry!, AUDIT_FIELDS);
    expect(entry!.kind).toBe("flag");

    // The same patch again, now on a stale version: an optimistic-locking conflict, and nothing changes.
    const stale = await rejection(api.flags.patchFeatureFlag(PROJECT, "checkout", { patch: [{ op: "test", path: "/_version", value: flag._version }, { op: "replace", path: "/description", value: "lost" }] }));
    expectErrorBody(stale, 409, "optimistic_locking_error");
    expect((await api.flags.getFeatureFlag(PROJECT, "checkout")).data.description).toBe("Rolling out the new checkout");
    flag = read.data;
  });

  test("patchFeatureFlag carries a semantic patch when the call overrides the content type", async () => {
    const newId = flag.variations[1]!._id!;
    expect(typeof newId).toBe("string");
    const semantic = {
      comment: "launch in staging",
      environmentKey: "staging",
      instructions: [{ kind: "turnFlagOn" }, { kind: "updateOffVariation", variationId: newId }],
    } as unknown as PatchWithComment;
    const patched = await api.flags.patchFeatureFlag(PROJECT, "checkout", semantic, undefined, SEMANTIC_PATCH);
    expect(patched.status).toBe(200);
    expectFlagShape(patched.data);
    const staging = patched.data.environments!.staging!;
    const live = patched.data.environments!.live!;
    expect(staging.on).toBe(true);
    expect(staging.offVariation).toBe(1);
    expect(staging.version).toBeGreaterThan(flag.environments!.staging!.version);
    // Only the named environment changed.
    expect(live.on).toBe(false);
    expect(live.offVariation).toBe(0);
    expect(live.version).toBe(flag.environments!.live!.version);

    const read = await api.flags.getFeatureFlag(PROJECT, "checkout", "staging");
    expect(read.data.environments!.staging).toMatchObject({ on: true, offVariation: 1 });

    // All or nothing: a bad instruction after a good one changes nothing.
    const bad = { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }, { kind: "noSuchInstruction" }] } as unknown as PatchWithComment;
    const refused = await rejection(api.flags.patchFeatureFlag(PROJECT, "checkout", bad, undefined, SEMANTIC_PATCH));
    expectErrorBody(refused, 400, "invalid_request");
    expect((refused.response!.data as { message: string }).message).toContain("instruction 1");
    expect((await api.flags.getFeatureFlag(PROJECT, "checkout", "live")).data.environments!.live!.on).toBe(false);

    // Without the override the client sends `application/json`, and the instructions are refused, not misread as a merge patch.
    const plain = { environmentKey: "live", instructions: [{ kind: "turnFlagOn" }] } as unknown as PatchWithComment;
    const unlabelled = await rejection(api.flags.patchFeatureFlag(PROJECT, "checkout", plain));
    expectErrorBody(unlabelled, 400, "invalid_request");
    expect((await api.flags.getFeatureFlag(PROJECT, "checkout", "live")).data.environments!.live!.on).toBe(false);
  });

  test("getFeatureFlags pages with limit and offset: totalCount holds and every flag shows up exactly once", async () => {
    const keys = ["checkout"];
    for (let i = 1; i <= 7; i++) {
      const key = `paged-${i}`;
      expect((await api.flags.postFeatureFlag(PROJECT, { key, name: `Paged ${i}` })).status).toBe(201);
      keys.push(key);
    }
    const seen: string[] = [];
    let offset = 0;
    let pages = 0;
    for (;;) {
      const page = await api.flags.getFeatureFlags(PROJECT, undefined, undefined, 3, offset);
      expect(page.status).toBe(200);
      pages++;
      expect(page.data.totalCount).toBe(keys.length);
      expect(page.data.items.length).toBeLessThanOrEqual(3);
      for (const item of page.data.items) expectFlagShape(item);
      seen.push(...page.data.items.map((f) => f.key));
      const next = page.data._links.next?.href;
      if (!next) break;
      const q = queryOf(next);
      expect(q.get("limit")).toBe("3");
      expect(Number(q.get("offset"))).toBe(offset + 3);
      offset = Number(q.get("offset"));
      expect(pages).toBeLessThan(10);
    }
    expect(pages).toBe(3);
    expect(seen.length).toBe(keys.length);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...keys].sort());

    // The default page and a filtered one.
    const all = await api.flags.getFeatureFlags(PROJECT);
    expect(all.data.items.length).toBe(keys.length);
    const filtered = await api.flags.getFeatureFlags(PROJECT, undefined, undefined, undefined, undefined, undefined, undefined, "query:paged-7");
    expect(filtered.data.items.map((f) => f.key)).toEqual(["paged-7"]);
    expect(filtered.data.totalCount).toBe(1);

    // Summaries by default; `summary=false` (the client sends the boolean as text) adds the targeting.
    const summarized = await api.flags.getFeatureFlags(PROJECT, "staging", undefined, 1, 0, undefined, undefined, "query:checkout");
    expect(summarized.data.items[0]!.environments!.staging!.rules).toBeUndefined();
    const detailed = await api.flags.getFeatureFlags(PROJECT, "staging", undefined, 1, 0, undefined, false, "query:checkout");
    const staging = detailed.data.items[0]!.environments!.staging!;
    expect(staging.rules).toEqual([]);
    expect(staging.on).toBe(true);
  });

  test("postToken creates a token whose secret works; resetToken gives a new secret and the old one stops working", async () => {
    const created = await api.tokens.postToken({ name: "ci", role: "writer", serviceToken: true, defaultApiVersion: 20240415 });
    expect(created.status).toBe(201);
    const id = created.data._id;
    const first = created.data.token!;
    expect(first).toMatch(/^api-/);
    expect(created.data).toMatchObject({ name: "ci", role: "writer", serviceToken: true, defaultApiVersion: 20240415 });
    expectRequired(created.data, TOKEN_FIELDS);
    expect(typeof created.data.creationDate).toBe("number");

    const asFirst = clients(new Configuration({ apiKey: first, basePath: vexil.url }));
    const identity = await asFirst.other.getCallerIdentity();
    expect(identity.status).toBe(200);
    expect(identity.data).toMatchObject({ tokenId: id, tokenName: "ci", serviceToken: true });
    expect((await asFirst.projects.getProjects()).data.items.map((p) => p.key)).toContain(PROJECT);

    // Later reads show only the end of the secret.
    const shown = await api.tokens.getToken(id);
    expect(shown.data.token).not.toBe(first);
    expect(first.endsWith(shown.data.token!)).toBe(true);

    const reset = await api.tokens.resetToken(id);
    expect(reset.status).toBe(200);
    expectRequired(reset.data, TOKEN_FIELDS);
    expect(reset.data._id).toBe(id);
    const second = reset.data.token!;
    expect(second).toMatch(/^api-/);
    expect(second).not.toBe(first);

    const asSecond = clients(new Configuration({ apiKey: second, basePath: vexil.url }));
    expect((await asSecond.other.getCallerIdentity()).data.tokenId).toBe(id);
    expect((await asSecond.projects.getProjects()).status).toBe(200);

    const old = await rejection(asFirst.projects.getProjects());
    expectErrorBody(old, 401, "unauthorized");
    expect(old.response!.headers["www-authenticate"]).toBeDefined();
    expectErrorBody(await rejection(asFirst.other.getCallerIdentity()), 401, "unauthorized");
  });

  test("errors reach the client as AxiosErrors with the status and the {code, message, id} body", async () => {
    expectErrorBody(await rejection(api.flags.getFeatureFlag(PROJECT, "no-such-flag")), 404, "not_found");
    expectErrorBody(await rejection(api.projects.getProject("no-such-project")), 404, "not_found");
    const deleted = await api.flags.deleteFeatureFlag(PROJECT, "paged-7");
    expect(deleted.status).toBe(204);
    expectErrorBody(await rejection(api.flags.getFeatureFlag(PROJECT, "paged-7")), 404, "not_found");
    const duplicate = await rejection(api.flags.postFeatureFlag(PROJECT, { key: "checkout", name: "Again" }));
    expectErrorBody(duplicate, 409, "conflict");
    const anonymous = clients(new Configuration({ basePath: vexil.url }));
    expectErrorBody(await rejection(anonymous.projects.getProjects()), 401, "unauthorized");
    // `basePath` is the origin: with `/api/v2` on it the generated paths double the prefix.
    const doubled = clients(new Configuration({ apiKey: ADMIN, basePath: `${vexil.url}/api/v2` }));
    const wrongBase = await rejection(doubled.projects.getProjects());
    expectErrorBody(wrongBase, 404, "not_found");
    expect((wrongBase.response!.data as { message: string }).message).toContain("/api/v2/api/v2/projects");
  });
});

describe("launchdarkly-api-typescript: changes in time", () => {
  test("ScheduledChangesApi: post (and a conflict, refused or kept), list, get, patch by semantic patch, delete; one due soon is applied", async () => {
    expect((await api.flags.postFeatureFlag(PROJECT, { key: "timed", name: "Timed" })).status).toBe(201);
    const later = Date.now() + 3_600_000;
    const created = await api.schedules.postFlagConfigScheduledChanges(PROJECT, "timed", "live", { comment: "launch", executionDate: later, instructions: [{ kind: "turnFlagOn" }] });
    expect(created.status).toBe(201);
    expectRequired(created.data, SCHEDULED_CHANGE_FIELDS);
    expect(created.data).toMatchObject({ _version: 1, executionDate: later, instructions: [{ kind: "turnFlagOn" }] });
    const id = created.data._id;
    expect((await api.schedules.getFlagConfigScheduledChanges(PROJECT, "timed", "live")).data.items.map((c) => c._id)).toEqual([id]);
    expect((await api.schedules.getFeatureFlagScheduledChange(PROJECT, "timed", "live", id)).data).toEqual(created.data);

    const clash = await rejection(api.schedules.postFlagConfigScheduledChanges(PROJECT, "timed", "live", { executionDate: later + 1, instructions: [{ kind: "turnFlagOn" }] }));
    expectErrorBody(clash, 400, "invalid_request");
    expect((clash.response!.data as { message: string }).message).toContain(id);
    const kept = await api.schedules.postFlagConfigScheduledChanges(PROJECT, "timed", "live", { executionDate: later + 1, instructions: [{ kind: "turnFlagOn" }] }, true);
    expect(kept.data.conflicts).toEqual([{ _id: id, reason: expect.any(String) }]);

    const edited = await api.schedules.patchFlagConfigScheduledChange(
      PROJECT,
      "timed",
      "live",
      id,
      { instructions: [{ kind: "updateScheduledChangesExecutionDate", value: later + 60_000 }, { kind: "replaceScheduledChangesInstructions", value: [{ kind: "turnFlagOff" }] }] },
      undefined,
      SEMANTIC_PATCH,
    );
    expect(edited.status).toBe(200);
    expect(edited.data).toMatchObject({ _id: id, _version: 2, executionDate: later + 60_000, instructions: [{ kind: "turnFlagOff" }] });
    expect((await api.schedules.deleteFlagConfigScheduledChanges(PROJECT, "timed", "live", id)).status).toBe(204);
    expect((await api.schedules.deleteFlagConfigScheduledChanges(PROJECT, "timed", "live", kept.data._id)).status).toBe(204);
    expectErrorBody(await rejection(api.schedules.getFeatureFlagScheduledChange(PROJECT, "timed", "live", id)), 404, "not_found");

    await api.schedules.postFlagConfigScheduledChanges(PROJECT, "timed", "live", { executionDate: Date.now() + 1_000, instructions: [{ kind: "turnFlagOn" }] });
    const deadline = Date.now() + 15_000;
    while (!(await api.flags.getFeatureFlag(PROJECT, "timed", "live")).data.environments!.live!.on) {
      if (Date.now() > deadline) throw new Error("the scheduled change was not applied");
      await Bun.sleep(50);
    }
    expect((await api.schedules.getFlagConfigScheduledChanges(PROJECT, "timed", "live")).data.items).toEqual([]);
  });

  test("expiring targets through FeatureFlagsApi, SegmentsApi and UserSettingsApi, with the semantic-patch content type", async () => {
    const flag = (await api.flags.getFeatureFlag(PROJECT, "timed")).data;
    const variationId = flag.variations[0]!._id!;
    const targeted = { environmentKey: "live", instructions: [{ kind: "addTargets", variationId, values: ["alice", "bob"] }] } as unknown as PatchWithComment;
    expect((await api.flags.patchFeatureFlag(PROJECT, "timed", targeted, undefined, SEMANTIC_PATCH)).status).toBe(200);
    const later = Date.now() + 3_600_000;

    const added = await api.flags.patchExpiringTargets(PROJECT, "live", "timed", { instructions: [{ kind: "addExpiringTarget", variationId, contextKey: "alice", contextKind: "user", value: later }, { kind: "addExpiringTarget", variationId, contextKey: "carol", contextKind: "user", value: later }] }, SEMANTIC_PATCH);
    expect(added.status).toBe(200);
    expect(added.data).toMatchObject({ totalInstructions: 2, successfulInstructions: 1, failedInstructions: 1, errors: [{ instructionIndex: 1 }] });
    for (const item of added.data.items) expectRequired(item, EXPIRING_FIELDS);
    expect(added.data.items[0]).toMatchObject({ contextKey: "alice", variationId, expirationDate: later, _resourceId: { projectKey: PROJECT, environmentKey: "live", key: "timed", kind: "flag" } });
    expect((await api.flags.getExpiringContextTargets(PROJECT, "live", "timed")).data.items).toEqual(added.data.items);
    const legacy = await api.flags.patchExpiringUserTargets(PROJECT, "live", "timed", { instructions: [{ kind: "addExpireUserTargetDate", variationId, userKey: "bob", value: later + 1 }] }, SEMANTIC_PATCH);
    for (const item of legacy.data.items) expectRequired(item, EXPIRING_USER_FIELDS);
    expect((await api.flags.getExpiringUserTargets(PROJECT, "live", "timed")).data.items.map((i) => i.userKey)).toEqual(["alice", "bob"]);
    const forUser = await api.users.getExpiringFlagsForUser(PROJECT, "bob", "live");
    expect(forUser.data.items.map((i) => [i._resourceId.flagKey, i.userKey])).toEqual([["timed", "bob"]]);
    const removed = await api.users.patchExpiringFlagsForUser(PROJECT, "bob", "live", { instructions: [{ kind: "removeExpireUserTargetDate", flagKey: "timed", variationId }] }, SEMANTIC_PATCH);
    expect(removed.data.items).toEqual([]);
    // Without the content type the request is refused, not misread.
    expectErrorBody(await rejection(api.flags.patchExpiringTargets(PROJECT, "live", "timed", { instructions: [{ kind: "removeExpiringTarget", variationId, contextKey: "alice" }] })), 400, "invalid_request");

    expect((await api.segments.postSegment(PROJECT, "live", { key: "testers", name: "Testers" })).status).toBe(201);
    const included = { environmentKey: "live", instructions: [{ kind: "addIncludedUsers", values: ["alice"] }] } as unknown as PatchWithComment;
    expect((await api.segments.patchSegment(PROJECT, "live", "testers", included, SEMANTIC_PATCH)).status).toBe(200);
    const segmentAdded = await api.segments.patchExpiringTargetsForSegment(PROJECT, "live", "testers", { instructions: [{ kind: "addExpiringTarget", targetType: "included", contextKey: "alice", contextKind: "user", value: later }] }, SEMANTIC_PATCH);
    expect(segmentAdded.data).toMatchObject({ successfulInstructions: 1, items: [{ contextKey: "alice", targetType: "included", _resourceId: { key: "testers", kind: "segment" } }] });
    expect((await api.segments.getExpiringTargetsForSegment(PROJECT, "live", "testers")).data.items).toEqual(segmentAdded.data.items);
    const segmentUsers = await api.segments.patchExpiringUserTargetsForSegment(PROJECT, "live", "testers", { instructions: [{ kind: "updateExpireUserTargetDate", targetType: "included", userKey: "alice", value: later + 5, version: 1 }] }, SEMANTIC_PATCH);
    expect(segmentUsers.data.items).toMatchObject([{ userKey: "alice", expirationDate: later + 5, _version: 2 }]);
    expect((await api.segments.getExpiringUserTargetsForSegment(PROJECT, "live", "testers")).data.items.map((i) => i.userKey)).toEqual(["alice"]);
  });
});

describe("launchdarkly-api-typescript: webhooks", () => {
  test("WebhooksApi: post (the secret once), list, get, patch, delete; a change reaches the receiver signed, on the embedded database", async () => {
    const received: Array<{ body: string; signature: string | null }> = [];
    const receiver = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        received.push({ body: await request.text(), signature: request.headers.get("x-ld-signature") });
        return new Response("ok");
      },
    });
    try {
      const created = await api.webhooks.postWebhook({ name: "client hook", url: `http://127.0.0.1:${receiver.port}/hook`, sign: true, secret: "frobozz", on: true, tags: ["client"], statements: [{ effect: "allow", actions: ["updateOn"], resources: [`proj/${PROJECT}:env/*:flag/*`] }] });
      expect(created.status).toBe(200);
      expectRequired(created.data, WEBHOOK_FIELDS);
      expect(created.data).toMatchObject({ name: "client hook", secret: "frobozz", on: true, tags: ["client"] });
      const id = created.data._id;
      expect((await api.webhooks.getAllWebhooks()).data.items.map((w) => w._id)).toContain(id);
      const got = await api.webhooks.getWebhook(id);
      expectRequired(got.data, WEBHOOK_FIELDS);
      expect(got.data.secret).toBeUndefined();
      const patched = await api.webhooks.patchWebhook(id, [{ op: "add", path: "/tags/-", value: "second" }]);
      expect(patched.data.tags).toEqual(["client", "second"]);

      const flagKey = "webhook-flag";
      await api.flags.postFeatureFlag(PROJECT, { key: flagKey, name: "Webhook flag" });
      await api.flags.patchFeatureFlag(PROJECT, flagKey, { patch: [{ op: "replace", path: "/environments/live/on", value: true }] });
      const deadline = Date.now() + 20_000;
      while (received.length === 0 && Date.now() < deadline) await Bun.sleep(50);
      expect(received).toHaveLength(1);
      const [delivery] = received;
      expect(delivery!.signature).toBe(new Bun.CryptoHasher("sha256", new TextEncoder().encode("frobozz")).update(delivery!.body).digest("hex"));
      const entry = JSON.parse(delivery!.body);
      expect(entry).toMatchObject({ kind: "flag", accesses: [{ action: "updateOn", resource: `proj/${PROJECT}:env/live:flag/${flagKey}` }] });
      expect((await api.audit.getAuditLogEntry(entry._id)).data._id).toBe(entry._id);

      expect((await api.webhooks.deleteWebhook(id)).status).toBe(204);
      expectErrorBody(await rejection(api.webhooks.getWebhook(id)), 404, "not_found");
      expectErrorBody(await rejection(api.webhooks.postWebhook({ url: "http://169.254.169.254/latest", sign: false, on: true })), 400, "invalid_request");
    } finally {
      receiver.stop(true);
    }
  });
});
