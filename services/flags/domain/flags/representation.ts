/** The flag JSON the API returns: the document plus `_links`, `_site`, `_summary` and friends. */
import { link } from "@vexil/shared/http/links";
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
  const variations: Record<string, VariationSummary> = {};
  flag.variations.forEach((_, i) => {
    const s: VariationSummary = {
      rules: env.rules.filter((r) => serves(r, i)).length,
      nullRules: env.rules.filter((r) => serves(r, i) && r.clauses.length === 0).length,
      targets: env.targets.filter((t) => t.variation === i).reduce((n, t) => n + t.values.length, 0),
      contextTargets: env.contextTargets.filter((t) => t.variation === i).reduce((n, t) => n + t.values.length, 0),
    };
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

export interface RepresentationOptions {
  projectKey: string;
  environments: EnvironmentRecord[];
  /** Only these environments (all when absent). */
  only?: Set<string>;
  /** Leave out each environment's targets, rules and prerequisites (list views). */
  summary: boolean;
}

export function flagRep(flag: Flag, o: RepresentationOptions) {
  const envs: Record<string, unknown> = {};
  for (const env of o.environments) {
    const config = flag.environments[env.key];
    if (!config || (o.only && !o.only.has(env.key))) continue;
    const { targets, contextTargets, rules, prerequisites, ...rest } = config;
    envs[env.key] = {
      ...rest,
      ...(o.summary ? {} : { targets, contextTargets, rules, prerequisites }),
      _environmentName: env.name,
      _site: { href: `/${o.projectKey}/${env.key}/features/${flag.key}`, type: "text/html" },
      _summary: environmentSummary(flag, config),
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
export type FlagRep = ReturnType<typeof flagRep>;
