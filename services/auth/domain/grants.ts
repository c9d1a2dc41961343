/**
 * What a member, a token or a session may do, as grants for the policy module. Built-in roles
 * are policies too: `reader` reads, `writer` changes projects, environments, flags and segments
 * (but does not bypass required approvals) and its own tokens, `admin` and `owner` everything (only an owner touches owners).
 */
import type { Caller, Grant } from "@vexil/shared/caller";
import { BYPASS_REQUIRED_APPROVAL, type Statement } from "@vexil/shared/policy";
import type { MemberRecord, RoleRecord, TokenRecord } from "../storage/auth-store.ts";

export const MEMBER_ROLES = ["reader", "writer", "admin", "owner", "no_access"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
/** Roles a token may be given (a token is never an owner). */
export const TOKEN_ROLES = ["reader", "writer", "admin"] as const;

const PROJECT_DATA = ["proj/*", "proj/*:env/*", "proj/*:env/*:flag/*", "proj/*:env/*:segment/*"];
const EVERYTHING = [
  "acct",
  "member/*",
  "member/*:token/*",
  "service-token/*",
  "role/*",
  "webhook/*",
  "proj/*",
  "proj/*:env/*",
  "proj/*:env/*:flag/*",
  "proj/*:env/*:segment/*",
];

const rank: Record<string, number> = { no_access: 0, reader: 1, custom: 1, writer: 2, admin: 3, owner: 4 };
export const roleRank = (role: string) => rank[role] ?? 0;

/** The grant of a built-in role, for a member (own tokens are theirs to manage from writer up). */
export function builtInGrant(role: string, memberId: string | null): Grant {
  switch (role) {
    case "owner":
    case "admin":
      return { base: "reader", statements: [{ effect: "allow", resources: EVERYTHING, actions: ["*"] }] };
    case "writer": {
      const statements: Statement[] = [{ effect: "allow", resources: PROJECT_DATA, notActions: [BYPASS_REQUIRED_APPROVAL] }];
      if (memberId) statements.push({ effect: "allow", resources: [`member/${memberId}:token/*`], actions: ["*"] });
      return { base: "reader", statements };
    }
    case "reader":
      return { base: "reader", statements: [] };
    default:
      return { base: "no_access", statements: [] };
  }
}

function rolesGrant(roles: RoleRecord[], base?: Grant): Grant {
  const statements = [...(base?.statements ?? []), ...roles.flatMap((r) => r.policy)];
  const reads = base?.base === "reader" || roles.some((r) => r.basePermissions === "reader");
  return { base: reads ? "reader" : "no_access", statements };
}

/** A member's grant: their built-in role plus their custom roles. */
export function memberGrant(member: MemberRecord, roles: RoleRecord[]): Grant {
  return rolesGrant(roles, builtInGrant(member.role, member.id));
}

/** A token's own grant: its built-in role, its custom roles, or its inline policy. */
export function tokenGrant(token: TokenRecord, roles: RoleRecord[]): Grant {
  if (token.inlineRole) return { base: "reader", statements: token.inlineRole };
  if (token.customRoleIds.length > 0) return rolesGrant(roles);
  return builtInGrant(token.role, token.serviceToken ? null : token.memberId);
}

/** The role a token reports: its built-in role, or `custom` for custom and inline policies. */
export const tokenRole = (token: TokenRecord) => (token.inlineRole || token.customRoleIds.length > 0 ? "custom" : token.role);

/**
 * A personal token's grants: its own and its member's, both of which must allow an action; the same
 * grant twice (an admin's admin token) is carried once, as it allows nothing the one does not. Every
 * request forwarded by the gateway carries the caller, so it is kept no larger than it needs to be.
 */
function bothGrants(own: Grant, member: Grant): Grant[] {
  return JSON.stringify(own) === JSON.stringify(member) ? [own] : [own, member];
}

export function tokenCaller(token: TokenRecord, member: MemberRecord | undefined, roles: { token: RoleRecord[]; member: RoleRecord[] }): Caller {
  const own = tokenGrant(token, roles.token);
  const personal = !token.serviceToken;
  const role = personal && member && roleRank(member.role) < roleRank(tokenRole(token)) ? member.role : tokenRole(token);
  return {
    kind: "token",
    tokenId: token.id,
    tokenName: token.name,
    memberId: personal ? token.memberId : null,
    memberEmail: personal ? (member?.email ?? null) : null,
    role,
    serviceToken: token.serviceToken,
    grants: personal && member ? bothGrants(own, memberGrant(member, roles.member)) : [own],
    apiVersion: token.defaultApiVersion,
  };
}

export function sessionCaller(member: MemberRecord, roles: RoleRecord[]): Caller {
  return {
    kind: "session",
    tokenId: null,
    tokenName: null,
    memberId: member.id,
    memberEmail: member.email,
    role: member.role,
    serviceToken: false,
    grants: [memberGrant(member, roles)],
  };
}
