/** The flag JSON the API returns: the document plus `_links`, `_site`, `_summary` and friends. */
import { link } from "@vexil/shared/http/links";
import { deepFreeze } from "@vexil/shared/json-clone";
import type { EnvironmentRecord } from "../../storage/project-store.ts";
import type { FlagRecord } from "../../storage/flag-store.ts";
import type { Flag, FlagEnvironment, VariationOrRollout } from "./model.ts";

export const flagsPath = (projectKey: string) => `/api/v2/flags/${encodeURIComponent(projectKey)}`;
export const flagPath = (projectKey: string, flagKey: string) => `${flagsPath(projectKey)}/${encodeURIComponent(flagKey)}`;

/**
 * The whole document of a stored flag. It shares the record's objects, which may be shared with
 * the cache too (it hands out frozen records), so a change works on a copy (`applyInstructions` and
 * `applyPatch` make one).
 */
export function flagDocument(record: FlagRecord): Flag {
  return { ...record.doc, environments: record.configs };
}

interface VariationSummary {
  rules: number;
  nullRules: number;
  targets: number;
  contextTargets: number;
  isFallthrough?: boolean;
  isOff?: boolean;
  rollout?: number;
  bucketBy?: string;
}

const serves = (v: VariationOrRollout, index: number) => v.variation === index;

/** Counts per variation: how many rules and targets serve it, and whether it is the fallthrough or off variation. */
export function environmentSummary(flag: Flag, env: FlagEnvironment) {
  // One pass over the rules and targets, counting into each variation's entry (an index that names
  // no variation counts nowhere).
  const summaries: VariationSummary[] = flag.variations.map(() => ({ rules: 0, nullRules: 0, targets: 0, contextTargets: 0 }));
  for (const r of env.rules) {
    const s = r.variation === undefined ? undefined : summaries[r.variation];
    if (!s) continue;
    s.rules++;
    if (r.clauses.length === 0) s.nullRules++;
  }
  for (const t of env.targets) if (summaries[t.variation]) summaries[t.variation]!.targets += t.values.length;
  for (const t of env.contextTargets) if (summaries[t.variation]) summaries[t.variation]!.contextTargets += t.values.length;
  const variations: Record<string, VariationSummary> = {};
  summaries.forEach((s, i) => {
    if (serves(env.fallthrough, i)) s.isFallthrough = true;
    const weight = env.fallthrough.rollout?.variations.find((w) => w.variation === i)?.weight;
    if (weight !== undefined) {
      s.rollout = weight;
      if (env.fallthrough.rollout?.bucketBy) s.bucketBy = env.fallthrough.rollout.bucketBy;
    }
    if (env.offVariation === i) s.isOff = true;
    variations[String(i)] = s;
  });
  return { prerequisites: env.prerequisites.length, variations };
}

/** The console page of a flag in an environment (`_site`). */
export const flagSite = (projectKey: string, envKey: string, flagKey: string) => ({ href: `/${projectKey}/${envKey}/features/${flagKey}`, type: "text/html" });

/** An environment's `_site`: the one before when it links the same page. */
function site(before: unknown, projectKey: string, envKey: string, flagKey: string) {
  const fresh = flagSite(projectKey, envKey, flagKey);
  return (before as { href?: string } | undefined)?.href === fresh.href ? before : Object.freeze(fresh);
}

/** What an environment's `_summary` is counted from (with the number of variations). */
const SUMMARY_PARTS = ["rules", "targets", "contextTargets", "fallthrough", "offVariation", "prerequisites"] as const;

export interface RepresentationOptions {
  projectKey: string;
  environments: EnvironmentRecord[];
  /** Only these environments (all when absent). */
  only?: Set<string>;
  /** Leave out each environment's targets, rules and prerequisites (list views). */
  summary: boolean;
}

/**
 * `before`: the representation of an earlier version of the flag, built with the same options.
 * An environment whose targeting is the same object there (a change shares the environments it
 * leaves alone) keeps its part of it: that part is built from the targeting, the flag's key and its
 * number of variations only.
 */
export function flagRep(flag: Flag, o: RepresentationOptions, before?: { flag: Flag; rep: FlagRep }): FlagRep {
  const envs: Record<string, unknown> = {};
  const reusable = before !== undefined && before.flag.key === flag.key && before.flag.variations.length === flag.variations.length;
  for (const env of o.environments) {
    const config = flag.environments[env.key];
    if (!config || (o.only && !o.only.has(env.key))) continue;
    if (reusable && before.flag.environments[env.key] === config && before.rep.environments[env.key] !== undefined) {
      envs[env.key] = before.rep.environments[env.key];
      continue;
    }
    const { targets, contextTargets, rules, prerequisites, ...rest } = config;
    // An environment changed in its own fields only (turned on, say) keeps the parts of its
    // representation before that those fields do not count in.
    const earlier = reusable ? (before.rep.environments[env.key] as { _site?: unknown; _summary?: unknown } | undefined) : undefined;
    const was = reusable ? before.flag.environments[env.key] : undefined;
    const sameCounts = was !== undefined && earlier?._summary !== undefined && SUMMARY_PARTS.every((part) => was[part] === config[part]);
    envs[env.key] = {
      ...rest,
      ...(o.summary ? {} : { targets, contextTargets, rules, prerequisites }),
      _environmentName: env.name,
      _site: site(earlier?._site, o.projectKey, env.key, flag.key),
      _summary: sameCounts ? earlier._summary : deepFreeze(environmentSummary(flag, config)),
    };
  }
  const { environments: _, ...doc } = flag;
  return {
    ...doc,
    includeInSnippet: flag.clientSideAvailability.usingEnvironmentId,
    goalIds: [] as string[],
    experiments: { baselineIdx: 0, items: [] as unknown[] },
    _links: { parent: link(flagsPath(o.projectKey)), self: link(flagPath(o.projectKey, flag.key)) },
    environments: envs,
  };
}
export interface FlagRep extends Omit<Flag, "environments"> {
  includeInSnippet: boolean;
  goalIds: string[];
  experiments: { baselineIdx: number; items: unknown[] };
  _links: { parent: ReturnType<typeof link>; self: ReturnType<typeof link> };
  environments: Record<string, unknown>;
}

/** An answer kept for a flag record: the project it was built for (a project's key can change). */
export interface HeldAnswer {
  projectKey: string;
  rep: FlagRep;
}

/** Answers built from one flag record and one list of environments, by `env` filter ("" for all). */
const held = new WeakMap<FlagRecord, WeakMap<object, Map<string, HeldAnswer>>>();

/**
 * The answers kept for `flag` with `environments`. Read only for a frozen record and frozen
 * environments (the cache's: the same objects until the flag or the project changes), so an
 * answer kept is the answer for as long as it can be found.
 */
export function heldAnswers(flag: FlagRecord, environments: object): Map<string, HeldAnswer> {
  let byScope = held.get(flag);
  if (!byScope) held.set(flag, (byScope = new WeakMap()));
  let byFilter = byScope.get(environments);
  if (!byFilter) byScope.set(environments, (byFilter = new Map()));
  return byFilter;
}
