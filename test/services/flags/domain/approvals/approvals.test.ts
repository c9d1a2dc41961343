/**
 * Approvals over the memory store, as the domain decides them: the settings, the gate on every
 * kind of change, requests, reviews, applies, conflicts, copy requests and the generic endpoints.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import type { Caller } from "@vexil/shared/caller";
import type { FlagsContext } from "@vexil/flags/domain/context";
import { patchEnvironment, getEnvironment } from "@vexil/flags/domain/environments";
import { copyFlagConfig, createFlag, getFlag, patchFlag } from "@vexil/flags/domain/flags/flags";
import { patchFeatureProbeTargeting, unleashToggle } from "@vexil/flags/domain/compat/compat";
import { createScheduledChange, deleteScheduledChange, getScheduledChange, patchScheduledChange } from "@vexil/flags/domain/schedules/scheduled-changes";
import { patchFlagExpiringTargets } from "@vexil/flags/domain/expiring/flag-expiring-targets";
import { applyFlagApproval, createCopyApproval, createFlagApproval, deleteFlagApproval, reviewFlagApproval } from "@vexil/flags/domain/approvals/requests";
import { applyApproval, getApproval, getFlagApproval, listApprovals, listFlagApprovals, reviewApproval, createApproval } from "@vexil/flags/domain/approvals/reads";
import type { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { createSegment, getSegment, patchSegment } from "@vexil/flags/domain/segments/segments";
import { patchSegmentExpiringTargets } from "@vexil/flags/domain/expiring/segment-expiring-targets";
import { deleteApproval } from "@vexil/flags/domain/approvals/reads";
import { admin, memoryContext, rejection } from "../memory-context.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const DATA = ["proj/*", "proj/*:env/*", "proj/*:env/*:flag/*", "proj/*:env/*:segment/*"];

/** A member with the built-in writer's grant: everything on project data but bypassing approvals. */
const writer = (n: string): Caller => ({
  kind: "token",
  tokenId: `t-${n}`,
  tokenName: `${n}'s token`,
  memberId: `m-${n}`,
  memberEmail: `${n}@example.com`,
  role: "writer",
  serviceToken: false,
  grants: [{ base: "reader", statements: [{ effect: "allow", resources: DATA, notActions: ["bypassRequiredApproval"] }] }],
});
const alice = writer("alice");
const bob = writer("bob");
const where = { projectKey: "shop", flagKey: "checkout", envKey: "production" };

let ctx: FlagsContext;
let store: MemoryFlagStore;
let now: number;

async function requireApprovals(settings: Record<string, unknown> = {}) {
  await patchEnvironment(ctx, admin, "shop", "production", [
    { op: "replace", path: "/approvalSettings/required", value: true },
    ...Object.entries(settings).map(([k, value]) => ({ op: "replace", path: `/approvalSettings/${k}`, value })),
  ], "application/json");
}

const on = async (env = "production") => ((await getFlag(ctx, admin, "shop", "checkout", {})).environments as Record<string, { on: boolean }>)[env]!.on;

beforeEach(async () => {
  now = 1_800_000_000_000;
  ({ ctx, store } = await memoryContext(() => now));
  await createFlag(ctx, admin, "shop", { key: "checkout", name: "Checkout", tags: ["payments"] });
});

describe("settings", () => {
  test("every environment shows approvalSettings; a patch changes them, audited; required with tags is refused", async () => {
    const env = await getEnvironment(ctx, admin, "shop", "production");
    expect(env.approvalSettings).toEqual({ required: false, bypassApprovalsForPendingChanges: false, minNumApprovals: 1, canReviewOwnRequest: false, canApplyDeclinedChanges: true, serviceKind: "launchdarkly", serviceConfig: {}, requiredApprovalTags: [] });
    await requireApprovals({ minNumApprovals: 2 });
    const after = await getEnvironment(ctx, admin, "shop", "production");
    expect(after.approvalSettings.required).toBe(true);
    expect(after.approvalSettings.minNumApprovals).toBe(2);
    const entry = (await store.listAudit({ limit: 20 })).find((e) => e.kind === "environment")!;
    expect(entry.accesses).toEqual([{ action: "updateApprovalSettings", resource: "proj/shop:env/production" }]);
    const both = await rejection(patchEnvironment(ctx, admin, "shop", "production", [{ op: "add", path: "/approvalSettings/requiredApprovalTags", value: ["payments"] }], "application/json"));
    expect(both.status).toBe(400);
    expect(both.message).toContain("not both");
    for (const bad of [{ path: "/approvalSettings/minNumApprovals", value: 9 }, { path: "/approvalSettings/serviceKind", value: "servicenow" }, { path: "/approvalSettings/extra", value: 1 }]) {
      expect((await rejection(patchEnvironment(ctx, admin, "shop", "production", [{ op: "add", ...bad }], "application/json"))).status).toBe(400);
    }
  });
});

