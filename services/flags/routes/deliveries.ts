/** Route of `/api/v2/flags/{projectKey}/{flagKey}/deliveries`: the delivery receipts of a flag's recent changes. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { operation } from "@vexil/shared/http/openapi";
import type { FlagsContext } from "../domain/context.ts";
import { getFlagDeliveries } from "../domain/flags/deliveries.ts";
import { deliveriesOperation } from "../openapi/deliveries.ts";

const Key = t.String({ maxLength: 140 });
const Query = t.Object(
  { env: t.Optional(t.Union([t.String({ maxLength: 1024 }), t.Array(t.String({ maxLength: 140 }), { maxItems: 50 })], { description: "Environment keys to show, comma-separated or repeated" })) },
  { additionalProperties: true },
);

export function deliveryRoutes(ctx: FlagsContext, assertions: Assertions) {
  return new Elysia({ normalize: false }).get(
    "/api/v2/flags/:projectKey/:flagKey/deliveries",
    async ({ request, params, query }) => getFlagDeliveries(ctx, await assertions.callerOf(request), params.projectKey, params.flagKey, query.env),
    {
      params: t.Object({ projectKey: Key, flagKey: Key }),
      query: Query,
      detail: operation({ id: "getFlagDeliveries", tag: "Feature flags", ...deliveriesOperation, ok: { 200: "FlagDeliveries" }, errors: [403, 404] }),
    },
  );
}
