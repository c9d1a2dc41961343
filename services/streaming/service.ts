/**
 * The streaming service: the SDK-facing endpoints. This release runs it as a process of its own
 * with health and readiness, so clusters can be laid out as they will run; it serves no SDK route yet.
 */
import { Elysia } from "elysia";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import type { Logger } from "@vexil/shared/logger";

export function createStreamingApp(logger: Logger) {
  return new Elysia({ normalize: false }).use(errorsPlugin(logger));
}

export async function startStreamingService(options: { logger: Logger }) {
  const app = createStreamingApp(options.logger);
  return { handle: (request: Request) => app.handle(request), stop: () => {} };
}
