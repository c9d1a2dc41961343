/** Routes of `/api/v2/flags/{projectKey}`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import type { FlagsContext } from "../domain/context.ts";
import { copyFlagConfig, createFlag, deleteFlag, getFlag, listFlags, patchFlag } from "../domain/flags/flags.ts";
import { FlagCopy, FlagPost } from "../domain/flags/schemas.ts";
import { dependentFlags } from "../domain/flags/dependent-flags.ts";

const Env = t.Optional(t.Union([t.String({ maxLength: 1024 }), t.Array(t.String({ maxLength: 140 }), { maxItems: 50 })]));
const ListQuery = t.Object(
  {
    env: Env,
    tag: t.Optional(t.String({ maxLength: 64 })),
    limit: t.Optional(t.String()),
    offset: t.Optional(t.String()),
    archived: t.Optional(t.String()),
    summary: t.Optional(t.String()),
    filter: t.Optional(t.String({ maxLength: 2048 })),
    sort: t.Optional(t.String({ maxLength: 64 })),
    expand: t.Optional(t.String({ maxLength: 256 })),
    clone: t.Optional(t.String({ maxLength: 140 })),
  },
  { additionalProperties: true },
);
const ProjectParams = t.Object({ projectKey: t.String({ maxLength: 140 }) });
const FlagParams = t.Object({ projectKey: t.String({ maxLength: 140 }), flagKey: t.String({ maxLength: 140 }) });

export function flagRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  return new Elysia({ normalize: false })
    .get("/api/v2/flags/:projectKey", async ({ request, params, query }) => listFlags(ctx, await caller(request), params.projectKey, query), {
      params: ProjectParams,
      query: ListQuery,
    })
    .post(
      "/api/v2/flags/:projectKey",
      async ({ request, params, body, query, set }) => {
        const created = await createFlag(ctx, await caller(request), params.projectKey, body, query.clone);
        set.status = 201;
        return created;
      },
      { params: ProjectParams, body: FlagPost, query: ListQuery },
    )
    .get("/api/v2/flags/:projectKey/:flagKey", async ({ request, params, query }) => getFlag(ctx, await caller(request), params.projectKey, params.flagKey, query), {
      params: FlagParams,
      query: ListQuery,
    })
    .patch(
      "/api/v2/flags/:projectKey/:flagKey",
      async ({ request, params, body, set }) => {
        const patched = await patchFlag(ctx, await caller(request), params.projectKey, params.flagKey, body, request.headers.get("content-type"));
        if (patched === undefined) set.status = 204;
        return patched;
      },
      { params: FlagParams, body: t.Unknown() },
    )
    .get("/api/v2/flags/:projectKey/:flagKey/dependent-flags", async ({ request, params }) => dependentFlags(ctx, await caller(request), params.projectKey, params.flagKey), { params: FlagParams })
    .get(
      "/api/v2/flags/:projectKey/:flagKey/dependent-flags/:environmentKey",
      async ({ request, params }) => dependentFlags(ctx, await caller(request), params.projectKey, params.flagKey, params.environmentKey),
      { params: t.Object({ projectKey: t.String({ maxLength: 140 }), flagKey: t.String({ maxLength: 140 }), environmentKey: t.String({ maxLength: 140 }) }) },
    )
    .post(
      "/api/v2/flags/:projectKey/:flagKey/copy",
      async ({ request, params, body, set }) => {
        const copied = await copyFlagConfig(ctx, await caller(request), params.projectKey, params.flagKey, body);
        set.status = 201;
        return copied;
      },
      { params: FlagParams, body: FlagCopy },
    )
    .delete(
      "/api/v2/flags/:projectKey/:flagKey",
      async ({ request, params, set }) => {
        await deleteFlag(ctx, await caller(request), params.projectKey, params.flagKey);
        set.status = 204;
      },
      { params: FlagParams },
    );
}
