/** The body of a new segment (LaunchDarkly's `SegmentBody`), TypeBox. */
import { Type as T, type Static } from "@sinclair/typebox";
import { Key, Name, Tags } from "../schemas.ts";

export const SegmentPost = T.Object(
  {
    key: Key,
    name: Name,
    description: T.Optional(T.String({ maxLength: 8192 })),
    tags: T.Optional(Tags),
    unbounded: T.Optional(T.Boolean({ description: "Big segments are not supported: only `false`" })),
    unboundedContextKind: T.Optional(T.String({ maxLength: 64, description: "The context kind of a big segment; big segments are not supported, so it is refused" })),
  },
  { additionalProperties: false },
);
export type SegmentPost = Static<typeof SegmentPost>;
