/** Tables owned by the flags service. */
import { sql } from "drizzle-orm";
import { bigint, bigserial, boolean, index, integer, json, jsonb, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";

export const projects = pgTable("projects", {
  id: text("id").primaryKey(),
  key: text("key").notNull().unique(),
  name: text("name").notNull(),
  tags: jsonb("tags").$type<string[]>().notNull(),
  includeInSnippetByDefault: boolean("include_in_snippet_by_default").notNull(),
  csaUsingEnvironmentId: boolean("csa_using_environment_id").notNull(),
  csaUsingMobileKey: boolean("csa_using_mobile_key").notNull(),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
  version: integer("version").notNull(),
});

export const environments = pgTable(
  "environments",
  {
    /** Also the environment's public client-side ID. */
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    name: text("name").notNull(),
    color: text("color").notNull(),
    defaultTtl: integer("default_ttl").notNull(),
    secureMode: boolean("secure_mode").notNull(),
    defaultTrackEvents: boolean("default_track_events").notNull(),
    requireComments: boolean("require_comments").notNull(),
    confirmChanges: boolean("confirm_changes").notNull(),
    tags: jsonb("tags").$type<string[]>().notNull(),
    critical: boolean("critical").notNull(),
    /** LaunchDarkly's `approvalSettings` (`domain/approvals/settings.ts`); null until first set: the defaults, approvals not required. */
    approvalSettings: jsonb("approval_settings").$type<Record<string, unknown>>(),
    /** LaunchDarkly's `resourceApprovalSettings.segment`: the approval settings of segments; null until first set. */
    segmentApprovalSettings: jsonb("segment_approval_settings").$type<Record<string, unknown>>(),
    /** The last four characters of the SDK and mobile keys, for the masked display. */
    sdkKeyLast4: text("sdk_key_last4").notNull(),
    mobileKeyLast4: text("mobile_key_last4").notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    version: integer("version").notNull(),
  },
  (t) => [uniqueIndex("environments_project_key_idx").on(t.projectId, t.key), index("environments_project_idx").on(t.projectId)],
);

/** One-time start-up steps already done (e.g. the `default` project), so they never run twice. */
export const flagsBootstrap = pgTable("flags_bootstrap", {
  name: text("name").primaryKey(),
  doneAt: bigint("done_at", { mode: "number" }).notNull(),
});

/** Flags: the flag-wide part of the document; per-environment targeting lives in `flag_configs`. */
export const flags = pgTable(
  "flags",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    /** The flag document without `environments` (see domain/flags/model.ts). */
    doc: jsonb("doc").$type<Record<string, unknown>>().notNull(),
    /** The flag's `_version`; every change raises it, so writes to one flag serialize on it. */
    version: integer("version").notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
  },
  (t) => [
    uniqueIndex("flags_project_key_idx").on(t.projectId, t.key),
    // The default list (flags not archived, by key in byte order): a page reads the index up to
    // itself, and the count is an index-only scan of the project's entries.
    index("flags_live_by_key_idx")
      .on(t.projectId, sql`${t.key} collate "C"`)
      .where(sql`not coalesce((${t.doc}->>'archived')::boolean, false)`),
  ],
);

/** A flag's targeting in one environment (`FlagEnvironment`). */
export const flagConfigs = pgTable(
  "flag_configs",
  {
    flagId: text("flag_id")
      .notNull()
      .references(() => flags.id, { onDelete: "cascade" }),
    environmentId: text("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    config: jsonb("config").$type<Record<string, unknown>>().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.flagId, t.environmentId] }),
    index("flag_configs_environment_idx").on(t.environmentId),
    // The flags that name a given flag as a prerequisite (`prerequisiteGraph`), without reading the
    // project: only the targeting that has prerequisites is indexed, and written to the index at
    // once (no pending list, which a lookup would read whole until a vacuum merged it).
    index("flag_configs_prerequisites_idx")
      .using("gin", sql`(${t.config}->'prerequisites') jsonb_path_ops`)
      .where(sql`(${t.config}->'prerequisites') <> '[]'::jsonb`)
      .with({ fastupdate: false }),
  ],
);

/**
 * The last change-event sequence number given out in each environment. Only the outbox relay
 * writes it, as it publishes; no foreign key, so the events of an environment deleted since still
 * get their numbers.
 */
export const environmentSequences = pgTable("environment_sequences", {
  environmentId: text("environment_id").primaryKey(),
  seq: bigint("seq", { mode: "number" }).notNull(),
});

/**
 * Change events written with their change, published on the bus by the relay after commit; the
 * relay gives each its environment's sequence number (`seq`) as it publishes it.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    environmentId: text("environment_id").notNull(),
    seq: bigint("seq", { mode: "number" }),
    /** `json`, kept as written: published as it is, never searched inside (see the audit log's columns). */
    payload: json("payload").$type<Record<string, unknown>>().notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    publishedAt: bigint("published_at", { mode: "number" }),
  },
  (t) => [index("outbox_unpublished_idx").on(t.id).where(sql`${t.publishedAt} is null`)],
);

