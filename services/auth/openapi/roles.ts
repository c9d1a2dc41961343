/** The documented answers of custom roles (`roleRep` in `domain/custom-roles.ts` builds them). */
import { Type as T } from "@sinclair/typebox";
import { Collection, Links, Ref } from "@vexil/shared/http/openapi";
import { Policy } from "../domain/schemas.ts";

export const CustomRoleRep = T.Object(
  {
    _id: T.String(),
    _links: Links,
    key: T.String(),
    name: T.String(),
    description: T.String({ description: "Empty when not given" }),
    policy: T.Array(Policy.items, { maxItems: 100, description: "Policy statements: a `deny` wins over an `allow`; what no statement allows is denied" }),
    basePermissions: T.Union([T.Literal("reader"), T.Literal("no_access")], { description: "`reader`: members with the role may read everything besides what the policy allows" }),
  },
  { additionalProperties: false },
);

export const roleComponents = {
  CustomRole: CustomRoleRep,
  CustomRoles: Collection(Ref("CustomRole")),
};
