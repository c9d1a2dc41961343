/** Routes of `/api/v2/webhooks` and the delivery log. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { operation, patchRequest } from "@vexil/shared/http/openapi";
import type { WebhooksContext } from "../domain/context.ts";
import { getDelivery, listDeliveries, redeliver } from "../domain/deliveries.ts";
import { WebhookPost } from "../domain/schemas.ts";
import { createWebhook, deleteWebhook, getWebhook, listWebhooks, patchWebhook } from "../domain/webhooks.ts";

const Id = t.Object({ id: t.String({ maxLength: 64, description: "The webhook's id" }) });
const DeliveryIds = t.Object({ id: t.String({ maxLength: 64, description: "The webhook's id" }), deliveryId: t.String({ maxLength: 64, description: "The delivery's id (`webhook-id`)" }) });
const Page = t.Object({ limit: t.Optional(t.String()), offset: t.Optional(t.String()) }, { additionalProperties: true });
const TAG = "Webhooks";

export function webhookRoutes(ctx: WebhooksContext, assertions: Assertions) {
  return new Elysia({ normalize: false })
    .get("/api/v2/webhooks", async ({ request }) => listWebhooks(ctx, await assertions.callerOf(request)), {
      detail: operation({ id: "getAllWebhooks", tag: TAG, summary: "List webhooks", ok: { 200: "Webhooks" }, errors: [403] }),
    })
    .post("/api/v2/webhooks", async ({ request, body }) => createWebhook(ctx, await assertions.callerOf(request), body), {
      body: WebhookPost,
      detail: operation({
        id: "postWebhook",
        tag: TAG,
        summary: "Create a webhook",
        description:
          "Answers 200, as LaunchDarkly does. The secret (given, or generated when `sign` is true without one) is in this answer only. The URL must resolve to public addresses (see `VEXIL_WEBHOOK_ALLOWED_NETWORKS`).",
        ok: { 200: "Webhook" },
        errors: [400, 403],
        requestExample: { name: "apidocs test webhook", url: "https://example.com/hook", sign: true, secret: "frobozz", on: true, statements: [{ effect: "allow", actions: ["*"], resources: ["proj/*:env/production:flag/*"] }], tags: ["example-tag"] },
      }),
    })
    .get("/api/v2/webhooks/:id", async ({ request, params }) => getWebhook(ctx, await assertions.callerOf(request), params.id), {
      params: Id,
      detail: operation({ id: "getWebhook", tag: TAG, summary: "Get a webhook", ok: { 200: "Webhook" }, errors: [403, 404] }),
    })
    .patch("/api/v2/webhooks/:id", async ({ request, params, body }) => patchWebhook(ctx, await assertions.callerOf(request), params.id, body, request.headers.get("content-type")), {
      params: Id,
      body: t.Unknown(),
      detail: operation({
        id: "patchWebhook",
        tag: TAG,
        summary: "Update a webhook",
        description: "Editable: `name`, `url`, `secret` (a new one; `remove` or null: unsigned), `on`, `statements` (`remove`: every change), `tags`. A kept secret reads as `********` in the patched document.",
        ok: { 200: "Webhook" },
        errors: [400, 403, 404, 409],
        request: patchRequest(),
        requestExample: [{ op: "replace", path: "/on", value: false }],
      }),
    })
    .delete(
      "/api/v2/webhooks/:id",
      async ({ request, params, set }) => {
        await deleteWebhook(ctx, await assertions.callerOf(request), params.id);
        set.status = 204;
      },
      { params: Id, detail: operation({ id: "deleteWebhook", tag: TAG, summary: "Delete a webhook", description: "Its pending deliveries are dropped.", ok: { 204: null }, errors: [403, 404] }) },
    )
    .get("/api/v2/webhooks/:id/deliveries", async ({ request, params, query }) => listDeliveries(ctx, await assertions.callerOf(request), params.id, query), {
      params: Id,
      query: Page,
      detail: operation({
        id: "getWebhookDeliveries",
        tag: TAG,
        summary: "List a webhook's deliveries",
        description: "Newest first, each with its attempts: time, status code, latency, the start of the response or the error.",
        ok: { 200: "WebhookDeliveries" },
        errors: [400, 403, 404],
      }),
    })
    .get("/api/v2/webhooks/:id/deliveries/:deliveryId", async ({ request, params }) => getDelivery(ctx, await assertions.callerOf(request), params.id, params.deliveryId), {
      params: DeliveryIds,
      detail: operation({ id: "getWebhookDelivery", tag: TAG, summary: "Get one delivery with its attempts", ok: { 200: "WebhookDelivery" }, errors: [403, 404] }),
    })
    .post("/api/v2/webhooks/:id/deliveries/:deliveryId/redeliver", async ({ request, params }) => redeliver(ctx, await assertions.callerOf(request), params.id, params.deliveryId), {
      params: DeliveryIds,
      detail: operation({
        id: "postWebhookRedelivery",
        tag: TAG,
        summary: "Deliver again",
        description: "The same delivery (same `webhook-id`), due now with a fresh count of attempts, whatever its state.",
        ok: { 200: "WebhookDelivery" },
        errors: [403, 404],
      }),
    });
}
