/** The body of a new segment (LaunchDarkly's `SegmentBody`), TypeBox. */
import { Type as T, type Static } from "@sinclair/typebox";
import { Key, Name, Tags } from "../schemas.ts";

export const SegmentPost = T.Object(
  {
    key: Key,
    name: Name,
    description: T.Optional(T.String({ maxLength: 8192 })),
    tags: T.Optional(Tags),
    unbounded: T.Optional(T.Boolean()),
    unboundedContextKind: T.Optional(T.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type SegmentPost = Static<typeof SegmentPost>;
