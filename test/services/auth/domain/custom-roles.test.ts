/** Custom roles: checked policies, audited changes, and every verdict revoked when one changes. */
import { describe, expect, test } from "bun:test";
import { createRole, deleteRole, getRole, listRoles, patchRole } from "@vexil/auth/domain/custom-roles";
import { actor, addMember, addToken, allow, auditOf, deny, placeholderAudit, rejection, testAuth } from "../auth-context.ts";

const JSON_PATCH = "application/json-patch+json";
const MERGE = "application/merge-patch+json";

async function withRole() {
  const t = testAuth();
  const admin = await actor(t, "admin");
  const role = await createRole(t.ctx, admin.caller, { key: "ops", name: "Ops", policy: [allow(["proj/*:env/*:flag/*"], ["updateOn"])] });
  t.events.revocations.length = 0;
  return { t, admin, role };
}

describe("createRole", () => {
  test("an admin creates a role; it is audited and readable", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "admin");
    const rep = await createRole(t.ctx, caller, { key: "ops", name: "Ops", description: "on call", policy: [allow(["proj/*"])], basePermissions: "no_access" });
    expect(rep).toMatchObject({ key: "ops", name: "Ops", description: "on call", policy: [allow(["proj/*"])], basePermissions: "no_access" });
    expect(rep._id).toMatch(/^[0-9a-f]{24}$/);
    expect(rep._links.self.href).toBe("/api/v2/roles/ops");
    expect(await getRole(t.ctx, caller, "ops")).toEqual(rep);
    expect(await getRole(t.ctx, caller, rep._id)).toEqual(rep);
    const audit = await auditOf(t, "createRole");
    expect(audit).toMatchObject({ kind: "role", spec: "role/ops", name: "Ops", memberId: member.id, accesses: [{ action: "createRole", resource: "role/ops" }], currentVersion: 1 });
    // A new role is on nobody yet: nothing to revoke.
    expect(t.events.revocations).toEqual([]);
  });

  test("base permissions default to reader", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    expect((await createRole(t.ctx, caller, { key: "r", name: "R", policy: [] })).basePermissions).toBe("reader");
  });

  test("an invalid policy is a 400 naming the statement", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const bad = [allow(["proj/*"]), { effect: "allow" as const, resources: ["proj/*;{unclosed"], actions: ["*"] }];
    const error = await rejection(createRole(t.ctx, caller, { key: "bad", name: "Bad", policy: bad }), "invalid_request");
    expect(error.status).toBe(400);
    expect(error.message).toStartWith("policy: statement 1");
    const both = await rejection(
      createRole(t.ctx, caller, { key: "bad", name: "Bad", policy: [{ effect: "deny", resources: ["proj/*"], notResources: ["proj/a"], actions: ["*"] }] }),
      "invalid_request",
    );
    expect(both.message).toContain("statement 0");
    expect(await t.store.inner.roleByKeyOrId("bad")).toBeUndefined();
  });

  test("a writer may not create roles; a taken key is a conflict", async () => {
    const { t, admin } = await withRole();
    const { caller: writer } = await actor(t, "writer");
    await rejection(createRole(t.ctx, writer, { key: "mine", name: "Mine", policy: [] }), "forbidden");
    await rejection(createRole(t.ctx, admin.caller, { key: "ops", name: "Again", policy: [] }), "conflict");
  });
});

describe("listRoles and getRole", () => {
  test("roles list by key, in pages", async () => {
    const { t, admin } = await withRole();
    await createRole(t.ctx, admin.caller, { key: "a-first", name: "A", policy: [] });
    await createRole(t.ctx, admin.caller, { key: "z-last", name: "Z", policy: [] });
    const all = await listRoles(t.ctx, admin.caller, {});
    expect(all.items.map((r) => r.key)).toEqual(["a-first", "ops", "z-last"]);
    expect(all.totalCount).toBe(3);
    const page = await listRoles(t.ctx, admin.caller, { limit: "1", offset: "1" });
    expect(page.items.map((r) => r.key)).toEqual(["ops"]);
    expect(page._links.next?.href).toBe("/api/v2/roles?limit=1&offset=2");
  });

  test("an unknown role is 404; a caller without access is 403", async () => {
    const { t, admin } = await withRole();
    await rejection(getRole(t.ctx, admin.caller, "nope"), "not_found");
    const { caller } = await actor(t, "no_access");
    await rejection(getRole(t.ctx, caller, "ops"), "forbidden");
    await rejection(listRoles(t.ctx, caller, {}), "forbidden");
  });
});

