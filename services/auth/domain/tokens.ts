/**
 * Access tokens: shown once, stored as a selector and a SHA-256 verifier, revoked everywhere at
 * once. Members manage their own tokens as far as their role allows; admins anyone's, and service
 * tokens. No caller can hand a token more power than it has itself.
 */
import { auditEntry, patchChange } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, can, forbidden, specifierOf, type Caller } from "@vexil/shared/caller";
import { invalidRequest, notFound } from "@vexil/shared/errors";
import { link, pageLinks, parsePage } from "@vexil/shared/http/links";
import { resourceId } from "@vexil/shared/ids";
import { applyPatch, checkPatchedDocument, optimisticLockError, parsePatchRequest, untilWritten } from "@vexil/shared/patch";
import type { Resource } from "@vexil/shared/policy";
import { issueCredential } from "@vexil/shared/secrets";
import type { MemberRecord, TokenRecord } from "../storage/auth-store.ts";
import { API_VERSIONS, CURRENT_API_VERSION, type AuthContext } from "./context.ts";
import { roleRank } from "./grants.ts";
import { TokenEditable, type TokenPost } from "./schemas.ts";

const PATH = "/api/v2/tokens";
export const TOKEN_PAGE_SIZE = 25;

export function tokenResource(token: Pick<TokenRecord, "serviceToken" | "memberId" | "name">): Resource {
  return token.serviceToken
    ? [{ type: "service-token", key: token.name }]
    : [
        { type: "member", key: token.memberId },
        { type: "token", key: token.name },
      ];
}

/** The token's member in brief; like the member's own representation, it leaves out unset names. */
const memberSummary = (member: MemberRecord) => ({
  _id: member.id,
  email: member.email,
  role: member.role,
  firstName: member.firstName ?? undefined,
  lastName: member.lastName ?? undefined,
  _links: { self: link(`/api/v2/members/${member.id}`) },
});

export function tokenRep(token: TokenRecord, member: MemberRecord | undefined, secret?: string) {
  const custom = token.inlineRole !== null || token.customRoleIds.length > 0;
  return {
    _id: token.id,
    _links: { self: link(`${PATH}/${token.id}`), parent: link(PATH) },
    ownerId: token.ownerId,
    memberId: token.memberId,
    _member: member ? memberSummary(member) : undefined,
    name: token.name,
    description: token.description,
    creationDate: token.createdAt,
    lastModified: token.lastModified,
    customRoleIds: token.customRoleIds,
    inlineRole: token.inlineRole ?? undefined,
    role: custom ? undefined : token.role,
    /** The whole secret in the create and reset responses only; afterwards its last four characters. */
    token: secret ?? token.last4,
    serviceToken: token.serviceToken,
    defaultApiVersion: token.defaultApiVersion,
    lastUsed: token.lastUsed ?? undefined,
    expiresAt: token.expiresAt ?? undefined,
  };
}
export type TokenRep = ReturnType<typeof tokenRep>;

const ownsToken = (caller: Caller, token: TokenRecord) => !token.serviceToken && caller.memberId !== null && token.memberId === caller.memberId;

/** Members see their own tokens; others' take a grant on them (admins have one). */
const canSee = (caller: Caller, token: TokenRecord) => ownsToken(caller, token) || can(caller, "viewAccessToken", tokenResource(token));

/** Admins (who may act on every member's tokens) see everyone's with `showAll`. */
const canSeeAll = (caller: Caller) => can(caller, "viewAccessToken", [{ type: "member", key: "*" }, { type: "token", key: "*" }]);

/** No caller hands a token more than it holds: built-in roles up to its own, custom and inline policies only from admins. */
function checkDelegation(caller: Caller, fields: { role?: string; customRoleIds?: string[]; inlineRole?: unknown }): void {
  const custom = (fields.customRoleIds?.length ?? 0) > 0 || fields.inlineRole !== undefined && fields.inlineRole !== null;
  if (custom && roleRank(caller.role) < roleRank("admin")) throw forbidden("Forbidden: only admins may give tokens custom roles or inline policies");
  if (!custom && fields.role && roleRank(fields.role) > roleRank(caller.role)) {
    throw forbidden(`Forbidden: a caller with role ${caller.role} cannot create or change a token to role ${fields.role}`);
  }
}

async function checkRoles(ctx: AuthContext, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const found = await ctx.store.rolesByKeysOrIds(ids);
  const missing = ids.filter((id) => !found.some((r) => r.id === id || r.key === id));
  if (missing.length > 0) throw invalidRequest(`customRoleIds: no role "${missing[0]}"`);
}

function checkPolicyChoice(fields: { role?: string; customRoleIds?: string[]; inlineRole?: unknown }): void {
  const given = [fields.role !== undefined, (fields.customRoleIds?.length ?? 0) > 0, fields.inlineRole !== undefined && fields.inlineRole !== null].filter(Boolean);
  if (given.length > 1) throw invalidRequest("Give at most one of role, customRoleIds or inlineRole");
}

