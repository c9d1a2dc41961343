/**
 * What is owed to each webhook, and its log: `GET /api/v2/webhooks/{id}/deliveries` (newest first,
 * every attempt with its time, status code, latency and the start of the response) and
 * `POST …/deliveries/{deliveryId}/redeliver` (the same delivery, same id, due again now with a
 * fresh count of attempts). Also the plan that turns committed audit entries into deliveries.
 */
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { notFound } from "@vexil/shared/errors";
import { link, pageLinks, parsePage } from "@vexil/shared/http/links";
import { sortableId } from "@vexil/shared/ids";
import type { DeliveryLogItem, FeedItem, NewDelivery, WebhookRecord } from "../storage/webhook-store.ts";
import type { WebhooksContext } from "./context.ts";
import { webhookReceives } from "./filter.ts";
import { WEBHOOKS_PATH } from "./webhooks.ts";

/** Every webhook that receives each entry gets one delivery of it, numbered by the entry's place in commit order. */
export function planDeliveries(items: readonly FeedItem[], webhooks: readonly WebhookRecord[]): NewDelivery[] {
  const out: NewDelivery[] = [];
  for (const { seq, entry } of items) {
    for (const webhook of webhooks) {
      if (!webhook.on || !webhookReceives(webhook.statements, entry)) continue;
      out.push({ id: sortableId(), webhookId: webhook.id, auditId: entry.id, resource: entry.spec, seq });
    }
  }
  return out;
}

export function deliveryRep(d: DeliveryLogItem) {
  return {
    _id: d.id,
    _links: {
      self: link(`${WEBHOOKS_PATH}/${d.webhookId}/deliveries/${d.id}`),
      parent: link(`${WEBHOOKS_PATH}/${d.webhookId}/deliveries`),
      auditLogEntry: link(`/api/v2/auditlog/${d.auditId}`),
    },
    auditLogEntryId: d.auditId,
    resource: d.resource,
    status: d.state,
    createdAt: d.createdAt,
    completedAt: d.completedAt ?? undefined,
    nextAttemptAt: d.state === "pending" ? d.nextAttemptAt : undefined,
    attempts: d.attemptLog.map((a) => ({
      attempt: a.attempt,
      date: a.startedAt,
      latencyMs: a.latencyMs,
      statusCode: a.statusCode ?? undefined,
      error: a.error ?? undefined,
      response: a.response ?? undefined,
    })),
  };
}

async function webhookExists(ctx: WebhooksContext, caller: Caller, id: string): Promise<WebhookRecord> {
  authorizeRead(caller);
  const webhook = /^[0-9a-f]{24}$/.test(id) ? await ctx.store.webhookById(id) : undefined;
  if (!webhook) throw notFound(`Webhook "${id}"`);
  return webhook;
}

export async function listDeliveries(ctx: WebhooksContext, caller: Caller, webhookId: string, params: { limit?: string; offset?: string }) {
  const webhook = await webhookExists(ctx, caller, webhookId);
  const page = parsePage(params);
  const { items, total } = await ctx.store.listDeliveries(webhook.id, page);
  return { items: items.map(deliveryRep), totalCount: total, _links: pageLinks(`${WEBHOOKS_PATH}/${webhook.id}/deliveries`, {}, page, total) };
}

export async function getDelivery(ctx: WebhooksContext, caller: Caller, webhookId: string, deliveryId: string) {
  const webhook = await webhookExists(ctx, caller, webhookId);
  const delivery = await ctx.store.deliveryById(webhook.id, deliveryId);
  if (!delivery) throw notFound(`Delivery "${deliveryId}"`);
  return deliveryRep(delivery);
}

export async function redeliver(ctx: WebhooksContext, caller: Caller, webhookId: string, deliveryId: string) {
  const webhook = await webhookExists(ctx, caller, webhookId);
  authorize(caller, "redeliverWebhook", [{ type: "webhook", key: webhook.id }]);
  const moved = await ctx.store.redeliver(webhook.id, deliveryId, ctx.now());
  if (!moved) throw notFound(`Delivery "${deliveryId}"`);
  ctx.nudge();
  return getDelivery(ctx, caller, webhook.id, deliveryId);
}
