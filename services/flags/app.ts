/** The flags service's HTTP app: pure assembly of its routes over the given context. */
import { Elysia } from "elysia";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import type { FlagsContext } from "./domain/context.ts";
import { environmentRoutes } from "./routes/environments.ts";
import { projectRoutes } from "./routes/projects.ts";

const JSON_VARIANTS = /^application\/(merge-patch\+json|json-patch\+json)/i;

export function createFlagsApp(ctx: FlagsContext) {
  return new Elysia({ normalize: false })
    .use(errorsPlugin(ctx.logger))
    .onParse({ as: "global" }, ({ request, contentType }) => {
      if (JSON_VARIANTS.test(contentType)) return request.json();
    })
    .use(projectRoutes(ctx))
    .use(environmentRoutes(ctx));
}
