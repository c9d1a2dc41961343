/** Routes of `/api/v2/roles`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import type { AuthContext } from "../domain/context.ts";
import { createRole, deleteRole, getRole, listRoles, patchRole } from "../domain/custom-roles.ts";
import { RolePost } from "../domain/schemas.ts";

const Key = t.Object({ key: t.String({ maxLength: 140 }) });
const Query = t.Object({ limit: t.Optional(t.String()), offset: t.Optional(t.String()) }, { additionalProperties: true });

export function roleRoutes(ctx: AuthContext, assertions: Assertions) {
  return new Elysia({ normalize: false })
    .get("/api/v2/roles", async ({ request, query }) => listRoles(ctx, await assertions.callerOf(request), query), { query: Query })
    .post(
      "/api/v2/roles",
      async ({ request, body, set }) => {
        const created = await createRole(ctx, await assertions.callerOf(request), body);
        set.status = 201;
        return created;
      },
      { body: RolePost },
    )
    .get("/api/v2/roles/:key", async ({ request, params }) => getRole(ctx, await assertions.callerOf(request), params.key), { params: Key })
    .patch(
      "/api/v2/roles/:key",
      async ({ request, params, body }) => patchRole(ctx, await assertions.callerOf(request), params.key, body, request.headers.get("content-type")),
      { params: Key, body: t.Unknown() },
    )
    .delete(
      "/api/v2/roles/:key",
      async ({ request, params, set }) => {
        await deleteRole(ctx, await assertions.callerOf(request), params.key);
        set.status = 204;
      },
      { params: Key },
    );
}
