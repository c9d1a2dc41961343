/** Account members: adding in batches, changing, removing, and the rules around owners. */
import { describe, expect, test } from "bun:test";
import { previousOf } from "@vexil/shared/audit/audit";
import { createMembers, deleteMember, getMember, listMembers, patchMember } from "@vexil/auth/domain/members";
import { verifyAccessToken } from "@vexil/auth/domain/token-verifier";
import { actor, addMember, addToken, auditOf, NOW, placeholderAudit, rejection, roleRecord, testAuth } from "../auth-context.ts";

const JSON_PATCH = "application/json-patch+json";
const MERGE = "application/merge-patch+json";

describe("createMembers", () => {
  test("an admin adds several members at once, each audited", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const created = await createMembers(t.ctx, caller, [
      { email: "Ann@Example.com", firstName: "Ann", role: "writer" },
      { email: "bob@example.com" },
      { email: "cy@example.com", role: "admin", lastName: "Cy" },
    ]);
    expect(created.totalCount).toBe(3);
    expect(created.items.map((m) => [m.email, m.role])).toEqual([
      ["ann@example.com", "writer"],
      ["bob@example.com", "reader"],
      ["cy@example.com", "admin"],
    ]);
    expect(created.items[0]).toMatchObject({ firstName: "Ann", creationDate: NOW, _lastSeen: 0, customRoles: [], _pendingInvite: false, _verified: true });
    for (const m of created.items) expect((await t.store.inner.memberById(m._id))?.email).toBe(m.email);

    const audits = (await t.store.inner.auditEntries(10)).filter((a) => a.kind === "member");
    expect(audits.map((a) => a.name).sort()).toEqual(["ann@example.com", "bob@example.com", "cy@example.com"]);
    for (const a of audits) expect(a.accesses).toEqual([{ action: "createMember", resource: a.spec }]);
  });

  test("a repeated email in the batch is duplicate_email and nothing is added", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const error = await rejection(createMembers(t.ctx, caller, [{ email: "a@example.com" }, { email: "b@example.com" }, { email: "A@example.com" }]), "duplicate_email");
    expect(error.status).toBe(400);
    expect(error.message).toContain("a@example.com");
    expect((await t.store.inner.listMembers({ limit: 10, offset: 0 })).total).toBe(1);
    expect(t.store.methods()).not.toContain("insertMembers");
  });

  test("an email already in the account is email_already_exists_in_account and nothing is added", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    await addMember(t, { email: "taken@example.com" });
    const error = await rejection(createMembers(t.ctx, caller, [{ email: "new@example.com" }, { email: "TAKEN@example.com" }]), "email_already_exists_in_account");
    expect(error.status).toBe(400);
    expect(await t.store.inner.memberByEmail("new@example.com")).toBeUndefined();
    expect((await t.store.inner.auditEntries(5)).filter((a) => a.kind === "member")).toEqual([]);
  });

  test("a password is stored only as an argon2id hash, never in the audit log", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const [rep] = (await createMembers(t.ctx, caller, [{ email: "pw@example.com", password: "correct horse battery" }])).items;
    const stored = (await t.store.inner.memberById(rep!._id))!;
    expect(stored.passwordHash).toStartWith("$argon2id$");
    expect(await Bun.password.verify("correct horse battery", stored.passwordHash!)).toBe(true);
    expect(JSON.stringify(rep)).not.toContain("correct horse");
    expect(t.store.received()).not.toContain("correct horse battery");
    expect(JSON.stringify(await t.store.inner.auditEntries(10))).not.toContain("correct horse");
  });

  test("callers without the grant, or above their own role, are refused", async () => {
    const t = testAuth();
    const { caller: writer } = await actor(t, "writer");
    await rejection(createMembers(t.ctx, writer, [{ email: "x@example.com" }]), "forbidden");
    const { caller: admin } = await actor(t, "admin");
    // The request schema has no owner role; the domain still refuses it to an admin.
    await rejection(createMembers(t.ctx, admin, [{ email: "o@example.com", role: "owner" as "admin" }]), "forbidden");
    expect(await t.store.inner.memberByEmail("x@example.com")).toBeUndefined();
  });

  test("custom roles must exist", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    await t.store.inner.insertRole(roleRecord({ key: "ops" }), placeholderAudit());
    const error = await rejection(createMembers(t.ctx, caller, [{ email: "a@example.com", customRoles: ["ops", "nope"] }]), "invalid_request");
    expect(error.message).toContain("nope");
    const ok = await createMembers(t.ctx, caller, [{ email: "a@example.com", customRoles: ["ops"] }]);
    expect(ok.items[0]!.customRoles).toEqual(["ops"]);
  });
});

