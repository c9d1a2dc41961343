/** Routes of `/api/v2/projects/{projectKey}/flags/{flagKey}/environments/{environmentKey}/scheduled-changes`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { operation } from "@vexil/shared/http/openapi";
import { Type as T } from "@sinclair/typebox";
import type { FlagsContext } from "../domain/context.ts";
import { SCHEDULED_CHANGE_INSTRUCTION_KINDS } from "../domain/schedules/scheduled-change-patch.ts";
import { createScheduledChange, deleteScheduledChange, getScheduledChange, ignoreConflictsParam, listScheduledChanges, patchScheduledChange } from "../domain/schedules/scheduled-changes.ts";
import { SCHEDULED_CHANGE_DOCS, ScheduledChangePost } from "../openapi/scheduled-changes.ts";

const Key = t.String({ maxLength: 140 });
const Params = t.Object({ projectKey: Key, flagKey: Key, environmentKey: Key });
const OneParams = t.Object({ projectKey: Key, flagKey: Key, environmentKey: Key, id: t.String({ maxLength: 64 }) });
const ConflictsQuery = t.Object(
  { ignoreConflicts: t.Optional(t.String({ description: "`true`: schedule even when the instructions conflict with another pending change (recorded in `conflicts`)" })) },
  { additionalProperties: true },
);
const base = "/api/v2/projects/:projectKey/flags/:flagKey/environments/:environmentKey/scheduled-changes";
const TAG = "Scheduled changes";

const PatchBody = T.Object(
  {
    comment: T.Optional(T.String({ maxLength: 4096 })),
    instructions: T.Array(T.Object({ kind: T.Union(SCHEDULED_CHANGE_INSTRUCTION_KINDS.map((k) => T.Literal(k))), value: T.Optional(T.Unknown()) }, { additionalProperties: false }), { minItems: 1 }),
  },
  { description: "Instructions applied in order, all or nothing" },
);

export function scheduledChangeRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  return new Elysia({ normalize: false })
    .get(base, async ({ request, params }) => listScheduledChanges(ctx, await caller(request), params.projectKey, params.flagKey, params.environmentKey), {
      params: Params,
      detail: operation({ id: "getFlagConfigScheduledChanges", tag: TAG, summary: "List a flag's scheduled changes in an environment", description: SCHEDULED_CHANGE_DOCS.list, ok: { 200: "FeatureFlagScheduledChanges" }, errors: [403, 404] }),
    })
    .post(
      base,
      async ({ request, params, body, query, set }) => {
        const created = await createScheduledChange(ctx, await caller(request), params.projectKey, params.flagKey, params.environmentKey, body, ignoreConflictsParam(query.ignoreConflicts));
        set.status = 201;
        return created;
      },
      {
        params: Params,
        query: ConflictsQuery,
        body: ScheduledChangePost,
        detail: operation({
          id: "postFlagConfigScheduledChanges",
          tag: TAG,
          summary: "Schedule a change to a flag in an environment",
          description: SCHEDULED_CHANGE_DOCS.create,
          ok: { 201: "FeatureFlagScheduledChange" },
          errors: [403, 404],
          requestExample: { comment: "Launch on Monday", executionDate: 1_893_456_000_000, instructions: [{ kind: "turnFlagOn" }] },
        }),
      },
    )
    .get(`${base}/:id`, async ({ request, params }) => getScheduledChange(ctx, await caller(request), params.projectKey, params.flagKey, params.environmentKey, params.id), {
      params: OneParams,
      detail: operation({ id: "getFeatureFlagScheduledChange", tag: TAG, summary: "Get a scheduled change", ok: { 200: "FeatureFlagScheduledChange" }, errors: [403, 404] }),
    })
    .patch(
      `${base}/:id`,
      async ({ request, params, body, query }) =>
        patchScheduledChange(ctx, await caller(request), params.projectKey, params.flagKey, params.environmentKey, params.id, body, request.headers.get("content-type"), ignoreConflictsParam(query.ignoreConflicts)),
      {
        params: OneParams,
        query: ConflictsQuery,
        body: t.Unknown(),
        detail: operation({
          id: "patchFlagConfigScheduledChange",
          tag: TAG,
          summary: "Edit or delete a scheduled change",
          description: SCHEDULED_CHANGE_DOCS.patch,
          ok: { 200: "FeatureFlagScheduledChange" },
          errors: [403, 404, 409],
          request: { "application/json; domain-model=launchdarkly.semanticpatch": PatchBody },
          requestExample: { instructions: [{ kind: "updateScheduledChangesExecutionDate", value: 1_893_542_400_000 }, { kind: "replaceScheduledChangesInstructions", value: [{ kind: "turnFlagOff" }] }] },
        }),
      },
    )
    .delete(
      `${base}/:id`,
      async ({ request, params, set }) => {
        await deleteScheduledChange(ctx, await caller(request), params.projectKey, params.flagKey, params.environmentKey, params.id);
        set.status = 204;
      },
      { params: OneParams, detail: operation({ id: "deleteFlagConfigScheduledChanges", tag: TAG, summary: "Delete a scheduled change", description: SCHEDULED_CHANGE_DOCS.delete, ok: { 204: null }, errors: [403, 404, 409] }) },
    );
}
