/**
 * `FlagStore.prerequisiteGraph`, one contract for every store: the flags a change decides on
 * besides its own, found by following prerequisites (both ways), never the whole project.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import type { FlagRecord } from "@vexil/flags/storage/flag-store";
import { closeClients, flagRecord, implementations, insertFlag, shop, type Shop, type Stores } from "./flag-stores.ts";

afterAll(closeClients);

/** A flag whose targeting names `production` and `test` prerequisites. */
function withPrerequisites(projectId: string, key: string, prerequisites: { production?: string[]; test?: string[] }): FlagRecord {
  const flag = flagRecord(projectId, key);
  for (const env of ["production", "test"] as const) flag.configs[env]!.prerequisites = (prerequisites[env] ?? []).map((k) => ({ key: k, variation: 0 }));
  return flag;
}

const keysOf = (flags: FlagRecord[]) => flags.map((f) => f.key).sort();

for (const [name, make] of implementations) {
  describe(`FlagStore.prerequisiteGraph contract: ${name}`, () => {
    let stores: Stores;
    let s: Shop;
    const byKey = new Map<string, FlagRecord>();

    beforeEach(async () => {
      stores = await make();
      s = await shop(stores);
      byKey.clear();
      const add = async (flag: FlagRecord) => byKey.set(flag.key, await insertFlag(stores, flag));
      // a → b (production) → c (test) → a: a cycle. d and e name a, in one environment each.
      await add(withPrerequisites(s.project.id, "a", { production: ["b"] }));
      await add(withPrerequisites(s.project.id, "b", { test: ["c"] }));
      await add(withPrerequisites(s.project.id, "c", { production: ["a"] }));
      await add(withPrerequisites(s.project.id, "d", { test: ["a"] }));
      await add(withPrerequisites(s.project.id, "e", { production: ["a", "missing"] }));
      await add(withPrerequisites(s.project.id, "g", { production: ["elsewhere"] }));
      // Many flags outside the graph, chained among themselves, and a flag of the same key elsewhere.
      for (let i = 0; i < 40; i++) await add(withPrerequisites(s.project.id, `noise-${i}`, { production: i < 39 ? [`noise-${i + 1}`] : ["noise-0"] }));
      const other = await shop(stores, "other");
      await insertFlag(stores, withPrerequisites(other.project.id, "elsewhere", { production: ["a"] }));
      await insertFlag(stores, withPrerequisites(other.project.id, "a", { production: ["noise-1"] }));
    });

    test("reachable follows prerequisites in every environment, transitively, and stops at cycles", async () => {
      const graph = await stores.flags.prerequisiteGraph(s.project.id, ["a"]);
      expect(keysOf(graph.reachable)).toEqual(["a", "b", "c"]);
      expect(graph.dependents).toEqual([]);
      for (const flag of graph.reachable) expect(flag).toEqual(byKey.get(flag.key)!);
      expect(keysOf((await stores.flags.prerequisiteGraph(s.project.id, ["c"])).reachable)).toEqual(["a", "b", "c"]);
      expect(keysOf((await stores.flags.prerequisiteGraph(s.project.id, ["d", "missing"])).reachable)).toEqual(["a", "b", "c", "d"]);
      expect(keysOf((await stores.flags.prerequisiteGraph(s.project.id, ["e"])).reachable)).toEqual(["a", "b", "c", "e"]);
    });

    test("dependents are the flags naming `of` in any environment, of this project only", async () => {
      const graph = await stores.flags.prerequisiteGraph(s.project.id, [], "a");
      expect(graph.reachable).toEqual([]);
      expect(keysOf(graph.dependents)).toEqual(["c", "d", "e"]);
      for (const flag of graph.dependents) expect(flag).toEqual(byKey.get(flag.key)!);
      expect(keysOf((await stores.flags.prerequisiteGraph(s.project.id, [], "c")).dependents)).toEqual(["b"]);
      expect(keysOf((await stores.flags.prerequisiteGraph(s.project.id, [], "d")).dependents)).toEqual([]);
      // "noise-1" is named in the other project too.
      expect(keysOf((await stores.flags.prerequisiteGraph(s.project.id, [], "noise-1")).dependents)).toEqual(["noise-0"]);
    });

    test("both at once, and nothing outside the graph", async () => {
      const graph = await stores.flags.prerequisiteGraph(s.project.id, ["b"], "b");
      expect(keysOf(graph.reachable)).toEqual(["a", "b", "c"]);
      expect(keysOf(graph.dependents)).toEqual(["a"]);
      // A prerequisite that exists only in another project is not followed there.
      const g = await stores.flags.prerequisiteGraph(s.project.id, ["g"], "g");
      expect(keysOf(g.reachable)).toEqual(["g"]);
      expect(g.dependents).toEqual([]);
      const noise = await stores.flags.prerequisiteGraph(s.project.id, ["noise-0"]);
      expect(noise.reachable).toHaveLength(40);
      expect(noise.reachable.every((f) => f.key.startsWith("noise-") && f.projectId === s.project.id)).toBe(true);
    });
  });
}