describe("the gate", () => {
  test("every direct change of the flag's targeting there is 405 unless bypassed; other environments and flag-wide fields are not gated", async () => {
    await requireApprovals();
    const expect405 = async (work: Promise<unknown>, action?: string) => {
      const e = await rejection(work);
      expect({ status: e.status, code: e.code }).toEqual({ status: 405, code: "method_not_allowed" });
      if (action) expect(e.message).toBe(`Flag configuration updates require approval: action '${action}' not allowed`);
    };
    await expect405(patchFlag(ctx, alice, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC), "updateOn");
    await expect405(patchFlag(ctx, alice, "shop", "checkout", [{ op: "replace", path: "/environments/production/on", value: true }], "application/json"), "updateOn");
    await expect405(patchFlag(ctx, alice, "shop", "checkout", { merge: { environments: { production: { on: true } } } }, "application/json"));
    await expect405(unleashToggle(ctx, alice, "shop", "production", "checkout", true));
    const targeting = { disabled: false, content: { rules: [], disabledServe: { select: 1 }, defaultServe: { select: 0 }, variations: [{ value: "true" }, { value: "false" }] } };
    await expect405(patchFeatureProbeTargeting(ctx, alice, "shop", "production", "checkout", targeting));
    await expect405(copyFlagConfig(ctx, alice, "shop", "checkout", { source: { key: "test" }, target: { key: "production" }, includedActions: ["updateOffVariation", "updateOn"] }).then(() => patchFlag(ctx, alice, "shop", "checkout", { environmentKey: "test", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC)).then(() => copyFlagConfig(ctx, alice, "shop", "checkout", { source: { key: "test" }, target: { key: "production" } })));
    await expect405(createScheduledChange(ctx, alice, "shop", "checkout", "production", { executionDate: now + 60_000, instructions: [{ kind: "turnFlagOn" }] }, false));
    const flag = await getFlag(ctx, admin, "shop", "checkout", {});
    await expect405(patchFlag(ctx, alice, "shop", "checkout", [{ op: "add", path: "/variations/0/name", value: "Yes" }], "application/json"));
    await patchFlag(ctx, admin, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "addTargets", variationId: flag.variations[0]!._id, values: ["a"] }] }, SEMANTIC);
    await expect405(patchFlagExpiringTargets(ctx, alice, "shop", "checkout", "production", { instructions: [{ kind: "addExpiringTarget", variationId: flag.variations[0]!._id, contextKey: "a", value: now + 1000 }] }, SEMANTIC, false));
    expect(await on()).toBe(false);
    // Not gated: another environment (done above in the copy chain), the flag's name and tags.
    expect(await on("test")).toBe(true);
    await patchFlag(ctx, alice, "shop", "checkout", [{ op: "replace", path: "/name", value: "Checkout 2" }], "application/json");
    await patchFlag(ctx, alice, "shop", "checkout", { instructions: [{ kind: "archiveFlag" }] }, SEMANTIC);
    await patchFlag(ctx, alice, "shop", "checkout", { instructions: [{ kind: "restoreFlag" }] }, SEMANTIC);
    // The bypass is recorded.
    await patchFlag(ctx, admin, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC);
    expect(await on()).toBe(true);
    const entry = (await store.listAudit({ limit: 1 }))[0]!;
    expect(entry.accesses).toContainEqual({ action: "bypassRequiredApproval", resource: "proj/shop:env/production:flag/checkout" });
    expect(entry.description).toContain("Bypassed required approval in production");
  });

  test("requiredApprovalTags gate only the flags with one of the tags", async () => {
    await patchEnvironment(ctx, admin, "shop", "production", [{ op: "replace", path: "/approvalSettings/requiredApprovalTags", value: ["payments"] }], "application/json");
    await createFlag(ctx, admin, "shop", { key: "banner", name: "Banner" });
    await patchFlag(ctx, alice, "shop", "banner", { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC);
    expect((await rejection(patchFlag(ctx, alice, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC))).status).toBe(405);
  });
});

