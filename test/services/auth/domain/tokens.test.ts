/** Access tokens: who may create, see, change, reset and delete which, and what leaves the service. */
import { describe, expect, test } from "bun:test";
import { previousOf } from "@vexil/shared/audit/audit";
import { CREDENTIAL_SHAPE, matchesVerifier, parseCredential } from "@vexil/shared/secrets";
import { createToken, deleteToken, getToken, listTokens, patchToken, resetToken, tokenResource } from "@vexil/auth/domain/tokens";
import { getMember } from "@vexil/auth/domain/members";
import { verifyAccessToken } from "@vexil/auth/domain/token-verifier";
import { actor, addMember, addToken, allow, auditOf, NOW, placeholderAudit, rejection, roleRecord, serviceCaller, testAuth, tokenCallerOf, type TestAuth } from "../auth-context.ts";

const JSON_PATCH = "application/json-patch+json";
const MERGE = "application/merge-patch+json";

const verifies = async (t: TestAuth, value: string, at = t.clock.now) => (await verifyAccessToken(t.store.inner, value, at)).ok;

describe("createToken", () => {
  test("a writer creates a token for itself; the whole secret is in the response only", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const rep = await createToken(t.ctx, caller, { name: "ci", role: "writer", description: "pipeline" });

    expect(rep.token).toMatch(CREDENTIAL_SHAPE);
    expect(parseCredential(rep.token)?.kind).toBe("api");
    expect(rep).toMatchObject({ name: "ci", description: "pipeline", role: "writer", memberId: member.id, ownerId: member.id, serviceToken: false, creationDate: NOW });
    expect(rep._member).toMatchObject({ _id: member.id, email: member.email, role: "writer" });
    expect(await verifies(t, rep.token)).toBe(true);

    const stored = (await t.store.inner.tokenById(rep._id))!;
    expect(matchesVerifier(rep.token, stored.verifier)).toBe(true);
    expect(stored.last4).toBe(rep.token.slice(-4));
    expect(t.store.received()).not.toContain(rep.token);
    expect(t.store.received()).not.toContain(rep.token.slice(17, 39));

    const audit = await auditOf(t, "createAccessToken");
    expect(audit).toMatchObject({ kind: "token", spec: `member/${member.id}:token/ci`, accesses: [{ action: "createAccessToken", resource: `member/${member.id}:token/ci` }], memberId: member.id });
    expect(audit.title).toBe(`${member.email} created the access token ci`);
    expect((audit.current as { token: string }).token).toBe(rep.token.slice(-4));
  });

  test("the default role is reader and the default API version the current one", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "writer");
    const rep = await createToken(t.ctx, caller, {});
    expect(rep.role).toBe("reader");
    expect(rep.defaultApiVersion).toBe(20240415);
    expect(rep.name).toBe("");
  });

  test("a writer cannot create a token above its role", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "writer");
    const error = await rejection(createToken(t.ctx, caller, { role: "admin" }), "forbidden");
    expect(error.status).toBe(403);
    expect(error.message).toContain("admin");
  });

  test("a reader may not create tokens at all", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "reader");
    await rejection(createToken(t.ctx, caller, { role: "reader" }), "forbidden");
  });

  test("a writer cannot create a token for another member or a service token", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "writer");
    const other = await addMember(t, { role: "writer" });
    await rejection(createToken(t.ctx, caller, { memberId: other.id }), "forbidden");
    await rejection(createToken(t.ctx, caller, { serviceToken: true }), "forbidden");
    expect(await t.store.inner.listTokens(undefined, { limit: 10, offset: 0 })).toMatchObject({ total: 0 });
  });

  test("only admins give custom roles and inline policies", async () => {
    const t = testAuth();
    const ops = roleRecord({ key: "ops" });
    await t.store.inner.insertRole(ops, placeholderAudit());
    const { caller: writer } = await actor(t, "writer");
    await rejection(createToken(t.ctx, writer, { customRoleIds: ["ops"] }), "forbidden");
    await rejection(createToken(t.ctx, writer, { inlineRole: [allow(["proj/*"])] }), "forbidden");

    const { caller: admin } = await actor(t, "admin");
    const custom = await createToken(t.ctx, admin, { customRoleIds: ["ops"] });
    expect(custom.role).toBeUndefined();
    expect(custom.customRoleIds).toEqual(["ops"]);
    const inline = await createToken(t.ctx, admin, { inlineRole: [allow(["proj/*"])] });
    expect(inline.inlineRole).toEqual([allow(["proj/*"])]);
    expect((await tokenCallerOf(t, inline.token)).role).toBe("custom");
  });

  test("an admin creates tokens for other members and service tokens", async () => {
    const t = testAuth();
    const { member: me, caller } = await actor(t, "admin");
    const other = await addMember(t, { role: "writer" });
    const forOther = await createToken(t.ctx, caller, { memberId: other.id, role: "writer" });
    expect(forOther).toMatchObject({ memberId: other.id, ownerId: me.id });
    const service = await createToken(t.ctx, caller, { serviceToken: true, role: "admin", name: "deploy" });
    expect(service.serviceToken).toBe(true);
    const serviceCaller = await tokenCallerOf(t, service.token);
    expect(serviceCaller).toMatchObject({ serviceToken: true, memberId: null, role: "admin" });
  });

  test("invalid requests are 400s", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "admin");
    await rejection(createToken(t.ctx, caller, { role: "reader", inlineRole: [allow(["proj/*"])] }), "invalid_request");
    await rejection(createToken(t.ctx, caller, { customRoleIds: ["no-such-role"] }), "invalid_request");
    await rejection(createToken(t.ctx, caller, { defaultApiVersion: 20990101 }), "invalid_request");
    await rejection(createToken(t.ctx, caller, { expiresAt: NOW }), "invalid_request");
    await rejection(createToken(t.ctx, caller, { memberId: "ffffffffffffffffffffffff" }), "invalid_request");
  });

  test("a service token must name the member a token is for", async () => {
    const t = testAuth();
    const caller = await serviceCaller(t, "admin");
    const error = await rejection(createToken(t.ctx, caller, {}), "invalid_request");
    expect(error.message).toContain("memberId");
  });
});