describe("patchRole", () => {
  test("a policy change is audited and revokes every verdict", async () => {
    const { t, admin, role } = await withRole();
    const policy = [allow(["proj/*:env/*:flag/*"]), deny(["proj/*:env/production:flag/*"])];
    const rep = await patchRole(t.ctx, admin.caller, "ops", [{ op: "replace", path: "/policy", value: policy }], JSON_PATCH);
    expect(rep.policy).toEqual(policy);
    expect(rep._id).toBe(role._id);
    expect((await t.store.inner.roleByKeyOrId("ops"))!.version).toBe(2);
    expect(t.events.revocations).toEqual([{ all: true }]);
    const audit = await auditOf(t, "updatePolicy");
    expect(audit).toMatchObject({ kind: "role", accesses: [{ action: "updatePolicy" }], previousVersion: 1, currentVersion: 2 });
  });

  test("each changed field is its own action", async () => {
    const { t, admin } = await withRole();
    await patchRole(t.ctx, admin.caller, "ops", { name: "Operations", description: "d", basePermissions: "no_access" }, MERGE);
    const audit = await auditOf(t, "updateName");
    expect(audit.accesses.map((a) => a.action)).toEqual(["updateName", "updateDescription", "updateBasePermissions"]);
  });

  test("an invalid policy is refused and nothing changes", async () => {
    const { t, admin } = await withRole();
    const error = await rejection(patchRole(t.ctx, admin.caller, "ops", { policy: [{ effect: "allow", resources: [":::"], actions: ["*"] }] }, MERGE), "invalid_request");
    expect(error.message).toContain("statement 0");
    expect((await t.store.inner.roleByKeyOrId("ops"))!.version).toBe(1);
    expect(t.events.revocations).toEqual([]);
  });

  test("every field keeps a value: a merge patch's null or a remove is a 400 naming the field, and nothing changes", async () => {
    const { t, admin } = await withRole();
    for (const field of ["name", "description", "policy", "basePermissions"]) {
      for (const [body, contentType] of [
        [{ [field]: null }, MERGE],
        [{ merge: { [field]: null } }, "application/json"],
        [[{ op: "remove", path: `/${field}` }], JSON_PATCH],
      ] as const) {
        const error = await rejection(patchRole(t.ctx, admin.caller, "ops", body, contentType), "invalid_request");
        expect(error.message).toBe(`Invalid ${field}: it is required and cannot be removed or set to null`);
      }
    }
    expect((await t.store.inner.roleByKeyOrId("ops"))!).toMatchObject({ name: "Ops", description: "", basePermissions: "reader", version: 1 });
    expect(t.events.revocations).toEqual([]);
    expect((await patchRole(t.ctx, admin.caller, "ops", { description: "" }, MERGE)).description).toBe("");
  });

  test("the key is read-only; a writer may not change roles; nothing changed publishes nothing", async () => {
    const { t, admin } = await withRole();
    await rejection(patchRole(t.ctx, admin.caller, "ops", { key: "other" }, MERGE), "invalid_request");
    const { caller: writer } = await actor(t, "writer");
    await rejection(patchRole(t.ctx, writer, "ops", { name: "Mine" }, MERGE), "forbidden");
    await patchRole(t.ctx, admin.caller, "ops", { name: "Ops" }, MERGE);
    expect(t.events.revocations).toEqual([]);
    await rejection(patchRole(t.ctx, admin.caller, "nope", { name: "x" }, MERGE), "not_found");
  });
});

describe("deleteRole", () => {
  test("an unused role is deleted, audited, and every verdict revoked", async () => {
    const { t, admin } = await withRole();
    await deleteRole(t.ctx, admin.caller, "ops");
    expect(await t.store.inner.roleByKeyOrId("ops")).toBeUndefined();
    expect(t.events.revocations).toEqual([{ all: true }]);
    expect(await auditOf(t, "deleteRole")).toMatchObject({ kind: "role", accesses: [{ action: "deleteRole" }], previousVersion: 1 });
    await rejection(deleteRole(t.ctx, admin.caller, "ops"), "not_found");
  });

  test("a role in use by a member or a token is a conflict", async () => {
    const { t, admin, role } = await withRole();
    const member = await addMember(t, { customRoles: ["ops"] });
    await rejection(deleteRole(t.ctx, admin.caller, "ops"), "conflict");
    await t.store.inner.deleteMember(member.id, placeholderAudit());
    const { record } = await addToken(t, admin.member.id, { customRoleIds: [role._id] });
    await rejection(deleteRole(t.ctx, admin.caller, "ops"), "conflict");
    expect(t.events.revocations).toEqual([]);
    expect(record.customRoleIds).toEqual([role._id]);
  });

  test("a writer may not delete roles", async () => {
    const { t } = await withRole();
    const { caller } = await actor(t, "writer");
    await rejection(deleteRole(t.ctx, caller, "ops"), "forbidden");
  });
});
