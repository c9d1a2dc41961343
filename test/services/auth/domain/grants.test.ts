/** Built-in roles as policies, and how members, tokens and sessions turn into callers. */
import { describe, expect, test } from "bun:test";
import { can, canRead, type Caller } from "@vexil/shared/caller";
import type { Resource } from "@vexil/shared/policy";
import { MEMBER_ROLES, TOKEN_ROLES, builtInGrant, memberGrant, roleRank, sessionCaller, tokenCaller, tokenGrant, tokenRole } from "@vexil/auth/domain/grants";
import { allow, deny, memberRecord, roleRecord, tokenRecord } from "../auth-context.ts";

const ME = "aaaaaaaaaaaaaaaaaaaaaaaa";
const OTHER = "bbbbbbbbbbbbbbbbbbbbbbbb";

const R = {
  project: [{ type: "proj", key: "a" }],
  environment: [
    { type: "proj", key: "a" },
    { type: "env", key: "production" },
  ],
  flag: [
    { type: "proj", key: "a" },
    { type: "env", key: "production" },
    { type: "flag", key: "checkout" },
  ],
  flagInB: [
    { type: "proj", key: "b" },
    { type: "env", key: "production" },
    { type: "flag", key: "checkout" },
  ],
  segment: [
    { type: "proj", key: "a" },
    { type: "env", key: "production" },
    { type: "segment", key: "beta" },
  ],
  ownToken: [
    { type: "member", key: ME },
    { type: "token", key: "ci" },
  ],
  othersToken: [
    { type: "member", key: OTHER },
    { type: "token", key: "ci" },
  ],
  member: [{ type: "member", key: OTHER }],
  role: [{ type: "role", key: "ops" }],
  serviceToken: [{ type: "service-token", key: "deploy" }],
  account: [{ type: "acct" }],
} satisfies Record<string, Resource>;

/** A caller holding exactly these grants. */
const holding = (...grants: Caller["grants"]): Caller => ({
  kind: "token",
  tokenId: "t",
  tokenName: "t",
  memberId: ME,
  memberEmail: null,
  role: "custom",
  serviceToken: false,
  grants,
});

const asRole = (role: string, memberId: string | null = ME) => holding(builtInGrant(role, memberId));

describe("built-in roles", () => {
  test("the role lists", () => {
    expect([...MEMBER_ROLES]).toEqual(["reader", "writer", "admin", "owner", "no_access"]);
    expect([...TOKEN_ROLES]).toEqual(["reader", "writer", "admin"]);
  });

  test("roles rank no_access < reader = custom < writer < admin < owner; unknown ranks lowest", () => {
    expect(roleRank("no_access")).toBe(0);
    expect(roleRank("reader")).toBe(1);
    expect(roleRank("custom")).toBe(1);
    expect(roleRank("writer")).toBe(2);
    expect(roleRank("admin")).toBe(3);
    expect(roleRank("owner")).toBe(4);
    expect(roleRank("superuser")).toBe(0);
  });

  test("reader reads everything and writes nothing", () => {
    const reader = asRole("reader");
    expect(canRead(reader)).toBe(true);
    for (const resource of Object.values(R)) {
      for (const action of ["updateOn", "createAccessToken", "deleteMember", "createRole", "updateName"]) expect(can(reader, action, resource)).toBe(false);
    }
  });

  test("writer changes project data and its own tokens", () => {
    const writer = asRole("writer");
    expect(canRead(writer)).toBe(true);
    expect(can(writer, "updateName", R.project)).toBe(true);
    expect(can(writer, "updateApiKey", R.environment)).toBe(true);
    expect(can(writer, "updateOn", R.flag)).toBe(true);
    expect(can(writer, "updateOn", R.flagInB)).toBe(true);
    expect(can(writer, "updateIncluded", R.segment)).toBe(true);
    expect(can(writer, "createAccessToken", R.ownToken)).toBe(true);
    expect(can(writer, "resetAccessToken", R.ownToken)).toBe(true);
  });

  test("writer cannot touch other members' tokens, members, roles, service tokens or the account", () => {
    const writer = asRole("writer");
    expect(can(writer, "createAccessToken", R.othersToken)).toBe(false);
    expect(can(writer, "deleteAccessToken", R.othersToken)).toBe(false);
    expect(can(writer, "updateMemberRole", R.member)).toBe(false);
    expect(can(writer, "createMember", R.member)).toBe(false);
    expect(can(writer, "updateMemberRole", [{ type: "member", key: ME }])).toBe(false);
    expect(can(writer, "createRole", R.role)).toBe(false);
    expect(can(writer, "createAccessToken", R.serviceToken)).toBe(false);
    expect(can(writer, "updateAccountSettings", R.account)).toBe(false);
  });

  test("a writer without a member (a service token) has no own tokens", () => {
    const writer = asRole("writer", null);
    expect(can(writer, "updateOn", R.flag)).toBe(true);
    expect(can(writer, "createAccessToken", R.ownToken)).toBe(false);
  });

  test.each(["admin", "owner"])("%s may do everything", (role) => {
    const caller = asRole(role);
    expect(canRead(caller)).toBe(true);
    for (const resource of Object.values(R)) expect(can(caller, "anyAction", resource)).toBe(true);
  });

  test.each(["no_access", "custom", "nonsense"])("%s as a built-in role reads and writes nothing", (role) => {
    const caller = asRole(role);
    expect(canRead(caller)).toBe(false);
    for (const resource of Object.values(R)) expect(can(caller, "updateOn", resource)).toBe(false);
  });
});