describe("listTokens and getToken", () => {
  async function twoMembers() {
    const t = testAuth();
    const writer = await actor(t, "writer");
    const admin = await actor(t, "admin");
    const mine = await addToken(t, writer.member.id, { name: "mine", createdAt: NOW + 1 });
    const theirs = await addToken(t, admin.member.id, { name: "theirs", createdAt: NOW + 2 });
    const service = await addToken(t, admin.member.id, { name: "svc", serviceToken: true, createdAt: NOW + 3 });
    return { t, writer, admin, mine, theirs, service };
  }

  test("members list their own tokens, without secrets", async () => {
    const { t, writer, mine } = await twoMembers();
    const list = await listTokens(t.ctx, writer.caller, {});
    expect(list.totalCount).toBe(1);
    expect(list.items.map((i) => i._id)).toEqual([mine.record.id]);
    expect(list.items[0]!.token).toBe(mine.value.slice(-4));
    expect(JSON.stringify(list)).not.toContain(mine.value);
  });

  test("showAll is for admins only", async () => {
    const { t, writer, admin } = await twoMembers();
    await rejection(listTokens(t.ctx, writer.caller, { showAll: "true" }), "forbidden");
    const all = await listTokens(t.ctx, admin.caller, { showAll: "true" });
    expect(all.items.map((i) => i.name)).toEqual(["mine", "theirs", "svc"]);
    expect(all.totalCount).toBe(3);
    expect((await listTokens(t.ctx, admin.caller, { showAll: "false" })).items.map((i) => i.name)).toEqual(["theirs", "svc"]);
    await rejection(listTokens(t.ctx, admin.caller, { showAll: "yes" }), "invalid_request");
  });

  test("pages carry links and totals", async () => {
    const { t, admin } = await twoMembers();
    const page = await listTokens(t.ctx, admin.caller, { showAll: "true", limit: "2", offset: "0" });
    expect(page.items).toHaveLength(2);
    expect(page.totalCount).toBe(3);
    expect(page._links.next?.href).toBe("/api/v2/tokens?limit=2&offset=2&showAll=true");
  });

  test("a member gets their own token; another member's is forbidden; an unknown one is 404", async () => {
    const { t, writer, mine, theirs } = await twoMembers();
    const own = await getToken(t.ctx, writer.caller, mine.record.id);
    expect(own).toMatchObject({ _id: mine.record.id, token: mine.value.slice(-4) });
    await rejection(getToken(t.ctx, writer.caller, theirs.record.id), "forbidden");
    await rejection(getToken(t.ctx, writer.caller, "ffffffffffffffffffffffff"), "not_found");
  });

  test("the token's member leaves out unset names, as the member's own representation does", async () => {
    const t = testAuth();
    const { member: ann, caller } = await actor(t, "admin", { firstName: "Ann", lastName: null });
    const nameless = await addMember(t, { firstName: null, lastName: null });
    const mine = await addToken(t, ann.id);
    const theirs = await addToken(t, nameless.id);
    const json = (v: unknown) => JSON.parse(JSON.stringify(v));
    const annRep = json(await getToken(t.ctx, caller, mine.record.id));
    expect(annRep._member).toEqual({ _id: ann.id, email: ann.email, role: "admin", firstName: "Ann", _links: { self: { href: `/api/v2/members/${ann.id}`, type: "application/json" } } });
    const member = json(await getMember(t.ctx, caller, ann.id));
    expect(member).toMatchObject({ firstName: "Ann" });
    expect(member).not.toHaveProperty("lastName");
    for (const item of json(await listTokens(t.ctx, caller, { showAll: "true" })).items) {
      expect(item._member).not.toHaveProperty("lastName");
      if (item._id === theirs.record.id) expect(item._member).not.toHaveProperty("firstName");
    }
    expect(json(await getToken(t.ctx, caller, theirs.record.id))._member).toEqual({
      _id: nameless.id,
      email: nameless.email,
      role: "reader",
      _links: { self: { href: `/api/v2/members/${nameless.id}`, type: "application/json" } },
    });
  });

  test("an admin sees every member's token and service tokens", async () => {
    const { t, admin, mine, service } = await twoMembers();
    expect((await getToken(t.ctx, admin.caller, mine.record.id))._id).toBe(mine.record.id);
    expect((await getToken(t.ctx, admin.caller, service.record.id)).serviceToken).toBe(true);
  });
});

