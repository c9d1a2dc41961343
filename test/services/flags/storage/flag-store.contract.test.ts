/**
 * One contract for every FlagStore: the memory store, drizzle on real Postgres, and the
 * per-instance cache around drizzle (`flag-stores.ts`). A change is written only while the flag,
 * its project and its environments are as read, all of it or nothing: flag, targeting, audit
 * entry, change events.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { auditEntry, previousOf } from "@vexil/shared/audit/audit";
import { admin } from "../domain/memory-context.ts";
import { VexilError } from "@vexil/shared/errors";
import { decideAndWrite } from "@vexil/flags/domain/unit-of-work";
import type { FlagQuery, FlagRecord, FlagWrite, ScopedFlag } from "@vexil/flags/storage/flag-store";
import { audit, change, closeClients, environment, flagRecord, implementations, insertFlag, NOW, segmentRecord, shop, targetWrite, withTargets, type Shop, type Stores } from "./flag-stores.ts";

afterAll(closeClients);

type Read = ScopedFlag & { flag: FlagRecord };
const q = (over: Partial<FlagQuery> = {}): FlagQuery => ({ limit: 20, offset: 0, sort: { field: "key", descending: false }, ...over });
const keys = (listed: { items: FlagRecord[] }) => listed.items.map((f) => f.key);

for (const [name, make] of implementations) {
  describe(`FlagStore contract: ${name}`, () => {
    let stores: Stores;
    let s: Shop;
    beforeEach(async () => {
      stores = await make();
      s = await shop(stores);
    });

    /** The flag as the store now has it, in its scope. */
    async function read(key: string, consistent = false): Promise<Read> {
      const found = await stores.flags.flagInScope("shop", key, { consistent });
      expect(found?.flag).toBeDefined();
      return found as Read;
    }

    /** What a refused write must leave alone. */
    const written = async () => ({ audit: (await stores.auditEntries()).length, events: (await stores.events()).length });

    test("inserts a flag and reads it back, with targeting only where an environment exists", async () => {
      const flag = await insertFlag(stores, flagRecord(s.project.id, "checkout", { envKeys: ["production", "test", "staging"] }));
      const stored = { ...flag, configs: { production: flag.configs.production!, test: flag.configs.test! } };
      const scoped = await stores.flags.flagInScope("shop", "checkout");
      expect(scoped).toEqual({ project: s.project, environments: [s.production, s.test], flag: stored });
      expect(await stores.flags.flagInScope("shop", "checkout", { consistent: true })).toEqual(scoped!);
      expect(await stores.flags.projectScope("shop")).toEqual({ project: s.project, environments: [s.production, s.test] });
      expect(await stores.flags.projectScope("shop", { consistent: true })).toEqual({ project: s.project, environments: [s.production, s.test] });
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toEqual(stored);
      expect((await stores.auditEntries()).map((e) => e.spec)).toEqual(["flag/checkout"]);
      expect(await stores.events()).toEqual([
        { environmentId: s.production.id, kind: "flag", key: "checkout", version: 1, deleted: false },
        { environmentId: s.test.id, kind: "flag", key: "checkout", version: 1, deleted: false },
      ]);
    });

    test("an environment's contents: the flags with targeting there, with that targeting only, and its segments", async () => {
      expect(await stores.flags.environmentContents(s.production.id)).toEqual({ projectKey: "shop", environmentKey: "production", seq: 0, flags: [], segments: [] });
      const both = await insertFlag(stores, flagRecord(s.project.id, "both"));
      await insertFlag(stores, flagRecord(s.project.id, "test-only", { envKeys: ["test"] }));
      const here = segmentRecord(s.production, "beta");
      await stores.segments.insertSegment(here, audit("segment/beta"), [change("production", "segment", "beta", 1)]);
      await stores.segments.insertSegment(segmentRecord(s.test, "elsewhere"), audit("segment/elsewhere"), []);
      const contents = await stores.flags.environmentContents(s.production.id);
      expect(contents).toMatchObject({ projectKey: "shop", environmentKey: "production" });
      expect(contents!.flags).toEqual([{ ...both.doc, environments: { production: both.configs.production! } }]);
      expect(contents!.segments).toEqual([here.doc]);
      expect(await stores.flags.environmentContents("no-such-environment")).toBeUndefined();
    });

    test("lists flags with filters, sorting and pages, a late page included", async () => {
      const records = [
        flagRecord(s.project.id, "alpha", { doc: { name: "Zulu", tags: ["red", "blue"], maintainerId: "m2" }, createdAt: NOW + 3 }),
        flagRecord(s.project.id, "beta", { doc: { name: "Yankee", tags: ["red"], temporary: false, maintainerId: "m1", clientSideAvailability: { usingEnvironmentId: true, usingMobileKey: false } }, createdAt: NOW + 1 }),
        flagRecord(s.project.id, "gamma", { doc: { name: "X-ray Beta", deprecated: true, clientSideAvailability: { usingEnvironmentId: false, usingMobileKey: false } }, createdAt: NOW + 2 }),
        flagRecord(s.project.id, "delta", { doc: { name: "Whiskey", archived: true }, createdAt: NOW + 4 }),
        flagRecord(s.project.id, "epsilon_1", { doc: { name: "100%", temporary: false, clientSideAvailability: { usingEnvironmentId: false, usingMobileKey: false } }, createdAt: NOW + 5 }),
      ];
      for (const r of records) await insertFlag(stores, r);
      const other = await shop(stores, "other");
      await insertFlag(stores, flagRecord(other.project.id, "alpha"));
      const list = (over: Partial<FlagQuery>) => stores.flags.listFlags(s.project.id, q(over));

      expect(await list({})).toEqual({ items: [records[0]!, records[1]!, records[4]!, records[2]!], total: 4 });
      expect(keys(await list({ state: "archived" }))).toEqual(["delta"]);
      expect(keys(await list({ state: "deprecated" }))).toEqual(["gamma"]);
      expect(keys(await list({ state: "live" }))).toEqual(["alpha", "beta", "epsilon_1"]);
      expect(keys(await list({ query: "BETA" }))).toEqual(["beta", "gamma"]);
      expect(keys(await list({ query: "%" }))).toEqual(["epsilon_1"]);
      expect(keys(await list({ query: "_" }))).toEqual(["epsilon_1"]);
      expect(keys(await list({ tags: ["red", "blue"] }))).toEqual(["alpha"]);
      expect(keys(await list({ tags: ["red"] }))).toEqual(["alpha", "beta"]);
      expect(keys(await list({ type: "temporary" }))).toEqual(["alpha", "gamma"]);
      expect(keys(await list({ type: "permanent" }))).toEqual(["beta", "epsilon_1"]);
      expect(keys(await list({ maintainerId: "m1" }))).toEqual(["beta"]);
      expect(keys(await list({ sdkAvailability: "client" }))).toEqual(["beta"]);
      expect(keys(await list({ sdkAvailability: "mobile" }))).toEqual(["alpha"]);
      expect(keys(await list({ sdkAvailability: "anyClient" }))).toEqual(["alpha", "beta"]);
      expect(keys(await list({ sdkAvailability: "server" }))).toEqual(["epsilon_1", "gamma"]);

      expect(keys(await list({ sort: { field: "name", descending: false } }))).toEqual(["epsilon_1", "gamma", "beta", "alpha"]);
      expect(keys(await list({ sort: { field: "creationDate", descending: true } }))).toEqual(["epsilon_1", "alpha", "gamma", "beta"]);
      expect(keys(await list({ sort: { field: "maintainerId", descending: true } }))).toEqual(["alpha", "beta", "gamma", "epsilon_1"]);
      expect(keys(await list({ sort: { field: "type", descending: false } }))).toEqual(["beta", "epsilon_1", "alpha", "gamma"]);
      expect(keys(await list({ sort: { field: "key", descending: true } }))).toEqual(["gamma", "epsilon_1", "beta", "alpha"]);

      expect(await list({ limit: 2, offset: 1 })).toEqual({ items: [records[1]!, records[4]!], total: 4 });
      // The last page carries its rows' targeting like the first.
      expect(await list({ limit: 2, offset: 3 })).toEqual({ items: [records[2]!], total: 4 });
      expect(await list({ offset: 10 })).toEqual({ items: [], total: 4 });

      // The default list's keys (archived left out, byte order, this project only), and flags by key.
      expect(await stores.flags.liveKeys(s.project.id)).toEqual(["alpha", "beta", "epsilon_1", "gamma"]);
      const byKeys = await stores.flags.flagsByKeys(s.project.id, ["gamma", "delta", "nope"]);
      expect(byKeys.sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual([records[3]!, records[2]!]);
      expect(await stores.flags.flagsByKeys(s.project.id, [])).toEqual([]);
    });

    test("a change's audit entry is stored whole: the representation after it, the patch back to the one before, the change itself", async () => {
      await insertFlag(stores, flagRecord(s.project.id, "checkout"));
      const before = await read("checkout");
      const write = targetWrite(before, ["u1", "u2"]);
      const rep = (flag: FlagRecord) => ({ ...flag.doc, environments: flag.configs, _links: { self: { href: `/api/v2/flags/shop/${flag.key}` } }, note: "line\nbreak \u2028 \"quoted\"" });
      const previous = rep(before.flag);
      write.audit = auditEntry({ caller: admin, kind: "flag", spec: "proj/shop:env/production:flag/checkout", name: "checkout", verb: "updated the flag", actions: ["updateTargets"], comment: "two targets", delta: { instructions: [{ kind: "addTargets", values: ["u1", "u2"] }] }, previous, current: rep(write.flag), previousVersion: 1, currentVersion: 2, now: NOW });
      expect(await stores.flags.writeFlag(before, write)).toBe(true);
      const stored = (await stores.auditEntries()).find((e) => e.id === write.audit.id)!;
      expect(stored).toEqual(write.audit);
      expect(previousOf(stored)).toEqual(previous);
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toEqual(write.flag);
    });

    test("a taken key is a conflict and writes nothing", async () => {
      const first = await insertFlag(stores, flagRecord(s.project.id, "checkout"));
      const before = await written();
      const again = flagRecord(s.project.id, "checkout", { doc: { name: "Second" } });
      const error = await insertFlag(stores, again).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VexilError);
      expect((error as VexilError).code).toBe("conflict");
      expect(await written()).toEqual(before);
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toEqual(first);
      expect((await read("checkout")).flag).toEqual(first);
      expect((await stores.flags.listFlags(s.project.id, q())).total).toBe(1);
    });

    test("a change decided on the flag, project and environments as they are is written whole", async () => {
      await insertFlag(stores, flagRecord(s.project.id, "checkout"));
      const before = await read("checkout");
      const write = targetWrite(before, ["u1"]);
      write.flag.doc.name = "Renamed";
      const events = (await stores.events()).length;
      expect(await stores.flags.writeFlag(before, write)).toBe(true);
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toEqual(write.flag);
      expect((await read("checkout")).flag).toEqual(write.flag);
      expect((await read("checkout", true)).flag).toEqual(write.flag);
      expect((await stores.auditEntries()).map((e) => e.id).at(-1)).toBe(write.audit.id);
      expect((await stores.events()).slice(events)).toEqual([{ environmentId: s.production.id, kind: "flag", key: "checkout", version: 2, deleted: false }]);
    });

    test("the flag is stored as written, targeting no change event names included", async () => {
      await insertFlag(stores, flagRecord(s.project.id, "checkout"));
      const before = await read("checkout");
      const write = targetWrite(before, ["u1"]);
      write.flag.configs.test = withTargets(before.flag, ["unannounced"], "test").configs.test!;
      expect(await stores.flags.writeFlag(before, write)).toBe(true);
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toEqual(write.flag);
      expect((await read("checkout")).flag).toEqual(write.flag);
      expect((await read("checkout", true)).flag).toEqual(write.flag);
    });

    test("a second change decided on the same read loses and writes nothing", async () => {
      await insertFlag(stores, flagRecord(s.project.id, "checkout"));
      const both = await read("checkout");
      const first = targetWrite(both, ["first"]);
      expect(await stores.flags.writeFlag(both, first)).toBe(true);
      const before = await written();
      expect(await stores.flags.writeFlag(both, targetWrite(both, ["second"]))).toBe(false);
      expect(await stores.flags.writeFlag(both, { kind: "delete", audit: audit("flag/checkout"), changes: [change("production", "flag", "checkout", 3, true)] })).toBe(false);
      expect(await written()).toEqual(before);
      expect((await read("checkout")).flag).toEqual(first.flag);
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toEqual(first.flag);
    });

    test("a change decided before its project or an environment moved loses", async () => {
      await insertFlag(stores, flagRecord(s.project.id, "checkout"));
      const staging = environment(s.project.id, "staging");
      const moves: Array<[string, () => Promise<unknown>]> = [
        ["an environment updated", () => stores.projects.updateEnvironment({ ...s.production, color: "000000", version: 2 }, 1)],
        ["the project updated", () => stores.projects.updateProject({ ...s.project, name: "Renamed", version: 2 }, 1)],
        ["an environment added", () => stores.projects.insertEnvironment(staging, (doc) => ({ ...flagRecord(s.project.id, doc.key).configs.production!, salt: "added" }))],
        ["an environment deleted", () => stores.projects.deleteEnvironment(s.test.id)],
      ];
      for (const [move, run] of moves) {
        const stale = await read("checkout");
        await run();
        const before = await written();
        expect({ move, written: await stores.flags.writeFlag(stale, targetWrite(stale, [move])) }).toEqual({ move, written: false });
        expect(await written()).toEqual(before);
        expect((await read("checkout")).flag!.version).toBe(stale.flag.version);
      }
      const now = await read("checkout");
      expect(now.environments.map((e) => e.key)).toEqual(["production", "staging"]);
      expect(Object.keys(now.flag.configs).sort()).toEqual(["production", "staging"]);
      expect(now.flag.configs.staging!.salt).toBe("added");
      expect(await stores.flags.writeFlag(now, targetWrite(now, ["at last"]))).toBe(true);
    });

    test("a deletion removes the flag and its targeting and nothing else; one decided on an outdated read loses", async () => {
      await insertFlag(stores, flagRecord(s.project.id, "checkout"));
      const other = await insertFlag(stores, flagRecord(s.project.id, "other"));
      const gone = await read("checkout");
      const events = (await stores.events()).length;
      const deletion: FlagWrite = { kind: "delete", audit: audit("flag/checkout"), changes: ["production", "test"].map((e) => change(e, "flag", "checkout", 2, true)) };
      expect(await stores.flags.writeFlag(gone, deletion)).toBe(true);
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toBeUndefined();
      expect((await stores.flags.flagInScope("shop", "checkout"))?.flag).toBeUndefined();
      expect((await stores.flags.flagInScope("shop", "checkout", { consistent: true }))?.flag).toBeUndefined();
      expect(keys(await stores.flags.listFlags(s.project.id, q()))).toEqual(["other"]);
      expect((await stores.flags.environmentContents(s.production.id))!.flags.map((f) => f.key)).toEqual(["other"]);
      expect(await stores.flags.flagByKey(s.project.id, "other")).toEqual(other);
      expect((await stores.auditEntries()).map((e) => e.id).at(-1)).toBe(deletion.audit.id);
      expect((await stores.events()).slice(events)).toEqual([
        { environmentId: s.production.id, kind: "flag", key: "checkout", version: 2, deleted: true },
        { environmentId: s.test.id, kind: "flag", key: "checkout", version: 2, deleted: true },
      ]);
      // A new flag of the same key starts with its own targeting only: none of the old rows remain.
      const reborn = await insertFlag(stores, flagRecord(s.project.id, "checkout", { envKeys: ["production"] }));
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toEqual(reborn);

      const stale = await read("other");
      expect(await stores.flags.writeFlag(stale, targetWrite(stale, ["u1"]))).toBe(true);
      const before = await written();
      expect(await stores.flags.writeFlag(stale, { ...deletion, audit: audit("flag/other") })).toBe(false);
      expect(await written()).toEqual(before);
      expect((await stores.flags.flagByKey(s.project.id, "other"))!.version).toBe(2);
    });

    test("environments added and deleted: every flag gets targeting there, then loses it", async () => {
      const flag = await insertFlag(stores, flagRecord(s.project.id, "checkout"));
      // Read first, so that any memory of the flag is what gets tested.
      expect(keys(await stores.flags.listFlags(s.project.id, q()))).toEqual(["checkout"]);
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toEqual(flag);
      const staging = environment(s.project.id, "staging");
      const added = { ...flag.configs.production!, salt: "added" };
      await stores.projects.insertEnvironment(staging, () => added);
      const withStaging = { ...flag, configs: { ...flag.configs, staging: added } };
      expect((await stores.flags.listFlags(s.project.id, q())).items).toEqual([withStaging]);
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toEqual(withStaging);
      expect(await stores.projects.deleteEnvironment(s.test.id)).toBe(true);
      const without = { ...flag, configs: { production: flag.configs.production!, staging: added } };
      expect((await stores.flags.listFlags(s.project.id, q())).items).toEqual([without]);
      expect(await stores.flags.flagByKey(s.project.id, "checkout")).toEqual(without);
      expect(await read("checkout")).toEqual({ project: s.project, environments: [s.production, staging], flag: without });
    });

    test("20 concurrent read-decide-write loops on one flag all land, each version once", async () => {
      const N = 20;
      await insertFlag(stores, flagRecord(s.project.id, "busy"));
      const entries = (await stores.auditEntries()).length;
      const events = (await stores.events()).length;
      const values = Array.from({ length: N }, (_, i) => `user-${i}`);
      await Promise.all(
        values.map((value) =>
          decideAndWrite<ScopedFlag | undefined, FlagWrite, void>(`flag-contract\u0000${name}\u0000busy`, {
            read: (consistent) => stores.flags.flagInScope("shop", "busy", { consistent }),
            decide: async (found) => ({ write: targetWrite(found as Read, [value]), result: undefined }),
            write: (found, write) => stores.flags.writeFlag(found as Read, write),
          }),
        ),
      );
      const final = (await read("busy", true)).flag;
      expect(final.version).toBe(N + 1);
      expect([...final.configs.production!.targets[0]!.values].sort()).toEqual([...values].sort());
      expect(await read("busy")).toEqual(await read("busy", true));
      const versions = Array.from({ length: N }, (_, i) => i + 2);
      const byNumber = (a: number, b: number) => a - b;
      expect((await stores.auditEntries()).slice(entries).map((e) => e.currentVersion!).sort(byNumber)).toEqual(versions);
      expect((await stores.events()).slice(events).map((e) => e.version).sort(byNumber)).toEqual(versions);
    });

    test("unknown projects, flags and ids", async () => {
      expect(await stores.flags.flagInScope("nope", "checkout")).toBeUndefined();
      expect(await stores.flags.flagInScope("nope", "checkout", { consistent: true })).toBeUndefined();
      expect(await stores.flags.projectScope("nope")).toBeUndefined();
      expect(await stores.flags.flagInScope("shop", "nope")).toEqual({ project: s.project, environments: [s.production, s.test], flag: undefined });
      expect(await stores.flags.flagByKey(s.project.id, "nope")).toBeUndefined();
      expect(await stores.flags.listFlags("no-such-project", q())).toEqual({ items: [], total: 0 });
      expect(await stores.flags.liveKeys("no-such-project")).toEqual([]);
      expect(await stores.flags.flagsByKeys("no-such-project", ["checkout"])).toEqual([]);
      expect(await stores.flags.prerequisiteGraph(s.project.id, ["nope"], "nope")).toEqual({ reachable: [], dependents: [] });
      expect(await stores.flags.prerequisiteGraph("no-such-project", ["nope"], "nope")).toEqual({ reachable: [], dependents: [] });

      const scope = (await stores.flags.projectScope("shop"))!;
      const ghost: Read = { ...scope, flag: flagRecord(s.project.id, "ghost") };
      const before = await written();
      expect(await stores.flags.writeFlag(ghost, targetWrite(ghost, ["u1"]))).toBe(false);
      expect(await stores.flags.writeFlag(ghost, { kind: "delete", audit: audit("flag/ghost"), changes: [change("production", "flag", "ghost", 2, true)] })).toBe(false);
      expect(await written()).toEqual(before);
      expect(await stores.flags.flagByKey(s.project.id, "ghost")).toBeUndefined();
    });
  });
}
