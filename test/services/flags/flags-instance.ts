/**
 * A flags instance over a Postgres database, as `service.ts` wires one (its own pool, commit
 * notices, cache, and schedule notices that wake its scheduler), with a clock the test sets, and
 * a scheduler that runs only when the test says (`runDue`) unless asked to loop.
 */
import { openDatabase, type Database, type Db } from "@vexil/shared/db/connector";
import { silentLogger } from "@vexil/shared/logger";
import type { EnvironmentKeyIssuer, FlagsContext } from "@vexil/flags/domain/context";
import { executeItem, type Outcome } from "@vexil/flags/domain/schedules/execute";
import { createScheduler, type Scheduler } from "@vexil/flags/scheduler";
import { CachedStores } from "@vexil/flags/storage/cached-stores";
import { listenForChanges } from "@vexil/flags/storage/change-notices";
import { DrizzleAuditReader } from "@vexil/flags/storage/drizzle-audit-reader";
import { DrizzleFlagStore } from "@vexil/flags/storage/drizzle-flag-store";
import { DrizzleFlagUsageStore } from "@vexil/flags/storage/drizzle-flag-usage-store";
import { DrizzleProjectStore } from "@vexil/flags/storage/drizzle-project-store";
import { DrizzleScheduleStore } from "@vexil/flags/storage/drizzle-schedule-store";
import { DrizzleApprovalStore } from "@vexil/flags/storage/drizzle-approval-store";
import { DrizzleSegmentStore } from "@vexil/flags/storage/drizzle-segment-store";
import { listenForSchedules } from "@vexil/flags/storage/schedule-notices";
import type { ScheduledItem } from "@vexil/flags/storage/schedule-store";

export const keys: EnvironmentKeyIssuer = {
  issue: async (ids) => ids.map((environmentId) => ({ environmentId, sdkKey: `sdk-${environmentId}`, mobileKey: `mob-${environmentId}` })),
  forget: async () => {},
  reset: async ({ environmentId }) => `sdk-${environmentId}-reset`,
};

/** A clock the test moves. */
export class Clock {
  constructor(public ms: number) {}
  readonly now = () => this.ms;
}

export type Instance = FlagsContext & { db: Db; cache: CachedStores; scheduler: Scheduler; outcomes: Array<{ item: ScheduledItem; outcome: Outcome }>; close(): Promise<void> };

export async function flagsInstance(url: string, options: { now?: () => number; loop?: boolean; leaseMs?: number; pollMs?: number; batch?: number } = {}): Promise<Instance> {
  const database: Database = await openDatabase({ url, dataDir: "", max: 4 });
  const notices = await listenForChanges(database);
  const { db } = database;
  const cache = new CachedStores({ projects: new DrizzleProjectStore(db), flags: new DrizzleFlagStore(db), segments: new DrizzleSegmentStore(db) }, notices);
  const outcomes: Instance["outcomes"] = [];
  const ctx: FlagsContext = {
    store: cache.projects,
    flags: cache.flags,
    segments: cache.segments,
    schedules: new DrizzleScheduleStore(db),
    approvals: new DrizzleApprovalStore(db),
    usage: new DrizzleFlagUsageStore(db),
    audit: new DrizzleAuditReader(db),
    keys,
    logger: silentLogger,
    now: options.now ?? Date.now,
  };
  const scheduler = createScheduler({
    store: ctx.schedules,
    execute: (item) => executeItem(ctx, item),
    now: ctx.now,
    logger: silentLogger,
    loop: options.loop ?? false,
    leaseMs: options.leaseMs,
    pollMs: options.pollMs,
    batch: options.batch,
    onOutcome: (item, outcome) => void outcomes.push({ item, outcome }),
  });
  ctx.scheduled = scheduler.nudge;
  const unlistenSchedules = await listenForSchedules(database, scheduler.nudge);
  return {
    ...ctx,
    db,
    cache,
    scheduler,
    outcomes,
    close: async () => {
      await unlistenSchedules();
      await scheduler.stop();
      cache.close();
      await notices.close();
      await database.close();
    },
  };
}

/** Reads until `ok` holds (at most `ms`). */
export async function until(ms: number, ok: () => Promise<boolean> | boolean): Promise<void> {
  const start = performance.now();
  while (!(await ok())) {
    if (performance.now() - start > ms) throw new Error(`not seen within ${ms} ms`);
    await Bun.sleep(5);
  }
}