describe("patchToken", () => {
  test("an owner of a token renames it; the change is audited and revoked everywhere", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record } = await addToken(t, member.id, { name: "old", role: "writer" });
    const rep = await patchToken(t.ctx, caller, record.id, [{ op: "replace", path: "/name", value: "new" }], JSON_PATCH);
    expect(rep.name).toBe("new");
    expect((await t.store.inner.tokenById(record.id))!).toMatchObject({ name: "new", version: 2 });
    expect(t.events.revocations).toEqual([{ tokenIds: [record.id] }]);
    const audit = await auditOf(t, "updateAccessTokenName");
    expect(audit).toMatchObject({ kind: "token", previousVersion: 1, currentVersion: 2, accesses: [{ action: "updateAccessTokenName" }], delta: [{ op: "replace", path: "/name", value: "new" }] });
  });

  test("a merge patch changes the description", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record } = await addToken(t, member.id, { role: "writer" });
    expect((await patchToken(t.ctx, caller, record.id, { description: "d" }, MERGE)).description).toBe("d");
  });

  test("a patch that changes nothing writes and publishes nothing", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record } = await addToken(t, member.id, { name: "same", role: "writer" });
    t.store.calls.length = 0;
    await patchToken(t.ctx, caller, record.id, { name: "same" }, MERGE);
    expect(t.store.methods()).not.toContain("updateToken");
    expect(t.events.revocations).toEqual([]);
  });

  test("a writer cannot raise its token above its role, nor change another member's token", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record } = await addToken(t, member.id, { role: "reader" });
    await rejection(patchToken(t.ctx, caller, record.id, [{ op: "replace", path: "/role", value: "admin" }], JSON_PATCH), "forbidden");
    expect((await patchToken(t.ctx, caller, record.id, [{ op: "replace", path: "/role", value: "writer" }], JSON_PATCH)).role).toBe("writer");

    const other = await addMember(t, { role: "writer" });
    const theirs = await addToken(t, other.id, { role: "writer" });
    await rejection(patchToken(t.ctx, caller, theirs.record.id, { name: "mine now" }, MERGE), "forbidden");
    expect((await t.store.inner.tokenById(theirs.record.id))!.name).toBe(theirs.record.name);
  });

  test("an admin moves a token to a custom role; the role must exist", async () => {
    const t = testAuth();
    await t.store.inner.insertRole(roleRecord({ key: "ops" }), placeholderAudit());
    const { caller } = await actor(t, "admin");
    const other = await addMember(t, { role: "writer" });
    const { record } = await addToken(t, other.id, { role: "writer" });
    const moved = await patchToken(
      t.ctx,
      caller,
      record.id,
      [
        { op: "remove", path: "/role" },
        { op: "replace", path: "/customRoleIds", value: ["ops"] },
      ],
      JSON_PATCH,
    );
    expect(moved.customRoleIds).toEqual(["ops"]);
    expect(moved.role).toBeUndefined();
    await rejection(patchToken(t.ctx, caller, record.id, [{ op: "replace", path: "/customRoleIds", value: ["missing"] }], JSON_PATCH), "invalid_request");
  });

  // Tokens with an inline policy and an expiry carry every editable field in their representation.
  const full = { inlineRole: [allow(["proj/*:env/*:flag/*"])], expiresAt: NOW + 86_400_000 };

  test("a token with an inline policy and an expiry is renamed; audited and revoked", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "admin");
    const { record } = await addToken(t, member.id, { ...full, name: "old" });
    const rep = await patchToken(t.ctx, caller, record.id, { name: "new" }, MERGE);
    expect(rep).toMatchObject({ name: "new", inlineRole: full.inlineRole, expiresAt: full.expiresAt });
    expect(t.events.revocations).toEqual([{ tokenIds: [record.id] }]);
    const audit = await auditOf(t, "updateAccessTokenName");
    expect(audit).toMatchObject({ kind: "token", previousVersion: 1, currentVersion: 2, accesses: [{ action: "updateAccessTokenName" }], delta: { name: "new" } });
  });

  test("a writer may not change its token's inline policy, nor make it an admin token", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record } = await addToken(t, member.id, full);
    await rejection(patchToken(t.ctx, caller, record.id, [{ op: "replace", path: "/inlineRole", value: [allow(["proj/*"])] }], JSON_PATCH), "forbidden");
    const toRole = (role: string) => [
      { op: "replace", path: "/inlineRole", value: null },
      { op: "add", path: "/role", value: role },
    ];
    await rejection(patchToken(t.ctx, caller, record.id, toRole("admin"), JSON_PATCH), "forbidden");
    expect((await t.store.inner.tokenById(record.id))!.version).toBe(1);
    const writer = await patchToken(t.ctx, caller, record.id, toRole("writer"), JSON_PATCH);
    expect(writer).toMatchObject({ role: "writer", inlineRole: undefined });
    expect(t.events.revocations).toEqual([{ tokenIds: [record.id] }]);
  });

  test("a writer may not change another member's token", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "writer");
    const other = await addMember(t, { role: "writer" });
    const { record } = await addToken(t, other.id, full);
    await rejection(patchToken(t.ctx, caller, record.id, { name: "mine now" }, MERGE), "forbidden");
    expect((await t.store.inner.tokenById(record.id))!.name).toBe(record.name);
  });

  test("a merge patch's null clears the expiry, in every merge form; the change is audited and revoked", async () => {
    for (const [body, contentType] of [
      [{ expiresAt: null }, MERGE],
      [{ merge: { expiresAt: null } }, "application/json"],
      [{ comment: "no expiry", merge: { expiresAt: null } }, "application/json"],
      [{ expiresAt: null }, "application/json"],
    ] as const) {
      const t = testAuth();
      const { member, caller } = await actor(t, "writer");
      const { record, value } = await addToken(t, member.id, { role: "writer", expiresAt: NOW + 60_000 });
      const rep = await patchToken(t.ctx, caller, record.id, body, contentType);
      expect(rep.expiresAt).toBeUndefined();
      expect(JSON.parse(JSON.stringify(rep))).not.toHaveProperty("expiresAt");
      expect((await t.store.inner.tokenById(record.id))!).toMatchObject({ expiresAt: null, version: 2 });
      expect(await verifies(t, value, NOW + 60_000)).toBe(true);
      expect(t.events.revocations).toEqual([{ tokenIds: [record.id] }]);
      const audit = await auditOf(t, "updateAccessTokenExpiry");
      expect(audit).toMatchObject({ accesses: [{ action: "updateAccessTokenExpiry" }], delta: { expiresAt: null } });
      expect((previousOf(audit) as { expiresAt?: number }).expiresAt).toBe(NOW + 60_000);
    }
  });

  test("a JSON Patch remove clears the expiry like a replace with null", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record } = await addToken(t, member.id, { role: "writer", expiresAt: NOW + 60_000 });
    await patchToken(t.ctx, caller, record.id, [{ op: "remove", path: "/expiresAt" }], JSON_PATCH);
    expect((await t.store.inner.tokenById(record.id))!.expiresAt).toBeNull();
  });

  test("a merge patch's null on a token without an expiry changes nothing", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record } = await addToken(t, member.id, { role: "writer" });
    t.store.calls.length = 0;
    await patchToken(t.ctx, caller, record.id, { expiresAt: null, inlineRole: null }, MERGE);
    expect(t.store.methods()).not.toContain("updateToken");
    expect(t.events.revocations).toEqual([]);
  });

  test("a merge patch's null clears the inline policy: the token becomes a reader token", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "admin");
    const { record, value } = await addToken(t, member.id, full);
    const rep = await patchToken(t.ctx, caller, record.id, { merge: { inlineRole: null } }, "application/json");
    expect(rep).toMatchObject({ role: "reader", inlineRole: undefined, expiresAt: full.expiresAt });
    expect((await t.store.inner.tokenById(record.id))!).toMatchObject({ inlineRole: null, role: "reader", expiresAt: full.expiresAt });
    expect((await tokenCallerOf(t, value)).role).toBe("reader");
    expect((await auditOf(t, "updateAccessTokenPolicy")).accesses).toEqual([{ action: "updateAccessTokenPolicy", resource: `member/${member.id}:token/${record.name}` }]);
  });

  test("a merge patch's null on the role turns the token back to a reader", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record } = await addToken(t, member.id, { role: "writer" });
    expect((await patchToken(t.ctx, caller, record.id, { role: null }, MERGE)).role).toBe("reader");
    expect((await t.store.inner.tokenById(record.id))!.role).toBe("reader");
  });

  test("a merge patch's null on a field that must keep a value is a 400 naming it, and nothing changes", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "admin");
    const { record } = await addToken(t, member.id, { ...full, name: "kept" });
    for (const field of ["name", "description", "customRoleIds", "defaultApiVersion"]) {
      const error = await rejection(patchToken(t.ctx, caller, record.id, { [field]: null, expiresAt: null }, MERGE), "invalid_request");
      expect(error.message).toBe(`Invalid ${field}: it is required and cannot be removed or set to null`);
      await rejection(patchToken(t.ctx, caller, record.id, [{ op: "remove", path: `/${field}` }], JSON_PATCH), "invalid_request");
    }
    expect((await t.store.inner.tokenById(record.id))!).toMatchObject({ name: "kept", expiresAt: full.expiresAt, version: 1 });
    expect(t.events.revocations).toEqual([]);
  });

  test("read-only fields stay read-only", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record } = await addToken(t, member.id, { role: "writer" });
    await rejection(patchToken(t.ctx, caller, record.id, { serviceToken: true }, MERGE), "invalid_request");
    await rejection(patchToken(t.ctx, caller, record.id, { memberId: "ffffffffffffffffffffffff" }, MERGE), "invalid_request");
    await rejection(patchToken(t.ctx, caller, record.id, { token: "api-x" }, MERGE), "invalid_request");
  });
});

