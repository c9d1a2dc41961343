/**
 * Containment of the Postgres driver's own failures. A driver can throw from its socket callbacks
 * or timers, outside any query's promise: postgres.js 3.x did when a connection closed with a write
 * still queued (`TypeError: null is not an object (evaluating 'socket.write')` in `nextWrite`:
 * porsager/postgres#1066, #1154, #1208; 4.x, in use now, rejects the statement instead). Nothing can
 * catch such an error where it happens, so it reaches the process as an uncaught exception, and
 * would end it during a database outage.
 *
 * `containDriverFailures` is installed by a process's composition root: an error raised in the
 * driver's own source is logged and the process lives on (after a fault, `onFailure` renews the
 * connection pool, as the failed connection is left unusable); any other uncaught exception or
 * unhandled rejection is logged and ends the process with exit code 1, as it would without the guard.
 */
import type { Logger } from "../logger.ts";

/** A stack frame in postgres.js's source (ESM, CommonJS or Workers build, however installed). */
const DRIVER_FRAME = /[\\/]node_modules[\\/](?:\.bun[\\/]postgres@[^\\/]+[\\/]node_modules[\\/])?postgres[\\/](?:cjs[\\/]|cf[\\/])?src[\\/][a-z-]+\.js:\d+/;

/**
 * What a driver-originated error is, or undefined for any other error: `fault`, a runtime error
 * raised inside the driver's code (a null socket), after which the failed connection cannot be
 * trusted; `orphan`, the error of a query the driver rejected (an outage: a cut connection, a
 * server shutting down) that nobody was waiting on any more. postgres.js gives every error it
 * rejects a query with the query's text and parameters as properties; those are never logged.
 */
export function driverFailureOf(error: unknown): "fault" | "orphan" | undefined {
  if (!(error instanceof Error)) return undefined;
  const first = error.stack?.split("\n").find((l) => /^\s+at /.test(l));
  const raisedInDriver = first !== undefined && DRIVER_FRAME.test(first);
  if (raisedInDriver && (error instanceof TypeError || error instanceof RangeError)) return "fault";
  const rejectedByDriver = Object.hasOwn(error, "query") && Object.hasOwn(error, "parameters");
  return raisedInDriver || rejectedByDriver ? "orphan" : undefined;
}

let installed: { logger: Logger; onFailure: Set<() => void> } | undefined;

/**
 * Keeps the process alive through driver failures only. Returns a function that removes this
 * caller's `onFailure` (the guard stays for the life of the process).
 */
export function containDriverFailures(logger: Logger, onFailure: () => void = () => {}): () => void {
  if (!installed) {
    const state = { logger, onFailure: new Set<() => void>() };
    installed = state;
    const handle = (kind: "uncaught exception" | "unhandled rejection") => (error: unknown) => {
      const driver = driverFailureOf(error);
      if (driver === "orphan") {
        state.logger.warn("database driver error without a waiting query", { kind, error });
        return;
      }
      if (driver === "fault") {
        state.logger.error("database driver failure contained; renewing the connection pool", { kind, error });
        for (const f of state.onFailure) {
          try {
            f();
          } catch (e) {
            state.logger.error("renewing the connection pool failed", { error: e });
          }
        }
        return;
      }
      // The frames, not the message again (a failed query's message may list its parameters).
      const frames = error instanceof Error ? error.stack?.split("\n").filter((l) => /^\s+at /.test(l)).slice(0, 20) : undefined;
      state.logger.error(kind, { error, frames });
      process.exit(1);
    };
    process.on("uncaughtException", handle("uncaught exception"));
    process.on("unhandledRejection", handle("unhandled rejection"));
  }
  installed.onFailure.add(onFailure);
  return () => void installed?.onFailure.delete(onFailure);
}
