/** Everything the flags service runs, wired from its parts; used by `main.ts` and by the all-in-one process. */
import type { Assertions } from "@vexil/shared/assertion";
import type { Bus } from "@vexil/shared/bus/bus";
import type { Database } from "@vexil/shared/db/connector";
import { serveJson } from "@vexil/shared/bus/rpc";
import { measuredHandle } from "@vexil/shared/http/measured";
import type { Logger } from "@vexil/shared/logger";
import { queueGroup, subjects } from "@vexil/shared/subjects";
import { createFlagsApp, type CompatDefaults } from "./app.ts";
import type { FlagsContext } from "./domain/context.ts";
import { environmentData } from "./domain/environment-data.ts";
import { bootstrapDefaultProject } from "./domain/projects.ts";
import { busKeyIssuer } from "./env-keys-client.ts";
import { createDeliveryLedger, subscribeToReceipts } from "./delivery-ledger.ts";
import { startOutboxRelay } from "./outbox-relay.ts";
import { busSdkConnections } from "./sdk-connections-client.ts";
import { publishLiveChanges } from "./live-publisher.ts";
import { executeItem } from "./domain/schedules/execute.ts";
import { createScheduler } from "./scheduler.ts";
import { DrizzleScheduleStore } from "./storage/drizzle-schedule-store.ts";
import { listenForSchedules } from "./storage/schedule-notices.ts";
import { DrizzleApprovalStore } from "./storage/drizzle-approval-store.ts";
import { subscribeToEvaluations } from "./usage-subscriber.ts";
import { CachedStores } from "./storage/cached-stores.ts";
import { listenForChanges } from "./storage/change-notices.ts";
import { DrizzleAuditReader } from "./storage/drizzle-audit-reader.ts";
import { DrizzleFlagStore } from "./storage/drizzle-flag-store.ts";
import { DrizzleFlagUsageStore } from "./storage/drizzle-flag-usage-store.ts";
import { DrizzleSegmentStore } from "./storage/drizzle-segment-store.ts";
import { DrizzleProjectStore } from "./storage/drizzle-project-store.ts";

export interface FlagsServiceOptions {
  database: Database;
  assertions: Assertions;
  bus: Bus;
  logger: Logger;
  requestTimeoutMs: number;
  /** Where the Unleash toggle routes that name no project or environment act. */
  unleash?: CompatDefaults;
}

export async function startFlagsService(options: FlagsServiceOptions) {
  const { db } = options.database;
  // Reads come from this instance's memory, kept current by the database's commit notices.
  const notices = await listenForChanges(options.database);
  // Delivery receipts from every streaming instance, for `GET …/deliveries`.
  const ledger = createDeliveryLedger();
  const cache = new CachedStores({ projects: new DrizzleProjectStore(db), flags: new DrizzleFlagStore(db), segments: new DrizzleSegmentStore(db) }, notices);
  const ctx: FlagsContext = {
    store: cache.projects,
    flags: cache.flags,
    segments: cache.segments,
    schedules: new DrizzleScheduleStore(db),
    approvals: new DrizzleApprovalStore(db),
    usage: new DrizzleFlagUsageStore(options.database.db),
    audit: new DrizzleAuditReader(options.database.db),
    keys: busKeyIssuer(options.bus, options.requestTimeoutMs),
    logger: options.logger,
    now: Date.now,
    deliveries: ledger,
    sdkConnections: busSdkConnections(options.bus),
  };
  // Committed changes for the console's live feed, through the gateways.
  const unlistenLive = await publishLiveChanges({ database: options.database, audit: ctx.audit, bus: options.bus, logger: options.logger });
  const relay = startOutboxRelay({ database: options.database, bus: options.bus, logger: options.logger });
  ctx.committed = relay.nudge;
  // Scheduled changes and expiring targets, executed by whichever instance claims them first. The
  // embedded database has one process, whose own items wake it: it looks on its own once a minute.
  const scheduler = createScheduler({
    store: ctx.schedules,
    execute: (item) => executeItem(ctx, item),
    now: ctx.now,
    logger: options.logger,
    pollMs: options.database.kind === "pglite" ? 60_000 : undefined,
    onOutcome: () => relay.nudge(),
  });
  ctx.scheduled = scheduler.nudge;
  // Items made on other instances wake it too, through the database's notices; the poll stays as the safety net.
  const unlistenSchedules = await listenForSchedules(options.database, scheduler.nudge);
  const app = createFlagsApp(ctx, options.assertions, options.unleash);
  const served = serveJson(options.bus, subjects.flagsEnvironmentData, queueGroup("flags"), options.logger, (body: { environmentId?: unknown }) => environmentData(ctx, body));
  const evaluations = subscribeToEvaluations(options.bus, ctx.usage, options.logger);
  const receipts = subscribeToReceipts(options.bus, ledger);
  let stopped = false;
  // The default project needs the auth service for its keys: keep trying until it answers.
  const bootstrapped = (async () => {
    for (let delay = 200; !stopped; delay = Math.min(delay * 2, 5_000)) {
      try {
        if (await bootstrapDefaultProject(ctx)) options.logger.info("bootstrap: default project created");
        return;
      } catch (e) {
        options.logger.warn("default project not created yet; retrying", { error: e, retryInMs: delay });
        await Bun.sleep(delay);
      }
    }
  })();
  return {
    handle: measuredHandle("flags", app.routes, (request) => app.handle(request)),
    bootstrapped,
    stop: async () => {
      stopped = true;
      served.unsubscribe();
      await unlistenSchedules();
      await unlistenLive();
      await scheduler.stop();
      evaluations.unsubscribe();
      receipts.unsubscribe();
      cache.close();
      await notices.close();
      await relay.stop();
    },
  };
}
