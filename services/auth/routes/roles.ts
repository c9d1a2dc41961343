/** Routes of `/api/v2/roles`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { operation, patchRequest } from "@vexil/shared/http/openapi";
import type { AuthContext } from "../domain/context.ts";
import { createRole, deleteRole, getRole, listRoles, patchRole } from "../domain/custom-roles.ts";
import { RolePost } from "../domain/schemas.ts";

const Key = t.Object({ key: t.String({ maxLength: 140, description: "The role's key or id" }) });
const Query = t.Object({ limit: t.Optional(t.String()), offset: t.Optional(t.String()) }, { additionalProperties: true });

const TAG = "Custom roles";

export function roleRoutes(ctx: AuthContext, assertions: Assertions) {
  return new Elysia({ normalize: false })
    .get("/api/v2/roles", async ({ request, query }) => listRoles(ctx, await assertions.callerOf(request), query), {
      query: Query,
      detail: operation({ id: "getCustomRoles", tag: TAG, summary: "List custom roles", ok: { 200: "CustomRoles" }, errors: [403] }),
    })
    .post(
      "/api/v2/roles",
      async ({ request, body, set }) => {
        const created = await createRole(ctx, await assertions.callerOf(request), body);
        set.status = 201;
        return created;
      },
      {
        body: RolePost,
        detail: operation({
          id: "postCustomRole",
          tag: TAG,
          summary: "Create a custom role",
          description: "A named policy for members (`customRoles`) and tokens (`customRoleIds`). `basePermissions` defaults to `reader`.",
          ok: { 201: "CustomRole" },
          errors: [403, 409],
          requestExample: {
            key: "release-managers",
            name: "Release managers",
            description: "Turn flags on and off in production",
            policy: [{ effect: "allow", resources: ["proj/*:env/production:flag/*"], actions: ["updateOn"] }],
            basePermissions: "reader",
          },
        }),
      },
    )
    .get("/api/v2/roles/:key", async ({ request, params }) => getRole(ctx, await assertions.callerOf(request), params.key), {
      params: Key,
      detail: operation({ id: "getCustomRole", tag: TAG, summary: "Get a custom role", ok: { 200: "CustomRole" }, errors: [403, 404] }),
    })
    .patch(
      "/api/v2/roles/:key",
      async ({ request, params, body }) => patchRole(ctx, await assertions.callerOf(request), params.key, body, request.headers.get("content-type")),
      {
        params: Key,
        body: t.Unknown(),
        detail: operation({
          id: "patchCustomRole",
          tag: TAG,
          summary: "Update a custom role",
          description: "Editable: `name`, `description`, `policy`, `basePermissions`; each keeps a value, so removing one (or a merge patch's null) is a 400. The change reaches every member and token with the role at once.",
          ok: { 200: "CustomRole" },
          errors: [403, 404, 409],
          request: patchRequest(),
          requestExample: [{ op: "add", path: "/policy/-", value: { effect: "allow", resources: ["proj/*:env/production:flag/*"], actions: ["updateTargets"] } }],
        }),
      },
    )
    .delete(
      "/api/v2/roles/:key",
      async ({ request, params, set }) => {
        await deleteRole(ctx, await assertions.callerOf(request), params.key);
        set.status = 204;
      },
      {
        params: Key,
        detail: operation({
          id: "deleteCustomRole",
          tag: TAG,
          summary: "Delete a custom role",
          description: "Refused (409) while members or tokens have the role.",
          ok: { 204: null },
          errors: [403, 404, 409],
        }),
      },
    );
}
