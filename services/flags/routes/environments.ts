/** Routes of `/api/v2/projects/{projectKey}/environments`. */
import { Elysia, t } from "elysia";
import { createEnvironment, deleteEnvironment, getEnvironment, listEnvironments, patchEnvironment } from "../domain/environments.ts";
import type { FlagsContext } from "../domain/context.ts";
import { EnvironmentPost } from "../domain/schemas.ts";
import { ListQuery, ProjectParams } from "./projects.ts";

const EnvironmentParams = t.Object({ projectKey: t.String({ maxLength: 140 }), environmentKey: t.String({ maxLength: 140 }) });
const base = "/api/v2/projects/:projectKey/environments";

export function environmentRoutes(ctx: FlagsContext) {
  return new Elysia({ normalize: false })
    .get(base, ({ params, query }) => listEnvironments(ctx, params.projectKey, query), { params: ProjectParams, query: ListQuery })
    .post(
      base,
      async ({ params, body, set }) => {
        const created = await createEnvironment(ctx, params.projectKey, body);
        set.status = 201;
        return created;
      },
      { params: ProjectParams, body: EnvironmentPost },
    )
    .get(`${base}/:environmentKey`, ({ params }) => getEnvironment(ctx, params.projectKey, params.environmentKey), { params: EnvironmentParams })
    .patch(
      `${base}/:environmentKey`,
      ({ params, body, request }) => patchEnvironment(ctx, params.projectKey, params.environmentKey, body, request.headers.get("content-type")),
      { params: EnvironmentParams, body: t.Unknown() },
    )
    .delete(
      `${base}/:environmentKey`,
      async ({ params, set }) => {
        await deleteEnvironment(ctx, params.projectKey, params.environmentKey);
        set.status = 204;
      },
      { params: EnvironmentParams },
    );
}