describe("listMembers and getMember", () => {
  test("filters by query, role, id and email; pages sort by email", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "reader", { email: "zed@example.com" });
    const ann = await addMember(t, { email: "ann@example.com", firstName: "Ann", role: "writer" });
    await addMember(t, { email: "bob@example.com", role: "admin" });
    expect((await listMembers(t.ctx, caller, {})).items.map((m) => m.email)).toEqual(["ann@example.com", "bob@example.com", "zed@example.com"]);
    expect((await listMembers(t.ctx, caller, { filter: "role:writer|admin" })).items.map((m) => m.email)).toEqual(["ann@example.com", "bob@example.com"]);
    expect((await listMembers(t.ctx, caller, { filter: "query:ANN" })).items.map((m) => m.email)).toEqual(["ann@example.com"]);
    expect((await listMembers(t.ctx, caller, { filter: `id:${ann.id}` })).totalCount).toBe(1);
    expect((await listMembers(t.ctx, caller, { filter: "email:bob@example.com,role:admin" })).totalCount).toBe(1);
    const page = await listMembers(t.ctx, caller, { limit: "1", offset: "1" });
    expect(page.items.map((m) => m.email)).toEqual(["bob@example.com"]);
    expect(page.totalCount).toBe(3);
    expect(page._links.prev).toBeDefined();
    expect(page._links.next).toBeDefined();
  });

  test("sort by display name (first and last name, else the email) or email, either way, in byte order", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "reader", { email: "zed@example.com", firstName: "Ann", lastName: "Zed" });
    await addMember(t, { email: "amy@example.com", firstName: "Bob", lastName: null });
    await addMember(t, { email: "yan@example.com", firstName: null, lastName: "Cole" });
    await addMember(t, { email: "cab@example.com", firstName: null, lastName: null });
    await addMember(t, { email: "ann@example.com", firstName: "Ann", lastName: "Zed" });
    await addMember(t, { email: "bea@example.com", firstName: "", lastName: "" });
    await addMember(t, { email: "eve@example.com", firstName: "ann", lastName: null });
    const order = async (sort?: string) => (await listMembers(t.ctx, caller, sort === undefined ? {} : { sort })).items.map((m) => m.email);
    // Display names: "Ann Zed" twice (by email), "Bob", "Cole", "bea@…" and "cab@…" (no name), "ann" (lower case after upper).
    const byName = ["ann@example.com", "zed@example.com", "amy@example.com", "yan@example.com", "eve@example.com", "bea@example.com", "cab@example.com"];
    expect(await order("displayName")).toEqual(byName);
    expect(await order("-displayName")).toEqual([...byName].reverse());
    const byEmail = ["amy@example.com", "ann@example.com", "bea@example.com", "cab@example.com", "eve@example.com", "yan@example.com", "zed@example.com"];
    expect(await order()).toEqual(byEmail);
    expect(await order("email")).toEqual(byEmail);
    expect(await order("-email")).toEqual([...byEmail].reverse());
    const page = await listMembers(t.ctx, caller, { sort: "-displayName", filter: "query:example", limit: "2", offset: "2" });
    expect(page.items.map((m) => m.email)).toEqual(["eve@example.com", "yan@example.com"]);
    expect(page._links.next?.href).toBe("/api/v2/members?filter=query%3Aexample&limit=2&offset=4&sort=-displayName");
  });

  test("unknown filters and sorts, and empty filter values, are 400s", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "reader");
    await rejection(listMembers(t.ctx, caller, { filter: "team:x" }), "invalid_request");
    await rejection(listMembers(t.ctx, caller, { filter: "role:" }), "invalid_request");
    await rejection(listMembers(t.ctx, caller, { sort: "age" }), "invalid_request");
    await rejection(listMembers(t.ctx, caller, { sort: "" }), "invalid_request");
    await rejection(listMembers(t.ctx, caller, { sort: "--email" }), "invalid_request");
  });

  test("a member with no access reads nothing; unknown ids are 404", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "no_access");
    await rejection(listMembers(t.ctx, caller, {}), "forbidden");
    await rejection(getMember(t.ctx, caller, member.id), "forbidden");
    const { caller: reader } = await actor(t, "reader");
    expect((await getMember(t.ctx, reader, member.id))._id).toBe(member.id);
    await rejection(getMember(t.ctx, reader, "ffffffffffffffffffffffff"), "not_found");
  });
});

