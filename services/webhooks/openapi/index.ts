/** The webhooks service's named schemas (`webhookRep` and `deliveryRep` build the answers). */
import { Type as T } from "@sinclair/typebox";
import { Collection, Links, Ref } from "@vexil/shared/http/openapi";
import { Statements, Tags } from "../domain/schemas.ts";

export const WebhookRep = T.Object(
  {
    _id: T.String(),
    _links: Links,
    name: T.Optional(T.String()),
    url: T.String(),
    secret: T.Optional(T.String({ description: "In the answer to the create call only" })),
    statements: T.Optional(Statements),
    on: T.Boolean(),
    tags: Tags,
    _signed: T.Boolean({ description: "Whether deliveries are signed (the webhook has a secret)" }),
  },
  { additionalProperties: false },
);

export const DeliveryRep = T.Object(
  {
    _id: T.String({ description: "The delivery id, sent as `webhook-id` on every attempt" }),
    _links: Links,
    auditLogEntryId: T.String(),
    resource: T.String({ description: "The changed resource's specifier; deliveries of one resource go out in commit order" }),
    status: T.Union([T.Literal("pending"), T.Literal("delivered"), T.Literal("failed")]),
    createdAt: T.Integer(),
    completedAt: T.Optional(T.Integer()),
    nextAttemptAt: T.Optional(T.Integer()),
    attempts: T.Array(
      T.Object(
        {
          attempt: T.Integer({ minimum: 1 }),
          date: T.Integer(),
          latencyMs: T.Integer({ minimum: 0 }),
          statusCode: T.Optional(T.Integer()),
          error: T.Optional(T.String()),
          response: T.Optional(T.String({ description: "The start of the response body (1,024 characters at most)" })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const webhooksComponents = {
  Webhook: WebhookRep,
  Webhooks: Collection(Ref("Webhook")),
  WebhookDelivery: DeliveryRep,
  WebhookDeliveries: Collection(Ref("WebhookDelivery")),
};