function checkApiVersion(version: number): void {
  if (!(API_VERSIONS as readonly number[]).includes(version)) throw invalidRequest(`defaultApiVersion must be one of ${API_VERSIONS.join(", ")}`);
}

async function tokenOr404(ctx: AuthContext, caller: Caller, id: string): Promise<TokenRecord> {
  authorizeRead(caller);
  const token = await ctx.store.tokenById(id);
  if (!token) throw notFound(`Access token "${id}"`);
  if (!canSee(caller, token)) throw forbidden("Forbidden: this access token belongs to another member");
  return token;
}

async function withMember(ctx: AuthContext, token: TokenRecord, secret?: string): Promise<TokenRep> {
  return tokenRep(token, await ctx.store.memberById(token.memberId), secret);
}

export async function listTokens(ctx: AuthContext, caller: Caller, params: { showAll?: string; limit?: string; offset?: string }) {
  authorizeRead(caller);
  if (params.showAll !== undefined && params.showAll !== "true" && params.showAll !== "false") throw invalidRequest("showAll must be true or false");
  const page = parsePage(params, TOKEN_PAGE_SIZE);
  const all = params.showAll === "true";
  if (all && !canSeeAll(caller)) throw forbidden("Forbidden: only admins may list every member's tokens");
  if (!all && caller.memberId === null && !canSeeAll(caller)) return { items: [], totalCount: 0, _links: pageLinks(PATH, {}, page, 0) };
  const { items, total } = await ctx.store.listTokens(all ? undefined : (caller.memberId ?? undefined), page);
  const query = { showAll: params.showAll };
  return { items: await Promise.all(items.map((t) => withMember(ctx, t))), totalCount: total, _links: pageLinks(PATH, query, page, total) };
}

export async function getToken(ctx: AuthContext, caller: Caller, id: string): Promise<TokenRep> {
  return withMember(ctx, await tokenOr404(ctx, caller, id));
}

export async function createToken(ctx: AuthContext, caller: Caller, post: TokenPost): Promise<TokenRep> {
  checkPolicyChoice(post);
  const serviceToken = post.serviceToken ?? false;
  const memberId = post.memberId ?? caller.memberId;
  if (!memberId) throw invalidRequest("memberId is required when a service token creates a token");
  const member = await ctx.store.memberById(memberId);
  if (!member) throw invalidRequest(`memberId: no member "${memberId}"`);
  const now = ctx.now();
  const role = post.inlineRole || post.customRoleIds?.length ? "reader" : (post.role ?? "reader");
  const draft = { name: post.name ?? "", serviceToken, memberId };
  authorize(caller, "createAccessToken", tokenResource(draft));
  checkDelegation(caller, { role: post.role ?? role, customRoleIds: post.customRoleIds, inlineRole: post.inlineRole });
  await checkRoles(ctx, post.customRoleIds ?? []);
  const defaultApiVersion = post.defaultApiVersion ?? CURRENT_API_VERSION;
  checkApiVersion(defaultApiVersion);
  if (post.expiresAt !== undefined && post.expiresAt !== null && post.expiresAt <= now) throw invalidRequest("expiresAt must be in the future");
  const secret = issueCredential("api");
  const token: TokenRecord = {
    id: resourceId(),
    selector: secret.selector,
    verifier: secret.verifier,
    last4: secret.last4,
    name: draft.name,
    description: post.description ?? "",
    ownerId: caller.memberId ?? memberId,
    memberId,
    role,
    customRoleIds: post.customRoleIds ?? [],
    inlineRole: post.inlineRole ?? null,
    serviceToken,
    defaultApiVersion,
    createdAt: now,
    lastModified: now,
    lastUsed: null,
    expiresAt: post.expiresAt ?? null,
    version: 1,
  };
  const rep = tokenRep(token, member);
  await ctx.store.insertToken(
    token,
    auditEntry({ caller, kind: "token", spec: specifierOf(tokenResource(token)), name: token.name || token.id, verb: "created the access token", actions: ["createAccessToken"], current: rep, currentVersion: 1, now }),
  );
  return tokenRep(token, member, secret.value);
}

const TOKEN_RULES = {
  readOnly: ["_id", "_links", "ownerId", "memberId", "_member", "creationDate", "lastModified", "token", "serviceToken", "lastUsed"],
  editable: TokenEditable,
} as const;

function changedActions(before: TokenRecord, after: TokenRecord): string[] {
  const actions: string[] = [];
  if (before.name !== after.name) actions.push("updateAccessTokenName");
  if (before.description !== after.description) actions.push("updateAccessTokenDescription");
  if (before.role !== after.role || !Bun.deepEquals(before.customRoleIds, after.customRoleIds) || !Bun.deepEquals(before.inlineRole, after.inlineRole)) {
    actions.push("updateAccessTokenPolicy");
  }
  if (before.defaultApiVersion !== after.defaultApiVersion) actions.push("updateAccessTokenApiVersion");
  if (before.expiresAt !== after.expiresAt) actions.push("updateAccessTokenExpiry");
  return actions;
}