/** Segments belong to one environment. */
export const segments = pgTable(
  "segments",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    environmentId: text("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    /** The segment document (see domain/segments/model.ts). */
    doc: jsonb("doc").$type<Record<string, unknown>>().notNull(),
    version: integer("version").notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
  },
  (t) => [uniqueIndex("segments_environment_key_idx").on(t.environmentId, t.key)],
);

/**
 * Work due at a time (`storage/schedule-store.ts`): scheduled flag changes and expiring targets of
 * flags and segments. An item is written in the transaction of the change that makes it (every
 * change to an item is a change of its flag or segment, so it is decided on the item's flag or
 * segment version), claimed by a scheduler with a lease, and removed by the change that executes
 * it. Its flag, segment or environment going takes it along (foreign keys).
 */
export const scheduledItems = pgTable(
  "scheduled_items",
  {
    id: text("id").primaryKey(),
    /** `flagChange`, `flagExpiry` or `segmentExpiry`. */
    kind: text("kind").notNull(),
    /** The project has no foreign key: its environments go with it, and take their items along. */
    projectId: text("project_id").notNull(),
    environmentId: text("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    flagId: text("flag_id").references(() => flags.id, { onDelete: "cascade" }),
    segmentId: text("segment_id").references(() => segments.id, { onDelete: "cascade" }),
    /** Keys never change: kept here for the item's links and for the scheduler's read of its flag or segment. */
    projectKey: text("project_key").notNull(),
    environmentKey: text("environment_key").notNull(),
    /** The flag's or the segment's key. */
    resourceKey: text("resource_key").notNull(),
    /** When it is due (epoch ms). */
    dueAt: bigint("due_at", { mode: "number" }).notNull(),
    /** `pending`, or `failed` (a scheduled change that could not apply; it stays to be seen). */
    status: text("status").notNull(),
    version: integer("version").notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    /** The member or token that made it: executions are attributed to it. */
    creator: jsonb("creator").$type<Record<string, unknown>>().notNull(),
    /** Scheduled changes: the flag instructions, their comment, conflicts recorded at creation. */
    instructions: jsonb("instructions").$type<unknown[]>(),
    comment: text("comment"),
    conflicts: jsonb("conflicts").$type<Array<{ _id: string; reason: string }>>(),
    /** Expiring targets: the context and where it is targeted. */
    contextKind: text("context_kind"),
    contextKey: text("context_key"),
    variationId: text("variation_id"),
    targetType: text("target_type"),
    /** Why a scheduled change failed, and when. */
    failure: jsonb("failure").$type<{ date: number; reason: string }>(),
    /** The scheduler that claimed it, until when; a claim whose lease ran out may be taken again. */
    leaseToken: text("lease_token"),
    leaseUntil: bigint("lease_until", { mode: "number" }),
    /**
     * Scheduled changes: why it may run where approvals are required: the approval request it
     * carries out (`{requestId}`), or its maker's right to bypass them when it was made (`{bypassed: true}`).
     */
    approval: jsonb("approval").$type<{ requestId: string } | { bypassed: true }>(),
  },
  (t) => [
    index("scheduled_items_due_idx").on(t.dueAt).where(sql`${t.status} = 'pending'`),
    index("scheduled_items_flag_idx").on(t.flagId, t.environmentId),
    index("scheduled_items_segment_idx").on(t.segmentId),
    // A user's expiring targets across flags; also what an environment's deletion cascades through.
    index("scheduled_items_context_idx").on(t.environmentId, t.contextKind, t.contextKey),
    // One date per context per flag and environment, and per segment.
    uniqueIndex("scheduled_items_flag_target_idx").on(t.flagId, t.environmentId, t.contextKind, t.contextKey).where(sql`${t.kind} = 'flagExpiry'`),
    uniqueIndex("scheduled_items_segment_target_idx").on(t.segmentId, t.contextKind, t.contextKey).where(sql`${t.kind} = 'segmentExpiry'`),
  ],
);

/**
 * What SDKs reported evaluating, per flag and environment (flag statuses): when it was last
 * requested, how many evaluations got each variation and when each last did, and the default value
 * the application passed. Written in batches from the streaming service's evaluation counts, merged
 * with what is there; goes with its flag or environment.
 */
export const flagUsage = pgTable(
  "flag_usage",
  {
    environmentId: text("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    flagId: text("flag_id")
      .notNull()
      .references(() => flags.id, { onDelete: "cascade" }),
    /** Epoch ms. */
    lastRequested: bigint("last_requested", { mode: "number" }).notNull(),
    evaluations: bigint("evaluations", { mode: "number" }).notNull(),
    /** By variation index (-1: the caller's default value was served): `{count, lastRequested}`. */
    variations: jsonb("variations").$type<Record<string, { count: number; lastRequested: number }>>().notNull(),
    /** The default value SDKs last reported; SQL null when none did (a JSON `null` is a value). */
    defaultValue: jsonb("default_value"),
  },
  (t) => [primaryKey({ columns: [t.environmentId, t.flagId] }), index("flag_usage_flag_idx").on(t.flagId)],
);

/**
 * Approval requests of flag or segment changes in one environment (`storage/approval-store.ts`).
 * Written only with a change of their flag or segment (in its write, raising its version), like
 * scheduled items, so a review, an apply or a deletion is decided on the resource and the request
 * as read. Their flag, segment or environment going takes them along.
 */
export const approvalRequests = pgTable(
  "approval_requests",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id").notNull(),
    environmentId: text("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    /** The flag of a flag's request; null for a segment's. */
    flagId: text("flag_id").references(() => flags.id, { onDelete: "cascade" }),
    projectKey: text("project_key").notNull(),
    environmentKey: text("environment_key").notNull(),
    flagKey: text("flag_key"),
    /** The segment of a segment's request (written with the segment); null for a flag's. */
    segmentId: text("segment_id").references(() => segments.id, { onDelete: "cascade" }),
    segmentKey: text("segment_key"),
    /** `instructions` (a semantic patch of the flag) or `copy` (another environment's targeting). */
    kind: text("kind").notNull(),
    version: integer("version").notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    /** The member or token that asked. */
    requestor: jsonb("requestor").$type<Record<string, unknown>>().notNull(),
    description: text("description").notNull(),
    comment: text("comment"),
    instructions: jsonb("instructions").$type<unknown[]>().notNull(),
    /** Copy requests: the source environment `{key, version}` and `{includedActions | excludedActions}`. */
    source: jsonb("source").$type<{ key: string; version: number }>(),
    copyActions: jsonb("copy_actions").$type<{ includedActions?: string[]; excludedActions?: string[] }>(),
    notifyMemberIds: jsonb("notify_member_ids").$type<string[]>().notNull(),
    notifyTeamKeys: jsonb("notify_team_keys").$type<string[]>().notNull(),
    executionDate: bigint("execution_date", { mode: "number" }),
    operatingOnId: text("operating_on_id"),
    /** The version of the scheduled change `operatingOnId` when the request was made: an edit since is a conflict. */
    operatingOnVersion: integer("operating_on_version"),
    integrationConfig: jsonb("integration_config").$type<Record<string, unknown>>(),
    /** `allReviews`, oldest first. */
    reviews: jsonb("reviews").$type<Array<Record<string, unknown>>>().notNull(),
    /** `pending`, `completed`, `scheduled` or `failed`. */
    status: text("status").notNull(),
    appliedDate: bigint("applied_date", { mode: "number" }),
    appliedBy: jsonb("applied_by").$type<Record<string, unknown>>(),
    /** The scheduled change an approved request with an `executionDate` made. */
    scheduledChangeId: text("scheduled_change_id"),
    /** The flag (or segment) as it was when the request was made: what conflicts are found against. */
    baseline: jsonb("baseline").$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index("approval_requests_flag_idx").on(t.flagId, t.environmentId), index("approval_requests_segment_idx").on(t.segmentId), index("approval_requests_created_idx").on(t.createdAt, t.id)],
);
