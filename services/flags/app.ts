/** The flags service's HTTP app: pure assembly of its routes over the given context. */
import { Elysia } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import { jsonVariants } from "@vexil/shared/http/json-variants";
import { textGuard } from "@vexil/shared/http/text-guard";
import { PART_PATH, mergeParts, servicePart, type ServicePart } from "@vexil/shared/http/openapi";
import { flagsComponents } from "./openapi/index.ts";
import type { FlagsContext } from "./domain/context.ts";
import { auditLogRoutes } from "./routes/audit-log.ts";
import { compatRoutes } from "./routes/compat.ts";
import { environmentRoutes } from "./routes/environments.ts";
import { flagStatusRoutes } from "./routes/flag-statuses.ts";
import { deliveryRoutes } from "./routes/deliveries.ts";
import { sdkConnectionRoutes } from "./routes/sdk-connections.ts";
import { flagRoutes } from "./routes/flags.ts";
import { flagsAsCodeRoutes } from "./routes/flags-as-code.ts";
import { projectRoutes } from "./routes/projects.ts";
import { segmentRoutes } from "./routes/segments.ts";
import { scheduledChangeRoutes } from "./routes/scheduled-changes.ts";
import { approvalRoutes } from "./routes/approvals.ts";
import { flagExpiringRoutes, forwardSegmentExpiring, segmentExpiringApp } from "./routes/expiring-targets.ts";

/** Where the Unleash toggle routes that name no project or environment act. */
export interface CompatDefaults {
  project: string;
  environment: string;
}

export function createFlagsApp(ctx: FlagsContext, assertions: Assertions, unleash: CompatDefaults = { project: "default", environment: "production" }) {
  // The errors plugin lists the app's own routes in 405 answers; they exist once the app is built.
  const built: { routes: ReadonlyArray<{ method: string; path: string }>; app?: unknown } = { routes: [] };
  let part: ServicePart | undefined;
  const segmentExpiring = segmentExpiringApp(ctx, assertions);
  const app = new Elysia({ normalize: false })
    .use(errorsPlugin(ctx.logger, () => built.routes))
    .use(jsonVariants())
    .use(textGuard())
    .use(projectRoutes(ctx, assertions))
    .use(flagsAsCodeRoutes(ctx, assertions))
    .use(environmentRoutes(ctx, assertions))
    .use(flagRoutes(ctx, assertions))
    .use(flagStatusRoutes(ctx, assertions))
    .use(deliveryRoutes(ctx, assertions))
    .use(sdkConnectionRoutes(ctx, assertions))
    .use(segmentRoutes(ctx, assertions))
    .use(scheduledChangeRoutes(ctx, assertions))
    .use(approvalRoutes(ctx, assertions))
    .use(flagExpiringRoutes(ctx, assertions))
    .use(forwardSegmentExpiring(segmentExpiring))
    .use(auditLogRoutes(ctx.audit, assertions))
    .use(compatRoutes(ctx, assertions, unleash))
    // This service's part of the OpenAPI document, for the gateway (built on first use).
    .get(PART_PATH, async () => (part ??= mergeParts(await servicePart(built.app, flagsComponents), await servicePart(segmentExpiring, flagsComponents))));
  built.routes = app.routes;
  built.app = app;
  return app;
}
