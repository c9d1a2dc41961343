/** Routes of `/api/v2/tokens`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { operation, patchRequest } from "@vexil/shared/http/openapi";
import type { AuthContext } from "../domain/context.ts";
import { TokenPost } from "../domain/schemas.ts";
import { createToken, deleteToken, getToken, listTokens, patchToken, resetToken } from "../domain/tokens.ts";

const Id = t.Object({ id: t.String({ maxLength: 64 }) });
const Query = t.Object({ showAll: t.Optional(t.String()), limit: t.Optional(t.String()), offset: t.Optional(t.String()) }, { additionalProperties: true });

const TAG = "Access tokens";

export function tokenRoutes(ctx: AuthContext, assertions: Assertions) {
  return new Elysia({ normalize: false })
    .get("/api/v2/tokens", async ({ request, query }) => listTokens(ctx, await assertions.callerOf(request), query), {
      query: Query,
      detail: operation({
        id: "getTokens",
        tag: TAG,
        summary: "List access tokens",
        description: "The tokens of the caller's member, 25 a page by default; with `showAll=true` (admins only) every token of the account, service tokens included. Secrets show their last four characters.",
        ok: { 200: "Tokens" },
        errors: [403],
      }),
    })
    .post(
      "/api/v2/tokens",
      async ({ request, body, set }) => {
        const created = await createToken(ctx, await assertions.callerOf(request), body);
        set.status = 201;
        return created;
      },
      {
        body: TokenPost,
        detail: operation({
          id: "postToken",
          tag: TAG,
          summary: "Create an access token",
          description:
            "The whole secret is in `token` in this answer only; store it now, later answers give its last four characters. " +
            "Give at most one of `role` (default `reader`), `customRoleIds` or `inlineRole`. A caller gives built-in roles up to its own; custom roles and inline policies take an admin. " +
            "`memberId` (admins) makes the token another member's; a service token acts for the account.",
          ok: { 201: "TokenWithSecret" },
          errors: [403],
          requestExample: { name: "CI deploys", description: "Used by the release pipeline", role: "writer", defaultApiVersion: 20240415 },
        }),
      },
    )
    .get("/api/v2/tokens/:id", async ({ request, params }) => getToken(ctx, await assertions.callerOf(request), params.id), {
      params: Id,
      detail: operation({ id: "getToken", tag: TAG, summary: "Get an access token", description: "Another member's token takes a grant on it (admins have one).", ok: { 200: "Token" }, errors: [403, 404] }),
    })
    .patch(
      "/api/v2/tokens/:id",
      async ({ request, params, body }) => patchToken(ctx, await assertions.callerOf(request), params.id, body, request.headers.get("content-type")),
      {
        params: Id,
        body: t.Unknown(),
        detail: operation({
          id: "patchToken",
          tag: TAG,
          summary: "Update an access token",
          description:
            "Editable: `name`, `description`, `role`, `customRoleIds`, `inlineRole`, `defaultApiVersion` and `expiresAt` (absent settings can be addressed as null). " +
            "A merge patch's null or a `remove` clears `inlineRole` and `expiresAt` and turns `role` back to `reader`; the other fields always keep a value (400). " +
            "The same delegation rules as on creation hold; the change reaches the token's next call.",
          ok: { 200: "Token" },
          errors: [403, 404, 409],
          request: patchRequest(),
          requestExample: [{ op: "replace", path: "/name", value: "CI deploys (main)" }],
        }),
      },
    )
    .delete(
      "/api/v2/tokens/:id",
      async ({ request, params, set }) => {
        await deleteToken(ctx, await assertions.callerOf(request), params.id);
        set.status = 204;
      },
      { params: Id, detail: operation({ id: "deleteToken", tag: TAG, summary: "Delete an access token", description: "It stops working at once.", ok: { 204: null }, errors: [403, 404] }) },
    )
    .post(
      "/api/v2/tokens/:id/reset",
      async ({ request, params, query }) => resetToken(ctx, await assertions.callerOf(request), params.id, query.expiry),
      {
        params: Id,
        query: t.Object({ expiry: t.Optional(t.String()) }, { additionalProperties: true }),
        detail: operation({
          id: "resetToken",
          tag: TAG,
          summary: "Reset an access token's secret",
          description: "The new secret is in `token` in this answer only. With `expiry` (epoch ms) the old secret keeps working until then; without, it stops at once.",
          ok: { 200: "TokenWithSecret" },
          errors: [403, 404, 409],
        }),
      },
    );
}