describe("requests", () => {
  test("request, self-review refused, approve by another, apply: the change is made once, each step audited", async () => {
    await requireApprovals();
    const made = await createFlagApproval(ctx, alice, where, { description: "Turn on checkout", instructions: [{ kind: "turnFlagOn" }], comment: "ready", notifyMemberIds: ["m-bob"] });
    expect(made).toMatchObject({ _version: 1, serviceKind: "launchdarkly", requestorId: "m-alice", description: "Turn on checkout", reviewStatus: "pending", allReviews: [], notifyMemberIds: ["m-bob"], status: "pending", instructions: [{ kind: "turnFlagOn" }], conflicts: [] });
    expect(made._links.self!.href).toBe(`/api/v2/projects/shop/flags/checkout/environments/production/approval-requests/${made._id}`);
    // Not yet approved.
    expect((await rejection(applyFlagApproval(ctx, alice, where, made._id, {}))).message).toContain("needs 1 approval");
    const self = await rejection(reviewFlagApproval(ctx, alice, where, made._id, { kind: "approve" }));
    expect(self.status).toBe(403);
    // A comment is always allowed and never counts.
    expect((await reviewFlagApproval(ctx, alice, where, made._id, { kind: "comment", comment: "ping" })).reviewStatus).toBe("pending");
    const approved = await reviewFlagApproval(ctx, bob, where, made._id, { kind: "approve", comment: "Looks good" });
    expect(approved.reviewStatus).toBe("approved");
    expect(approved.allReviews.map((r) => [r.kind, r.memberId])).toEqual([["comment", "m-alice"], ["approve", "m-bob"]]);
    const applied = await applyFlagApproval(ctx, alice, where, made._id, { comment: "shipping" });
    expect(applied).toMatchObject({ status: "completed", appliedDate: now, appliedByMemberId: "m-alice" });
    expect(await on()).toBe(true);
    expect((await rejection(applyFlagApproval(ctx, alice, where, made._id, {}))).message).toContain("already completed");
    const entries = (await store.listAudit({ limit: 20 })).filter((e) => e.kind === "flag").map((e) => e.accesses.map((a) => a.action));
    expect(entries.slice(0, 4)).toEqual([["updateOn", "applyApprovalRequest"], ["reviewApprovalRequest"], ["reviewApprovalRequest"], ["createApprovalRequest"]]);
    expect((await listFlagApprovals(ctx, alice, where)).items.map((r) => r.status)).toEqual(["completed"]);
  });

  test("canReviewOwnRequest, minNumApprovals, declines and canApplyDeclinedChanges", async () => {
    await requireApprovals({ canReviewOwnRequest: true, minNumApprovals: 2, canApplyDeclinedChanges: false });
    const carol = writer("carol");
    const r = await createFlagApproval(ctx, alice, where, { description: "on", instructions: [{ kind: "turnFlagOn" }] });
    expect((await reviewFlagApproval(ctx, alice, where, r._id, { kind: "approve" })).reviewStatus).toBe("pending");
    expect((await reviewFlagApproval(ctx, bob, where, r._id, { kind: "decline" })).reviewStatus).toBe("declined");
    expect((await rejection(applyFlagApproval(ctx, alice, where, r._id, {}))).message).toContain("declined");
    // Bob changes his mind: his latest review counts.
    expect((await reviewFlagApproval(ctx, bob, where, r._id, { kind: "approve" })).reviewStatus).toBe("approved");
    await reviewFlagApproval(ctx, carol, where, r._id, { kind: "decline" });
    await patchEnvironment(ctx, admin, "shop", "production", [{ op: "replace", path: "/approvalSettings/canApplyDeclinedChanges", value: true }], "application/json");
    expect((await applyFlagApproval(ctx, carol, where, r._id, {})).status).toBe("completed");
  });

  test("a conflicting change since the request: reported, and the apply refused without changing anything", async () => {
    await requireApprovals();
    const r = await createFlagApproval(ctx, alice, where, { description: "on", instructions: [{ kind: "turnFlagOn" }, { kind: "updateOffVariation", variationId: (await getFlag(ctx, admin, "shop", "checkout", {})).variations[0]!._id }] });
    await reviewFlagApproval(ctx, bob, where, r._id, { kind: "approve" });
    await patchFlag(ctx, admin, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC);
    await patchFlag(ctx, admin, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "turnFlagOff" }] }, SEMANTIC);
    const seen = await getFlagApproval(ctx, alice, where, r._id);
    expect(seen.conflicts).toEqual([]);
    // Off again, as it was: no conflict. Now a real one.
    await patchFlag(ctx, admin, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC);
    const conflicted = await getFlagApproval(ctx, alice, where, r._id);
    expect(conflicted.conflicts).toEqual([{ instruction: { kind: "turnFlagOn" }, reason: '"environments.production.on" changed since the request was made' }]);
    const before = await getFlag(ctx, admin, "shop", "checkout", {});
    const refused = await rejection(applyFlagApproval(ctx, bob, where, r._id, {}));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain("conflicts");
    expect((await getFlag(ctx, admin, "shop", "checkout", {}))._version).toBe(before._version);
    expect((await getFlagApproval(ctx, alice, where, r._id)).status).toBe("pending");
    await deleteFlagApproval(ctx, alice, where, r._id);
    expect((await rejection(getFlagApproval(ctx, alice, where, r._id))).status).toBe(404);
  });

  test("bad requests: clear 400s and nothing written", async () => {
    const bad = [
      { description: "x", instructions: [{ kind: "noSuchKind" }] },
      { description: "x", instructions: [] },
      { description: " ", instructions: [{ kind: "turnFlagOn" }] },
      { description: "x", instructions: [{ kind: "turnFlagOn" }], executionDate: now - 1 },
      { description: "x", instructions: [{ kind: "deleteFlag" }] },
      { description: "x", instructions: [{ kind: "updateOffVariation", variationId: "nope" }] },
    ];
    for (const post of bad) expect((await rejection(createFlagApproval(ctx, alice, where, post))).status).toBe(400);
    expect((await rejection(createFlagApproval(ctx, alice, { ...where, envKey: "nope" }, { description: "x", instructions: [{ kind: "turnFlagOn" }] }))).status).toBe(404);
    expect((await listFlagApprovals(ctx, alice, where)).items).toEqual([]);
    expect((await rejection(listApprovals(ctx, alice, { filter: "colour equals red" }))).status).toBe(400);
    for (const limit of ["0", "201", "1e3", "-1", "x", ""]) expect((await rejection(listApprovals(ctx, alice, { limit }))).status).toBe(400);
    expect((await rejection(listApprovals(ctx, alice, { offset: "-1" }))).status).toBe(400);
    expect((await rejection(createApproval(ctx, alice, { resourceId: "proj/shop:env/production:segment/s", description: "x", instructions: [{ kind: "turnFlagOn" }] }))).status).toBe(404);
    expect((await rejection(createApproval(ctx, alice, { resourceId: "proj/shop:env/production:aiConfig/s", description: "x", instructions: [{ kind: "turnFlagOn" }] }))).status).toBe(400);
  });

  test("a copy request copies the source's targeting when applied", async () => {
    await requireApprovals();
    await patchFlag(ctx, admin, "shop", "checkout", { environmentKey: "test", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC);
    const r = await createCopyApproval(ctx, alice, where, { description: "copy test", source: { key: "test" } });
    expect(r.source).toEqual({ key: "test", version: 2 });
    await reviewFlagApproval(ctx, bob, where, r._id, { kind: "approve" });
    await applyFlagApproval(ctx, bob, where, r._id, {});
    expect(await on()).toBe(true);
    expect((await rejection(createCopyApproval(ctx, alice, where, { description: "x", source: { key: "test", version: 1 } }))).status).toBe(409);
  });

  test("the generic endpoints: create by resourceId, list with filters, get with expand, review and apply by id", async () => {
    await requireApprovals();
    const r = await createApproval(ctx, alice, { resourceId: "proj/shop:env/production:flag/checkout", description: "on", instructions: [{ kind: "turnFlagOn" }] });
    expect(r).toMatchObject({ resourceId: "proj/shop:env/production:flag/checkout", approvalSettings: { required: true } });
    now += 1;
    const other = await createFlagApproval(ctx, bob, { ...where, envKey: "test" }, { description: "test on", instructions: [{ kind: "turnFlagOn" }] });
    const ids = async (filter?: string) => (await listApprovals(ctx, alice, { filter })).items.map((i) => i._id);
    expect(await ids()).toEqual([other._id, r._id]);
    expect(await ids("requestorId equals m-alice")).toEqual([r._id]);
    expect(await ids('resourceId equals proj/shop:env/test:flag/checkout')).toEqual([other._id]);
    await reviewApproval(ctx, bob, r._id, { kind: "approve" });
    expect(await ids('reviewStatus anyOf ["approved"],projectKey equals shop')).toEqual([r._id]);
    expect((await listApprovals(ctx, alice, { limit: "1" })).totalCount).toBe(2);
    expect((await getApproval(ctx, alice, r._id, "flag,project")) as Record<string, unknown>).toMatchObject({ flag: { key: "checkout" }, project: { key: "shop" } });
    expect((await applyApproval(ctx, bob, r._id, {})).status).toBe("completed");
    expect(await ids('status anyOf ["completed"]')).toEqual([r._id]);
  });
});