describe("patchMember", () => {
  test("members change their own name and password, which is hashed and redacted from the audit entry", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "reader");
    const rep = await patchMember(
      t.ctx,
      caller,
      member.id,
      [
        { op: "replace", path: "/firstName", value: "Dee" },
        { op: "add", path: "/password", value: "a brand new secret" },
      ],
      JSON_PATCH,
    );
    expect(rep.firstName).toBe("Dee");
    expect(rep).not.toHaveProperty("password");
    const stored = (await t.store.inner.memberById(member.id))!;
    expect(stored.version).toBe(2);
    expect(stored.passwordHash).toStartWith("$argon2id$");
    expect(await Bun.password.verify("a brand new secret", stored.passwordHash!)).toBe(true);
    expect(t.store.received()).not.toContain("a brand new secret");
    const audit = await auditOf(t, "updateMemberPassword");
    expect(audit.accesses.map((a) => a.action)).toEqual(["updateMemberName", "updateMemberPassword"]);
    expect(audit.delta).toEqual([
      { op: "replace", path: "/firstName", value: "Dee" },
      { op: "add", path: "/password", value: "[redacted]" },
    ]);
    // No role changed: nothing to revoke.
    expect(t.events.revocations).toEqual([]);
  });

  test("a merge patch's password is redacted too", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "admin");
    const other = await addMember(t, { role: "writer" });
    await patchMember(t.ctx, caller, other.id, { password: "another new secret" }, MERGE);
    const audit = await auditOf(t, "updateMemberPassword");
    expect(audit.delta).toEqual({ password: "[redacted]" });
    expect(audit.memberId).toBe(member.id);
    expect(JSON.stringify(audit)).not.toContain("another new secret");
  });

  test("members cannot change their own role", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    await rejection(patchMember(t.ctx, caller, member.id, { role: "admin" }, MERGE), "forbidden");
    await rejection(patchMember(t.ctx, caller, member.id, { role: "reader" }, MERGE), "forbidden");
    expect((await t.store.inner.memberById(member.id))!.role).toBe("writer");
  });

  test("a member cannot rename another member without the grant", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "writer");
    const other = await addMember(t, { role: "reader" });
    await rejection(patchMember(t.ctx, caller, other.id, { firstName: "X" }, MERGE), "forbidden");
  });

  test("an admin changes a member's role; the member's verdicts are revoked", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const other = await addMember(t, { role: "writer" });
    const rep = await patchMember(t.ctx, caller, other.id, { role: "reader" }, MERGE);
    expect(rep.role).toBe("reader");
    expect(t.events.revocations).toEqual([{ memberIds: [other.id] }]);
    const audit = await auditOf(t, "updateMemberRole");
    expect(audit).toMatchObject({ kind: "member", spec: `member/${other.id}`, accesses: [{ action: "updateMemberRole" }], previousVersion: 1, currentVersion: 2 });
    expect((previousOf(audit) as { role: string }).role).toBe("writer");
    expect(audit.previousDelta).toEqual(expect.arrayContaining([expect.objectContaining({ path: "/role" })]));
    expect((audit.current as { role: string }).role).toBe("reader");
  });

  test("an admin's member token follows a demotion at once", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const other = await addMember(t, { role: "admin" });
    const { value } = await addToken(t, other.id, { role: "admin" });
    await patchMember(t.ctx, caller, other.id, { role: "reader" }, MERGE);
    const verdict = await verifyAccessToken(t.store.inner, value, NOW);
    expect(verdict).toMatchObject({ ok: true, caller: { role: "reader" } });
  });

  test("only an owner changes an owner's role or makes an owner", async () => {
    const t = testAuth();
    const { caller: admin } = await actor(t, "admin");
    const { member: owner, caller: ownerCaller } = await actor(t, "owner");
    const other = await addMember(t, { role: "writer" });
    await rejection(patchMember(t.ctx, admin, owner.id, { role: "admin" }, MERGE), "forbidden");
    await rejection(patchMember(t.ctx, admin, other.id, { role: "owner" }, MERGE), "forbidden");
    expect((await patchMember(t.ctx, ownerCaller, other.id, { role: "owner" }, MERGE)).role).toBe("owner");
    expect(await t.store.inner.countOwners()).toBe(2);
    expect((await patchMember(t.ctx, ownerCaller, other.id, { role: "admin" }, MERGE)).role).toBe("admin");
  });

  test("the last owner cannot be demoted", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "owner");
    const error = await rejection(patchMember(t.ctx, caller, member.id, { role: "admin" }, MERGE), "invalid_request");
    expect(error.message).toContain("last owner");
    expect((await t.store.inner.memberById(member.id))!.role).toBe("owner");
  });

  test("an admin cannot give a role above its own", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const other = await addMember(t, { role: "reader" });
    expect((await patchMember(t.ctx, caller, other.id, { role: "admin" }, MERGE)).role).toBe("admin");
    await rejection(patchMember(t.ctx, caller, other.id, { role: "owner" }, MERGE), "forbidden");
  });

  test("custom roles must exist, and a change of custom roles revokes", async () => {
    const t = testAuth();
    await t.store.inner.insertRole(roleRecord({ key: "ops" }), placeholderAudit());
    const { caller } = await actor(t, "admin");
    const other = await addMember(t, { role: "reader" });
    await rejection(patchMember(t.ctx, caller, other.id, { customRoles: ["nope"] }, MERGE), "invalid_request");
    expect((await patchMember(t.ctx, caller, other.id, { customRoles: ["ops"] }, MERGE)).customRoles).toEqual(["ops"]);
    expect(t.events.revocations).toEqual([{ memberIds: [other.id] }]);
  });

  test("read-only fields, unknown fields and invalid values are 400s", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const other = await addMember(t);
    await rejection(patchMember(t.ctx, caller, other.id, { email: "new@example.com" }, MERGE), "invalid_request");
    await rejection(patchMember(t.ctx, caller, other.id, { shoeSize: 44 }, MERGE), "invalid_request");
    await rejection(patchMember(t.ctx, caller, other.id, { role: "superuser" }, MERGE), "invalid_request");
    await rejection(patchMember(t.ctx, caller, other.id, { password: "short" }, MERGE), "invalid_request");
    await rejection(patchMember(t.ctx, caller, "ffffffffffffffffffffffff", { firstName: "X" }, MERGE), "not_found");
  });

  test("a merge patch's null clears a name, in every merge form, as a remove or a replace with null does", async () => {
    const cases: Array<[unknown, string]> = [
      [{ firstName: null }, MERGE],
      [{ merge: { firstName: null } }, "application/json"],
      [{ comment: "no first name", merge: { firstName: null } }, "application/json"],
      [{ firstName: null }, "application/json"],
      [[{ op: "remove", path: "/firstName" }], JSON_PATCH],
      [[{ op: "replace", path: "/firstName", value: null }], JSON_PATCH],
    ];
    for (const [body, contentType] of cases) {
      const t = testAuth();
      const { member, caller } = await actor(t, "reader", { firstName: "Ann", lastName: "Lee" });
      const rep = await patchMember(t.ctx, caller, member.id, body, contentType);
      expect(JSON.parse(JSON.stringify(rep))).not.toHaveProperty("firstName");
      expect(rep.lastName).toBe("Lee");
      expect((await t.store.inner.memberById(member.id))!).toMatchObject({ firstName: null, lastName: "Lee", version: 2 });
      expect((await auditOf(t, "updateMemberName")).accesses.map((a) => a.action)).toEqual(["updateMemberName"]);
    }
  });

  test("an admin clears both names of a member with one merge patch; nulls of unset names change nothing", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const other = await addMember(t, { firstName: "Ann", lastName: "Lee" });
    const rep = await patchMember(t.ctx, caller, other.id, { firstName: null, lastName: null }, MERGE);
    expect(JSON.parse(JSON.stringify(rep))).not.toHaveProperty("firstName");
    expect(JSON.parse(JSON.stringify(rep))).not.toHaveProperty("lastName");
    expect((await t.store.inner.memberById(other.id))!).toMatchObject({ firstName: null, lastName: null, version: 2 });
    t.store.calls.length = 0;
    await patchMember(t.ctx, caller, other.id, { firstName: null, lastName: null, password: null }, MERGE);
    expect(t.store.methods()).not.toContain("updateMember");
  });

  test("a merge patch's null on the role or the custom roles is a 400 naming it, and nothing changes", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const other = await addMember(t, { firstName: "Ann", role: "writer" });
    for (const field of ["role", "customRoles"]) {
      const error = await rejection(patchMember(t.ctx, caller, other.id, { [field]: null, firstName: null }, MERGE), "invalid_request");
      expect(error.message).toBe(`Invalid ${field}: it is required and cannot be removed or set to null`);
    }
    expect((await t.store.inner.memberById(other.id))!).toMatchObject({ firstName: "Ann", role: "writer", version: 1 });
    expect(t.events.revocations).toEqual([]);
  });

  test("a patch that changes nothing writes nothing", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const other = await addMember(t, { firstName: "Same" });
    t.store.calls.length = 0;
    await patchMember(t.ctx, caller, other.id, { firstName: "Same" }, MERGE);
    expect(t.store.methods()).not.toContain("updateMember");
  });

  test("an admin cannot change an owner's name or password", async () => {
    const t = testAuth();
    const { caller: admin } = await actor(t, "admin");
    const { member: owner } = await actor(t, "owner");
    await rejection(patchMember(t.ctx, admin, owner.id, { firstName: "Mallory" }, MERGE), "forbidden");
    await rejection(patchMember(t.ctx, admin, owner.id, { password: "taken over by admin" }, MERGE), "forbidden");
  });
});

