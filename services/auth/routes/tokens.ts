/** Routes of `/api/v2/tokens`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import type { AuthContext } from "../domain/context.ts";
import { TokenPost } from "../domain/schemas.ts";
import { createToken, deleteToken, getToken, listTokens, patchToken, resetToken } from "../domain/tokens.ts";

const Id = t.Object({ id: t.String({ maxLength: 64 }) });
const Query = t.Object({ showAll: t.Optional(t.String()), limit: t.Optional(t.String()), offset: t.Optional(t.String()) }, { additionalProperties: true });

export function tokenRoutes(ctx: AuthContext, assertions: Assertions) {
  return new Elysia({ normalize: false })
    .get("/api/v2/tokens", async ({ request, query }) => listTokens(ctx, await assertions.callerOf(request), query), { query: Query })
    .post(
      "/api/v2/tokens",
      async ({ request, body, set }) => {
        const created = await createToken(ctx, await assertions.callerOf(request), body);
        set.status = 201;
        return created;
      },
      { body: TokenPost },
    )
    .get("/api/v2/tokens/:id", async ({ request, params }) => getToken(ctx, await assertions.callerOf(request), params.id), { params: Id })
    .patch(
      "/api/v2/tokens/:id",
      async ({ request, params, body }) => patchToken(ctx, await assertions.callerOf(request), params.id, body, request.headers.get("content-type")),
      { params: Id, body: t.Unknown() },
    )
    .delete(
      "/api/v2/tokens/:id",
      async ({ request, params, set }) => {
        await deleteToken(ctx, await assertions.callerOf(request), params.id);
        set.status = 204;
      },
      { params: Id },
    )
    .post(
      "/api/v2/tokens/:id/reset",
      async ({ request, params, query }) => resetToken(ctx, await assertions.callerOf(request), params.id, query.expiry),
      { params: Id, query: t.Object({ expiry: t.Optional(t.String()) }, { additionalProperties: true }) },
    );
}
