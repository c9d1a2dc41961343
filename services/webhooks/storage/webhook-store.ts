/** The webhooks service's storage ports: the webhooks and their delivery logs, and the delivery queue. */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { Statement } from "@vexil/shared/policy";
import type { DeliveryState } from "./schema.ts";

export interface WebhookRecord {
  id: string;
  name: string | null;
  url: string;
  /** The sealed secret (`domain/secret-box.ts`); null: unsigned. */
  secretCipher: string | null;
  on: boolean;
  statements: Statement[] | null;
  tags: string[];
  createdAt: number;
  version: number;
}

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  auditId: string;
  resource: string;
  seq: number;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  completedAt: number | null;
}

export interface AttemptRecord {
  attempt: number;
  startedAt: number;
  latencyMs: number;
  statusCode: number | null;
  error: string | null;
  response: string | null;
  worker: string;
}

export interface DeliveryLogItem extends DeliveryRecord {
  attemptLog: AttemptRecord[];
}

export interface WebhookStore {
  listWebhooks(): Promise<WebhookRecord[]>;
  webhookById(id: string): Promise<WebhookRecord | undefined>;
  insertWebhook(webhook: WebhookRecord, audit: AuditEntry): Promise<void>;
  /** Writes only if the stored version is `expectedVersion`; false otherwise. */
  updateWebhook(webhook: WebhookRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean>;
  /** Deletes the webhook with its deliveries; false if it was not there. */
  deleteWebhook(id: string, audit: AuditEntry): Promise<boolean>;
  /** Newest first. */
  listDeliveries(webhookId: string, page: { limit: number; offset: number }): Promise<{ items: DeliveryLogItem[]; total: number }>;
  deliveryById(webhookId: string, deliveryId: string): Promise<DeliveryLogItem | undefined>;
  /** Makes a delivery pending again, due now, with a fresh count of attempts; undefined if there is none. */
  redeliver(webhookId: string, deliveryId: string, now: number): Promise<DeliveryRecord | undefined>;
}

/** An audit entry taken from the feed, with its place in commit order. */
export interface FeedItem {
  seq: number;
  entry: AuditEntry;
}

/** A feed row on its way to the audit stream; `entry` is null if the entry is gone from the log. */
export interface FeedRow {
  feedId: number;
  auditId: string;
  entry: AuditEntry | null;
}

/** A message of the audit stream: an entry's id and its place in the stream. */
export interface StreamItem {
  seq: number;
  auditId: string;
}

export interface NewDelivery {
  id: string;
  webhookId: string;
  auditId: string;
  resource: string;
  seq: number;
}

export interface ClaimedDelivery {
  delivery: DeliveryRecord;
  /** Names this claim: the attempt's outcome is written only while the claim still holds the delivery. */
  leaseToken: string;
  webhook: WebhookRecord;
  /** Undefined only if the entry is gone from the audit log. */
  entry: AuditEntry | undefined;
}

/** How a claim shares an instance's slots among webhooks, so one slow receiver cannot take them all. */
export interface ClaimShare {
  /** At most this many deliveries of one webhook per claim. */
  perWebhook: number;
  /** Webhooks that already have their share in flight here. */
  skip: string[];
}

export interface AttemptOutcome {
  state: DeliveryState;
  nextAttemptAt: number;
}

export interface DeliveryQueue {
  /**
   * Takes up to `limit` of the oldest feed rows and writes the deliveries `plan` makes of them, in
   * one transaction (rows leave the feed only with their deliveries); one feeder at a time. Gives
   * the number of rows taken, or -1 when another instance was feeding and nothing was taken.
   */
  feed(limit: number, plan: (items: FeedItem[], webhooks: WebhookRecord[]) => NewDelivery[], now: number): Promise<number>;
  /**
   * Hands up to `limit` of the oldest feed rows to `publish`, which gives back the feed ids it got
   * stored elsewhere; those leave the feed. One relay at a time: -1 when another instance was relaying.
   */
  relayFeed(limit: number, publish: (rows: FeedRow[]) => Promise<number[]>): Promise<number>;
  /**
   * Writes the deliveries `plan` makes of these stream messages and marks them planned, in one
   * transaction; a message planned again (redelivered) adds nothing. Gives whether planned messages
   * wait beyond the cursor for an earlier one.
   */
  planStream(items: StreamItem[], plan: (items: FeedItem[], webhooks: WebhookRecord[]) => NewDelivery[], now: number): Promise<{ waiting: boolean }>;
  /** Records a stream message that could not be planned, and lets the cursor pass it. */
  deadLetter(item: { seq: number; auditId: string | null }, error: string, deliveries: number, now: number): Promise<void>;
  /** Moves the cursor to just before `firstSeq` (messages below it are gone from the stream); gives how many of them were never planned. */
  skipLost(firstSeq: number): Promise<{ lost: number; waiting: boolean }>;
  /**
   * Leases up to `limit` deliveries due by `now`: of each webhook and resource only the oldest
   * pending one, and only if no one holds it and its webhook is on; at most `share.perWebhook` of
   * one webhook, none of those in `share.skip`. Fed from the audit stream, only deliveries the
   * cursor covers.
   */
  claim(leaseToken: string, now: number, leaseMs: number, limit: number, share: ClaimShare): Promise<ClaimedDelivery[]>;
  /** Records an attempt; moves the delivery on if `leaseToken` still holds it. */
  finish(deliveryId: string, leaseToken: string, attempt: AttemptRecord, outcome: AttemptOutcome): Promise<void>;
  /** Deletes up to `limit` delivered and failed deliveries completed before `before`, with their attempts; gives how many. */
  prune(before: number, limit: number): Promise<number>;
  /** Whether any delivery is pending or any feed row waits (the worker polls quickly while so). */
  busy(): Promise<boolean>;
}
