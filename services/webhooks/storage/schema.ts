/**
 * Tables owned by the webhooks service: the webhooks, the feed of committed audit entries (filled
 * by a trigger on `audit_log`, migration `webhooks_feed_trigger`), how far the audit stream has
 * been planned, the deliveries owed to each webhook, and every attempt made.
 */
import { sql } from "drizzle-orm";
import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import type { Statement } from "@vexil/shared/policy";

export const webhooks = pgTable("webhooks", {
  id: text("id").primaryKey(),
  name: text("name"),
  url: text("url").notNull(),
  /** The signing secret, AES-GCM encrypted (`domain/secret-box.ts`); null: the webhook does not sign. */
  secretCipher: text("secret_cipher"),
  on: boolean("on").notNull(),
  statements: jsonb("statements").$type<Statement[]>(),
  tags: jsonb("tags").$type<string[]>().notNull(),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
  version: integer("version").notNull(),
});

/**
 * Audit entries committed while at least one webhook is on, in commit order per resource: a row is
 * written by the trigger in the transaction of the entry, so it exists exactly when the change does,
 * and leaves only in the transaction that turns it into deliveries.
 */
export const webhookFeed = pgTable("webhook_feed", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  auditId: text("audit_id").notNull(),
});

/**
 * How far the stream of committed audit entries (NATS JetStream, `delivery/audit-stream.ts`) has
 * been planned: every message up to `plannedThrough` has its deliveries. Instances plan messages
 * at once and in any order; a delivery is attempted only once its sequence is covered, so one
 * resource's deliveries still go out in stream order. One row (id 1).
 */
export const webhookStreamCursor = pgTable("webhook_stream_cursor", {
  id: integer("id").primaryKey(),
  plannedThrough: bigint("planned_through", { mode: "number" }).notNull(),
});

/** Stream messages planned beyond the cursor (an earlier one is still with another instance). */
export const webhookStreamPlanned = pgTable("webhook_stream_planned", {
  seq: bigint("seq", { mode: "number" }).primaryKey(),
});

/** Stream messages that could not be planned in their attempts (the dead letters of the stream); the cursor passes them. */
export const webhookStreamDead = pgTable("webhook_stream_dead", {
  seq: bigint("seq", { mode: "number" }).primaryKey(),
  auditId: text("audit_id"),
  error: text("error").notNull(),
  deliveries: integer("deliveries").notNull(),
  at: bigint("at", { mode: "number" }).notNull(),
});

export type DeliveryState = "pending" | "delivered" | "failed";

export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    /** The delivery id: the same on every attempt (`webhook-id`), so receivers can deduplicate. */
    id: text("id").primaryKey(),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    auditId: text("audit_id").notNull(),
    /** The audit entry's resource specifier: deliveries of one webhook and resource go out one at a time, in `seq` order. */
    resource: text("resource").notNull(),
    /** Commit order within a resource: the feed row's id, or the entry's sequence in the audit stream. */
    seq: bigint("seq", { mode: "number" }).notNull(),
    state: text("state").$type<DeliveryState>().notNull(),
    attempts: integer("attempts").notNull(),
    nextAttemptAt: bigint("next_attempt_at", { mode: "number" }).notNull(),
    /** Who holds the delivery (an attempt in flight) and until when; a crashed holder's lease runs out. */
    leaseToken: text("lease_token"),
    leaseUntil: bigint("lease_until", { mode: "number" }),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    completedAt: bigint("completed_at", { mode: "number" }),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_entry_idx").on(t.webhookId, t.auditId),
    index("webhook_deliveries_queue_idx").on(t.webhookId, t.resource, t.seq).where(sql`${t.state} = 'pending'`),
    index("webhook_deliveries_list_idx").on(t.webhookId, t.seq),
  ],
);

export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    startedAt: bigint("started_at", { mode: "number" }).notNull(),
    latencyMs: integer("latency_ms").notNull(),
    statusCode: integer("status_code"),
    error: text("error"),
    /** The start of the response body, truncated. */
    response: text("response"),
    /** The instance that made the attempt. */
    worker: text("worker").notNull(),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId, t.attempt)],
);
