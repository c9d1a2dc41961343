/** The flags service's HTTP app: pure assembly of its routes over the given context. */
import { Elysia } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import { jsonVariants } from "@vexil/shared/http/json-variants";
import { textGuard } from "@vexil/shared/http/text-guard";
import type { FlagsContext } from "./domain/context.ts";
import { auditLogRoutes } from "./routes/audit-log.ts";
import { compatRoutes } from "./routes/compat.ts";
import { environmentRoutes } from "./routes/environments.ts";
import { flagRoutes } from "./routes/flags.ts";
import { projectRoutes } from "./routes/projects.ts";
import { segmentRoutes } from "./routes/segments.ts";

/** Where the Unleash toggle routes that name no project or environment act. */
export interface CompatDefaults {
  project: string;
  environment: string;
}

export function createFlagsApp(ctx: FlagsContext, assertions: Assertions, unleash: CompatDefaults = { project: "default", environment: "production" }) {
  // The errors plugin lists the app's own routes in 405 answers; they exist once the app is built.
  const built: { routes: ReadonlyArray<{ method: string; path: string }> } = { routes: [] };
  const app = new Elysia({ normalize: false })
    .use(errorsPlugin(ctx.logger, () => built.routes))
    .use(jsonVariants())
    .use(textGuard())
    .use(projectRoutes(ctx, assertions))
    .use(environmentRoutes(ctx, assertions))
    .use(flagRoutes(ctx, assertions))
    .use(segmentRoutes(ctx, assertions))
    .use(auditLogRoutes(ctx.audit, assertions))
    .use(compatRoutes(ctx, assertions, unleash));
  built.routes = app.routes;
  return app;
}
