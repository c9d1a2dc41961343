/** Routes of `/api/v2/segments/{projectKey}/{environmentKey}`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import type { FlagsContext } from "../domain/context.ts";
import { SegmentPost } from "../domain/segments/schemas.ts";
import { createSegment, deleteSegment, getSegment, listSegments, patchSegment } from "../domain/segments/segments.ts";

const Key = t.String({ maxLength: 140 });
const EnvParams = t.Object({ projectKey: Key, environmentKey: Key });
const SegmentParams = t.Object({ projectKey: Key, environmentKey: Key, segmentKey: Key });
const ListQuery = t.Object(
  { limit: t.Optional(t.String()), offset: t.Optional(t.String()), sort: t.Optional(t.String({ maxLength: 64 })), filter: t.Optional(t.String({ maxLength: 2048 })) },
  { additionalProperties: true },
);
const base = "/api/v2/segments/:projectKey/:environmentKey";

export function segmentRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  return new Elysia({ normalize: false })
    .get(base, async ({ request, params, query }) => listSegments(ctx, await caller(request), params.projectKey, params.environmentKey, query), { params: EnvParams, query: ListQuery })
    .post(
      base,
      async ({ request, params, body, set }) => {
        const created = await createSegment(ctx, await caller(request), params.projectKey, params.environmentKey, body);
        set.status = 201;
        return created;
      },
      { params: EnvParams, body: SegmentPost },
    )
    .get(`${base}/:segmentKey`, async ({ request, params }) => getSegment(ctx, await caller(request), params.projectKey, params.environmentKey, params.segmentKey), {
      params: SegmentParams,
    })
    .patch(
      `${base}/:segmentKey`,
      async ({ request, params, body }) =>
        patchSegment(ctx, await caller(request), params.projectKey, params.environmentKey, params.segmentKey, body, request.headers.get("content-type")),
      { params: SegmentParams, body: t.Unknown() },
    )
    .delete(
      `${base}/:segmentKey`,
      async ({ request, params, set }) => {
        await deleteSegment(ctx, await caller(request), params.projectKey, params.environmentKey, params.segmentKey);
        set.status = 204;
      },
      { params: SegmentParams },
    );
}