describe("deleteMember", () => {
  test("removing a member removes their personal tokens, keeps service tokens, and revokes both", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    const other = await addMember(t, { role: "writer" });
    const personal = await addToken(t, other.id, { role: "writer" });
    const service = await addToken(t, other.id, { role: "reader", serviceToken: true });
    await deleteMember(t.ctx, caller, other.id);
    expect(await t.store.inner.memberById(other.id)).toBeUndefined();
    expect(await t.store.inner.tokenById(personal.record.id)).toBeUndefined();
    expect(await t.store.inner.tokenById(service.record.id)).toBeDefined();
    expect((await verifyAccessToken(t.store.inner, personal.value, NOW)).ok).toBe(false);
    expect((await verifyAccessToken(t.store.inner, service.value, NOW)).ok).toBe(true);
    expect(t.events.revocations).toEqual([{ memberIds: [other.id], tokenIds: [personal.record.id] }]);
    expect(await auditOf(t, "deleteMember")).toMatchObject({ kind: "member", accesses: [{ action: "deleteMember" }], previousVersion: 1 });
  });

  test("a writer cannot remove members; unknown members are 404", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "writer");
    const other = await addMember(t);
    await rejection(deleteMember(t.ctx, caller, other.id), "forbidden");
    const { caller: admin } = await actor(t, "admin");
    await rejection(deleteMember(t.ctx, admin, "ffffffffffffffffffffffff"), "not_found");
  });

  test("only an owner removes an owner, and never the last one", async () => {
    const t = testAuth();
    const { caller: admin } = await actor(t, "admin");
    const { member: first, caller: firstCaller } = await actor(t, "owner");
    await rejection(deleteMember(t.ctx, admin, first.id), "forbidden");
    const lastOwner = await rejection(deleteMember(t.ctx, firstCaller, first.id), "invalid_request");
    expect(lastOwner.message).toContain("last owner");
    const second = await addMember(t, { role: "owner" });
    await deleteMember(t.ctx, firstCaller, second.id);
    expect(await t.store.inner.countOwners()).toBe(1);
  });
});
