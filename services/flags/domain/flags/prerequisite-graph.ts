/**
 * The other flags a change to a flag decides on: the flags its prerequisites reach (to check they
 * exist, their variations and cycles) and, when asked, the flags that have it as a prerequisite
 * (refused deletions and archivals, variations still in use). Read from the store by following
 * prerequisites, so its cost depends on the graph around the flag, never on the project's size.
 */
import type { FlagStore } from "../../storage/flag-store.ts";
import type { Flag } from "./model.ts";
import { flagDocument } from "./representation.ts";
import type { FlagLookup } from "./validate.ts";

export interface Graph {
  /** The flags reachable from the flag, and its dependents; never the flag itself. */
  lookup: FlagLookup;
  /** Keys of the flags that have this one as a prerequisite. */
  dependents: string[];
}

export const EMPTY_GRAPH: Graph = { lookup: { get: () => undefined }, dependents: [] };

/** Prerequisite keys named anywhere in a flag document, read defensively (it may not be valid yet). */
export function prerequisiteKeys(flag: Flag): string[] {
  const keys = Object.values(flag.environments ?? {}).flatMap((e) => (Array.isArray(e?.prerequisites) ? e.prerequisites.map((p: unknown) => (p as { key?: unknown } | null)?.key) : []));
  return keys.filter((k): k is string => typeof k === "string");
}

/** The graph around `key`: reachable from `from`, and its dependents when `withDependents`. */
export async function graphAround(store: FlagStore, projectId: string, key: string, from: Iterable<string>, withDependents: boolean): Promise<Graph> {
  const start = [...new Set(from)].filter((k) => k !== key);
  if (start.length === 0 && !withDependents) return EMPTY_GRAPH;
  const found = await store.prerequisiteGraph(projectId, start, withDependents ? key : undefined);
  const byKey = new Map([...found.reachable, ...found.dependents].filter((f) => f.key !== key).map((f) => [f.key, flagDocument(f)]));
  return { lookup: { get: (k) => byKey.get(k) }, dependents: found.dependents.filter((f) => f.key !== key).map((f) => f.key) };
}
