/** Routes of `/api/v2/flag-statuses/{projectKey}/{environmentKey}` and `/api/v2/flag-status/{projectKey}/{featureFlagKey}`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { operation } from "@vexil/shared/http/openapi";
import type { FlagsContext } from "../domain/context.ts";
import { getFlagStatus, getFlagStatusAcrossEnvironments, getFlagStatuses } from "../domain/flags/flag-statuses.ts";
import { statusOperations } from "../openapi/flag-statuses.ts";

const Key = t.String({ maxLength: 140 });
const EnvParams = t.Object({ projectKey: Key, environmentKey: Key });
const FlagEnvParams = t.Object({ projectKey: Key, environmentKey: Key, featureFlagKey: Key });
const FlagParams = t.Object({ projectKey: Key, featureFlagKey: Key });
const AcrossQuery = t.Object(
  { env: t.Optional(t.Union([t.String({ maxLength: 1024 }), t.Array(t.String({ maxLength: 140 }), { maxItems: 50 })], { description: "Environment keys to show, comma-separated or repeated" })) },
  { additionalProperties: true },
);
const TAG = "Feature flags";

export function flagStatusRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  return new Elysia({ normalize: false })
    .get("/api/v2/flag-statuses/:projectKey/:environmentKey", async ({ request, params }) => getFlagStatuses(ctx, await caller(request), params.projectKey, params.environmentKey), {
      params: EnvParams,
      detail: operation({ id: "getFeatureFlagStatuses", tag: TAG, ...statusOperations.list, ok: { 200: "FeatureFlagStatuses" }, errors: [403, 404] }),
    })
    .get(
      "/api/v2/flag-statuses/:projectKey/:environmentKey/:featureFlagKey",
      async ({ request, params }) => getFlagStatus(ctx, await caller(request), params.projectKey, params.environmentKey, params.featureFlagKey),
      {
        params: FlagEnvParams,
        detail: operation({ id: "getFeatureFlagStatus", tag: TAG, ...statusOperations.one, ok: { 200: "FlagStatusRep" }, errors: [403, 404] }),
      },
    )
    .get(
      "/api/v2/flag-status/:projectKey/:featureFlagKey",
      async ({ request, params, query }) => getFlagStatusAcrossEnvironments(ctx, await caller(request), params.projectKey, params.featureFlagKey, query.env),
      {
        params: FlagParams,
        query: AcrossQuery,
        detail: operation({ id: "getFeatureFlagStatusAcrossEnvironments", tag: TAG, ...statusOperations.across, ok: { 200: "FeatureFlagStatusAcrossEnvironments" }, errors: [403, 404] }),
      },
    );
}