describe("requests that edit or delete a scheduled change (operatingOnId)", () => {
  const schedule = (env = "production", at = now + 60_000) => createScheduledChange(ctx, admin, "shop", "checkout", env, { executionDate: at, instructions: [{ kind: "turnFlagOn" }] }, false);

  test("a direct edit or deletion is 405 where approvals are required; a request names the change, is checked when made, and its apply edits it once", async () => {
    const item = await schedule();
    await requireApprovals();
    const expect405 = async (work: Promise<unknown>) => expect((await rejection(work)).status).toBe(405);
    await expect405(patchScheduledChange(ctx, alice, "shop", "checkout", "production", item._id, { instructions: [{ kind: "updateScheduledChangesExecutionDate", value: now + 90_000 }] }, SEMANTIC, false));
    await expect405(patchScheduledChange(ctx, alice, "shop", "checkout", "production", item._id, { instructions: [{ kind: "deleteScheduledChange" }] }, SEMANTIC, false));
    await expect405(deleteScheduledChange(ctx, alice, "shop", "checkout", "production", item._id));

    const variations = (await getFlag(ctx, admin, "shop", "checkout", {})).variations;
    const instructions = [
      { kind: "updateScheduledChangesExecutionDate", value: now + 120_000 },
      { kind: "replaceScheduledChangesInstructions", value: [{ kind: "turnFlagOn" }, { kind: "updateOffVariation", variationId: variations[0]!._id }] },
    ];
    const made = await createFlagApproval(ctx, alice, where, { description: "Later, and off serves true", instructions, operatingOnId: item._id });
    expect(made).toMatchObject({ operatingOnId: item._id, instructions, conflicts: [], status: "pending" });
    expect((await getApproval(ctx, alice, made._id)).operatingOnId).toBe(item._id);

    await reviewFlagApproval(ctx, bob, where, made._id, { kind: "approve" });
    const auditBefore = (await store.listAudit({ limit: 100 })).length;
    expect(await applyFlagApproval(ctx, alice, where, made._id, { comment: "moved" })).toMatchObject({ status: "completed", appliedByMemberId: "m-alice", operatingOnId: item._id });
    const edited = await getScheduledChange(ctx, alice, "shop", "checkout", "production", item._id);
    expect(edited).toMatchObject({ executionDate: now + 120_000, _version: 2, instructions: instructions[1]!.value });
    const entries = await store.listAudit({ limit: 100 });
    expect(entries.length).toBe(auditBefore + 1);
    expect(entries[0]!.accesses.map((a) => a.action)).toEqual(["updateScheduledChanges", "applyApprovalRequest"]);
    expect(entries[0]!.description).toContain(made._id);
    // The flag itself is not changed until the scheduled change runs.
    expect(await on()).toBe(false);
  });

  test("a request to delete: conflicts when the change was edited since, and deletes it when applied", async () => {
    const item = await schedule();
    await requireApprovals();
    const first = await createFlagApproval(ctx, alice, where, { description: "Drop it", instructions: [{ kind: "deleteScheduledChange" }], operatingOnId: item._id });
    await reviewFlagApproval(ctx, bob, where, first._id, { kind: "approve" });
    // Someone who may bypass approvals moves the change meanwhile.
    await patchScheduledChange(ctx, admin, "shop", "checkout", "production", item._id, { instructions: [{ kind: "updateScheduledChangesExecutionDate", value: now + 90_000 }] }, SEMANTIC, false);
    const conflicted = await getFlagApproval(ctx, alice, where, first._id);
    expect(conflicted.conflicts).toEqual([{ instruction: { kind: "deleteScheduledChange" }, reason: `the scheduled change "${item._id}" was edited since the request was made (version 1, now 2)` }]);
    expect((await rejection(applyFlagApproval(ctx, bob, where, first._id, {}))).message).toContain("conflicts");
    expect((await getScheduledChange(ctx, alice, "shop", "checkout", "production", item._id))._version).toBe(2);

    const second = await createFlagApproval(ctx, alice, where, { description: "Drop it", instructions: [{ kind: "deleteScheduledChange" }], operatingOnId: item._id });
    await reviewFlagApproval(ctx, bob, where, second._id, { kind: "approve" });
    expect((await applyFlagApproval(ctx, bob, where, second._id, {})).status).toBe("completed");
    expect((await rejection(getScheduledChange(ctx, alice, "shop", "checkout", "production", item._id))).status).toBe(404);
    expect((await store.listAudit({ limit: 1 }))[0]!.accesses.map((a) => a.action)).toEqual(["deleteScheduledChanges", "applyApprovalRequest"]);
    // The first request now names a change that is gone.
    expect((await getFlagApproval(ctx, alice, where, first._id)).conflicts[0]!.reason).toBe(`the scheduled change "${item._id}" no longer exists`);
  });

  test("bad requests: no such change, one of another environment, flag instructions, an executionDate, a date in the past", async () => {
    const item = await schedule();
    const elsewhere = await schedule("test");
    await requireApprovals();
    const bad = [
      { description: "x", instructions: [{ kind: "deleteScheduledChange" }], operatingOnId: "nope" },
      { description: "x", instructions: [{ kind: "deleteScheduledChange" }], operatingOnId: elsewhere._id },
      { description: "x", instructions: [{ kind: "turnFlagOn" }], operatingOnId: item._id },
      { description: "x", instructions: [{ kind: "deleteScheduledChange" }], operatingOnId: item._id, executionDate: now + 1_000 },
      { description: "x", instructions: [{ kind: "updateScheduledChangesExecutionDate", value: now - 1 }], operatingOnId: item._id },
      { description: "x", instructions: [{ kind: "replaceScheduledChangesInstructions", value: [{ kind: "updateOffVariation", variationId: "nope" }] }], operatingOnId: item._id },
    ];
    for (const post of bad) expect((await rejection(createFlagApproval(ctx, alice, where, post))).status).toBe(400);
    expect((await listFlagApprovals(ctx, alice, where)).items).toEqual([]);
  });
});

