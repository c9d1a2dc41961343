/** The webhooks service's HTTP routes (reached through the gateway). Pure assembly: tests call `handle`. */
import { Elysia } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import { jsonVariants } from "@vexil/shared/http/json-variants";
import { textGuard } from "@vexil/shared/http/text-guard";
import { PART_PATH, servicePart, type ServicePart } from "@vexil/shared/http/openapi";
import type { WebhooksContext } from "./domain/context.ts";
import { webhooksComponents } from "./openapi/index.ts";
import { webhookRoutes } from "./routes/webhooks.ts";

export function createWebhooksApp(ctx: WebhooksContext, assertions: Assertions) {
  const built: { routes: ReadonlyArray<{ method: string; path: string }>; app?: unknown } = { routes: [] };
  let part: ServicePart | undefined;
  const app = new Elysia({ normalize: false })
    .use(errorsPlugin(ctx.logger, () => built.routes))
    .use(jsonVariants())
    .use(textGuard())
    .use(webhookRoutes(ctx, assertions))
    .get(PART_PATH, async () => (part ??= await servicePart(built.app, webhooksComponents)));
  built.routes = app.routes;
  built.app = app;
  return app;
}