describe("memberGrant", () => {
  test("custom roles add their policies to the built-in role", () => {
    const ops = roleRecord({ key: "ops", policy: [allow(["proj/a:env/*:flag/*"], ["updateOn"])] });
    const caller = holding(memberGrant(memberRecord({ id: ME, role: "reader", customRoles: ["ops"] }), [ops]));
    expect(can(caller, "updateOn", R.flag)).toBe(true);
    expect(can(caller, "updateName", R.flag)).toBe(false);
    expect(can(caller, "updateOn", R.flagInB)).toBe(false);
  });

  test("a deny in a custom role wins over the built-in role's allow", () => {
    const noProd = roleRecord({ key: "no-prod", policy: [deny(["proj/*:env/production:flag/*"])] });
    const caller = holding(memberGrant(memberRecord({ id: ME, role: "writer", customRoles: ["no-prod"] }), [noProd]));
    expect(can(caller, "updateOn", R.flag)).toBe(false);
    expect(can(caller, "updateOn", [{ type: "proj", key: "a" }, { type: "env", key: "test" }, { type: "flag", key: "x" }])).toBe(true);
  });

  test("a no_access member reads only if a custom role has reader base permissions", () => {
    const member = memberRecord({ id: ME, role: "no_access", customRoles: ["r"] });
    expect(canRead(holding(memberGrant(member, [roleRecord({ key: "r", basePermissions: "reader" })])))).toBe(true);
    expect(canRead(holding(memberGrant(member, [roleRecord({ key: "r", basePermissions: "no_access" })])))).toBe(false);
    expect(canRead(holding(memberGrant(member, [])))).toBe(false);
  });
});

describe("tokenGrant and tokenRole", () => {
  test("built-in, custom and inline tokens", () => {
    const builtIn = tokenRecord(ME, { role: "writer" }).record;
    expect(tokenRole(builtIn)).toBe("writer");
    expect(tokenGrant(builtIn, [])).toEqual(builtInGrant("writer", ME));

    const custom = tokenRecord(ME, { role: "reader", customRoleIds: ["ops"] }).record;
    const ops = roleRecord({ key: "ops", policy: [allow(["proj/a"])], basePermissions: "no_access" });
    expect(tokenRole(custom)).toBe("custom");
    expect(tokenGrant(custom, [ops])).toEqual({ base: "no_access", statements: ops.policy });

    const inline = tokenRecord(ME, { inlineRole: [allow(["proj/*"], ["updateName"])] }).record;
    expect(tokenRole(inline)).toBe("custom");
    expect(tokenGrant(inline, [])).toEqual({ base: "reader", statements: [allow(["proj/*"], ["updateName"])] });
  });

  test("a service token's writer grant names no member's tokens", () => {
    const service = tokenRecord(ME, { role: "writer", serviceToken: true }).record;
    expect(tokenGrant(service, [])).toEqual(builtInGrant("writer", null));
  });
});

