/**
 * One contract for every FlagUsageStore (memory, drizzle on real Postgres): batches merge into what
 * is stored (counts add up, the later time wins, the later report's default wins), flags and
 * environments that do not exist are skipped, and usage goes with its flag or environment.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "@vexil/shared/db/migrate";
import type { FlagRecord } from "@vexil/flags/storage/flag-store";
import type { FlagUsageReport } from "@vexil/flags/storage/flag-usage-store";
import { audit, closeClients, flagRecord, insertFlag, memoryStores, postgresStores, shop, type Shop, type Stores } from "./flag-stores.ts";

afterAll(closeClients);

const report = (key: string, lastRequested: number, variations: Record<string, [count: number, at: number]>, reportedDefault?: { value: unknown }): FlagUsageReport => {
  const out: FlagUsageReport = {
    key,
    lastRequested,
    evaluations: Object.values(variations).reduce((n, [c]) => n + c, 0),
    variations: Object.fromEntries(Object.entries(variations).map(([v, [count, at]]) => [v, { count, lastRequested: at }])),
  };
  if (reportedDefault) out.reportedDefault = reportedDefault;
  return out;
};

const implementations: Array<[string, () => Promise<Stores>]> = [
  ["memory", async () => memoryStores()],
  ["postgres", postgresStores],
];

for (const [name, make] of implementations) {
  describe(`FlagUsageStore contract: ${name}`, () => {
    let stores: Stores;
    let s: Shop;
    let checkout: FlagRecord;
    beforeEach(async () => {
      stores = await make();
      s = await shop(stores);
      checkout = await insertFlag(stores, flagRecord(s.project.id, "checkout"));
    });

    test("two batches for one flag add up; the later time wins whichever batch comes first; so does the later report's default", async () => {
      await stores.usage.recordUsage({ environmentId: s.production.id, flags: [report("checkout", 2_000, { 0: [3, 2_000], 1: [1, 1_500] }, { value: "late" })] });
      await stores.usage.recordUsage({ environmentId: s.production.id, flags: [report("checkout", 1_000, { 0: [2, 1_000], "-1": [4, 900] }, { value: "early" })] });
      const usage = await stores.usage.usageInEnvironment(s.production.id);
      expect(usage).toEqual(
        new Map([
          [
            "checkout",
            {
              lastRequested: 2_000,
              evaluations: 10,
              variations: { 0: { count: 5, lastRequested: 2_000 }, 1: { count: 1, lastRequested: 1_500 }, "-1": { count: 4, lastRequested: 900 } },
              reportedDefault: { value: "late" },
            },
          ],
        ]),
      );
      expect(await stores.usage.usageOfFlag(checkout.id)).toEqual(new Map([[s.production.id, usage.get("checkout")!]]));
      expect(await stores.usage.usageInEnvironment(s.test.id)).toEqual(new Map());
    });

    test("a default is kept until a later report has one; a null default is a value, none is not", async () => {
      await stores.usage.recordUsage({ environmentId: s.production.id, flags: [report("checkout", 1_000, { 0: [1, 1_000] }, { value: null })] });
      await stores.usage.recordUsage({ environmentId: s.production.id, flags: [report("checkout", 2_000, { 0: [1, 2_000] })] });
      expect((await stores.usage.usageInEnvironment(s.production.id)).get("checkout")!.reportedDefault).toEqual({ value: null });
      await stores.usage.recordUsage({ environmentId: s.production.id, flags: [report("checkout", 3_000, { 0: [1, 3_000] }, { value: { nested: [1, "two"] } })] });
      expect((await stores.usage.usageInEnvironment(s.production.id)).get("checkout")!.reportedDefault).toEqual({ value: { nested: [1, "two"] } });
      await stores.usage.recordUsage({ environmentId: s.test.id, flags: [report("checkout", 3_000, { 0: [1, 3_000] })] });
      expect("reportedDefault" in (await stores.usage.usageInEnvironment(s.test.id)).get("checkout")!).toBe(false);
    });

    test("flags the project does not have and environments that do not exist are skipped", async () => {
      const other = await shop(stores, "other");
      await insertFlag(stores, flagRecord(other.project.id, "elsewhere"));
      await stores.usage.recordUsage({ environmentId: s.production.id, flags: [report("missing", 1_000, { 0: [1, 1_000] }), report("elsewhere", 1_000, { 0: [1, 1_000] }), report("checkout", 1_000, { 0: [1, 1_000] })] });
      await stores.usage.recordUsage({ environmentId: "e-does-not-exist", flags: [report("checkout", 1_000, { 0: [1, 1_000] })] });
      expect([...(await stores.usage.usageInEnvironment(s.production.id)).keys()]).toEqual(["checkout"]);
      expect(await stores.usage.usageInEnvironment(other.production.id)).toEqual(new Map());
      expect([...(await stores.usage.usageOfFlag(checkout.id)).keys()]).toEqual([s.production.id]);
    });

    test("batches written at once all count", async () => {
      const other = await insertFlag(stores, flagRecord(s.project.id, "other"));
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          stores.usage.recordUsage({ environmentId: s.production.id, flags: [report("checkout", 1_000 + i, { [i % 2]: [1, 1_000 + i] }), report("other", 1_000, { 0: [2, 1_000] })] }),
        ),
      );
      const usage = await stores.usage.usageInEnvironment(s.production.id);
      expect(usage.get("checkout")).toEqual({ lastRequested: 1_019, evaluations: 20, variations: { 0: { count: 10, lastRequested: 1_018 }, 1: { count: 10, lastRequested: 1_019 } } });
      expect(usage.get("other")!.evaluations).toBe(40);
      expect((await stores.usage.usageOfFlag(other.id)).size).toBe(1);
    });

    test("usage goes with its flag: a flag deleted and created again under its key starts with none", async () => {
      await stores.usage.recordUsage({ environmentId: s.production.id, flags: [report("checkout", 1_000, { 0: [1, 1_000] })] });
      const found = await stores.flags.flagInScope("shop", "checkout", { consistent: true });
      expect(await stores.flags.writeFlag(found as typeof found & { flag: FlagRecord }, { kind: "delete", audit: audit("flag/checkout"), changes: [] })).toBe(true);
      expect(await stores.usage.usageOfFlag(checkout.id)).toEqual(new Map());
      expect(await stores.usage.usageInEnvironment(s.production.id)).toEqual(new Map());
      const again = await insertFlag(stores, flagRecord(s.project.id, "checkout"));
      expect(await stores.usage.usageOfFlag(again.id)).toEqual(new Map());
      expect(await stores.usage.usageInEnvironment(s.production.id)).toEqual(new Map());
    });

    test("usage goes with its environment", async () => {
      await stores.usage.recordUsage({ environmentId: s.production.id, flags: [report("checkout", 1_000, { 0: [1, 1_000] })] });
      await stores.usage.recordUsage({ environmentId: s.test.id, flags: [report("checkout", 1_000, { 0: [1, 1_000] })] });
      expect(await stores.projects.deleteEnvironment(s.production.id)).toBe(true);
      expect([...(await stores.usage.usageOfFlag(checkout.id)).keys()]).toEqual([s.test.id]);
      expect(await stores.usage.usageInEnvironment(s.production.id)).toEqual(new Map());
    });
  });
}

describe("flag_usage on Postgres", () => {
  test("rows are deleted with their flag and with their environment (foreign keys)", async () => {
    const stores = await postgresStores();
    const s = await shop(stores);
    const rows = async () => Number(rowsOf<{ n: string }>(await stores.db.execute(sql`select count(*) as n from flag_usage`))[0]!.n);
    const a = await insertFlag(stores, flagRecord(s.project.id, "a"));
    await insertFlag(stores, flagRecord(s.project.id, "b"));
    for (const env of [s.production, s.test]) await stores.usage.recordUsage({ environmentId: env.id, flags: [report("a", 1_000, { 0: [1, 1_000] }), report("b", 1_000, { 0: [1, 1_000] })] });
    expect(await rows()).toBe(4);
    const found = await stores.flags.flagInScope("shop", "a", { consistent: true });
    expect(found?.flag?.id).toBe(a.id);
    expect(await stores.flags.writeFlag(found as typeof found & { flag: FlagRecord }, { kind: "delete", audit: audit("flag/a"), changes: [] })).toBe(true);
    expect(await rows()).toBe(2);
    expect(await stores.projects.deleteEnvironment(s.test.id)).toBe(true);
    expect(await rows()).toBe(1);
  });
});
