/**
 * Export: what is live in a project as a flags-as-code file (`file-format.ts`). Deterministic:
 * flags and segments sorted by key, fields in one fixed order, defaults left out (an empty list,
 * `false`, the `user` context kind), so the same live state always gives the same bytes, and a
 * file imported into an empty project exports back byte for byte.
 *
 * Not in the file: ids, salts, versions, dates, archived flags, maintainers, custom properties,
 * a rollout's seed and experiment allocation, and anything secret.
 */
import { Document, isScalar, visit } from "yaml";
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { invalidRequest } from "@vexil/shared/errors";
import type { EnvironmentRecord } from "../../storage/project-store.ts";
import type { FlagsContext } from "../context.ts";
import { scopeOf, type Scope } from "../flags/change.ts";
import type { Clause, Flag, FlagEnvironment, Rollout, VariationOrRollout } from "../flags/model.ts";
import { flagDocument } from "../flags/representation.ts";
import type { Segment } from "../segments/model.ts";
import { FILE_VERSION, type FileClause, type FileEnvironment, type FileFlag, type FileFlagEnvironment, type FileRollout, type FileSegment, type FlagsFile } from "./file-format.ts";
import { variationKeys } from "./variation-keys.ts";

/** What is live in a project: its environments, flags (not archived) and segments, sorted by key. */
export interface Live {
  scope: Scope;
  flags: Flag[];
  /** Versions of the stored flags, by key. */
  flagVersions: Map<string, number>;
  segments: Map<string, Segment[]>;
}

const byKey = <T extends { key: string }>(a: T, b: T) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export async function readLive(ctx: FlagsContext, projectKey: string): Promise<Live> {
  const scope = await scopeOf(ctx, projectKey, true);
  const keys = await ctx.flags.liveKeys(scope.project.id);
  const records = keys.length > 0 ? await ctx.flags.flagsByKeys(scope.project.id, keys) : [];
  const flags = records.map(flagDocument).sort(byKey);
  const segments = new Map<string, Segment[]>();
  for (const env of scope.envs) {
    const all: Segment[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await ctx.segments.listSegments(env.id, { limit: 1000, offset, sort: { field: "key", descending: false } });
      all.push(...page.items.map((r) => r.doc));
      if (page.items.length < 1000) break;
    }
    segments.set(env.key, all.sort(byKey));
  }
  return { scope, flags, flagVersions: new Map(records.map((r) => [r.key, r.version])), segments };
}

/** The environments `env` names (comma-separated), or all of them. */
export function environmentsNamed(scope: Scope, env: string | undefined): EnvironmentRecord[] {
  if (env === undefined || env === "") return [...scope.envs].sort(byKey);
  const keys = env.split(",").filter(Boolean);
  for (const k of keys) if (!scope.envs.some((e) => e.key === k)) throw invalidRequest(`env: no environment "${k}" in project "${scope.project.key}"`);
  return scope.envs.filter((e) => keys.includes(e.key)).sort(byKey);
}

function environmentSettings(env: EnvironmentRecord): FileEnvironment {
  return {
    name: env.name,
    color: env.color,
    ...(env.tags.length > 0 ? { tags: [...env.tags].sort() } : {}),
    critical: env.critical,
    requireComments: env.requireComments,
    confirmChanges: env.confirmChanges,
    defaultTtl: env.defaultTtl,
    secureMode: env.secureMode,
    defaultTrackEvents: env.defaultTrackEvents,
  };
}

function clauseOf(c: Clause): FileClause {
  return {
    ...(c.contextKind && c.contextKind !== "user" ? { contextKind: c.contextKind } : {}),
    attribute: c.attribute,
    op: c.op,
    values: c.values,
    ...(c.negate ? { negate: true } : {}),
  };
}

function rolloutOf(r: Rollout, keys: string[]): FileRollout {
  const variations: Record<string, number> = {};
  for (const w of [...r.variations].sort((a, b) => a.variation - b.variation)) variations[keys[w.variation] ?? String(w.variation)] = w.weight;
  return {
    ...(r.contextKind && r.contextKind !== "user" ? { contextKind: r.contextKind } : {}),
    ...(r.bucketBy ? { bucketBy: r.bucketBy } : {}),
    variations,
  };
}

function serveOf(s: VariationOrRollout, keys: string[]) {
  if (s.rollout) return { rollout: rolloutOf(s.rollout, keys) };
  return { variation: keys[s.variation ?? 0] ?? 0 };
}

function flagEnvironmentOf(env: FlagEnvironment, keys: string[], keysOf: (flag: string) => string[] | undefined): FileFlagEnvironment {
  const all = [...env.targets, ...env.contextTargets].filter((t) => t.values.length > 0);
  const targets = all.filter((t) => (t.contextKind ?? "user") === "user").map((t) => ({ variation: keys[t.variation]!, values: t.values }));
  const contextTargets = all.filter((t) => (t.contextKind ?? "user") !== "user").map((t) => ({ contextKind: t.contextKind!, variation: keys[t.variation]!, values: t.values }));
  const prerequisites = env.prerequisites.map((p) => ({ flag: p.key, variation: keysOf(p.key)?.[p.variation] ?? p.variation }));
  const rules = env.rules.map((r) => ({
    ...(r.description ? { description: r.description } : {}),
    clauses: r.clauses.map(clauseOf),
    ...serveOf(r, keys),
    ...(r.trackEvents ? { trackEvents: true } : {}),
  }));
  return {
    on: env.on,
    ...(env.offVariation !== undefined ? { offVariation: keys[env.offVariation]! } : {}),
    fallthrough: serveOf(env.fallthrough, keys),
    ...(targets.length > 0 ? { targets } : {}),
    ...(contextTargets.length > 0 ? { contextTargets } : {}),
    ...(prerequisites.length > 0 ? { prerequisites } : {}),
    ...(rules.length > 0 ? { rules } : {}),
    ...(env.trackEvents ? { trackEvents: true } : {}),
    ...(env.trackEventsFallthrough ? { trackEventsFallthrough: true } : {}),
  };
}

