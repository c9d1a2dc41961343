/** Routes of `/api/v2/projects`: parse, call one use case, map the result. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { createProject, deleteProject, getProject, listProjects, patchProject } from "../domain/projects.ts";
import type { FlagsContext } from "../domain/context.ts";
import { ProjectPost } from "../domain/schemas.ts";
import { operation, patchRequest } from "@vexil/shared/http/openapi";

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
    .get("/api/v2/projects", async ({ request, query }) => listProjects(ctx, await caller(request), query), {
      query: ListQuery,
      detail: operation({
        id: "getProjects",
        tag: "Projects",
        summary: "List projects",
        description: "`filter` by `query`, `tags` or `keys`; `sort` by `key`, `name` or `createdOn` (`-` first for descending); `expand=environments`.",
        ok: { 200: "Projects" },
      }),
    })
    .post(
      "/api/v2/projects",
      async ({ request, body, set }) => {
        const created = await createProject(ctx, await caller(request), body);
        set.status = 201;
        return created;
      },
      {
        body: ProjectPost,
        detail: operation({
          id: "postProject",
          tag: "Projects",
          summary: "Create a project",
          description: "With the environments given, else `test` and `production`; every environment's SDK and mobile keys are in the answer, this once.",
          ok: { 201: "ProjectCreated" },
          errors: [403, 409],
          requestExample: { key: "shop", name: "Shop", tags: ["web"], environments: [{ key: "live", name: "Live", color: "00ff00" }] },
        }),
      },
    )
    .get("/api/v2/projects/:projectKey", async ({ request, params, query }) => getProject(ctx, await caller(request), params.projectKey, query), {
      params: ProjectParams,
      query: ListQuery,
      detail: operation({ id: "getProject", tag: "Projects", summary: "Get a project", ok: { 200: "Project" }, errors: [404] }),
    })
    .patch(
      "/api/v2/projects/:projectKey",
      async ({ params, body, request }) => patchProject(ctx, await caller(request), params.projectKey, body, request.headers.get("content-type")),
      {
        params: ProjectParams,
        body: t.Unknown(),
        detail: operation({
          id: "patchProject",
          tag: "Projects",
          summary: "Update a project",
          ok: { 200: "Project" },
          errors: [403, 404, 409],
          request: patchRequest(),
          requestExample: [{ op: "replace", path: "/name", value: "Shop (web)" }],
        }),
      },
    )
    .delete(
      "/api/v2/projects/:projectKey",
      async ({ request, params, set }) => {
        await deleteProject(ctx, await caller(request), params.projectKey);
        set.status = 204;
      },
      { params: ProjectParams, detail: operation({ id: "deleteProject", tag: "Projects", summary: "Delete a project, with its environments, flags and segments", ok: { 204: null }, errors: [403, 404] }) },
    );
}
