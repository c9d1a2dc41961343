/** The auth service's HTTP routes (reached through the gateway). Pure assembly: tests call `handle`. */
import { Elysia } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import { jsonVariants } from "@vexil/shared/http/json-variants";
import { textGuard } from "@vexil/shared/http/text-guard";
import { PART_PATH, servicePart, type ServicePart } from "@vexil/shared/http/openapi";
import { authComponents } from "./openapi/index.ts";
import type { AuthContext } from "./domain/context.ts";
import { memberRoutes } from "./routes/members.ts";
import { roleRoutes } from "./routes/roles.ts";
import { sessionRoutes } from "./routes/sessions.ts";
import { tokenRoutes } from "./routes/tokens.ts";

export function createAuthApp(ctx: AuthContext, assertions: Assertions) {
  // The errors plugin lists the app's own routes in 405 answers; they exist once the app is built.
  const built: { routes: ReadonlyArray<{ method: string; path: string }>; app?: unknown } = { routes: [] };
  let part: ServicePart | undefined;
  const app = new Elysia({ normalize: false })
    .use(errorsPlugin(ctx.logger, () => built.routes))
    .use(jsonVariants())
    .use(textGuard())
    .use(tokenRoutes(ctx, assertions))
    .use(memberRoutes(ctx, assertions))
    .use(roleRoutes(ctx, assertions))
    .use(sessionRoutes(ctx, assertions))
    // This service's part of the OpenAPI document, for the gateway (built on first use).
    .get(PART_PATH, async () => (part ??= await servicePart(built.app, authComponents)));
  built.routes = app.routes;
  built.app = app;
  return app;
}
