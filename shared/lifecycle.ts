/**
 * Process lifecycle shared by every `main.ts`: listening with a clear error for a busy port,
 * graceful shutdown on SIGTERM/SIGINT within a time limit, and a one-message exit on bad start-up.
 */
import type { Server } from "bun";
import { ConfigError } from "./config.ts";
import { errorResponse } from "./errors.ts";
import { requestId } from "./ids.ts";
import type { Logger } from "./logger.ts";

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

export interface ListenOptions {
  port: number;
  host: string;
  fetch: (request: Request, server: Server<undefined>) => Response | Promise<Response>;
  /** Where a failure that escaped the handler is logged (never shown to the caller). */
  logger?: Logger;
}

/**
 * What no handler should ever see: a request whose URL cannot be parsed (HTTP/1.0 without `Host`,
 * a malformed `Host`) or a `CONNECT` (this is not a forward proxy). Answered here in the JSON
 * error format, so every server behaves the same whatever routes it has.
 */
function refusal(request: Request): Response | undefined {
  if (request.method === "CONNECT") return errorResponse(405, "method_not_allowed", "CONNECT is not supported", requestId(), { allow: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, REPORT" });
  if (!URL.canParse(request.url)) return errorResponse(400, "invalid_request", "The request has no valid Host header", requestId());
  return undefined;
}

/**
 * Every HTTP server of Vexil: production mode (Bun's development error page would show a stack,
 * source lines and the working directory) and one error hook that answers `{code, message, id}`
 * and logs the failure under that id.
 */
export function listen(options: ListenOptions): Server<undefined> {
  const { fetch, logger } = options;
  try {
    return Bun.serve({
      port: options.port,
      hostname: options.host,
      development: false,
      // Long-lived streams manage their own liveness with heartbeats.
      idleTimeout: 0,
      // Beyond this Bun answers with a bare 413; below it the gateway answers 413 in the JSON error format from 1 MiB on.
      maxRequestBodySize: 16 * 1024 * 1024,
      fetch: (request, server) => refusal(request) ?? fetch(request, server),
      error(error) {
        const id = requestId();
        logger?.error("unhandled request failure", { id, error });
        return errorResponse(500, "internal_error", "Something went wrong on our side; quote this id when reporting it", id);
      },
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "EADDRINUSE") throw new StartupError(`Port ${options.port} is already in use; set PORT to a free port`);
    if (code === "EACCES") throw new StartupError(`Not allowed to listen on port ${options.port}; set PORT to a port above 1023`);
    throw e;
  }
}

/** Runs `main`, turning configuration and start-up errors into one clear message and exit code 1. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof StartupError) {
      process.stderr.write(`vexil: ${e.message}\n`);
    } else {
      process.stderr.write(`vexil: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    }
    process.exit(1);
  }
}

export interface Shutdown {
  readonly isShuttingDown: () => boolean;
}

/**
 * On SIGTERM or SIGINT: run `stop` (stop taking work, finish what is in flight, close the
 * database and the bus), then exit 0. If that takes longer than `timeoutMs`, exit anyway.
 */
export function onShutdown(logger: Logger, timeoutMs: number, stop: () => Promise<void>): Shutdown {
  let shuttingDown = false;
  const handler = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info("shutting down", { signal });
    const force = setTimeout(() => {
      logger.warn("shutdown took too long; exiting", { timeoutMs });
      process.exit(0);
    }, timeoutMs + 500);
    stop()
      .catch((e: unknown) => logger.error("error during shutdown", { error: e }))
      .finally(() => {
        clearTimeout(force);
        logger.info("stopped");
        process.exit(0);
      });
  };
  process.on("SIGTERM", () => handler("SIGTERM"));
  process.on("SIGINT", () => handler("SIGINT"));
  return { isShuttingDown: () => shuttingDown };
}

/** Waits for `work`, at most `ms`. */
export async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
