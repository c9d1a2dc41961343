/**
 * The common error format for every Elysia app: whatever goes wrong becomes
 * `{code, message, id}` with a fitting status. Unknown errors are logged with the id, never shown.
 */
import { Elysia } from "elysia";
import { errorResponse, vexilErrorOf } from "../errors.ts";
import { acceptRequestId } from "../ids.ts";
import { isDatabaseUnavailable } from "../db/connector.ts";
import type { Logger } from "../logger.ts";

const ids = new WeakMap<Request, string>();

/** The request's id: the gateway's `x-request-id`, or a new one, stable for the request. */
export function requestIdOf(request: Request): string {
  let id = ids.get(request);
  if (!id) {
    id = acceptRequestId(request.headers.get("x-request-id"));
    ids.set(request, id);
  }
  return id;
}

interface ValidationLike {
  type?: string;
  all?: Array<{ path?: string; summary?: string; message?: string }>;
  valueError?: { path?: string; summary?: string; message?: string };
}

/** "body.name: Expected string" — the field first, so the caller sees what to fix. */
export function describeValidation(error: ValidationLike): string {
  const first = error.valueError ?? error.all?.[0];
  const where = error.type === "body" ? "body" : error.type === "query" ? "query" : error.type === "params" ? "path" : (error.type ?? "request");
  const path = (first?.path ?? "").replace(/^\//, "").replaceAll("/", ".");
  const field = path ? `${where}.${path}` : where;
  const reason = first?.summary ?? first?.message ?? "is invalid";
  return `Invalid ${field}: ${reason}`;
}

/** The TypeError Elysia throws from inside `new ValidationError(…)` while it builds its message. */
function failedDescribingValidation(error: unknown): boolean {
  return error instanceof TypeError && /\bmapValueError\b[\s\S]*\bValidationError\b/.test(error.stack ?? "");
}

interface RouteLike {
  method: string;
  path: string;
}

/**
 * The methods an app answers on a path, from its registered routes: what a 405 lists in `Allow`
 * when the path exists but not for the method used.
 */
export function allowedMethods(routes: readonly RouteLike[]): (pathname: string) => string[] {
  let compiled: Array<{ method: string; pattern: RegExp }> | undefined;
  return (pathname) => {
    compiled ??= routes.map((r) => ({
      method: r.method,
      pattern: new RegExp(`^${r.path.split("/").map((part) => (part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("/")}/?$`),
    }));
    const methods = new Set(compiled.filter((r) => r.pattern.test(pathname)).map((r) => r.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}

export function errorsPlugin(logger: Logger, routes?: () => readonly RouteLike[]) {
  let allowed: ((pathname: string) => string[]) | undefined;
  return new Elysia({ name: "vexil-errors" }).onError({ as: "global" }, ({ code, error, request }) => {
    const id = requestIdOf(request);
    const known = vexilErrorOf(error);
    // A 503 (a dependency down, an outcome to check) is always worth retrying in a moment.
    if (known) return errorResponse(known.status, known.code, known.message, id, known.status === 503 ? { "retry-after": "1" } : {});
    if (isDatabaseUnavailable(error)) {
      logger.warn("database unavailable", { id, error });
      return errorResponse(503, "service_unavailable", "The database is not reachable right now; try again shortly", id, { "retry-after": "1" });
    }
    switch (code) {
      case "VALIDATION":
        return errorResponse(400, "invalid_request", describeValidation(error as unknown as ValidationLike), id);
      case "PARSE":
        return errorResponse(400, "invalid_request", "The request body is not valid JSON", id);
      case "NOT_FOUND": {
        // The path exists, for other methods: 405 with them.
        allowed ??= routes ? allowedMethods(routes()) : () => [];
        const methods = allowed(new URL(request.url).pathname);
        if (methods.length > 0) return errorResponse(405, "method_not_allowed", `${request.method} is not allowed here; use ${methods.join(", ")}`, id, { allow: methods.join(", ") });
        return errorResponse(404, "not_found", "Invalid resource identifier", id);
      }
      default:
        // Elysia fails while describing some validation failures (a value that is an object with
        // its own `toString` key): the request was invalid, not the service.
        if (failedDescribingValidation(error)) return errorResponse(400, "invalid_request", "Invalid request: a value does not have the expected type", id);
        logger.error("unhandled error", { id, code, error });
        return errorResponse(500, "internal_error", "Something went wrong on our side; quote this id when reporting it", id);
    }
  });
}
