/** Routes of `/api/v2/flags/{projectKey}`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import type { FlagsContext } from "../domain/context.ts";
import { copyFlagConfig, createFlag, deleteFlag, getFlag, listFlags, patchFlag } from "../domain/flags/flags.ts";
import { FlagCopy, FlagPost } from "../domain/flags/schemas.ts";
import { dependentFlags } from "../domain/flags/dependent-flags.ts";
import { INSTRUCTION_KINDS } from "../domain/flags/semantic-patch.ts";
import { operation, patchRequest } from "@vexil/shared/http/openapi";
import { jsonAnswer } from "@vexil/shared/http/json-answer";

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
const FlagQuery = t.Object({ env: Env, expand: t.Optional(t.String({ maxLength: 256 })) }, { additionalProperties: true });
const CloneQuery = t.Object({ clone: t.Optional(t.String({ maxLength: 140, description: "The key of a flag to copy: its variations, targeting and settings, under the new key and name" })) }, { additionalProperties: true });
const ProjectParams = t.Object({ projectKey: t.String({ maxLength: 140 }) });
const FlagParams = t.Object({ projectKey: t.String({ maxLength: 140 }), flagKey: t.String({ maxLength: 140 }) });

export function flagRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  return new Elysia({ normalize: false })
    .get("/api/v2/flags/:projectKey", async ({ request, params, query }) => listFlags(ctx, await caller(request), params.projectKey, query), {
      params: ProjectParams,
      query: ListQuery,
      detail: operation({
        id: "getFeatureFlags",
        tag: "Feature flags",
        summary: "List a project's flags",
        description: [
          "Summaries by default; `summary=0` gives each environment's targets, rules and prerequisites. `env` (repeated or comma-separated) limits the environments shown.",
          "`filter` is a comma-separated list of `query:<text>`, `tags:<a+b>`, `state:live|deprecated|archived`, `type:temporary|permanent`, `sdkAvailability:client|mobile|anyClient|server`, `maintainerId:<id>`, `filterEnv:<env>`.",
          "`sort` by `key`, `name` or `creationDate` (`-` first for descending); `limit` (at most 100) and `offset` page, with `_links.next`.",
        ].join(" "),
        ok: { 200: "FeatureFlags" },
        errors: [404],
      }),
    })
    .post(
      "/api/v2/flags/:projectKey",
      async ({ request, params, body, query, set }) => {
        const created = await createFlag(ctx, await caller(request), params.projectKey, body, query.clone);
        set.status = 201;
        return created;
      },
      {
        params: ProjectParams,
        body: FlagPost,
        query: CloneQuery,
        detail: operation({
          id: "postFeatureFlag",
          tag: "Feature flags",
          summary: "Create a flag",
          description: "In every environment of the project, off, serving its `defaults`. Without variations, a boolean flag (`true`, `false`). With `?clone=<key>`, a copy of that flag.",
          ok: { 201: "FeatureFlag" },
          errors: [403, 404, 409],
          requestExample: { key: "new-checkout", name: "New checkout", variations: [{ value: true }, { value: false }], defaults: { onVariation: 0, offVariation: 1 }, tags: ["checkout"] },
        }),
      },
    )
    .get("/api/v2/flags/:projectKey/:flagKey", async ({ request, params, query }) => jsonAnswer(await getFlag(ctx, await caller(request), params.projectKey, params.flagKey, query)), {
      params: FlagParams,
      query: FlagQuery,
      detail: operation({ id: "getFeatureFlag", tag: "Feature flags", summary: "Get a flag", description: "`env` limits the environments shown.", ok: { 200: "FeatureFlag" }, errors: [404] }),
    })
    .patch(
      "/api/v2/flags/:projectKey/:flagKey",
      async ({ request, params, body, set }) => {
        const patched = await patchFlag(ctx, await caller(request), params.projectKey, params.flagKey, body, request.headers.get("content-type"), request.headers.get("if-match"));
        if (patched === undefined) {
          set.status = 204;
          return undefined;
        }
        return jsonAnswer(patched);
      },
      {
        params: FlagParams,
        body: t.Unknown(),
        detail: operation({
          id: "patchFeatureFlag",
          tag: "Feature flags",
          summary: "Update a flag",
          description: [
            "JSON Patch (with a `comment`, and `test` of `/_version` or `/environments/<env>/version` for optimistic concurrency: 409 `optimistic_locking_error`), JSON Merge Patch, or a semantic patch of instructions (`turnFlagOn`, `addTargets`, `addRule`, …).",
            "The whole result is validated before anything is written (a field the flag does not have, at any level, is a 400 naming it); a change either applies entirely or not at all.",
            "Variations, rules and clauses without an `_id` (or with `\"\"`) get one from the server; given ids are kept, and one used twice (two variations, two rules of an environment, two clauses of a rule) is a 400 naming it. A rule without `trackEvents`, a clause without `negate`, get `false`.",
            "A semantic patch with `deleteFlag` answers 204. Environments with `requireComments` refuse changes without a comment.",
            "With `If-Match: \"<_version>\"` (any format) the change applies only to that version of the flag; another one is a 409 `optimistic_locking_error`.",
          ].join(" "),
          ok: { 200: "FeatureFlag", 204: null },
          errors: [403, 404, 409],
          request: patchRequest(INSTRUCTION_KINDS),
          requestExample: { comment: "Rename", patch: [{ op: "test", path: "/_version", value: 1 }, { op: "replace", path: "/name", value: "New checkout flow" }] },
        }),
      },
    )
    .get("/api/v2/flags/:projectKey/:flagKey/dependent-flags", async ({ request, params }) => dependentFlags(ctx, await caller(request), params.projectKey, params.flagKey), {
      params: FlagParams,
      detail: operation({ id: "getDependentFlags", tag: "Feature flags (beta)", summary: "Flags that have this flag as a prerequisite, by environment", ok: { 200: "DependentFlags" }, errors: [404], beta: true }),
    })
    .get(
      "/api/v2/flags/:projectKey/:flagKey/dependent-flags/:environmentKey",
      async ({ request, params }) => dependentFlags(ctx, await caller(request), params.projectKey, params.flagKey, params.environmentKey),
      {
        params: t.Object({ projectKey: t.String({ maxLength: 140 }), flagKey: t.String({ maxLength: 140 }), environmentKey: t.String({ maxLength: 140 }) }),
        detail: operation({ id: "getDependentFlagsByEnv", tag: "Feature flags (beta)", summary: "Flags that have this flag as a prerequisite in one environment", ok: { 200: "DependentFlagsByEnvironment" }, errors: [404], beta: true }),
      },
    )
    .post(
      "/api/v2/flags/:projectKey/:flagKey/copy",
      async ({ request, params, body, set }) => {
        const copied = await copyFlagConfig(ctx, await caller(request), params.projectKey, params.flagKey, body);
        set.status = 201;
        return copied;
      },
      {
        params: FlagParams,
        body: FlagCopy,
        detail: operation({
          id: "copyFeatureFlag",
          tag: "Feature flags",
          summary: "Copy a flag's targeting from one environment to another",
          description: "`includedActions` or `excludedActions` choose what is copied; `currentVersion` on source or target must be the environment's version of the flag (else 409).",
          ok: { 201: "FeatureFlag" },
          errors: [403, 404, 409],
          requestExample: { source: { key: "test" }, target: { key: "production", currentVersion: 3 }, comment: "Promote to production" },
        }),
      },
    )
    .delete(
      "/api/v2/flags/:projectKey/:flagKey",
      async ({ request, params, set }) => {
        await deleteFlag(ctx, await caller(request), params.projectKey, params.flagKey);
        set.status = 204;
      },
      { params: FlagParams, detail: operation({ id: "deleteFeatureFlag", tag: "Feature flags", summary: "Delete a flag in every environment", ok: { 204: null }, errors: [403, 404, 409] }) },
    );
}
