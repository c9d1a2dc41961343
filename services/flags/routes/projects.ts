/** Routes of `/api/v2/projects`: parse, call one use case, map the result. */
import { Elysia, t } from "elysia";
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

export function projectRoutes(ctx: FlagsContext) {
  return new Elysia({ normalize: false })
    .get("/api/v2/projects", ({ query }) => listProjects(ctx, query), { query: ListQuery })
    .post(
      "/api/v2/projects",
      async ({ body, set }) => {
        const created = await createProject(ctx, body);
        set.status = 201;
        return created;
      },
      { body: ProjectPost },
    )
    .get("/api/v2/projects/:projectKey", ({ params, query }) => getProject(ctx, params.projectKey, query), { params: ProjectParams, query: ListQuery })
    .patch("/api/v2/projects/:projectKey", ({ params, body, request }) => patchProject(ctx, params.projectKey, body, request.headers.get("content-type")), {
      params: ProjectParams,
      body: t.Unknown(),
    })
    .delete(
      "/api/v2/projects/:projectKey",
      async ({ params, set }) => {
        await deleteProject(ctx, params.projectKey);
        set.status = 204;
      },
      { params: ProjectParams },
    );
}