describe("requests of segments", () => {
  const SEGMENT = "proj/shop:env/production:segment/beta";
  const included = async () => (await getSegment(ctx, admin, "shop", "production", "beta")).included;

  async function requireSegmentApprovals(settings: Record<string, unknown> = {}) {
    await patchEnvironment(ctx, admin, "shop", "production", [
      { op: "replace", path: "/resourceApprovalSettings/segment/required", value: true },
      ...Object.entries(settings).map(([k, value]) => ({ op: "replace", path: `/resourceApprovalSettings/segment/${k}`, value })),
    ], "application/json");
  }

  beforeEach(async () => {
    await createSegment(ctx, admin, "shop", "production", { key: "beta", name: "Beta", tags: ["early"] });
    await createSegment(ctx, admin, "shop", "test", { key: "beta", name: "Beta" });
  });

  test("settings: resourceApprovalSettings.segment on every environment, patched like approvalSettings, audited, separate from flags'", async () => {
    const env = await getEnvironment(ctx, admin, "shop", "production");
    expect(env.resourceApprovalSettings).toEqual({ segment: { ...env.approvalSettings, resourceKind: "segment" } });
    await requireSegmentApprovals({ minNumApprovals: 2 });
    const after = await getEnvironment(ctx, admin, "shop", "production");
    expect(after.resourceApprovalSettings.segment).toMatchObject({ required: true, minNumApprovals: 2, resourceKind: "segment" });
    expect(after.approvalSettings.required).toBe(false);
    expect((await store.listAudit({ limit: 1 }))[0]!.accesses).toEqual([{ action: "updateApprovalSettings", resource: "proj/shop:env/production" }]);
    // Flags are not gated by the segments' settings.
    await patchFlag(ctx, alice, "shop", "checkout", { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC);
    for (const bad of [{ path: "/resourceApprovalSettings/segment/resourceKind", value: "flag" }, { path: "/resourceApprovalSettings/segment/requiredApprovalTags", value: ["early"] }, { path: "/resourceApprovalSettings/flag", value: {} }]) {
      expect((await rejection(patchEnvironment(ctx, admin, "shop", "production", [{ op: "add", ...bad }], "application/json"))).status).toBe(400);
    }
  });

  test("the gate: a direct change of the segment's targeting is 405 unless bypassed; name, tags and other environments are not gated", async () => {
    await requireSegmentApprovals();
    const add = { environmentKey: "production", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["ann"] }] };
    const e = await rejection(patchSegment(ctx, alice, "shop", "production", "beta", add, SEMANTIC));
    expect({ status: e.status, code: e.code, message: e.message }).toEqual({ status: 405, code: "method_not_allowed", message: "Segment configuration updates require approval: action 'updateIncluded' not allowed" });
    expect((await rejection(patchSegment(ctx, alice, "shop", "production", "beta", [{ op: "add", path: "/included/-", value: "ann" }], "application/json"))).status).toBe(405);
    await patchSegment(ctx, alice, "shop", "production", "beta", [{ op: "replace", path: "/name", value: "Beta testers" }], "application/json");
    await patchSegment(ctx, alice, "shop", "test", "beta", { ...add, environmentKey: "test" }, SEMANTIC);
    expect(await included()).toEqual([]);
    await patchSegment(ctx, admin, "shop", "production", "beta", add, SEMANTIC);
    expect(await included()).toEqual(["ann"]);
    const entry = (await store.listAudit({ limit: 1 }))[0]!;
    expect(entry.accesses).toContainEqual({ action: "bypassRequiredApproval", resource: "proj/shop:env/production:segment/beta" });
    // An expiring target is gated too: it will change the targeting.
    expect((await rejection(patchSegmentExpiringTargets(ctx, alice, "shop", "beta", "production", { instructions: [{ kind: "addExpiringTarget", contextKind: "user", contextKey: "ann", targetType: "included", value: now + 1000 }] }, SEMANTIC, false))).status).toBe(405);
  });

  test("requiredApprovalTags gate only the segments with one of the tags", async () => {
    await patchEnvironment(ctx, admin, "shop", "production", [{ op: "replace", path: "/resourceApprovalSettings/segment/requiredApprovalTags", value: ["early"] }], "application/json");
    await createSegment(ctx, admin, "shop", "production", { key: "staff", name: "Staff" });
    const add = (key: string) => patchSegment(ctx, alice, "shop", "production", key, { environmentKey: "production", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["ann"] }] }, SEMANTIC);
    await add("staff");
    expect((await rejection(add("beta"))).status).toBe(405);
  });

  test("request through the generic endpoint, self-review refused, approved, applied as one audited change of the segment", async () => {
    await requireSegmentApprovals();
    const made = await createApproval(ctx, alice, { resourceId: SEGMENT, description: "Let Ann in", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["ann"] }], notifyMemberIds: ["m-bob"] });
    expect(made).toMatchObject({ resourceId: SEGMENT, requestorId: "m-alice", status: "pending", reviewStatus: "pending", conflicts: [], approvalSettings: { required: true, resourceKind: "segment" } });
    expect(made._links.self!.href).toBe(`/api/v2/approval-requests/${made._id}`);
    expect((await rejection(reviewApproval(ctx, alice, made._id, { kind: "approve" }))).status).toBe(403);
    expect((await rejection(applyApproval(ctx, alice, made._id, {}))).message).toContain("needs 1 approval");
    expect((await reviewApproval(ctx, bob, made._id, { kind: "approve" })).reviewStatus).toBe("approved");
    expect(await included()).toEqual([]);
    const versionBefore = (await getSegment(ctx, admin, "shop", "production", "beta")).version;
    expect(await applyApproval(ctx, alice, made._id, { comment: "welcome" })).toMatchObject({ status: "completed", appliedByMemberId: "m-alice" });
    const segment = await getSegment(ctx, admin, "shop", "production", "beta");
    expect(segment.included).toEqual(["ann"]);
    expect(segment.version).toBe(versionBefore + 1);
    const entries = (await store.listAudit({ limit: 20 })).filter((e) => e.kind === "segment");
    // The refused self-review wrote nothing.
    expect(entries.slice(0, 3).map((e) => e.accesses.map((a) => a.action))).toEqual([["updateIncluded", "applyApprovalRequest"], ["reviewApprovalRequest"], ["createApprovalRequest"]]);
    expect(entries[0]!.description).toContain(made._id);
    // SDKs are told of the apply only.
    expect((await rejection(applyApproval(ctx, alice, made._id, {}))).message).toContain("already completed");
    // Listed and filtered with the flags' requests.
    const flagRequest = await createFlagApproval(ctx, alice, where, { description: "on", instructions: [{ kind: "turnFlagOn" }] });
    const ids = async (filter?: string) => (await listApprovals(ctx, alice, { filter })).items.map((i) => i._id);
    expect(await ids("resourceKind equals segment")).toEqual([made._id]);
    expect(await ids("resourceKind equals flag")).toEqual([flagRequest._id]);
    expect(await ids(`resourceId equals ${SEGMENT}`)).toEqual([made._id]);
    expect(await ids('status anyOf ["completed"]')).toEqual([made._id]);
    expect((await getApproval(ctx, alice, made._id, "resource,project")) as Record<string, unknown>).toMatchObject({ resource: { key: "beta", included: ["ann"] }, project: { key: "shop" } });
  });

  test("a change of the segment since the request is a conflict: reported, the apply refused and nothing changed; deleted", async () => {
    await requireSegmentApprovals();
    const made = await createApproval(ctx, alice, { resourceId: SEGMENT, description: "Rules", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["ann"] }, { kind: "updateName", value: "Beta 2" }] });
    await reviewApproval(ctx, bob, made._id, { kind: "approve" });
    await patchSegment(ctx, admin, "shop", "production", "beta", { environmentKey: "production", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["zed"] }] }, SEMANTIC);
    const seen = await getApproval(ctx, alice, made._id);
    expect(seen.conflicts).toEqual([{ instruction: { kind: "addIncludedTargets", contextKind: "user", values: ["ann"] }, reason: '"included" changed since the request was made' }]);
    const before = await getSegment(ctx, admin, "shop", "production", "beta");
    const refused = await rejection(applyApproval(ctx, bob, made._id, {}));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain("conflicts");
    expect((await getSegment(ctx, admin, "shop", "production", "beta")).version).toBe(before.version);
    expect((await getApproval(ctx, alice, made._id)).status).toBe("pending");
    await deleteApproval(ctx, alice, made._id);
    expect((await rejection(getApproval(ctx, alice, made._id))).status).toBe(404);
  });

  test("bad requests of segments: clear 400s and nothing written", async () => {
    const bad = [
      { resourceId: SEGMENT, description: "x", instructions: [{ kind: "turnFlagOn" }] },
      { resourceId: SEGMENT, description: "x", instructions: [] },
      { resourceId: SEGMENT, description: " ", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["a"] }] },
      { resourceId: SEGMENT, description: "x", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["a"] }], executionDate: now + 1000 },
      { resourceId: SEGMENT, description: "x", instructions: [{ kind: "addIncludedTargets", contextKind: "user", values: ["a"] }], operatingOnId: "x" },
      { resourceId: SEGMENT, description: "x", instructions: [{ kind: "addIncludedTargets", contextKind: "user" }] },
    ];
    for (const post of bad) expect((await rejection(createApproval(ctx, alice, post))).status).toBe(400);
    expect((await listApprovals(ctx, alice, {})).items).toEqual([]);
  });
});