function segmentOf(s: Segment): FileSegment {
  const contexts = (list: Segment["includedContexts"]) => list.filter((t) => t.values.length > 0).map((t) => ({ contextKind: t.contextKind, values: t.values }));
  const [includedContexts, excludedContexts] = [contexts(s.includedContexts), contexts(s.excludedContexts)];
  return {
    key: s.key,
    name: s.name,
    ...(s.description ? { description: s.description } : {}),
    ...(s.tags.length > 0 ? { tags: [...s.tags].sort() } : {}),
    ...(s.included.length > 0 ? { included: s.included } : {}),
    ...(s.excluded.length > 0 ? { excluded: s.excluded } : {}),
    ...(includedContexts.length > 0 ? { includedContexts } : {}),
    ...(excludedContexts.length > 0 ? { excludedContexts } : {}),
    ...(s.rules.length > 0
      ? {
          rules: s.rules.map((r) => ({
            ...(r.description ? { description: r.description } : {}),
            clauses: r.clauses.map(clauseOf),
            ...(r.weight !== undefined ? { weight: r.weight } : {}),
            ...(r.bucketBy ? { bucketBy: r.bucketBy } : {}),
            ...(r.rolloutContextKind ? { rolloutContextKind: r.rolloutContextKind } : {}),
          })),
        }
      : {}),
  };
}

/** The file of the live state, for the environments given. Pure. */
export function fileOf(live: Live, envs: EnvironmentRecord[]): FlagsFile {
  const keysByFlag = new Map(live.flags.map((f) => [f.key, variationKeys(f.variations)]));
  const keysOf = (k: string) => keysByFlag.get(k);
  const flags: FileFlag[] = live.flags.map((f) => {
    const keys = keysByFlag.get(f.key)!;
    const environments: Record<string, FileFlagEnvironment> = {};
    for (const env of envs) {
      const config = f.environments[env.key];
      if (config) environments[env.key] = flagEnvironmentOf(config, keys, keysOf);
    }
    return {
      key: f.key,
      name: f.name,
      ...(f.description ? { description: f.description } : {}),
      ...(f.tags.length > 0 ? { tags: [...f.tags].sort() } : {}),
      temporary: f.temporary,
      clientSideAvailability: { usingEnvironmentId: f.clientSideAvailability.usingEnvironmentId, usingMobileKey: f.clientSideAvailability.usingMobileKey },
      variations: f.variations.map((v, i) => ({ key: keys[i]!, value: v.value, ...(v.name ? { name: v.name } : {}), ...(v.description ? { description: v.description } : {}) })),
      defaults: { onVariation: keys[f.defaults.onVariation]!, offVariation: keys[f.defaults.offVariation]! },
      environments,
    };
  });
  const environments: Record<string, FileEnvironment> = {};
  const segments: Record<string, FileSegment[]> = {};
  for (const env of envs) {
    environments[env.key] = environmentSettings(env);
    segments[env.key] = (live.segments.get(env.key) ?? []).map(segmentOf);
  }
  return { version: FILE_VERSION, environments, flags, segments };
}

export type FileFormat = "yaml" | "json";

export function formatOf(format: string | undefined): FileFormat {
  if (format === undefined || format === "" || format === "yaml" || format === "yml") return "yaml";
  if (format === "json") return "json";
  throw invalidRequest('format must be "yaml" or "json"');
}

/**
 * The file as text: JSON indented by two spaces, or YAML without anchors or line folding, lists of
 * plain values on one line (`values: [a, b]`, as people write them; a file of a thousand flags
 * stays well under the 1 MiB a request may carry), and strings quoted wherever YAML 1.1 would read
 * something else (`"on"`, dates), so that older parsers read the same file.
 */
export function serializeFile(file: FlagsFile, format: FileFormat): string {
  if (format === "json") return `${JSON.stringify(file, null, 2)}\n`;
  const doc = new Document(file, { aliasDuplicateObjects: false, version: "1.1" });
  visit(doc, {
    Seq(_, node) {
      if (node.items.length > 0 && node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

export async function exportProject(ctx: FlagsContext, caller: Caller, projectKey: string, params: { env?: string; format?: string }): Promise<{ text: string; contentType: string }> {
  authorizeRead(caller);
  const format = formatOf(params.format);
  const live = await readLive(ctx, projectKey);
  const file = fileOf(live, environmentsNamed(live.scope, params.env));
  return { text: serializeFile(file, format), contentType: format === "json" ? "application/json" : "application/yaml" };
}
