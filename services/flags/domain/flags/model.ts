/**
 * The feature flag document: LaunchDarkly's detailed flag representation without its computed
 * fields (`_links`, `_site`, `_summary`, `_maintainer`, …), which `representation.ts` adds.
 * Every write path (create, JSON Patch, merge patch, semantic patch, copy) ends in `withFlagIds`
 * (`ids.ts`: ids the server assigns, duplicates refused) and `validateFlag`, one check of the
 * whole resulting document.
 */
export const CLAUSE_OPS = [
  "in",
  "endsWith",
  "startsWith",
  "matches",
  "contains",
  "lessThan",
  "lessThanOrEqual",
  "greaterThan",
  "greaterThanOrEqual",
  "before",
  "after",
  "semVerEqual",
  "semVerLessThan",
  "semVerGreaterThan",
  "segmentMatch",
] as const;
export type ClauseOp = (typeof CLAUSE_OPS)[number];

export interface Variation {
  _id: string;
  value: unknown;
  name?: string;
  description?: string;
}

export interface Clause {
  _id: string;
  contextKind?: string;
  attribute: string;
  op: ClauseOp;
  values: unknown[];
  negate: boolean;
}

export interface WeightedVariation {
  variation: number;
  weight: number;
  _untracked?: boolean;
}

export interface Rollout {
  variations: WeightedVariation[];
  bucketBy?: string;
  seed?: number;
  contextKind?: string;
  experimentAllocation?: { defaultVariation: number; canReshuffle: boolean };
}

/** Exactly one of `variation` or `rollout`. */
export interface VariationOrRollout {
  variation?: number;
  rollout?: Rollout;
}

export interface Rule extends VariationOrRollout {
  _id: string;
  description?: string;
  clauses: Clause[];
  trackEvents: boolean;
  ref?: string;
}

export interface Target {
  contextKind?: string;
  values: string[];
  variation: number;
}

export interface Prerequisite {
  key: string;
  variation: number;
}

export interface FlagEnvironment {
  on: boolean;
  archived: boolean;
  salt: string;
  sel: string;
  lastModified: number;
  version: number;
  targets: Target[];
  contextTargets: Target[];
  rules: Rule[];
  fallthrough: VariationOrRollout;
  offVariation?: number;
  prerequisites: Prerequisite[];
  trackEvents: boolean;
  trackEventsFallthrough: boolean;
  _debugEventsUntilDate?: number | null;
}

export interface CustomProperty {
  name: string;
  value: string[];
}

export interface Flag {
  key: string;
  name: string;
  description: string;
  kind: "boolean" | "multivariate";
  variations: Variation[];
  temporary: boolean;
  tags: string[];
  clientSideAvailability: { usingEnvironmentId: boolean; usingMobileKey: boolean };
  maintainerId?: string;
  /** The maintaining team, instead of a member. */
  maintainerTeamKey?: string;
  archived: boolean;
  archivedDate?: number;
  deprecated: boolean;
  deprecatedDate?: number;
  defaults: { onVariation: number; offVariation: number };
  customProperties: Record<string, CustomProperty>;
  creationDate: number;
  /** Global version: every change to the flag raises it. */
  _version: number;
  /** Keyed by environment key. */
  environments: Record<string, FlagEnvironment>;
}

/** Weights are thousandths of a percent. */
export const TOTAL_WEIGHT = 100_000;

/** A fresh id for variations, rules and clauses. */
export const newId = () => crypto.randomUUID();

/** 32 hex characters, for salts and `sel`. */
export const randomHex = () => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");

/** The targeting of a flag in a new environment: off, serving its defaults, no targets or rules. */
export function defaultEnvironment(flag: Pick<Flag, "defaults">, now: number): FlagEnvironment {
  return {
    on: false,
    archived: false,
    salt: randomHex(),
    sel: randomHex(),
    lastModified: now,
    version: 1,
    targets: [],
    contextTargets: [],
    rules: [],
    fallthrough: { variation: flag.defaults.onVariation },
    offVariation: flag.defaults.offVariation,
    prerequisites: [],
    trackEvents: false,
    trackEventsFallthrough: false,
    _debugEventsUntilDate: null,
  };
}
