/** Routes of `/api/v2/projects/{projectKey}/environments`, with the SDK and mobile key resets. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { createEnvironment, deleteEnvironment, getEnvironment, listEnvironments, patchEnvironment, resetEnvironmentKey } from "../domain/environments.ts";
import type { FlagsContext } from "../domain/context.ts";
import { EnvironmentPost } from "../domain/schemas.ts";
import { ListQuery, ProjectParams } from "./projects.ts";
import { operation, patchRequest } from "@vexil/shared/http/openapi";

const EnvironmentParams = t.Object({ projectKey: t.String({ maxLength: 140 }), environmentKey: t.String({ maxLength: 140 }) });
const ExpiryQuery = t.Object({ expiry: t.Optional(t.String()) }, { additionalProperties: true });
const base = "/api/v2/projects/:projectKey/environments";

export function environmentRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  return new Elysia({ normalize: false })
    .get(base, async ({ request, params, query }) => listEnvironments(ctx, await caller(request), params.projectKey, query), {
      params: ProjectParams,
      query: ListQuery,
      detail: operation({ id: "getEnvironmentsByProject", tag: "Environments", summary: "List a project's environments", ok: { 200: "Environments" }, errors: [404] }),
    })
    .post(
      base,
      async ({ request, params, body, set }) => {
        const created = await createEnvironment(ctx, await caller(request), params.projectKey, body);
        set.status = 201;
        return created;
      },
      {
        params: ProjectParams,
        body: EnvironmentPost,
        detail: operation({
          id: "postEnvironment",
          tag: "Environments",
          summary: "Create an environment",
          description: "Every flag of the project gets its defaults in it. The SDK and mobile keys are in the answer, this once.",
          ok: { 201: "Environment" },
          errors: [403, 404, 409],
          requestExample: { key: "staging", name: "Staging", color: "ffaa00" },
        }),
      },
    )
    .get(`${base}/:environmentKey`, async ({ request, params }) => getEnvironment(ctx, await caller(request), params.projectKey, params.environmentKey), {
      params: EnvironmentParams,
      detail: operation({ id: "getEnvironment", tag: "Environments", summary: "Get an environment", ok: { 200: "Environment" }, errors: [404] }),
    })
    .patch(
      `${base}/:environmentKey`,
      async ({ params, body, request }) =>
        patchEnvironment(ctx, await caller(request), params.projectKey, params.environmentKey, body, request.headers.get("content-type")),
      {
        params: EnvironmentParams,
        body: t.Unknown(),
        detail: operation({
          id: "patchEnvironment",
          tag: "Environments",
          summary: "Update an environment",
          ok: { 200: "Environment" },
          errors: [403, 404, 409],
          request: patchRequest(),
          requestExample: [{ op: "replace", path: "/requireComments", value: true }],
        }),
      },
    )
    .delete(
      `${base}/:environmentKey`,
      async ({ request, params, set }) => {
        await deleteEnvironment(ctx, await caller(request), params.projectKey, params.environmentKey);
        set.status = 204;
      },
      { params: EnvironmentParams, detail: operation({ id: "deleteEnvironment", tag: "Environments", summary: "Delete an environment", ok: { 204: null }, errors: [403, 404] }) },
    )
    .post(
      `${base}/:environmentKey/apiKey`,
      async ({ request, params, query }) => resetEnvironmentKey(ctx, await caller(request), params.projectKey, params.environmentKey, "sdk", query.expiry),
      {
        params: EnvironmentParams,
        query: ExpiryQuery,
        detail: operation({
          id: "resetEnvironmentSDKKey",
          tag: "Environments",
          summary: "Reset the environment's SDK key",
          description: "The new key is in the answer, this once. With `expiry` (epoch ms) the old key keeps working until then; without, it stops at once and its streams close.",
          ok: { 200: "Environment" },
          errors: [403, 404],
        }),
      },
    )
    .post(
      `${base}/:environmentKey/mobileKey`,
      async ({ request, params }) => resetEnvironmentKey(ctx, await caller(request), params.projectKey, params.environmentKey, "mob", undefined),
      {
        params: EnvironmentParams,
        detail: operation({ id: "resetEnvironmentMobileKey", tag: "Environments", summary: "Reset the environment's mobile key", description: "The new key is in the answer, this once; the old one stops at once.", ok: { 200: "Environment" }, errors: [403, 404] }),
      },
    );
}
