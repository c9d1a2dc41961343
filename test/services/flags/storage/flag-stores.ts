/**
 * The flag and segment stores under one contract (`*-store.contract.test.ts`): the memory store,
 * drizzle on a fresh Postgres database, and this instance's cache (`CachedStores`) around drizzle,
 * with a notice source the test controls. In one process the cache must stay correct on its own
 * write-through: the source sends nothing unless a test says so. Also the records those suites write.
 */
import type { ApprovalStore } from "@vexil/flags/storage/approval-store";
import { DrizzleApprovalStore } from "@vexil/flags/storage/drizzle-approval-store";
import { asc } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { auditEntry, type AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import type { ChangeEvent, PendingChange } from "@vexil/shared/change-events";
import type { Db } from "@vexil/shared/db/connector";
import type { FlagEnvironment } from "@vexil/flags/domain/flags/model";
import { CachedStores, type CacheLimits, type ChangeNotice, type ChangeNoticeSource } from "@vexil/flags/storage/cached-stores";
import { DrizzleFlagStore } from "@vexil/flags/storage/drizzle-flag-store";
import { DrizzleProjectStore } from "@vexil/flags/storage/drizzle-project-store";
import { DrizzleSegmentStore } from "@vexil/flags/storage/drizzle-segment-store";
import type { FlagGlobal, FlagRecord, FlagStore, FlagWrite, ScopedFlag } from "@vexil/flags/storage/flag-store";
import { DrizzleFlagUsageStore } from "@vexil/flags/storage/drizzle-flag-usage-store";
import type { FlagUsageStore } from "@vexil/flags/storage/flag-usage-store";
import { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import type { EnvironmentRecord, ProjectRecord, ProjectStore } from "@vexil/flags/storage/project-store";
import { outbox } from "@vexil/flags/storage/schema";
import type { SegmentRecord, SegmentStore } from "@vexil/flags/storage/segment-store";
import { DrizzleScheduleStore } from "@vexil/flags/storage/drizzle-schedule-store";
import type { ScheduledItem, ScheduleStore } from "@vexil/flags/storage/schedule-store";
import { testDatabaseUrl } from "../../../support/postgres.ts";
import { admin } from "../domain/memory-context.ts";
import { booleanFlag } from "../domain/flags/flag-fixtures.ts";
import { segment } from "../domain/segments/segment-fixtures.ts";

export const NOW = 1_760_000_000_000;

/** A change event as recorded, without the sequence number the relay gives it. */
export type RecordedEvent = Pick<ChangeEvent, "environmentId" | "kind" | "key" | "version" | "deleted">;

export interface Stores {
  flags: FlagStore;
  segments: SegmentStore;
  projects: ProjectStore;
  /** Scheduled items, written with flags and segments. */
  schedules: ScheduleStore;
  /** Approval requests, written with flags. */
  approvals: ApprovalStore;
  usage: FlagUsageStore;
  /** Every audit entry written, oldest first. */
  auditEntries(): Promise<AuditEntry[]>;
  /** Every change event recorded (memory: `store.outbox`; Postgres: the `outbox` table), in order. */
  events(): Promise<RecordedEvent[]>;
}

/** Commit notices as the test sends them. */
export class Notices implements ChangeNoticeSource {
  private readonly listeners = new Set<{ onNotice: (n: ChangeNotice) => void; onReset: () => void; onLost?: () => void }>();
  subscribe(onNotice: (n: ChangeNotice) => void, onReset: () => void, onLost?: () => void) {
    const listener = { onNotice, onReset, onLost };
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  send(notice: ChangeNotice): void {
    for (const l of this.listeners) l.onNotice(notice);
  }
  reset(): void {
    for (const l of this.listeners) l.onReset();
  }
  lose(): void {
    for (const l of this.listeners) l.onLost?.();
  }
}

const clients: Array<{ end(): Promise<void> }> = [];
export const closeClients = () => Promise.all(clients.splice(0).map((c) => c.end()));

const recorded = (e: ChangeEvent): RecordedEvent => ({ environmentId: e.environmentId, kind: e.kind, key: e.key, version: e.version, deleted: e.deleted });

/** Drizzle stores on a fresh database, with what they wrote read back from its tables. */
export async function postgresStores(): Promise<Stores & { db: Db }> {
  const client = postgres(await testDatabaseUrl(), { max: 4, onnotice: () => {} });
  clients.push(client);
  const db = drizzle(client) as unknown as Db;
  return {
    db,
    flags: new DrizzleFlagStore(db),
    segments: new DrizzleSegmentStore(db),
    projects: new DrizzleProjectStore(db),
    schedules: new DrizzleScheduleStore(db),
    approvals: new DrizzleApprovalStore(db),
    usage: new DrizzleFlagUsageStore(db),
    auditEntries: () => db.select().from(auditLog).orderBy(asc(auditLog.date), asc(auditLog.id)) as Promise<AuditEntry[]>,
    events: async () => (await db.select().from(outbox).orderBy(asc(outbox.id))).map((r) => recorded(r.payload as unknown as ChangeEvent)),
  };
}

/** The cache around `inner` (by default drizzle on a fresh database). */
export async function cachedStores(limits?: CacheLimits, inner?: Stores): Promise<Stores & { cache: CachedStores; notices: Notices; inner: Stores }> {
  const under = inner ?? (await postgresStores());
  const notices = new Notices();
  const cache = new CachedStores(under, notices, limits);
  return { ...under, flags: cache.flags, segments: cache.segments, projects: cache.projects, cache, notices, inner: under };
}

export function memoryStores(): Stores & { memory: MemoryFlagStore } {
  const memory = new MemoryFlagStore();
  return {
    memory,
    flags: memory,
    segments: memory,
    projects: memory,
    schedules: memory.schedules,
    approvals: memory.approvals,
    usage: memory,
    auditEntries: async () => structuredClone(memory.audit),
    events: async () => memory.outbox.map(recorded),
  };
}

export const implementations: Array<[string, () => Promise<Stores>]> = [
  ["memory", async () => memoryStores()],
  ["postgres", postgresStores],
  ["cached postgres", () => cachedStores()],
];

// --- records ---

let n = 0;
const nextId = (prefix: string) => `${prefix}${(++n).toString(16).padStart(24 - prefix.length, "0")}`;

export const project = (key: string, over: Partial<ProjectRecord> = {}): ProjectRecord => ({
  id: nextId("p"),
  key,
  name: key.toUpperCase(),
  tags: [],
  includeInSnippetByDefault: false,
  csaUsingEnvironmentId: false,
  csaUsingMobileKey: true,
  createdAt: NOW,
  version: 1,
  ...over,
});

export const environment = (projectId: string, key: string, over: Partial<EnvironmentRecord> = {}): EnvironmentRecord => ({
  id: nextId("e"),
  projectId,
  key,
  name: key,
  color: "FFFFFF",
  defaultTtl: 0,
  secureMode: false,
  defaultTrackEvents: false,
  requireComments: false,
  confirmChanges: false,
  tags: [],
  critical: false,
  approvalSettings: null,
  segmentApprovalSettings: null,
  sdkKeyLast4: "abcd",
  mobileKeyLast4: "efgh",
  createdAt: NOW,
  version: 1,
  ...over,
});

export interface Shop {
  project: ProjectRecord;
  production: EnvironmentRecord;
  test: EnvironmentRecord;
}

/** A project with the environments `production` and `test`. */
export async function shop(stores: Stores, key = "shop"): Promise<Shop> {
  const p = project(key);
  const production = environment(p.id, "production");
  const test = environment(p.id, "test");
  await stores.projects.insertProject(p, [test, production]);
  return { project: p, production, test };
}

/** A boolean flag with targeting in `production` and `test` (or `envKeys`). */
export function flagRecord(projectId: string, key: string, over: { doc?: Partial<FlagGlobal>; envKeys?: string[]; createdAt?: number } = {}): FlagRecord {
  const { environments, ...doc } = booleanFlag(key, over.doc);
  const envKeys = over.envKeys ?? ["production", "test"];
  const configs = Object.fromEntries(envKeys.map((k) => [k, structuredClone(environments.production!)]));
  return { id: nextId("f"), projectId, key, doc, configs, version: doc._version, createdAt: over.createdAt ?? NOW };
}

export function segmentRecord(env: EnvironmentRecord, key: string, over: { doc?: Parameters<typeof segment>[0]; createdAt?: number } = {}): SegmentRecord {
  const doc = segment({ key, name: key, version: 1, ...over.doc });
  return { id: nextId("s"), projectId: env.projectId, environmentId: env.id, key, doc, version: doc.version, createdAt: over.createdAt ?? NOW };
}

let tick = 0;
/** An audit entry for `spec`, one millisecond after the previous one. */
export const audit = (spec: string, currentVersion = 1): AuditEntry =>
  auditEntry({ caller: admin, kind: "test", spec, name: spec, verb: "changed", actions: ["change"], previousVersion: currentVersion - 1, currentVersion, now: NOW + ++tick });

export const change = (environmentKey: string, kind: "flag" | "segment", key: string, version: number, deleted = false): PendingChange => ({
  environmentKey,
  kind,
  key,
  version,
  deleted,
  ...(deleted ? {} : { data: { key, version } }),
});

/** Inserts `record` with its audit entry and one change event per environment it has targeting in. */
export async function insertFlag(stores: Stores, record: FlagRecord): Promise<FlagRecord> {
  await stores.flags.insertFlag(record, audit(`flag/${record.key}`), Object.keys(record.configs).map((e) => change(e, "flag", record.key, 1)));
  return record;
}

/** `production` targeting with `values` added to the first target, as a flag's next version. */
export function withTargets(flag: FlagRecord, values: string[], envKey = "production"): FlagRecord {
  const next = structuredClone(flag);
  const config: FlagEnvironment = next.configs[envKey]!;
  config.targets = [{ values: [...(config.targets[0]?.values ?? []), ...values], variation: 0 }];
  config.version += 1;
  next.version += 1;
  next.doc._version = next.version;
  return next;
}

/** An update of the flag read to its next version, with `values` added to its `production` targets. */
export function targetWrite(read: ScopedFlag & { flag: FlagRecord }, values: string[]): FlagWrite & { kind: "update" } {
  const flag = withTargets(read.flag, values);
  return { kind: "update", flag, audit: audit(`flag/${flag.key}`, flag.version), changes: [change("production", "flag", flag.key, flag.version)] };
}

/** A scheduled item of a flag (a scheduled change unless `over` says otherwise), due at `dueAt`. */
export function scheduledItem(env: EnvironmentRecord, owner: { flag?: FlagRecord; segment?: SegmentRecord }, dueAt: number, over: Partial<ScheduledItem> = {}): ScheduledItem {
  return {
    id: nextId("i"),
    kind: owner.segment ? "segmentExpiry" : "flagChange",
    projectId: env.projectId,
    environmentId: env.id,
    flagId: owner.flag?.id ?? null,
    segmentId: owner.segment?.id ?? null,
    projectKey: "shop",
    environmentKey: env.key,
    resourceKey: owner.flag?.key ?? owner.segment!.key,
    dueAt,
    status: "pending",
    version: 1,
    createdAt: NOW,
    creator: { memberId: null, memberEmail: null, tokenId: "t-admin", tokenName: "admin", serviceToken: true },
    instructions: owner.segment ? null : [{ kind: "turnFlagOn" }],
    comment: null,
    conflicts: null,
    contextKind: null,
    contextKey: null,
    variationId: null,
    targetType: null,
    failure: null,
    approval: null,
    ...over,
  };
}

/** A write of the flag read that only raises its version and changes its items as `schedule` says. */
export function scheduleWrite(read: ScopedFlag & { flag: FlagRecord }, schedule: NonNullable<Extract<FlagWrite, { kind: "update" }>["schedule"]>, operationId?: string): FlagWrite & { kind: "update" } {
  const flag = structuredClone(read.flag);
  flag.version += 1;
  flag.doc._version = flag.version;
  return { kind: "update", flag, audit: { ...audit(`flag/${flag.key}`, flag.version), operationId: operationId ?? null }, changes: [], schedule };
}
