/** Routes of `/api/v2/segments/{projectKey}/{environmentKey}`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import type { FlagsContext } from "../domain/context.ts";
import { SegmentPost } from "../domain/segments/schemas.ts";
import { createSegment, deleteSegment, getSegment, listSegments, patchSegment } from "../domain/segments/segments.ts";
import { SEGMENT_INSTRUCTION_KINDS } from "../domain/segments/semantic-patch.ts";
import { operation, patchRequest } from "@vexil/shared/http/openapi";

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
    .get(base, async ({ request, params, query }) => listSegments(ctx, await caller(request), params.projectKey, params.environmentKey, query), {
      params: EnvParams,
      query: ListQuery,
      detail: operation({
        id: "getSegments",
        tag: "Segments",
        summary: "List an environment's segments",
        description: '`limit` (1–100, default 20) and `offset` page; `sort` by `key` (default), `name`, `creationDate` or `lastModified` (`-` first for descending); `filter` by `query equals "text"` (in key or name) and `tags anyOf ["a","b"]`, joined by commas.',
        ok: { 200: "UserSegments" },
        errors: [403, 404],
      }),
    })
    .post(
      base,
      async ({ request, params, body, set }) => {
        const created = await createSegment(ctx, await caller(request), params.projectKey, params.environmentKey, body);
        set.status = 201;
        return created;
      },
      {
        params: EnvParams,
        body: SegmentPost,
        detail: operation({
          id: "postSegment",
          tag: "Segments",
          summary: "Create a segment",
          description: "The new segment has no targets and no rules: add them with a patch. Big segments are not supported: `unbounded: true` and `unboundedContextKind` (the context kind of a big segment) are refused (400).",
          ok: { 201: "UserSegment" },
          errors: [403, 404, 409],
          requestExample: { key: "beta-testers", name: "Beta testers", description: "People who try features first", tags: ["beta"] },
        }),
      },
    )
    .get(`${base}/:segmentKey`, async ({ request, params }) => getSegment(ctx, await caller(request), params.projectKey, params.environmentKey, params.segmentKey), {
      params: SegmentParams,
      detail: operation({ id: "getSegment", tag: "Segments", summary: "Get a segment", ok: { 200: "UserSegment" }, errors: [403, 404] }),
    })
    .patch(
      `${base}/:segmentKey`,
      async ({ request, params, body }) =>
        patchSegment(ctx, await caller(request), params.projectKey, params.environmentKey, params.segmentKey, body, request.headers.get("content-type")),
      {
        params: SegmentParams,
        body: t.Unknown(),
        detail: operation({
          id: "patchSegment",
          tag: "Segments",
          summary: "Update a segment",
          description:
            "By JSON Patch, merge patch or semantic patch (whose body must name the segment's environment in `environmentKey`). `name`, `description`, `tags`, the targets and the rules may change; the other fields are read-only. The whole result is validated: a field the segment does not have, at any level (rules, clauses, targets), is a 400 naming it, and nothing changes. Rules and clauses without an `_id` get one from the server; an id used twice is a 400. A `test` on `/version` that does not hold answers 409. An environment with `requireComments` refuses a change without a comment (400).",
          ok: { 200: "UserSegment" },
          errors: [403, 404, 409],
          request: patchRequest(SEGMENT_INSTRUCTION_KINDS),
          requestExample: { comment: "Add the beta group", patch: [{ op: "test", path: "/version", value: 1 }, { op: "add", path: "/included/-", value: "user-42" }] },
        }),
      },
    )
    .delete(
      `${base}/:segmentKey`,
      async ({ request, params, set }) => {
        await deleteSegment(ctx, await caller(request), params.projectKey, params.environmentKey, params.segmentKey);
        set.status = 204;
      },
      { params: SegmentParams, detail: operation({ id: "deleteSegment", tag: "Segments", summary: "Delete a segment", ok: { 204: null }, errors: [403, 404] }) },
    );
}
