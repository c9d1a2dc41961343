/** The documented answers of segments (`segmentRep` in `domain/segments/segments.ts` builds them). */
import { Type as T } from "@sinclair/typebox";
import { Collection, LinkRep, Ref } from "@vexil/shared/http/openapi";
import { CLAUSE_OPS, TOTAL_WEIGHT } from "../domain/flags/model.ts";

export const UserSegmentTarget = T.Object(
  {
    contextKind: T.String({ minLength: 1 }),
    values: T.Array(T.String(), { maxItems: 10_000, description: "Context keys of that kind" }),
  },
  { additionalProperties: false, description: "The context keys of one kind on one side; one entry per kind" },
);

export const UserSegmentClause = T.Object(
  {
    _id: T.String({ minLength: 1 }),
    contextKind: T.Optional(T.String({ description: "The context kind the attribute is read from; `user` when absent" })),
    attribute: T.String({ minLength: 1 }),
    op: T.Union(CLAUSE_OPS.map((op) => T.Literal(op))),
    values: T.Array(T.Unknown()),
    negate: T.Boolean(),
  },
  { additionalProperties: false },
);

export const UserSegmentRule = T.Object(
  {
    _id: T.String({ minLength: 1 }),
    clauses: T.Array(Ref("UserSegmentClause"), { description: "All must match" }),
    weight: T.Optional(T.Integer({ minimum: 0, maximum: TOTAL_WEIGHT, description: "The share of matching contexts included, out of 100000; all when absent" })),
    rolloutContextKind: T.Optional(T.String({ minLength: 1, description: "The context kind the weight buckets by" })),
    bucketBy: T.Optional(T.String({ description: "The attribute the weight buckets by" })),
    description: T.Optional(T.String()),
  },
  { additionalProperties: false },
);

export const UserSegmentRep = T.Object(
  {
    key: T.String(),
    name: T.String(),
    description: T.String(),
    tags: T.Array(T.String()),
    creationDate: T.Integer({ description: "Unix milliseconds" }),
    lastModifiedDate: T.Integer({ description: "Unix milliseconds" }),
    included: T.Array(T.String(), { description: "User keys included" }),
    excluded: T.Array(T.String(), { description: "User keys excluded" }),
    includedContexts: T.Array(Ref("UserSegmentTarget"), { description: "Contexts of other kinds included" }),
    excludedContexts: T.Array(Ref("UserSegmentTarget"), { description: "Contexts of other kinds excluded" }),
    rules: T.Array(Ref("UserSegmentRule"), { description: "Contexts matching any rule are included (unless excluded)" }),
    version: T.Integer({ minimum: 1, description: "Raised by every change" }),
    deleted: T.Boolean({ description: "Always false here: a deleted segment is gone" }),
    generation: T.Integer(),
    unbounded: T.Boolean({ description: "Big segments are not supported: always false" }),
    unboundedContextKind: T.Optional(T.String({ minLength: 1 })),
    salt: T.String({ minLength: 1, description: "For bucketing rule weights; read-only" }),
    _links: T.Object({ self: LinkRep, parent: LinkRep }, { additionalProperties: false, description: "`self`, and `parent`: the environment's segments" }),
  },
  { additionalProperties: false },
);

export const segmentComponents = {
  UserSegment: UserSegmentRep,
  UserSegments: Collection(Ref("UserSegment")),
  UserSegmentTarget,
  UserSegmentRule,
  UserSegmentClause,
};
