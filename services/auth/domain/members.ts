/**
 * Account members. Admins add, change and remove members; only an owner touches owners, and the
 * last owner stays. A change of role or removal reaches the member's tokens at once.
 */
import { auditEntry, patchChange } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { VexilError, invalidRequest, notFound } from "@vexil/shared/errors";
import { link, pageLinks } from "@vexil/shared/http/links";
import { listQuery, pipeList, text, type ListParams } from "@vexil/shared/http/list-query";
import { resourceId } from "@vexil/shared/ids";
import { applyPatch, checkPatchedDocument, parsePatchRequest, patchDelta, untilWritten } from "@vexil/shared/patch";
import type { Resource } from "@vexil/shared/policy";
import type { MemberQuery, MemberRecord, MemberSortField } from "../storage/auth-store.ts";
import type { AuthContext } from "./context.ts";
import { roleRank } from "./grants.ts";
import { MemberEditable, type NewMember } from "./schemas.ts";

const PATH = "/api/v2/members";
const memberResource = (id: string): Resource => [{ type: "member", key: id }];
const spec = (id: string) => `member/${id}`;

export function memberRep(m: MemberRecord) {
  return {
    _id: m.id,
    _links: { self: link(`${PATH}/${m.id}`), parent: link(PATH) },
    firstName: m.firstName ?? undefined,
    lastName: m.lastName ?? undefined,
    role: m.role,
    email: m.email,
    _pendingInvite: false,
    _verified: true,
    customRoles: m.customRoles,
    mfa: "disabled",
    _lastSeen: m.lastSeen ?? 0,
    creationDate: m.createdAt,
    permissionGrants: [],
  };
}
export type MemberRep = ReturnType<typeof memberRep>;

async function checkCustomRoles(ctx: AuthContext, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  const found = await ctx.store.rolesByKeysOrIds(keys);
  const missing = keys.filter((k) => !found.some((r) => r.key === k));
  if (missing.length > 0) throw invalidRequest(`customRoles: no role with key "${missing[0]}"`);
}

function requireOwnerFor(caller: Caller, what: string): void {
  if (caller.role !== "owner") throw new VexilError("forbidden", `Forbidden: only an owner may ${what}`);
}

// `expand` is accepted and ignored: members have nothing to expand.
const LIST = listQuery({ filters: { query: text, role: pipeList, id: pipeList, email: pipeList }, sorts: ["displayName", "email"] satisfies MemberSortField[] });

export async function listMembers(ctx: AuthContext, caller: Caller, params: Omit<ListParams, "expand">) {
  authorizeRead(caller);
  const { page, filters: f, sort } = LIST.parse(params);
  const q: MemberQuery = { ...page, query: f.query, roles: f.role, ids: f.id, emails: f.email, sort };
  const { items, total } = await ctx.store.listMembers(q);
  return { items: items.map(memberRep), totalCount: total, _links: pageLinks(PATH, { filter: params.filter || undefined, sort: params.sort }, q, total) };
}

export async function getMember(ctx: AuthContext, caller: Caller, id: string): Promise<MemberRep> {
  authorizeRead(caller);
  const m = await ctx.store.memberById(id);
  if (!m) throw notFound(`Member "${id}"`);
  return memberRep(m);
}

/** Adds 1–50 members, all or nothing. */
export async function createMembers(ctx: AuthContext, caller: Caller, forms: NewMember[]) {
  const emails = forms.map((f) => f.email.toLowerCase());
  const repeated = emails.find((e, i) => emails.indexOf(e) !== i);
  if (repeated) throw new VexilError("duplicate_email", `The email "${repeated}" appears twice`);
  const now = ctx.now();
  const members: MemberRecord[] = [];
  for (const form of forms) {
    const id = resourceId();
    authorize(caller, "createMember", memberResource(id));
    const role = form.role ?? "reader";
    if (roleRank(role) > roleRank(caller.role)) throw new VexilError("forbidden", `Forbidden: a caller with role ${caller.role} cannot add a member with role ${role}`);
    await checkCustomRoles(ctx, form.customRoles ?? []);
    members.push({
      id,
      email: form.email.toLowerCase(),
      firstName: form.firstName ?? null,
      lastName: form.lastName ?? null,
      role,
      customRoles: form.customRoles ?? [],
      passwordHash: form.password ? await Bun.password.hash(form.password, "argon2id") : null,
      createdAt: now,
      lastSeen: null,
      version: 1,
    });
  }
  const existing = await ctx.store.listMembers({ limit: 1, offset: 0, emails });
  if (existing.total > 0) throw new VexilError("email_already_exists_in_account", `"${existing.items[0]!.email}" is already a member`);
  const audits = members.map((m) =>
    auditEntry({ caller, kind: "member", spec: spec(m.id), name: m.email, verb: "added the member", actions: ["createMember"], current: memberRep(m), currentVersion: 1, now }),
  );
  await ctx.store.insertMembers(members, audits).catch((e: unknown) => {
    if (e instanceof VexilError && e.code === "conflict") throw new VexilError("email_already_exists_in_account", "One of these emails is already a member");
    throw e;
  });
  return { items: members.map(memberRep), totalCount: members.length, _links: { self: link(PATH) } };
}

