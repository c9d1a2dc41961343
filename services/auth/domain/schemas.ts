/** Request and editable-document schemas of the auth service's resources (TypeBox). */
import { Type as T, type Static } from "@sinclair/typebox";

const Statement = T.Object(
  {
    effect: T.Union([T.Literal("allow"), T.Literal("deny")]),
    resources: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 1024 }), { minItems: 1, maxItems: 100 })),
    notResources: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 1024 }), { minItems: 1, maxItems: 100 })),
    actions: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 100 })),
    notActions: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 100 })),
  },
  { additionalProperties: false },
);
export const Policy = T.Array(Statement, { maxItems: 100 });

const Id = T.String({ pattern: "^[0-9a-f]{24}$" });
const RoleKey = T.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$", minLength: 1, maxLength: 140 });
const TokenRole = T.Union([T.Literal("reader"), T.Literal("writer"), T.Literal("admin")]);
const Text = (max: number) => T.String({ maxLength: max });

export const TokenPost = T.Object(
  {
    name: T.Optional(Text(256)),
    description: T.Optional(Text(1024)),
    role: T.Optional(TokenRole),
    customRoleIds: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 140 }), { maxItems: 20, uniqueItems: true })),
    inlineRole: T.Optional(Policy),
    serviceToken: T.Optional(T.Boolean()),
    defaultApiVersion: T.Optional(T.Integer()),
    memberId: T.Optional(Id),
    expiresAt: T.Optional(T.Union([T.Integer({ minimum: 0 }), T.Null()])),
  },
  { additionalProperties: false },
);
export type TokenPost = Static<typeof TokenPost>;

/** What a PATCH may change on a token. */
export const TokenEditable = T.Object(
  {
    name: Text(256),
    description: Text(1024),
    role: T.Optional(T.Union([TokenRole, T.Literal("custom")])),
    customRoleIds: T.Array(T.String({ minLength: 1, maxLength: 140 }), { maxItems: 20, uniqueItems: true }),
    inlineRole: T.Union([Policy, T.Null()]),
    defaultApiVersion: T.Integer(),
    expiresAt: T.Union([T.Integer({ minimum: 0 }), T.Null()]),
  },
  { additionalProperties: false },
);
export type TokenEditable = Static<typeof TokenEditable>;

const MemberRole = T.Union([T.Literal("reader"), T.Literal("writer"), T.Literal("admin"), T.Literal("no_access")]);
const Email = T.String({ pattern: "^[^\\s@]+@[^\\s@]+$", minLength: 3, maxLength: 320 });
const Password = T.String({ minLength: 8, maxLength: 256 });
const RoleKeys = T.Array(RoleKey, { maxItems: 20, uniqueItems: true });

export const NewMember = T.Object(
  {
    email: Email,
    password: T.Optional(Password),
    firstName: T.Optional(Text(256)),
    lastName: T.Optional(Text(256)),
    role: T.Optional(MemberRole),
    customRoles: T.Optional(RoleKeys),
  },
  { additionalProperties: false },
);
export type NewMember = Static<typeof NewMember>;
export const NewMembers = T.Array(NewMember, { minItems: 1, maxItems: 50 });

export const MemberEditable = T.Object(
  {
    firstName: T.Union([Text(256), T.Null()]),
    lastName: T.Union([Text(256), T.Null()]),
    role: T.Union([MemberRole, T.Literal("owner")]),
    customRoles: RoleKeys,
    /** Write-only: a patch may set it; no response shows it. */
    password: T.Optional(Password),
  },
  { additionalProperties: false },
);
export type MemberEditable = Static<typeof MemberEditable>;

const BasePermissions = T.Union([T.Literal("reader"), T.Literal("no_access")]);

export const RolePost = T.Object(
  {
    key: RoleKey,
    name: T.String({ minLength: 1, maxLength: 256 }),
    description: T.Optional(Text(1024)),
    policy: Policy,
    basePermissions: T.Optional(BasePermissions),
  },
  { additionalProperties: false },
);
export type RolePost = Static<typeof RolePost>;

export const RoleEditable = T.Object(
  { name: T.String({ minLength: 1, maxLength: 256 }), description: Text(1024), policy: Policy, basePermissions: BasePermissions },
  { additionalProperties: false },
);
export type RoleEditable = Static<typeof RoleEditable>;

export const SessionPost = T.Object({ email: T.String({ maxLength: 320 }), password: T.String({ maxLength: 256 }) }, { additionalProperties: false });
