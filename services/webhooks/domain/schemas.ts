/** Request and editable-document schemas of webhooks (TypeBox), in LaunchDarkly's shapes. */
import { Type as T, type Static } from "@sinclair/typebox";

export const StatementSchema = T.Object(
  {
    effect: T.Union([T.Literal("allow"), T.Literal("deny")]),
    resources: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 1024 }), { maxItems: 100 })),
    notResources: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 1024 }), { maxItems: 100 })),
    actions: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 128 }), { maxItems: 100 })),
    notActions: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 128 }), { maxItems: 100 })),
  },
  { additionalProperties: false },
);
export const Statements = T.Array(StatementSchema, { maxItems: 100 });

const Tag = T.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9._:-]+$" });
export const Tags = T.Array(Tag, { maxItems: 50, uniqueItems: true });
export const Secret = T.String({ minLength: 1, maxLength: 256 });

export const WebhookPost = T.Object(
  {
    url: T.String({ minLength: 1, maxLength: 2048, description: "Absolute http:// or https:// URL; it must resolve to public addresses" }),
    sign: T.Boolean({ description: "`true`: deliveries are signed with `secret` (generated when not given); `false`: unsigned" }),
    on: T.Boolean(),
    name: T.Optional(T.String({ maxLength: 256 })),
    secret: T.Optional(Secret),
    statements: T.Optional(Statements),
    tags: T.Optional(Tags),
  },
  { additionalProperties: false },
);
export type WebhookPost = Static<typeof WebhookPost>;

/** What a PATCH may change. `secret` is a new secret, or null (removed) for an unsigned webhook. */
export const WebhookEditable = T.Object({
  name: T.Union([T.String({ maxLength: 256 }), T.Null()]),
  url: T.String({ minLength: 1, maxLength: 2048 }),
  secret: T.Union([Secret, T.Null()]),
  on: T.Boolean(),
  statements: T.Union([Statements, T.Null()]),
  tags: Tags,
});
export type WebhookEditable = Static<typeof WebhookEditable>;
