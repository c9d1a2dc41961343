/** Routes of `/api/v2/projects`: parse, call one use case, map the result. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { createProject, deleteProject, getProject, listProjects, patchProject } from "../domain/projects.ts";
import type { FlagsContext } from "../domain/context.ts";
import { ProjectPost } from "../domain/schemas.ts";

export const ListQuery = t.Object(
  {
    limit: t.Optional(t.String()),
    offset: t.Optional(t.String()),
    filter: t.Optional(t.String({ maxLength: 2048 })),
    sort: t.Optional(t.String({ maxLength: 64 })),
    expand: t.Optional(t.String({ maxLength: 256 })),
  },
  { additionalProperties: true },
);

export const ProjectParams = t.Object({ projectKey: t.String({ maxLength: 140 }) });

export function projectRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  return new Elysia({ normalize: false })
    .get("/api/v2/projects", async ({ request, query }) => listProjects(ctx, await caller(request), query), { query: ListQuery })
    .post(
      "/api/v2/projects",
      async ({ request, body, set }) => {
        const created = await createProject(ctx, await caller(request), body);
        set.status = 201;
        return created;
      },
      { body: ProjectPost },
    )
    .get("/api/v2/projects/:projectKey", async ({ request, params, query }) => getProject(ctx, await caller(request), params.projectKey, query), {
      params: ProjectParams,
      query: ListQuery,
    })
    .patch(
      "/api/v2/projects/:projectKey",
      async ({ params, body, request }) => patchProject(ctx, await caller(request), params.projectKey, body, request.headers.get("content-type")),
      { params: ProjectParams, body: t.Unknown() },
    )
    .delete(
      "/api/v2/projects/:projectKey",
      async ({ request, params, set }) => {
        await deleteProject(ctx, await caller(request), params.projectKey);
        set.status = 204;
      },
      { params: ProjectParams },
    );
}
