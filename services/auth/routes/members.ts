/** Routes of `/api/v2/members`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import type { AuthContext } from "../domain/context.ts";
import { createMembers, deleteMember, getMember, listMembers, patchMember } from "../domain/members.ts";
import { NewMembers } from "../domain/schemas.ts";

const Id = t.Object({ id: t.String({ maxLength: 64 }) });
const Query = t.Object(
  { limit: t.Optional(t.String()), offset: t.Optional(t.String()), filter: t.Optional(t.String({ maxLength: 2048 })), sort: t.Optional(t.String()), expand: t.Optional(t.String()) },
  { additionalProperties: true },
);

export function memberRoutes(ctx: AuthContext, assertions: Assertions) {
  return new Elysia({ normalize: false })
    .get("/api/v2/members", async ({ request, query }) => listMembers(ctx, await assertions.callerOf(request), query), { query: Query })
    .post(
      "/api/v2/members",
      async ({ request, body, set }) => {
        const created = await createMembers(ctx, await assertions.callerOf(request), body);
        set.status = 201;
        return created;
      },
      { body: NewMembers },
    )
    .get("/api/v2/members/:id", async ({ request, params }) => getMember(ctx, await assertions.callerOf(request), params.id), { params: Id })
    .patch(
      "/api/v2/members/:id",
      async ({ request, params, body }) => patchMember(ctx, await assertions.callerOf(request), params.id, body, request.headers.get("content-type")),
      { params: Id, body: t.Unknown() },
    )
    .delete(
      "/api/v2/members/:id",
      async ({ request, params, set }) => {
        await deleteMember(ctx, await assertions.callerOf(request), params.id);
        set.status = 204;
      },
      { params: Id },
    );
}
