/** Routes of `/api/v2/projects/{projectKey}/environments`, with the SDK and mobile key resets. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { createEnvironment, deleteEnvironment, getEnvironment, listEnvironments, patchEnvironment, resetEnvironmentKey } from "../domain/environments.ts";
import type { FlagsContext } from "../domain/context.ts";
import { EnvironmentPost } from "../domain/schemas.ts";
import { ListQuery, ProjectParams } from "./projects.ts";

const EnvironmentParams = t.Object({ projectKey: t.String({ maxLength: 140 }), environmentKey: t.String({ maxLength: 140 }) });
const ExpiryQuery = t.Object({ expiry: t.Optional(t.String()) }, { additionalProperties: true });
const base = "/api/v2/projects/:projectKey/environments";

export function environmentRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  return new Elysia({ normalize: false })
    .get(base, async ({ request, params, query }) => listEnvironments(ctx, await caller(request), params.projectKey, query), { params: ProjectParams, query: ListQuery })
    .post(
      base,
      async ({ request, params, body, set }) => {
        const created = await createEnvironment(ctx, await caller(request), params.projectKey, body);
        set.status = 201;
        return created;
      },
      { params: ProjectParams, body: EnvironmentPost },
    )
    .get(`${base}/:environmentKey`, async ({ request, params }) => getEnvironment(ctx, await caller(request), params.projectKey, params.environmentKey), {
      params: EnvironmentParams,
    })
    .patch(
      `${base}/:environmentKey`,
      async ({ params, body, request }) =>
        patchEnvironment(ctx, await caller(request), params.projectKey, params.environmentKey, body, request.headers.get("content-type")),
      { params: EnvironmentParams, body: t.Unknown() },
    )
    .delete(
      `${base}/:environmentKey`,
      async ({ request, params, set }) => {
        await deleteEnvironment(ctx, await caller(request), params.projectKey, params.environmentKey);
        set.status = 204;
      },
      { params: EnvironmentParams },
    )
    .post(
      `${base}/:environmentKey/apiKey`,
      async ({ request, params, query }) => resetEnvironmentKey(ctx, await caller(request), params.projectKey, params.environmentKey, "sdk", query.expiry),
      { params: EnvironmentParams, query: ExpiryQuery },
    )
    .post(
      `${base}/:environmentKey/mobileKey`,
      async ({ request, params }) => resetEnvironmentKey(ctx, await caller(request), params.projectKey, params.environmentKey, "mob", undefined),
      { params: EnvironmentParams },
    );
}