export async function patchToken(ctx: AuthContext, caller: Caller, id: string, body: unknown, contentType: string | null): Promise<TokenRep> {
  const request = parsePatchRequest(body, contentType);
  return untilWritten(async () => {
    const current = await tokenOr404(ctx, caller, id);
    const member = await ctx.store.memberById(current.memberId);
    const rep = tokenRep(current, member);
    // Absent settings are patched as null, so `replace` can address them; a merge patch's null or a
    // `remove` clears them.
    const base = { ...rep, inlineRole: current.inlineRole, expiresAt: current.expiresAt };
    const fields = checkPatchedDocument<TokenEditable>(rep, applyPatch(base, request), TOKEN_RULES);
    if (fields.expiresAt !== null && fields.expiresAt !== current.expiresAt && fields.expiresAt <= ctx.now()) throw invalidRequest("expiresAt must be in the future");
    const policy = { role: fields.role === "custom" ? undefined : fields.role, customRoleIds: fields.customRoleIds, inlineRole: fields.inlineRole };
    checkPolicyChoice(policy);
    checkApiVersion(fields.defaultApiVersion);
    const next: TokenRecord = {
      ...current,
      name: fields.name,
      description: fields.description,
      role: policy.inlineRole || policy.customRoleIds.length ? current.role : (policy.role ?? "reader"),
      customRoleIds: policy.customRoleIds,
      inlineRole: policy.inlineRole,
      defaultApiVersion: fields.defaultApiVersion,
      expiresAt: fields.expiresAt,
      lastModified: ctx.now(),
      version: current.version + 1,
    };
    const actions = changedActions(current, next);
    if (actions.length === 0) return rep;
    authorize(caller, actions, tokenResource(current));
    if (actions.includes("updateAccessTokenPolicy")) {
      checkDelegation(caller, { role: next.inlineRole || next.customRoleIds.length ? undefined : next.role, customRoleIds: next.customRoleIds, inlineRole: next.inlineRole });
      await checkRoles(ctx, next.customRoleIds);
    }
    const after = tokenRep(next, member);
    const audit = auditEntry({
      caller,
      kind: "token",
      spec: specifierOf(tokenResource(current)),
      name: next.name || next.id,
      actions,
      ...patchChange(request, "access token", { previous: rep, current: after }, { previous: current.version, current: next.version }, next.lastModified),
    });
    if (await ctx.store.updateToken(next, current.version, audit)) {
      await ctx.events.revoked({ tokenIds: [id] });
      return after;
    }
    return undefined;
  });
}

export async function deleteToken(ctx: AuthContext, caller: Caller, id: string): Promise<void> {
  const token = await tokenOr404(ctx, caller, id);
  authorize(caller, "deleteAccessToken", tokenResource(token));
  const member = await ctx.store.memberById(token.memberId);
  const audit = auditEntry({ caller, kind: "token", spec: specifierOf(tokenResource(token)), name: token.name || token.id, verb: "deleted the access token", actions: ["deleteAccessToken"], previous: tokenRep(token, member), previousVersion: token.version, now: ctx.now() });
  if (!(await ctx.store.deleteToken(id, audit))) throw notFound(`Access token "${id}"`);
  await ctx.events.revoked({ tokenIds: [id] });
}

/** A new secret; the old one keeps working until `expiry` (unix ms), by default it dies now. */
export async function resetToken(ctx: AuthContext, caller: Caller, id: string, expiryParam: string | undefined): Promise<TokenRep> {
  const now = ctx.now();
  let expiry = now;
  if (expiryParam !== undefined && expiryParam !== "") {
    if (!/^\d{1,15}$/.test(expiryParam)) throw invalidRequest("expiry must be a time in unix milliseconds");
    expiry = Number(expiryParam);
  }
  const token = await tokenOr404(ctx, caller, id);
  authorize(caller, "resetAccessToken", tokenResource(token));
  const secret = issueCredential("api");
  const next: TokenRecord = { ...token, selector: secret.selector, verifier: secret.verifier, last4: secret.last4, lastModified: now, version: token.version + 1 };
  const retired = expiry > now ? { selector: token.selector, tokenId: token.id, verifier: token.verifier, expiresAt: expiry } : undefined;
  const member = await ctx.store.memberById(token.memberId);
  const audit = auditEntry({ caller, kind: "token", spec: specifierOf(tokenResource(token)), name: token.name || token.id, verb: "reset the access token", actions: ["resetAccessToken"], previousVersion: token.version, currentVersion: next.version, now });
  if (!(await ctx.store.updateToken(next, token.version, audit, retired))) {
    throw optimisticLockError();
  }
  await ctx.events.revoked({ tokenIds: [id] });
  return tokenRep(next, member, secret.value);
}

