/** Calls every documented auth operation, answers and refusals. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

const NO_SUCH_ID = "000000000000000000000000";

/** The status of `call` once revocations have reached the gateway (they travel on the bus). */
async function settledStatus(call: () => Promise<{ status: number }>, expected: number): Promise<number> {
  let status = 0;
  for (let i = 0; i < 40 && status !== expected; i++) {
    if (i > 0) await Bun.sleep(50);
    status = (await call()).status;
  }
  return status;
}

/** `base`: the server's origin, for what needs more than the client (session cookies). */
export async function exerciseAuth(api: Client, base: string): Promise<void> {
  // The caller: the bootstrap admin token of the account's owner.
  const me = await api.call("GET", "/api/v2/caller-identity");
  expect(me.status).toBe(200);
  expect(me.body).toMatchObject({ authKind: "token", tokenKind: "personal", role: "admin", serviceToken: false });

  // Custom roles.
  const roles = "/api/v2/roles";
  const policy = [{ effect: "allow", resources: ["proj/contract-*"], actions: ["viewProject"] }];
  const role = await api.call("POST", roles, { body: { key: "contract-role", name: "Contract role", policy } });
  expect(role.status).toBe(201);
  expect((await api.call("POST", roles, { body: { key: "contract-role", name: "Again", policy } })).status).toBe(409);
  expect((await api.call("POST", roles, { body: { key: "", name: 5, policy } })).status).toBe(400);
  expect((await api.call("POST", roles, { body: { key: "contract-bad", name: "Bad", policy: [{ effect: "allow", resources: ["proj/*"], notResources: ["proj/x"], actions: ["*"] }] } })).status).toBe(400);
  expect((await api.call("GET", `${roles}?limit=1`)).status).toBe(200);
  expect((await api.call("GET", `${roles}?limit=zero`)).status).toBe(400);
  expect((await api.call("GET", `${roles}/contract-role`)).status).toBe(200);
  expect((await api.call("GET", `${roles}/${role.body._id}`)).status).toBe(200);
  expect((await api.call("GET", `${roles}/contract-nope`)).status).toBe(404);
  expect((await api.call("PATCH", `${roles}/contract-role`, { body: [{ op: "replace", path: "/name", value: "Contract role 2" }] })).status).toBe(200);
  expect((await api.call("PATCH", `${roles}/contract-role`, { body: { comment: "describe", merge: { description: "For the contract" } } })).status).toBe(200);
  expect((await api.call("PATCH", `${roles}/contract-role`, { body: { basePermissions: "no_access" }, headers: { "content-type": "application/merge-patch+json" } })).status).toBe(200);
  expect((await api.call("PATCH", `${roles}/contract-role`, { body: [{ op: "test", path: "/name", value: "other" }] })).status).toBe(409);
  expect((await api.call("PATCH", `${roles}/contract-role`, { body: [{ op: "replace", path: "/key", value: "contract-other" }] })).status).toBe(400);
  // Every field of a role keeps a value: a merge patch cannot null one.
  const nulled = await api.call("PATCH", `${roles}/contract-role`, { body: { description: null }, headers: { "content-type": "application/merge-patch+json" } });
  expect([nulled.status, nulled.body.message]).toEqual([400, "Invalid description: it is required and cannot be removed or set to null"]);
  expect((await api.call("PATCH", `${roles}/contract-nope`, { body: [{ op: "replace", path: "/name", value: "X" }] })).status).toBe(404);

  // Members: a writer with a password and the custom role.
  const members = "/api/v2/members";
  const email = "contract-writer@example.com";
  const password = "contract password 1";
  const added = await api.call("POST", members, { body: [{ email, password, firstName: "Con", role: "writer", customRoles: ["contract-role"] }] });
  expect(added.status).toBe(201);
  const writerId: string = added.body.items[0]._id;
  expect((await api.call("POST", members, { body: [{ email }] })).status).toBe(400);
  expect((await api.call("POST", members, { body: [{ email: "contract-twice@example.com" }, { email: "contract-twice@example.com" }] })).status).toBe(400);
  expect((await api.call("POST", members, { body: [] })).status).toBe(400);
  expect((await api.call("POST", members, { body: [{ email: "contract-unknown-role@example.com", customRoles: ["contract-nope"] }] })).status).toBe(400);
  expect((await api.call("GET", `${members}?limit=5&filter=role:writer|owner`)).status).toBe(200);
  expect((await api.call("GET", `${members}?filter=query:contract&sort=-displayName`)).status).toBe(200);
  // "Con" (the writer) before "Owner" (the bootstrap owner), and the reverse.
  const byName = async (sort: string) => (await api.call("GET", `${members}?filter=id:${writerId}|${me.body.memberId}&sort=${sort}`)).body.items.map((m: { _id: string }) => m._id);
  expect(await byName("displayName")).toEqual([writerId, me.body.memberId]);
  expect(await byName("-displayName")).toEqual([me.body.memberId, writerId]);
  expect((await api.call("GET", `${members}?filter=colour:red`)).status).toBe(400);
  expect((await api.call("GET", `${members}/${writerId}`)).status).toBe(200);
  expect((await api.call("GET", `${members}/${NO_SUCH_ID}`)).status).toBe(404);
  expect((await api.call("PATCH", `${members}/${writerId}`, { body: [{ op: "replace", path: "/firstName", value: "Contract" }] })).status).toBe(200);
  expect((await api.call("PATCH", `${members}/${writerId}`, { body: { merge: { lastName: "Writer" } } })).status).toBe(200);
  expect((await api.call("PATCH", `${members}/${writerId}`, { body: [{ op: "replace", path: "/lastName", value: null }] })).status).toBe(200);
  expect((await api.call("PATCH", `${members}/${writerId}`, { body: [{ op: "replace", path: "/role", value: "owner" }] })).status).toBe(403);
  expect((await api.call("PATCH", `${members}/${writerId}`, { body: [{ op: "replace", path: "/email", value: "contract-other@example.com" }] })).status).toBe(400);
  expect((await api.call("PATCH", `${members}/${writerId}`, { body: [{ op: "test", path: "/firstName", value: "Other" }] })).status).toBe(409);
  const noFirstName = await api.call("PATCH", `${members}/${writerId}`, { body: { firstName: null }, headers: { "content-type": "application/merge-patch+json" } });
  expect(noFirstName.status).toBe(200);
  expect(noFirstName.body).not.toHaveProperty("firstName");
  expect((await api.call("PATCH", `${members}/${writerId}`, { body: { merge: { role: null } } })).status).toBe(400);
  expect((await api.call("PATCH", `${members}/${NO_SUCH_ID}`, { body: [{ op: "replace", path: "/firstName", value: "X" }] })).status).toBe(404);
  expect((await api.call("DELETE", `${roles}/contract-role`)).status).toBe(409);

  // Access tokens: one of the caller's own, and one of the writer's.
  const tokens = "/api/v2/tokens";
  const own = await api.call("POST", tokens, { body: { name: "contract-token", description: "Contract", role: "reader", expiresAt: Date.now() + 86_400_000 } });
  expect(own.status).toBe(201);
  expect(own.body.token).toMatch(/^api-/);
  const ownId: string = own.body._id;
  const writerToken = await api.call("POST", tokens, { body: { name: "contract-writer-token", role: "writer", memberId: writerId } });
  expect(writerToken.status).toBe(201);
  const writer = api.as(writerToken.body.token);
  const custom = await api.call("POST", tokens, { body: { name: "contract-custom-token", customRoleIds: ["contract-role"] } });
  expect(custom.status).toBe(201);
  const inline = await api.call("POST", tokens, { body: { name: "contract-inline-token", inlineRole: policy, serviceToken: true } });
  expect(inline.status).toBe(201);
  expect((await api.call("POST", tokens, { body: { name: "contract-bad", role: "owner" } })).status).toBe(400);
  expect((await api.call("POST", tokens, { body: { name: "contract-bad", role: "reader", customRoleIds: ["contract-role"] } })).status).toBe(400);
  expect((await api.call("POST", tokens, { body: { name: "contract-bad", defaultApiVersion: 20000101 } })).status).toBe(400);
  expect((await writer.call("POST", tokens, { body: { name: "contract-escalation", role: "admin" } })).status).toBe(403);
  expect((await api.call("GET", tokens)).status).toBe(200);
  expect((await api.call("GET", `${tokens}?showAll=true&limit=50`)).status).toBe(200);
  expect((await api.call("GET", `${tokens}?showAll=maybe`)).status).toBe(400);
  expect((await writer.call("GET", tokens)).status).toBe(200);
  expect((await writer.call("GET", `${tokens}?showAll=true`)).status).toBe(403);
  expect((await api.call("GET", `${tokens}/${ownId}`)).status).toBe(200);
  expect((await api.call("GET", `${tokens}/${inline.body._id}`)).status).toBe(200);
  // The writer's token names its member as the member's own answer does: without names once both are cleared.
  const writerTokenRep = await api.call("GET", `${tokens}/${writerToken.body._id}`);
  expect(writerTokenRep.status).toBe(200);
  expect(writerTokenRep.body._member).toEqual({ _id: writerId, email, role: "writer", _links: { self: { href: `/api/v2/members/${writerId}`, type: "application/json" } } });
  expect((await api.call("GET", `${tokens}/${NO_SUCH_ID}`)).status).toBe(404);
  expect((await writer.call("GET", `${tokens}/${ownId}`)).status).toBe(403);
  expect((await api.call("PATCH", `${tokens}/${ownId}`, { body: [{ op: "replace", path: "/name", value: "contract-token-2" }] })).status).toBe(200);
  expect((await api.call("PATCH", `${tokens}/${ownId}`, { body: { merge: { description: "Contract, patched" } } })).status).toBe(200);
  const noExpiry = await api.call("PATCH", `${tokens}/${ownId}`, { body: { expiresAt: null }, headers: { "content-type": "application/merge-patch+json" } });
  expect(noExpiry.status).toBe(200);
  expect(noExpiry.body).not.toHaveProperty("expiresAt");
  expect((await api.call("PATCH", `${tokens}/${ownId}`, { body: { comment: "no expiry", patch: [{ op: "replace", path: "/expiresAt", value: null }] } })).status).toBe(200);
  expect((await api.call("PATCH", `${tokens}/${custom.body._id}`, { body: [{ op: "replace", path: "/customRoleIds", value: [] }, { op: "add", path: "/role", value: "writer" }] })).status).toBe(200);
  expect((await api.call("PATCH", `${tokens}/${ownId}`, { body: [{ op: "test", path: "/name", value: "other" }] })).status).toBe(409);
  expect((await api.call("PATCH", `${tokens}/${ownId}`, { body: [{ op: "replace", path: "/token", value: "api-mine" }] })).status).toBe(400);
  expect((await api.call("PATCH", `${tokens}/${NO_SUCH_ID}`, { body: [{ op: "replace", path: "/name", value: "X" }] })).status).toBe(404);
  expect((await writer.call("PATCH", `${tokens}/${ownId}`, { body: [{ op: "replace", path: "/name", value: "X" }] })).status).toBe(403);
  const reset = await api.call("POST", `${tokens}/${ownId}/reset`);
  expect(reset.status).toBe(200);
  expect(reset.body.token).toMatch(/^api-/);
  expect((await api.call("POST", `${tokens}/${ownId}/reset?expiry=${Date.now() + 60_000}`)).status).toBe(200);
  expect((await api.call("POST", `${tokens}/${ownId}/reset?expiry=soon`)).status).toBe(400);
  expect((await api.call("POST", `${tokens}/${NO_SUCH_ID}/reset`)).status).toBe(404);
  expect((await writer.call("POST", `${tokens}/${ownId}/reset`)).status).toBe(403);
  expect((await writer.call("DELETE", `${tokens}/${ownId}`)).status).toBe(403);
  for (const id of [ownId, custom.body._id, inline.body._id]) expect((await api.call("DELETE", `${tokens}/${id}`)).status).toBe(204);
  expect((await api.call("DELETE", `${tokens}/${ownId}`)).status).toBe(404);

  // The writer's token and refusals by role elsewhere.
  const asWriter = await writer.call("GET", "/api/v2/caller-identity");
  expect(asWriter.status).toBe(200);
  expect(asWriter.body).toMatchObject({ authKind: "token", tokenKind: "personal", memberId: writerId, memberEmail: email, role: "writer" });
  expect((await writer.call("GET", members)).status).toBe(200);
  expect((await writer.call("POST", members, { body: [{ email: "contract-by-writer@example.com", role: "admin" }] })).status).toBe(403);
  expect((await writer.call("PATCH", `${members}/${me.body.memberId}`, { body: [{ op: "replace", path: "/firstName", value: "X" }] })).status).toBe(403);
  expect((await writer.call("DELETE", `${members}/${me.body.memberId}`)).status).toBe(403);
  expect((await writer.call("POST", roles, { body: { key: "contract-by-writer", name: "By writer", policy } })).status).toBe(403);
  expect((await writer.call("PATCH", `${roles}/contract-role`, { body: [{ op: "replace", path: "/name", value: "X" }] })).status).toBe(403);
  expect((await writer.call("DELETE", `${roles}/contract-role`)).status).toBe(403);

  // Sessions: sign in as the writer, from the public origin (`localhost` on the server's port).
  const sessions = "/api/v2/sessions";
  const publicOrigin = `http://localhost:${new URL(base).port}`;
  expect((await api.call("POST", sessions, { token: null, body: { email, password: "not the password" } })).status).toBe(401);
  expect((await api.call("POST", sessions, { token: null, body: { email: 5 } })).status).toBe(400);
  const login = await api.call("POST", sessions, { token: null, body: { email: email.toUpperCase(), password } });
  expect(login.status).toBe(201);
  const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
  const browser = { token: null, headers: { cookie, origin: publicOrigin } };
  const bySession = await api.call("GET", "/api/v2/caller-identity", browser);
  expect(bySession.status).toBe(200);
  expect(bySession.body).toMatchObject({ authKind: "session", memberId: writerId, memberEmail: email, role: "writer", serviceToken: false });
  expect(bySession.body.tokenId).toBeUndefined();
  expect((await api.call("DELETE", sessions, browser)).status).toBe(204);
  expect(await settledStatus(() => api.call("GET", "/api/v2/caller-identity", browser), 401)).toBe(401);
  expect((await api.call("DELETE", sessions, { token: null })).status).toBe(204);

  // Removing the writer ends their tokens; then the role is free to go.
  expect((await api.call("DELETE", `${members}/${writerId}`)).status).toBe(204);
  expect((await api.call("DELETE", `${members}/${writerId}`)).status).toBe(404);
  expect(await settledStatus(() => writer.call("GET", "/api/v2/caller-identity"), 401)).toBe(401);
  expect((await api.call("DELETE", `${roles}/contract-role`)).status).toBe(204);
  expect((await api.call("DELETE", `${roles}/contract-role`)).status).toBe(404);
}
