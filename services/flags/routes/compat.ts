/** Routes in the seeds' own shapes: Unleash toggles and FeatureProbe targeting. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { featureProbeTargeting, patchFeatureProbeTargeting, unleashToggle } from "../domain/compat/compat.ts";
import type { FpTargeting } from "../domain/compat/featureprobe.ts";
import type { FlagsContext } from "../domain/context.ts";
import { operation } from "@vexil/shared/http/openapi";

const Key = t.String({ maxLength: 140 });

export function compatRoutes(ctx: FlagsContext, assertions: Assertions, unleash: { project: string; environment: string }) {
  const caller = (request: Request) => assertions.callerOf(request);
  const OnOff = t.Union([t.Literal("on"), t.Literal("off")]);
  return new Elysia({ normalize: false })
    .post(
      "/api/admin/features/:feature/toggle/:state",
      async ({ request, params }) => unleashToggle(ctx, await caller(request), unleash.project, unleash.environment, params.feature, params.state === "on"),
      {
        params: t.Object({ feature: Key, state: OnOff }),
        detail: operation({
          id: "unleashToggleFeature",
          tag: "Unleash compatibility",
          summary: "Turn a flag on or off (Unleash)",
          description: `Unleash's admin toggle, on the flag \`feature\` of the project \`${unleash.project}\` in its environment \`${unleash.environment}\` (\`VEXIL_UNLEASH_PROJECT\` and \`VEXIL_UNLEASH_ENVIRONMENT\`): a semantic patch \`turnFlagOn\` or \`turnFlagOff\` with the comment "Unleash API: toggle on|off", with the same permissions, audit entry and change events. Answers the flag in Unleash's feature shape. A project, environment or flag that does not exist is a 404 naming it.`,
          ok: { 200: "UnleashFeature" },
          errors: [403, 404],
        }),
      },
    )
    .post(
      "/api/admin/projects/:projectKey/features/:feature/environments/:environmentKey/:state",
      async ({ request, params }) => unleashToggle(ctx, await caller(request), params.projectKey, params.environmentKey, params.feature, params.state === "on"),
      {
        params: t.Object({ projectKey: Key, feature: Key, environmentKey: Key, state: OnOff }),
        detail: operation({
          id: "unleashToggleFeatureEnvironment",
          tag: "Unleash compatibility",
          summary: "Turn a flag on or off in an environment (Unleash)",
          description:
            'Unleash\'s admin toggle of a feature in one environment of a project: a semantic patch `turnFlagOn` or `turnFlagOff` in `environmentKey` with the comment "Unleash API: toggle on|off", with the same permissions, audit entry and change events. Answers the flag in Unleash\'s feature shape. A project, environment or flag that does not exist is a 404 naming it.',
          ok: { 200: "UnleashFeature" },
          errors: [403, 404],
        }),
      },
    )
    .get(
      "/api/projects/:projectKey/environments/:environmentKey/toggles/:toggleKey/targeting",
      async ({ request, params }) => featureProbeTargeting(ctx, await caller(request), params.projectKey, params.environmentKey, params.toggleKey),
      {
        params: t.Object({ projectKey: Key, environmentKey: Key, toggleKey: Key }),
        detail: operation({
          id: "getFeatureProbeToggleTargeting",
          tag: "FeatureProbe compatibility",
          summary: "Get a flag's targeting in an environment (FeatureProbe)",
          description:
            "FeatureProbe's toggle targeting as a view of the flag `toggleKey` in one environment: `disabled` is the flag off, `rules` its rules (clauses as conditions, descriptions as names), `defaultServe` the fallthrough, `disabledServe` the off variation; variations are given by value, as strings, and rollouts as splits out of 10000. A project, environment or flag that does not exist is a 404 naming it.",
          ok: { 200: "FeatureProbeToggleTargeting" },
          errors: [403, 404],
        }),
      },
    )
    .patch(
      "/api/projects/:projectKey/environments/:environmentKey/toggles/:toggleKey/targeting",
      async ({ request, params, body }) =>
        patchFeatureProbeTargeting(ctx, await caller(request), params.projectKey, params.environmentKey, params.toggleKey, body as FpTargeting),
      {
        params: t.Object({ projectKey: Key, environmentKey: Key, toggleKey: Key }),
        body: t.Object({}, { additionalProperties: true }),
        detail: operation({
          id: "patchFeatureProbeToggleTargeting",
          tag: "FeatureProbe compatibility",
          summary: "Replace a flag's targeting in an environment (FeatureProbe)",
          description:
            "FeatureProbe's targeting body, applied as one JSON Patch of the flag's environment (with `comment`): `disabled` sets it off or on, `rules` replace its rules, `defaultServe` its fallthrough and `disabledServe` its off variation. The body's variations must be the flag's, matched by value (a string as is, other values as JSON); `select` and `split` refer to the body's list. Conditions become clauses: string `is one of` → `in`, `starts with` → `startsWith`, `ends with` → `endsWith`, `contains` → `contains`, `matches regex` → `matches` (their `not` forms negated); number `=`/`!=` → `in`, `>`, `>=`, `<`, `<=` → `greaterThan`, `greaterThanOrEqual`, `lessThan`, `lessThanOrEqual`; datetime `after`/`before`; semver `=`/`!=` → `semVerEqual`, `>` → `semVerGreaterThan`, `<` → `semVerLessThan`, `>=`/`<=` → negated `semVerLessThan`/`semVerGreaterThan`; segment `is in`/`is not in` → `segmentMatch`. A split's weights (summing to 10000) become a rollout's (×10). Answers the targeting as it is then. The change goes through the flag's own checks, permissions, audit entry and change events; an environment with `requireComments` needs the `comment`. A project, environment or flag that does not exist is a 404 naming it.",
          ok: { 200: "FeatureProbeToggleTargeting" },
          errors: [403, 404],
          request: { "application/json": "FeatureProbeToggleTargetingPatch" },
          requestExample: {
            comment: "test api change",
            disabled: false,
            content: {
              rules: [{ name: "city", serve: { select: 0 }, conditions: [{ type: "number", subject: "1", predicate: ">", objects: ["1000", "1001"] }] }],
              disabledServe: { select: 0 },
              defaultServe: { select: 1 },
              variations: [
                { value: "false", name: "variation1", description: "" },
                { value: "true", name: "variation2", description: "" },
              ],
            },
          },
        }),
      },
    );
}
