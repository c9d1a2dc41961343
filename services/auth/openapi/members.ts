/** The documented answers of account members (`memberRep` in `domain/members.ts` builds them). */
import { Type as T } from "@sinclair/typebox";
import { Collection, Links, Ref } from "@vexil/shared/http/openapi";

export const MemberRole = T.Union([T.Literal("reader"), T.Literal("writer"), T.Literal("admin"), T.Literal("owner"), T.Literal("no_access")], {
  description: "The member's built-in role",
});

export const MemberRep = T.Object(
  {
    _id: T.String(),
    _links: Links,
    firstName: T.Optional(T.String({ description: "Absent when not set" })),
    lastName: T.Optional(T.String({ description: "Absent when not set" })),
    role: MemberRole,
    email: T.String({ description: "Lower case" }),
    _pendingInvite: T.Boolean({ description: "Always false: members are added directly, without invitations" }),
    _verified: T.Boolean({ description: "Always true" }),
    customRoles: T.Array(T.String(), { description: "Keys of the member's custom roles" }),
    mfa: T.String({ description: "Always `disabled`: there is no multi-factor sign-in" }),
    _lastSeen: T.Integer({ description: "When the member last made a call (epoch ms); 0 if never" }),
    creationDate: T.Integer({ description: "Epoch ms" }),
    permissionGrants: T.Array(T.Unknown(), { maxItems: 0, description: "Always empty" }),
  },
  { additionalProperties: false },
);

export const memberComponents = {
  Member: MemberRep,
  Members: Collection(Ref("Member")),
};
