/** The documented answers of signing in (`routes/sessions.ts`) and of the caller's identity. */
import { Type as T } from "@sinclair/typebox";
import { Links } from "@vexil/shared/http/openapi";

export const SessionRep = T.Object(
  { expiresIn: T.Integer({ description: "Seconds until the session ends" }) },
  { additionalProperties: false, description: "The session itself is the `vexil_session` cookie set by the answer" },
);

export const CallerIdentityRep = T.Object(
  {
    authKind: T.Union([T.Literal("token"), T.Literal("session")], { description: "How the caller authenticated: an access token or a session cookie" }),
    tokenKind: T.Optional(T.Union([T.Literal("personal"), T.Literal("service")], { description: "Tokens only" })),
    tokenId: T.Optional(T.String({ description: "Tokens only" })),
    tokenName: T.Optional(T.String({ description: "Tokens only" })),
    memberId: T.Optional(T.String({ description: "The member the call acts for; absent for service tokens" })),
    memberEmail: T.Optional(T.String({ description: "Absent for service tokens" })),
    serviceToken: T.Boolean(),
    role: T.Union([T.Literal("reader"), T.Literal("writer"), T.Literal("admin"), T.Literal("owner"), T.Literal("no_access"), T.Literal("custom")], {
      description: "The caller's role: a session's member's, or a token's (`custom` for custom roles and inline policies; a personal token's member's role when that is lower)",
    }),
    _links: Links,
  },
  { additionalProperties: false },
);

export const sessionComponents = {
  Session: SessionRep,
  CallerIdentity: CallerIdentityRep,
};
