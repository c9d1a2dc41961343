/**
 * The one error type of Vexil. Domain code throws it; HTTP and bus edges map it
 * to `{code, message, id}` bodies with the status it carries.
 */
export type ErrorCode =
  | "invalid_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "optimistic_locking_error"
  | "unsupported_media_type"
  | "payload_too_large"
  | "patch_failed"
  | "rate_limited"
  | "internal_error"
  | "service_unavailable"
  | "outcome_unknown"
  | "gateway_timeout"
  | "email_already_exists_in_account"
  | "duplicate_email";

const statusOf: Record<ErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  optimistic_locking_error: 409,
  unsupported_media_type: 415,
  payload_too_large: 413,
  patch_failed: 422,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
  outcome_unknown: 503,
  gateway_timeout: 504,
  email_already_exists_in_account: 400,
  duplicate_email: 400,
};

export class VexilError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, status = statusOf[code]) {
    super(message);
    this.name = "VexilError";
    this.code = code;
    this.status = status;
  }
}

/**
 * The VexilError an error is, or carries as its cause: drizzle wraps whatever its driver throws,
 * the refusal of a statement past the request's deadline included (`shared/db/deadline-guard.ts`).
 */
export function vexilErrorOf(error: unknown): VexilError | undefined {
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    if (e instanceof VexilError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const invalidRequest = (message: string) => new VexilError("invalid_request", message);
export const notFound = (what: string) => new VexilError("not_found", `${what} not found`);
export const conflict = (message: string) => new VexilError("conflict", message);
export const unauthorized = (message = "Invalid access token") => new VexilError("unauthorized", message);

export interface ErrorBody {
  code: string;
  message: string;
  id: string;
}

export function errorBody(code: string, message: string, id: string): ErrorBody {
  return { code, message, id };
}

/** A JSON error response; `id` also goes to the log line of the request. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  id: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(errorBody(code, message, id)), {
    status,
    headers: { "content-type": "application/json", "x-request-id": id, ...headers },
  });
}
