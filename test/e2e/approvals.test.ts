/**
 * Approvals end to end: the all-in-one process on real Postgres and a real nats-server, two writer
 * members with their own tokens, the real LaunchDarkly node SDK and LaunchDarkly's generated REST
 * client (`ApprovalsApi`), unmodified. Where approvals are required a direct change is 405 for a
 * writer; a request is made, its requestor's own approval refused, approved by the other member and
 * applied, and the SDK sees the change; a change made meanwhile is reported as a conflict and the
 * apply refused; bad input gets JSON errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { basicLogger, init, type LDClient } from "@launchdarkly/node-server-sdk";
import { ApprovalsApi, Configuration, type FlagConfigApprovalRequestResponse } from "launchdarkly-api-typescript";
import { startNats, type NatsServer } from "../../infra/local/nats.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";
import { testDatabaseUrl } from "../support/postgres.ts";

const ADMIN = "approvals-admin-token-0001";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
const FLAG = "/api/v2/flags/shop/checkout";
const APPROVALS = "/api/v2/projects/shop/flags/checkout/environments/production/approval-requests";

let nats: NatsServer;
let vexil: Running;
let admin: Client;
let alice: Client;
let bob: Client;
let aliceId: string;
let bobId: string;
let aliceToken: string;
let bobToken: string;
let sdkKey: string;
let sdk: LDClient | undefined;

async function waitFor(what: string, probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** A writer member and a personal token of theirs. */
async function writer(email: string): Promise<{ id: string; token: string }> {
  const made = await admin.call("POST", "/api/v2/members", { body: [{ email, role: "writer" }] });
  expect(made.status).toBe(201);
  const id = made.body.items[0]._id;
  const token = await admin.call("POST", "/api/v2/tokens", { body: { name: `${email}'s`, memberId: id, role: "writer" } });
  expect(token.status).toBe(201);
  return { id, token: token.body.token };
}

const expectError = (res: { status: number; body: any }, status: number, code: string) => {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(typeof res.body.message).toBe("string");
  expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
};

beforeAll(async () => {
  nats = await startNats();
  vexil = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_ADMIN_TOKEN: ADMIN, DATABASE_URL: await testDatabaseUrl(), NATS_URL: nats.url });
  admin = makeClient([vexil.url], ADMIN);
  const project = await admin.call("POST", "/api/v2/projects", {
    body: { key: "shop", name: "Shop", environments: [{ key: "production", name: "Production", color: "ff0000" }, { key: "test", name: "Test", color: "00ff00" }] },
  });
  expect(project.status).toBe(201);
  sdkKey = project.body.environments.find((e: { key: string }) => e.key === "production").apiKey;
  expect((await admin.call("POST", "/api/v2/flags/shop", { body: { key: "checkout", name: "Checkout" } })).status).toBe(201);
  ({ id: aliceId, token: aliceToken } = await writer("alice@example.com"));
  ({ id: bobId, token: bobToken } = await writer("bob@example.com"));
  alice = admin.as(aliceToken);
  bob = admin.as(bobToken);
}, 90_000);

afterAll(async () => {
  sdk?.close();
  await vexil?.stop();
  await nats?.destroy();
}, 30_000);

