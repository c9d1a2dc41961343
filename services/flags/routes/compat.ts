/** Routes in the seeds' own shapes: Unleash toggles and FeatureProbe targeting. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { featureProbeTargeting, patchFeatureProbeTargeting, unleashToggle } from "../domain/compat/compat.ts";
import type { FpTargeting } from "../domain/compat/featureprobe.ts";
import type { FlagsContext } from "../domain/context.ts";

const Key = t.String({ maxLength: 140 });

export function compatRoutes(ctx: FlagsContext, assertions: Assertions, unleash: { project: string; environment: string }) {
  const caller = (request: Request) => assertions.callerOf(request);
  const OnOff = t.Union([t.Literal("on"), t.Literal("off")]);
  return new Elysia({ normalize: false })
    .post(
      "/api/admin/features/:feature/toggle/:state",
      async ({ request, params }) => unleashToggle(ctx, await caller(request), unleash.project, unleash.environment, params.feature, params.state === "on"),
      { params: t.Object({ feature: Key, state: OnOff }) },
    )
    .post(
      "/api/admin/projects/:projectKey/features/:feature/environments/:environmentKey/:state",
      async ({ request, params }) => unleashToggle(ctx, await caller(request), params.projectKey, params.environmentKey, params.feature, params.state === "on"),
      { params: t.Object({ projectKey: Key, feature: Key, environmentKey: Key, state: OnOff }) },
    )
    .get(
      "/api/projects/:projectKey/environments/:environmentKey/toggles/:toggleKey/targeting",
      async ({ request, params }) => featureProbeTargeting(ctx, await caller(request), params.projectKey, params.environmentKey, params.toggleKey),
      { params: t.Object({ projectKey: Key, environmentKey: Key, toggleKey: Key }) },
    )
    .patch(
      "/api/projects/:projectKey/environments/:environmentKey/toggles/:toggleKey/targeting",
      async ({ request, params, body }) =>
        patchFeatureProbeTargeting(ctx, await caller(request), params.projectKey, params.environmentKey, params.toggleKey, body as FpTargeting),
      { params: t.Object({ projectKey: Key, environmentKey: Key, toggleKey: Key }), body: t.Object({}, { additionalProperties: true }) },
    );
}