describe("tokenCaller", () => {
  test("a personal token carries its own grant and its member's", () => {
    const member = memberRecord({ id: ME, role: "admin", email: "me@vexil.test" });
    const { record } = tokenRecord(ME, { role: "writer", name: "ci" });
    const caller = tokenCaller(record, member, { token: [], member: [] });
    expect(caller).toEqual({
      kind: "token",
      tokenId: record.id,
      tokenName: "ci",
      memberId: ME,
      memberEmail: "me@vexil.test",
      role: "writer",
      serviceToken: false,
      grants: [builtInGrant("writer", ME), builtInGrant("admin", ME)],
      apiVersion: 20240415,
    });
    // The token's writer grant limits what the admin member's token does.
    expect(can(caller, "updateOn", R.flag)).toBe(true);
    expect(can(caller, "deleteMember", R.member)).toBe(false);
  });

  test("a personal token whose grant is its member's carries it once, and allows what it did with two", () => {
    const member = memberRecord({ id: ME, role: "admin" });
    const caller = tokenCaller(tokenRecord(ME, { role: "admin" }).record, member, { token: [], member: [] });
    expect(caller.grants).toEqual([builtInGrant("admin", ME)]);
    const twice = { ...caller, grants: [builtInGrant("admin", ME), builtInGrant("admin", ME)] };
    for (const resource of Object.values(R)) for (const action of ["updateOn", "deleteMember", "createRole", "deleteProject"]) expect(can(caller, action, resource)).toBe(can(twice, action, resource));
    // A member's custom role makes the two differ: both are kept.
    const ops = roleRecord({ key: "ops", policy: [deny(["proj/a:env/*:flag/*"], ["updateOn"])] });
    const limited = tokenCaller(tokenRecord(ME, { role: "admin" }).record, member, { token: [], member: [ops] });
    expect(limited.grants).toHaveLength(2);
    expect(can(limited, "updateOn", R.flag)).toBe(false);
  });

  test("an admin token of a member demoted to reader cannot write, and reports the member's role", () => {
    const member = memberRecord({ id: ME, role: "reader" });
    const { record } = tokenRecord(ME, { role: "admin" });
    const caller = tokenCaller(record, member, { token: [], member: [] });
    expect(caller.role).toBe("reader");
    expect(canRead(caller)).toBe(true);
    for (const resource of Object.values(R)) expect(can(caller, "updateOn", resource)).toBe(false);
  });

  test("a token of a no_access member reads nothing", () => {
    const caller = tokenCaller(tokenRecord(ME, { role: "admin" }).record, memberRecord({ id: ME, role: "no_access" }), { token: [], member: [] });
    expect(caller.role).toBe("no_access");
    expect(canRead(caller)).toBe(false);
  });

  test("a service token acts alone, for the account", () => {
    const { record } = tokenRecord(ME, { role: "admin", serviceToken: true, name: "deploy" });
    const caller = tokenCaller(record, undefined, { token: [], member: [] });
    expect(caller).toMatchObject({ kind: "token", memberId: null, memberEmail: null, role: "admin", serviceToken: true });
    expect(caller.grants).toHaveLength(1);
    expect(can(caller, "createMember", R.member)).toBe(true);
  });

  test("a custom-role token does what its roles allow, within its member's grant", () => {
    const ops = roleRecord({ key: "ops", policy: [allow(["proj/a:env/*:flag/*"], ["updateOn"]), allow(["member/*"], ["updateMemberRole"])] });
    const { record } = tokenRecord(ME, { customRoleIds: [ops.id] });
    const writer = tokenCaller(record, memberRecord({ id: ME, role: "writer" }), { token: [ops], member: [] });
    expect(writer.role).toBe("custom");
    expect(can(writer, "updateOn", R.flag)).toBe(true);
    expect(can(writer, "updateOn", R.flagInB)).toBe(false);
    expect(can(writer, "updateName", R.flag)).toBe(false);
    // The role allows member changes, the writer member does not: denied.
    expect(can(writer, "updateMemberRole", R.member)).toBe(false);
    const admin = tokenCaller(record, memberRecord({ id: ME, role: "admin" }), { token: [ops], member: [] });
    expect(can(admin, "updateMemberRole", R.member)).toBe(true);
  });

  test("an inline-policy token is limited by its statements and its member", () => {
    const { record } = tokenRecord(ME, { inlineRole: [allow(["proj/*:env/*:flag/*"]), deny(["proj/b:env/*:flag/*"])] });
    const caller = tokenCaller(record, memberRecord({ id: ME, role: "writer" }), { token: [], member: [] });
    expect(can(caller, "updateOn", R.flag)).toBe(true);
    expect(can(caller, "updateOn", R.flagInB)).toBe(false);
    expect(can(caller, "updateName", R.project)).toBe(false);
    const reader = tokenCaller(record, memberRecord({ id: ME, role: "reader" }), { token: [], member: [] });
    expect(can(reader, "updateOn", R.flag)).toBe(false);
  });

  test("the member's custom roles count in the member's half", () => {
    const ops = roleRecord({ key: "ops", policy: [allow(["proj/a:env/*:flag/*"])] });
    const member = memberRecord({ id: ME, role: "reader", customRoles: ["ops"] });
    const caller = tokenCaller(tokenRecord(ME, { role: "writer" }).record, member, { token: [], member: [ops] });
    expect(can(caller, "updateOn", R.flag)).toBe(true);
    expect(can(caller, "updateOn", R.flagInB)).toBe(false);
  });
});

describe("sessionCaller", () => {
  test("acts as the member, with the member's grant", () => {
    const member = memberRecord({ id: ME, role: "writer", email: "w@vexil.test" });
    const caller = sessionCaller(member, []);
    expect(caller).toEqual({
      kind: "session",
      tokenId: null,
      tokenName: null,
      memberId: ME,
      memberEmail: "w@vexil.test",
      role: "writer",
      serviceToken: false,
      grants: [memberGrant(member, [])],
    });
    expect(can(caller, "createAccessToken", R.ownToken)).toBe(true);
    expect(can(caller, "createAccessToken", R.othersToken)).toBe(false);
  });
});