describe("deleteToken", () => {
  test("a member deletes their own token: it stops working and the revocation is published", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record, value } = await addToken(t, member.id, { role: "writer" });
    await deleteToken(t.ctx, caller, record.id);
    expect(await verifies(t, value)).toBe(false);
    expect(t.events.revocations).toEqual([{ tokenIds: [record.id] }]);
    expect(await auditOf(t, "deleteAccessToken")).toMatchObject({ kind: "token", accesses: [{ action: "deleteAccessToken" }], previousVersion: 1 });
    await rejection(deleteToken(t.ctx, caller, record.id), "not_found");
  });

  test("a writer cannot delete another member's token; an admin can", async () => {
    const t = testAuth();
    const { caller: writer } = await actor(t, "writer");
    const { caller: admin } = await actor(t, "admin");
    const other = await addMember(t, { role: "writer" });
    const { record, value } = await addToken(t, other.id);
    await rejection(deleteToken(t.ctx, writer, record.id), "forbidden");
    expect(await verifies(t, value)).toBe(true);
    await deleteToken(t.ctx, admin, record.id);
    expect(await verifies(t, value)).toBe(false);
  });
});

describe("resetToken", () => {
  test("without an expiry the old secret dies at once; the new one is shown once", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record, value } = await addToken(t, member.id, { role: "writer" });
    const rep = await resetToken(t.ctx, caller, record.id, undefined);
    expect(rep.token).toMatch(CREDENTIAL_SHAPE);
    expect(rep.token).not.toBe(value);
    expect(await verifies(t, rep.token)).toBe(true);
    expect(await verifies(t, value)).toBe(false);
    expect(await t.store.inner.retiredSecret(record.selector)).toBeUndefined();
    expect(t.events.revocations).toEqual([{ tokenIds: [record.id] }]);
    expect((await getToken(t.ctx, caller, record.id)).token).toBe(rep.token.slice(-4));
    expect(t.store.received()).not.toContain(rep.token);
    const audit = await auditOf(t, "resetAccessToken");
    expect(audit).toMatchObject({ accesses: [{ action: "resetAccessToken" }], previousVersion: 1, currentVersion: 2 });
    expect(JSON.stringify(audit)).not.toContain(rep.token);
  });

  test("with a future expiry the old secret keeps working until then", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record, value } = await addToken(t, member.id, { role: "writer" });
    const expiry = NOW + 60_000;
    const rep = await resetToken(t.ctx, caller, record.id, String(expiry));
    expect(await verifies(t, rep.token)).toBe(true);
    expect(await verifies(t, value, NOW)).toBe(true);
    expect(await verifies(t, value, expiry - 1)).toBe(true);
    expect(await verifies(t, value, expiry)).toBe(false);
    expect(await verifies(t, rep.token, expiry)).toBe(true);
    const old = (await verifyAccessToken(t.store.inner, value, NOW)) as { ok: true; caller: { tokenId: string } };
    expect(old.caller.tokenId).toBe(record.id);
  });

  test("an expiry in the past counts as now", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record, value } = await addToken(t, member.id, { role: "writer" });
    await resetToken(t.ctx, caller, record.id, String(NOW - 1));
    expect(await verifies(t, value)).toBe(false);
  });

  test("a malformed expiry is a 400 and nothing changes", async () => {
    const t = testAuth();
    const { member, caller } = await actor(t, "writer");
    const { record, value } = await addToken(t, member.id, { role: "writer" });
    await rejection(resetToken(t.ctx, caller, record.id, "tomorrow"), "invalid_request");
    await rejection(resetToken(t.ctx, caller, record.id, "-5"), "invalid_request");
    expect(await verifies(t, value)).toBe(true);
    expect(t.events.revocations).toEqual([]);
  });

  test("a writer cannot reset another member's token", async () => {
    const t = testAuth();
    const { caller } = await actor(t, "writer");
    const other = await addMember(t, { role: "writer" });
    const { record, value } = await addToken(t, other.id);
    await rejection(resetToken(t.ctx, caller, record.id, undefined), "forbidden");
    expect(await verifies(t, value)).toBe(true);
  });
});

describe("tokenResource", () => {
  test("personal tokens live under their member, service tokens under the account", () => {
    expect(tokenResource({ serviceToken: false, memberId: "m", name: "ci" })).toEqual([
      { type: "member", key: "m" },
      { type: "token", key: "ci" },
    ]);
    expect(tokenResource({ serviceToken: true, memberId: "m", name: "deploy" })).toEqual([{ type: "service-token", key: "deploy" }]);
  });
});
