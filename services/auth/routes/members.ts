/** Routes of `/api/v2/members`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { operation, patchRequest } from "@vexil/shared/http/openapi";
import type { AuthContext } from "../domain/context.ts";
import { createMembers, deleteMember, getMember, listMembers, patchMember } from "../domain/members.ts";
import { NewMembers } from "../domain/schemas.ts";

const Id = t.Object({ id: t.String({ maxLength: 64 }) });
const Query = t.Object(
  { limit: t.Optional(t.String()), offset: t.Optional(t.String()), filter: t.Optional(t.String({ maxLength: 2048 })), sort: t.Optional(t.String()), expand: t.Optional(t.String()) },
  { additionalProperties: true },
);

const TAG = "Account members";

export function memberRoutes(ctx: AuthContext, assertions: Assertions) {
  return new Elysia({ normalize: false })
    .get("/api/v2/members", async ({ request, query }) => listMembers(ctx, await assertions.callerOf(request), query), {
      query: Query,
      detail: operation({
        id: "getMembers",
        tag: TAG,
        summary: "List account members",
        description:
          "`filter`, comma-separated: `query:<text>` (part of the email or name), `role:<a|b>`, `id:<a|b>`, `email:<a|b>`. " +
          "`sort`: `displayName` (first and last name, or the email when the member has neither), `email` (the default), or `-` before either for the reverse order; " +
          "byte order, equal display names by email.",
        ok: { 200: "Members" },
        errors: [403],
      }),
    })
    .post(
      "/api/v2/members",
      async ({ request, body, set }) => {
        const created = await createMembers(ctx, await assertions.callerOf(request), body);
        set.status = 201;
        return created;
      },
      {
        body: NewMembers,
        detail: operation({
          id: "postMembers",
          tag: TAG,
          summary: "Add account members",
          description:
            "1 to 50 members, all or nothing. An email that is already a member's, or given twice, is a 400 (`email_already_exists_in_account`, `duplicate_email`). " +
            "A caller adds members with roles up to its own. With a `password` the member can sign in (`POST /api/v2/sessions`).",
          ok: { 201: "Members" },
          errors: [403],
          requestExample: [{ email: "ada@example.com", firstName: "Ada", lastName: "Lovelace", role: "writer", password: "correct horse battery staple" }],
        }),
      },
    )
    .get("/api/v2/members/:id", async ({ request, params }) => getMember(ctx, await assertions.callerOf(request), params.id), {
      params: Id,
      detail: operation({ id: "getMember", tag: TAG, summary: "Get an account member", ok: { 200: "Member" }, errors: [403, 404] }),
    })
    .patch(
      "/api/v2/members/:id",
      async ({ request, params, body }) => patchMember(ctx, await assertions.callerOf(request), params.id, body, request.headers.get("content-type")),
      {
        params: Id,
        body: t.Unknown(),
        detail: operation({
          id: "patchMember",
          tag: TAG,
          summary: "Update an account member",
          description:
            "Editable: `firstName`, `lastName`, `role`, `customRoles` (role keys), and `password` (write-only: `add` it or merge it in; no answer shows it). " +
            "A name is cleared by null, a `remove` or a merge patch's null; `role` and `customRoles` keep a value (400). " +
            "Members change their own name and password; anything else takes a grant, and only an owner changes an owner or makes one. The last owner cannot be demoted (400). " +
            "A change of role reaches the member's tokens and sessions at once.",
          ok: { 200: "Member" },
          errors: [403, 404, 409],
          request: patchRequest(),
          requestExample: [{ op: "replace", path: "/role", value: "admin" }],
        }),
      },
    )
    .delete(
      "/api/v2/members/:id",
      async ({ request, params, set }) => {
        await deleteMember(ctx, await assertions.callerOf(request), params.id);
        set.status = 204;
      },
      {
        params: Id,
        detail: operation({
          id: "deleteMember",
          tag: TAG,
          summary: "Remove an account member",
          description: "Their personal tokens and sessions end with them. Only an owner removes an owner, and the last owner stays (400).",
          ok: { 204: null },
          errors: [403, 404],
        }),
      },
    );
}