describe("approvals with two members", () => {
  test("settings: required by an environment patch, shown on the environment, audited", async () => {
    const res = await admin.call("PATCH", "/api/v2/projects/shop/environments/production", { body: [{ op: "replace", path: "/approvalSettings/required", value: true }] });
    expect(res.status).toBe(200);
    expect(res.body.approvalSettings).toMatchObject({ required: true, minNumApprovals: 1, canReviewOwnRequest: false, serviceKind: "launchdarkly" });
    const log = await admin.call("GET", "/api/v2/auditlog?spec=proj/shop:env/production");
    expect(log.body.items[0].title).toContain("updated the environment");
  });

  test("the gate: a writer's direct change is 405 method_not_allowed in every format; the other environment is not gated", async () => {
    const semantic = await alice.call("PATCH", FLAG, { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] } });
    expectError(semantic, 405, "method_not_allowed");
    expect(semantic.body.message).toBe("Flag configuration updates require approval: action 'updateOn' not allowed");
    expectError(await alice.call("PATCH", FLAG, { body: [{ op: "replace", path: "/environments/production/on", value: true }] }), 405, "method_not_allowed");
    expectError(await alice.call("PATCH", FLAG, { body: { comment: "x", merge: { environments: { production: { on: true } } } } }), 405, "method_not_allowed");
    expectError(await alice.call("POST", "/api/admin/projects/shop/features/checkout/environments/production/on"), 405, "method_not_allowed");
    expect((await alice.call("PATCH", FLAG, { headers: SEMANTIC, body: { environmentKey: "test", instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(200);
    expectError(await alice.call("POST", `${FLAG}/copy`, { body: { source: { key: "test" }, target: { key: "production" } } }), 405, "method_not_allowed");
    const when = Date.now() + 3_600_000;
    expectError(await alice.call("POST", "/api/v2/projects/shop/flags/checkout/environments/production/scheduled-changes", { body: { executionDate: when, instructions: [{ kind: "turnFlagOn" }] } }), 405, "method_not_allowed");
    const flag = await admin.call("GET", `${FLAG}?env=production`);
    expect(flag.body.environments.production.on).toBe(false);
  });

  test("request; self-review refused; approved by the other; applied; the node SDK sees it", async () => {
    sdk = init(sdkKey, { baseUri: vexil.url, streamUri: vexil.url, eventsUri: vexil.url, logger: basicLogger({ level: "none" }) });
    await sdk.waitForInitialization({ timeout: 10 });
    const user = { kind: "user", key: "carol" };
    expect(await sdk.variation("checkout", user, "default")).toBe(false);

    const made = await alice.call("POST", APPROVALS, { body: { description: "Turn on checkout", instructions: [{ kind: "turnFlagOn" }], notifyMemberIds: [bobId], comment: "ready" } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ _version: 1, requestorId: aliceId, reviewStatus: "pending", status: "pending", allReviews: [], conflicts: [], notifyMemberIds: [bobId], serviceKind: "launchdarkly" });
    const id = made.body._id;
    expectError(await alice.call("POST", `${APPROVALS}/${id}/apply`, { body: {} }), 400, "invalid_request");
    const self = await alice.call("POST", `${APPROVALS}/${id}/reviews`, { body: { kind: "approve" } });
    expectError(self, 403, "forbidden");
    expect(self.body.message).toContain("canReviewOwnRequest");
    const approved = await bob.call("POST", `${APPROVALS}/${id}/reviews`, { body: { kind: "approve", comment: "Looks good" } });
    expect(approved.status).toBe(200);
    expect(approved.body.reviewStatus).toBe("approved");
    expect(approved.body.allReviews).toEqual([{ _id: expect.any(String), kind: "approve", creationDate: expect.any(Number), comment: "Looks good", memberId: bobId }]);
    // Nothing changed yet.
    expect(await sdk.variation("checkout", user, "default")).toBe(false);
    const applied = await alice.call("POST", `${APPROVALS}/${id}/apply`, { body: { comment: "shipping" } });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ status: "completed", appliedByMemberId: aliceId, appliedDate: expect.any(Number) });
    await waitFor("the SDK to see the approved change", async () => (await sdk!.variation("checkout", user, "default")) === true);
    // The apply is one change of the flag, by the applier, naming the request.
    const log = await admin.call("GET", "/api/v2/auditlog?spec=proj/shop:env/production:flag/checkout&limit=5");
    const entry = await admin.call("GET", `/api/v2/auditlog/${log.body.items[0]._id}`);
    expect(entry.body.accesses.map((a: { action: string }) => a.action)).toEqual(["updateOn", "applyApprovalRequest"]);
    expect(entry.body.member.email).toBe("alice@example.com");
    expect(entry.body.description).toContain(id);
    // Applied once: a second apply is refused.
    expectError(await bob.call("POST", `${APPROVALS}/${id}/apply`, { body: {} }), 400, "invalid_request");
  });

  test("a change made since the request is a conflict: reported, and the apply refused with nothing changed", async () => {
    const made = await alice.call("POST", APPROVALS, { body: { description: "Turn it off", instructions: [{ kind: "turnFlagOff" }] } });
    const id = made.body._id;
    expect((await bob.call("POST", `${APPROVALS}/${id}/reviews`, { body: { kind: "approve" } })).body.reviewStatus).toBe("approved");
    // The admin holds bypassRequiredApproval: the direct change goes ahead and is recorded as a bypass.
    const direct = await admin.call("PATCH", FLAG, { headers: SEMANTIC, body: { environmentKey: "production", comment: "incident", instructions: [{ kind: "turnFlagOff" }] } });
    expect(direct.status).toBe(200);
    const log = await admin.call("GET", "/api/v2/auditlog?spec=proj/shop:env/production:flag/checkout&limit=1");
    const entry = await admin.call("GET", `/api/v2/auditlog/${log.body.items[0]._id}`);
    expect(entry.body.accesses).toContainEqual({ action: "bypassRequiredApproval", resource: "proj/shop:env/production:flag/checkout" });
    const seen = await alice.call("GET", `${APPROVALS}/${id}`);
    expect(seen.body.conflicts).toEqual([{ instruction: { kind: "turnFlagOff" }, reason: '"environments.production.on" changed since the request was made' }]);
    const version = (await admin.call("GET", FLAG)).body._version;
    const refused = await bob.call("POST", `${APPROVALS}/${id}/apply`, { body: {} });
    expectError(refused, 400, "invalid_request");
    expect(refused.body.message).toContain("conflicts");
    expect((await admin.call("GET", FLAG)).body._version).toBe(version);
    expect((await alice.call("GET", `${APPROVALS}/${id}`)).body.status).toBe("pending");
    expect((await alice.call("DELETE", `${APPROVALS}/${id}`)).status).toBe(204);
    expectError(await alice.call("GET", `${APPROVALS}/${id}`), 404, "not_found");
  });

  test("bad input gets clear JSON errors and changes nothing", async () => {
    const before = (await admin.call("GET", FLAG)).body._version;
    const cases: Array<[string, string, unknown, number, string]> = [
      ["POST", APPROVALS, { instructions: [{ kind: "turnFlagOn" }] }, 400, "invalid_request"],
      ["POST", APPROVALS, { description: "x", instructions: [{ kind: "fly" }] }, 400, "invalid_request"],
      ["POST", APPROVALS, { description: "x", instructions: [{ kind: "turnFlagOn" }], executionDate: 1 }, 400, "invalid_request"],
      ["POST", APPROVALS, { description: "x", instructions: [{ kind: "turnFlagOn" }], surprise: true }, 400, "invalid_request"],
      ["POST", `${APPROVALS}/nope/reviews`, { kind: "approve" }, 404, "not_found"],
      ["POST", `${APPROVALS}/nope/reviews`, { kind: "applaud" }, 400, "invalid_request"],
      ["POST", "/api/v2/approval-requests", { resourceId: "proj/shop:env/production", description: "x", instructions: [{ kind: "turnFlagOn" }] }, 400, "invalid_request"],
      ["GET", "/api/v2/approval-requests?filter=status%20anyOf%20%5B%22lost%22%5D", undefined, 400, "invalid_request"],
      ["GET", "/api/v2/approval-requests?limit=500", undefined, 400, "invalid_request"],
      ["GET", "/api/v2/approval-requests/nope", undefined, 404, "not_found"],
      ["POST", "/api/v2/projects/shop/flags/checkout/environments/production/approval-requests-flag-copy", { description: "x", source: { key: "nope" } }, 404, "not_found"],
    ];
    for (const [method, path, body, status, code] of cases) expectError(await alice.call(method, path, body === undefined ? {} : { body }), status, code);
    expect((await admin.call("GET", FLAG)).body._version).toBe(before);
  });
});

describe("LaunchDarkly's generated client, ApprovalsApi, unchanged", () => {
  const api = (token: string) => new ApprovalsApi(new Configuration({ apiKey: token, basePath: vexil.url }));

  test("flag-scoped: create, list, get, review, apply; copy requests; delete", async () => {
    const asAlice = api(aliceToken);
    const asBob = api(bobToken);
    const made = (await asAlice.postApprovalRequestForFlag("shop", "checkout", "production", { description: "On again", instructions: [{ kind: "turnFlagOn" }] })).data;
    expect(made.status).toBe("pending");
    const listed = (await asAlice.getApprovalsForFlag("shop", "checkout", "production")).data;
    expect(listed.items.map((r: FlagConfigApprovalRequestResponse) => r._id)).toContain(made._id);
    expect((await asAlice.getApprovalForFlag("shop", "checkout", "production", made._id)).data.description).toBe("On again");
    expect((await asBob.postApprovalRequestReviewForFlag("shop", "checkout", "production", made._id, { kind: "approve" })).data.reviewStatus).toBe("approved");
    expect((await asBob.postApprovalRequestApplyForFlag("shop", "checkout", "production", made._id, {})).data.status).toBe("completed");
    const copy = (await asAlice.postFlagCopyConfigApprovalRequest("shop", "checkout", "production", { description: "Copy test", source: { key: "test" }, includedActions: ["updateRules"] })).data;
    expect(copy.source).toMatchObject({ key: "test" });
    await asAlice.deleteApprovalRequestForFlag("shop", "checkout", "production", copy._id);
    const gone = await asAlice.getApprovalForFlag("shop", "checkout", "production", copy._id).catch((e: { response?: { status: number } }) => e.response?.status);
    expect(gone).toBe(404);
  });

  test("generic: create by resourceId, list with a filter, get, review, apply, delete", async () => {
    const asAlice = api(aliceToken);
    const asBob = api(bobToken);
    const made = (await asAlice.postApprovalRequest({ resourceId: "proj/shop:env/production:flag/checkout", description: "Off", instructions: [{ kind: "turnFlagOff" }] })).data;
    expect(made).toMatchObject({ resourceId: "proj/shop:env/production:flag/checkout", approvalSettings: { required: true } });
    const mine = (await asAlice.getApprovalRequests(`requestorId equals ${aliceId},status anyOf ["pending"]`)).data;
    expect(mine.items.map((r) => r._id)).toEqual([made._id]);
    expect(mine.totalCount).toBe(1);
    expect((await asAlice.getApprovalRequest(made._id, "flag")).data.flag?.key).toBe("checkout");
    expect((await asBob.postApprovalRequestReview(made._id, { kind: "approve" })).data.reviewStatus).toBe("approved");
    expect((await asBob.postApprovalRequestApply(made._id, {})).data.status).toBe("completed");
    const other = (await asAlice.postApprovalRequest({ resourceId: "proj/shop:env/production:flag/checkout", description: "Again", instructions: [{ kind: "turnFlagOn" }] })).data;
    await asAlice.deleteApprovalRequest(other._id);
    expect((await asAlice.getApprovalRequests('status anyOf ["pending"]')).data.items).toEqual([]);
  });
});

describe("requests that edit or delete a scheduled change (operatingOnId)", () => {
  const SCHEDULED = "/api/v2/projects/shop/flags/checkout/environments/production/scheduled-changes";
  const api = (token: string) => new ApprovalsApi(new Configuration({ apiKey: token, basePath: vexil.url }));

  test("a writer's direct edit or deletion is 405; a request through the generated client names it and its apply edits it, then deletes it", async () => {
    const when = Date.now() + 3_600_000;
    // The admin may bypass approvals: the scheduling is recorded as a bypass.
    const made = await admin.call("POST", SCHEDULED, { body: { executionDate: when, instructions: [{ kind: "turnFlagOn" }] } });
    expect(made.status).toBe(201);
    const item = made.body._id;
    expectError(await alice.call("PATCH", `${SCHEDULED}/${item}`, { headers: SEMANTIC, body: { instructions: [{ kind: "updateScheduledChangesExecutionDate", value: when + 60_000 }] } }), 405, "method_not_allowed");
    expectError(await alice.call("DELETE", `${SCHEDULED}/${item}`), 405, "method_not_allowed");
    expectError(await alice.call("POST", APPROVALS, { body: { description: "x", instructions: [{ kind: "deleteScheduledChange" }], operatingOnId: "nope" } }), 400, "invalid_request");

    const asAlice = api(aliceToken);
    const asBob = api(bobToken);
    const move = (await asAlice.postApprovalRequestForFlag("shop", "checkout", "production", { description: "An hour later", instructions: [{ kind: "updateScheduledChangesExecutionDate", value: when + 3_600_000 }], operatingOnId: item })).data;
    expect(move).toMatchObject({ operatingOnId: item, status: "pending", conflicts: [] });
    await asBob.postApprovalRequestReviewForFlag("shop", "checkout", "production", move._id, { kind: "approve" });
    expect((await asAlice.postApprovalRequestApplyForFlag("shop", "checkout", "production", move._id, {})).data.status).toBe("completed");
    const moved = await alice.call("GET", `${SCHEDULED}/${item}`);
    expect(moved.body).toMatchObject({ executionDate: when + 3_600_000, _version: 2 });
    const log = await admin.call("GET", "/api/v2/auditlog?spec=proj/shop:env/production:flag/checkout&limit=1");
    const entry = await admin.call("GET", `/api/v2/auditlog/${log.body.items[0]._id}`);
    expect(entry.body.accesses.map((a: { action: string }) => a.action)).toEqual(["updateScheduledChanges", "applyApprovalRequest"]);

    const drop = (await asAlice.postApprovalRequest({ resourceId: "proj/shop:env/production:flag/checkout", description: "Not at all", instructions: [{ kind: "deleteScheduledChange" }], operatingOnId: item } as Parameters<ApprovalsApi["postApprovalRequest"]>[0])).data;
    expect(drop.operatingOnId).toBe(item);
    await asBob.postApprovalRequestReview(drop._id, { kind: "approve" });
    expect((await asBob.postApprovalRequestApply(drop._id, {})).data.status).toBe("completed");
    expectError(await alice.call("GET", `${SCHEDULED}/${item}`), 404, "not_found");
  });
});

describe("requests of segments", () => {
  const SEGMENTS = "/api/v2/segments/shop/production";
  const RESOURCE = "proj/shop:env/production:segment/beta";
  const api = (token: string) => new ApprovalsApi(new Configuration({ apiKey: token, basePath: vexil.url }));

  test("required by resourceApprovalSettings.segment; a writer's direct change is 405; a request through the generated client is approved and applied once", async () => {
    expect((await admin.call("POST", SEGMENTS, { body: { key: "beta", name: "Beta" } })).status).toBe(201);
    const env = await admin.call("PATCH", "/api/v2/projects/shop/environments/production", { body: [{ op: "replace", path: "/resourceApprovalSettings/segment/required", value: true }] });
    expect(env.status).toBe(200);
    expect(env.body.resourceApprovalSettings.segment).toMatchObject({ required: true, resourceKind: "segment" });
    const add = { environmentKey: "production", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["ann"] }] };
    const direct = await alice.call("PATCH", `${SEGMENTS}/beta`, { headers: SEMANTIC, body: add });
    expectError(direct, 405, "method_not_allowed");
    expect(direct.body.message).toBe("Segment configuration updates require approval: action 'updateIncluded' not allowed");
    // Not gated: the name.
    expect((await alice.call("PATCH", `${SEGMENTS}/beta`, { body: [{ op: "replace", path: "/name", value: "Beta testers" }] })).status).toBe(200);

    const asAlice = api(aliceToken);
    const asBob = api(bobToken);
    const made = (await asAlice.postApprovalRequest({ resourceId: RESOURCE, description: "Let Ann in", instructions: add.instructions, comment: "she asked" })).data;
    expect(made).toMatchObject({ resourceId: RESOURCE, status: "pending", reviewStatus: "pending", conflicts: [], approvalSettings: { required: true } });
    const self = await alice.call("POST", `/api/v2/approval-requests/${made._id}/reviews`, { body: { kind: "approve" } });
    expectError(self, 403, "forbidden");
    expect((await asBob.postApprovalRequestReview(made._id, { kind: "approve" })).data.reviewStatus).toBe("approved");
    expect((await admin.call("GET", `${SEGMENTS}/beta`)).body.included).toEqual([]);
    const listed = (await asAlice.getApprovalRequests("resourceKind equals segment")).data;
    expect(listed.items.map((r) => r._id)).toEqual([made._id]);
    expect((await asAlice.postApprovalRequestApply(made._id, { comment: "welcome" })).data).toMatchObject({ status: "completed", appliedByMemberId: aliceId });
    expect((await admin.call("GET", `${SEGMENTS}/beta`)).body.included).toEqual(["ann"]);
    const log = await admin.call("GET", "/api/v2/auditlog?spec=proj/shop:env/production:segment/beta&limit=1");
    const entry = await admin.call("GET", `/api/v2/auditlog/${log.body.items[0]._id}`);
    expect(entry.body.accesses.map((a: { action: string }) => a.action)).toEqual(["updateIncluded", "applyApprovalRequest"]);
    expect(entry.body.member.email).toBe("alice@example.com");
    expectError(await bob.call("POST", `/api/v2/approval-requests/${made._id}/apply`, { body: {} }), 400, "invalid_request");
    const expanded = (await asAlice.getApprovalRequest(made._id, "resource")).data as unknown as { resource: { key: string } };
    expect(expanded.resource.key).toBe("beta");
  });

  test("a change of the segment since the request is a conflict; the apply is refused and nothing changes", async () => {
    const made = await alice.call("POST", "/api/v2/approval-requests", { body: { resourceId: RESOURCE, description: "Zed out", instructions: [{ kind: "removeIncludedTargets", contextKind: "user", values: ["ann"] }] } });
    expect(made.status).toBe(201);
    await bob.call("POST", `/api/v2/approval-requests/${made.body._id}/reviews`, { body: { kind: "approve" } });
    expect((await admin.call("PATCH", `${SEGMENTS}/beta`, { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["zed"] }] } })).status).toBe(200);
    const seen = await alice.call("GET", `/api/v2/approval-requests/${made.body._id}`);
    expect(seen.body.conflicts).toEqual([{ instruction: { kind: "removeIncludedTargets", contextKind: "user", values: ["ann"] }, reason: '"included" changed since the request was made' }]);
    const version = (await admin.call("GET", `${SEGMENTS}/beta`)).body.version;
    expectError(await bob.call("POST", `/api/v2/approval-requests/${made.body._id}/apply`, { body: {} }), 400, "invalid_request");
    expect((await admin.call("GET", `${SEGMENTS}/beta`)).body.version).toBe(version);
    expect((await alice.call("DELETE", `/api/v2/approval-requests/${made.body._id}`)).status).toBe(204);
    expectError(await alice.call("POST", "/api/v2/approval-requests", { body: { resourceId: RESOURCE, description: "x", instructions: [{ kind: "turnFlagOn" }] } }), 400, "invalid_request");
    expectError(await alice.call("POST", "/api/v2/approval-requests", { body: { resourceId: "proj/shop:env/production:segment/nope", description: "x", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["a"] }] } }), 404, "not_found");
  });
});