const MEMBER_RULES = {
  readOnly: ["_id", "_links", "email", "_pendingInvite", "_verified", "mfa", "_lastSeen", "creationDate", "permissionGrants"],
  editable: MemberEditable,
} as const;

export async function patchMember(ctx: AuthContext, caller: Caller, id: string, body: unknown, contentType: string | null): Promise<MemberRep> {
  const request = parsePatchRequest(body, contentType);
  authorizeRead(caller);
  return untilWritten(async () => {
    const current = await ctx.store.memberById(id);
    if (!current) throw notFound(`Member "${id}"`);
    const rep = memberRep(current);
    const patched = applyPatch({ ...rep, firstName: rep.firstName ?? null, lastName: rep.lastName ?? null }, request);
    const fields = checkPatchedDocument<MemberEditable>(rep, patched, MEMBER_RULES);
    const self = caller.memberId === id;
    const actions: string[] = [];
    if (fields.firstName !== current.firstName || fields.lastName !== current.lastName) actions.push("updateMemberName");
    if (fields.role !== current.role || !Bun.deepEquals(fields.customRoles, current.customRoles)) actions.push("updateMemberRole");
    if (fields.password !== undefined) actions.push("updateMemberPassword");
    if (actions.length === 0) return rep;
    // Members keep their own name and password; everything else takes a grant, and only an owner changes an owner.
    if (current.role === "owner" && !self) requireOwnerFor(caller, "change an owner");
    const needsGrant = actions.filter((a) => !(self && a !== "updateMemberRole"));
    if (needsGrant.length > 0) authorize(caller, needsGrant, memberResource(id));
    if (actions.includes("updateMemberRole")) {
      if (current.role === "owner" || fields.role === "owner") requireOwnerFor(caller, "change an owner's role or make someone an owner");
      if (roleRank(fields.role) > roleRank(caller.role)) throw new VexilError("forbidden", `Forbidden: a caller with role ${caller.role} cannot give role ${fields.role}`);
      if (current.role === "owner" && fields.role !== "owner" && (await ctx.store.countOwners()) <= 1) throw invalidRequest("The last owner cannot be demoted");
      await checkCustomRoles(ctx, fields.customRoles);
    }
    const next: MemberRecord = {
      ...current,
      firstName: fields.firstName,
      lastName: fields.lastName,
      role: fields.role,
      customRoles: fields.customRoles,
      passwordHash: fields.password !== undefined ? await Bun.password.hash(fields.password, "argon2id") : current.passwordHash,
      version: current.version + 1,
    };
    const after = memberRep(next);
    const delta = patchDelta(request);
    const audit = auditEntry({
      caller,
      kind: "member",
      spec: spec(id),
      name: current.email,
      actions,
      ...patchChange(request, "member", { previous: rep, current: after }, { previous: current.version, current: next.version }, ctx.now(), redactPasswords(delta)),
    });
    if (await ctx.store.updateMember(next, current.version, audit)) {
      if (actions.includes("updateMemberRole")) await ctx.events.revoked({ memberIds: [id] });
      return after;
    }
    return undefined;
  });
}

/** A password in a patch never reaches the audit log. */
function redactPasswords(delta: unknown): unknown {
  if (Array.isArray(delta)) return delta.map((op) => (op && typeof op === "object" && String((op as { path?: unknown }).path).startsWith("/password") ? { ...op, value: "[redacted]" } : op));
  if (delta && typeof delta === "object" && "password" in delta) return { ...delta, password: "[redacted]" };
  return delta;
}

export async function deleteMember(ctx: AuthContext, caller: Caller, id: string): Promise<void> {
  authorizeRead(caller);
  const member = await ctx.store.memberById(id);
  if (!member) throw notFound(`Member "${id}"`);
  authorize(caller, "deleteMember", memberResource(id));
  if (member.role === "owner") {
    requireOwnerFor(caller, "remove an owner");
    if ((await ctx.store.countOwners()) <= 1) throw invalidRequest("The last owner cannot be removed");
  }
  const audit = auditEntry({ caller, kind: "member", spec: spec(id), name: member.email, verb: "removed the member", actions: ["deleteMember"], previous: memberRep(member), previousVersion: member.version, now: ctx.now() });
  const tokenIds = await ctx.store.deleteMember(id, audit);
  if (!tokenIds) throw notFound(`Member "${id}"`);
  await ctx.events.revoked({ memberIds: [id], tokenIds });
}
