/**
 * A segment of one environment: LaunchDarkly's `UserSegment` without computed fields
 * (`_links`, `_flags`). Every write path ends in `withSegmentIds` (`ids.ts`) and `validateSegment`.
 */
import type { Clause } from "../flags/model.ts";

export interface SegmentTarget {
  contextKind: string;
  values: string[];
}

export interface SegmentRule {
  _id: string;
  clauses: Clause[];
  /** 0–100000: the share of matching contexts included; absent means all. */
  weight?: number;
  rolloutContextKind?: string;
  bucketBy?: string;
  description?: string;
}

export interface Segment {
  key: string;
  name: string;
  description: string;
  tags: string[];
  creationDate: number;
  lastModifiedDate: number;
  /** User keys. */
  included: string[];
  excluded: string[];
  includedContexts: SegmentTarget[];
  excludedContexts: SegmentTarget[];
  rules: SegmentRule[];
  /** Raised by every change. */
  version: number;
  deleted: boolean;
  generation: number;
  unbounded: boolean;
  unboundedContextKind?: string;
  /** For bucketing rule weights; read-only. */
  salt: string;
}
