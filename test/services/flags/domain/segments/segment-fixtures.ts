/** Segments and contexts for the segment domain tests. */
import type { Segment } from "@vexil/flags/domain/segments/model";
import type { SegmentSemanticContext } from "@vexil/flags/domain/segments/semantic-patch";
import { NOW } from "../flags/flag-fixtures.ts";

export { NOW, seededRandom, thrownBy } from "../flags/flag-fixtures.ts";

/** An empty segment of `production`. */
export function segment(over: Partial<Segment> = {}): Segment {
  return {
    key: "beta-testers",
    name: "Beta testers",
    description: "",
    tags: [],
    creationDate: NOW - 5000,
    lastModifiedDate: NOW - 1000,
    included: [],
    excluded: [],
    includedContexts: [],
    excludedContexts: [],
    rules: [],
    version: 3,
    deleted: false,
    generation: 1,
    unbounded: false,
    salt: "5a17",
    ...over,
  };
}

/**
 * Users u1, u2 included and u3 excluded; device d1 included, org o1 excluded; rule r1 with
 * clauses c1 (country) and c2 (plan, a JSON value); rule r2 a 50% rollout by key.
 */
export function richSegment(): Segment {
  return segment({
    description: "People trying new things",
    tags: ["beta", "team:web"],
    included: ["u1", "u2"],
    excluded: ["u3"],
    includedContexts: [{ contextKind: "device", values: ["d1"] }],
    excludedContexts: [{ contextKind: "org", values: ["o1"] }],
    rules: [
      {
        _id: "r1",
        description: "EU",
        clauses: [
          { _id: "c1", contextKind: "user", attribute: "country", op: "in", values: ["SE", "NO"], negate: false },
          { _id: "c2", contextKind: "user", attribute: "plan", op: "in", values: [{ tier: "gold" }], negate: false },
        ],
      },
      { _id: "r2", clauses: [], weight: 50000, rolloutContextKind: "user", bucketBy: "key" },
    ],
  });
}

/** A context for `production`, whose new ids are `id-1`, `id-2`, … */
export function segmentContext(over: Partial<SegmentSemanticContext> = {}): SegmentSemanticContext {
  let next = 0;
  return { environmentKey: "production", environment: "production", newId: () => `id-${++next}`, ...over };
}
