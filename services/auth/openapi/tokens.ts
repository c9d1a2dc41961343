/** The documented answers of access tokens (`tokenRep` in `domain/tokens.ts` builds them). */
import { Type as T } from "@sinclair/typebox";
import { API_VERSIONS } from "@vexil/shared/api-versions";
import { Collection, Links, Ref } from "@vexil/shared/http/openapi";
import { Policy } from "../domain/schemas.ts";
import { MemberRole } from "./members.ts";

const MemberSummary = T.Object(
  {
    _id: T.String(),
    email: T.String(),
    role: MemberRole,
    firstName: T.Optional(T.String({ description: "Absent when not set" })),
    lastName: T.Optional(T.String({ description: "Absent when not set" })),
    _links: Links,
  },
  { additionalProperties: false, description: "The member the token belongs to; absent when that member no longer exists" },
);

const tokenFields = {
  _id: T.String(),
  _links: Links,
  ownerId: T.String({ description: "The member who created the token" }),
  memberId: T.String({ description: "The member the token acts for (for a service token: the member it was created for)" }),
  _member: T.Optional(MemberSummary),
  name: T.String({ description: "Empty when not given" }),
  description: T.String({ description: "Empty when not given" }),
  creationDate: T.Integer({ description: "Epoch ms" }),
  lastModified: T.Integer({ description: "Epoch ms" }),
  customRoleIds: T.Array(T.String(), { description: "Keys or ids of the token's custom roles" }),
  inlineRole: T.Optional(T.Array(Policy.items, { maxItems: 100, description: "The token's own policy statements, when it has them in place of a role" })),
  role: T.Optional(
    T.Union([T.Literal("reader"), T.Literal("writer"), T.Literal("admin")], { description: "The token's built-in role; absent when it has custom roles or an inline policy" }),
  ),
  serviceToken: T.Boolean({ description: "A service token acts for the account, not for a member" }),
  defaultApiVersion: T.Integer({ enum: [...API_VERSIONS], description: "The API version of calls that send no `LD-API-Version`" }),
  lastUsed: T.Optional(T.Integer({ description: "When the token last made a call (epoch ms); absent if never" })),
  expiresAt: T.Optional(T.Integer({ description: "When the token stops working (epoch ms); absent if never" })),
};

export const TokenRep = T.Object(
  { ...tokenFields, token: T.String({ description: "The last four characters of the secret (the whole secret is shown only when the token is created or reset)" }) },
  { additionalProperties: false },
);

export const TokenWithSecret = T.Object(
  { ...tokenFields, token: T.String({ pattern: "^api-", description: "The whole secret, shown in this answer only: later answers give its last four characters" }) },
  { additionalProperties: false, description: "A token as created or reset, with its secret" },
);

export const tokenComponents = {
  Token: TokenRep,
  TokenWithSecret,
  Tokens: Collection(Ref("Token")),
};
