/**
 * The REST API's cross-cutting conventions, applied once at the gateway for every service: CORS,
 * method override, API versions, and what a request body may be (JSON, at most 1 MiB).
 */
import { VexilError, invalidRequest } from "@vexil/shared/errors";

import { API_VERSIONS, CURRENT_API_VERSION } from "@vexil/shared/api-versions";

export { API_VERSIONS };
export const CURRENT_VERSION = CURRENT_API_VERSION;
export const VERSION_HEADER = "ld-api-version";

export interface ApiVersion {
  version: number;
  /** `LD-API-Version: beta`: beta resources may be used. */
  beta: boolean;
}

/** The version a request asks for (`LD-API-Version`); when it names none, `fallback` (the token's default, or the current one). */
export function apiVersionOf(request: Request, fallback: number = CURRENT_VERSION): ApiVersion {
  const raw = request.headers.get(VERSION_HEADER)?.trim();
  if (raw === undefined || raw === "") return { version: fallback, beta: false };
  if (raw.toLowerCase() === "beta") return { version: CURRENT_VERSION, beta: true };
  const n = Number(raw);
  if (!/^\d{8}$/.test(raw) || !(API_VERSIONS as readonly number[]).includes(n)) {
    throw invalidRequest(`Unknown API version "${raw.slice(0, 40)}" in LD-API-Version; use one of ${API_VERSIONS.join(", ")} or beta`);
  }
  return { version: n, beta: false };
}

/** Resources in beta: without `LD-API-Version: beta` they answer 403. */
const BETA = [/^\/api\/v2\/flags\/[^/]+\/[^/]+\/dependent-flags(\/[^/]+)?$/];

export function betaCheck(pathname: string, version: ApiVersion): void {
  if (!version.beta && BETA.some((p) => p.test(pathname))) {
    throw new VexilError("forbidden", "This resource is in beta: send LD-API-Version: beta to use it (it may change without notice)");
  }
}

/** `GET /api/v2/versions`. */
export const versionsBody = (v: ApiVersion) => ({ validVersions: [...API_VERSIONS], latestVersion: CURRENT_VERSION, currentVersion: v.version, beta: v.beta });

const OVERRIDABLE = new Set(["PATCH", "PUT", "DELETE"]);

/** `X-HTTP-Method-Override: PATCH|PUT|DELETE` on a POST is that method; on anything else, or naming another method, 400. */
export function withMethodOverride(request: Request): Request {
  const header = request.headers.get("x-http-method-override");
  if (header === null) return request;
  const method = header.trim().toUpperCase();
  if (request.method !== "POST") throw invalidRequest("X-HTTP-Method-Override is honoured on POST only");
  if (!OVERRIDABLE.has(method)) throw invalidRequest("X-HTTP-Method-Override must be PATCH, PUT or DELETE");
  const headers = new Headers(request.headers);
  headers.delete("x-http-method-override");
  return new Request(request.url, { method, headers, body: request.body, duplex: "half" } as RequestInit);
}

export const MAX_BODY_BYTES = 1024 * 1024;
/** Deeper than any document of the API; a parser walking hostile nesting would only waste time. */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects in a JSON text (strings skipped), stopping once past `limit`. */
export function jsonDepth(bytes: Uint8Array, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json(?:\s*;.*)?$/i;

/**
 * The body of a call, checked: at most 1 MiB (413) and JSON when there is one (415). An empty body is
 * never refused for its content type (clients send body-less POSTs labelled as forms).
 */
export async function checkedBody(request: Request): Promise<Uint8Array | undefined> {
  if (request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS") return undefined;
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > MAX_BODY_BYTES) throw new VexilError("payload_too_large", `A request body is at most ${MAX_BODY_BYTES} bytes`);
  const body = new Uint8Array(await request.arrayBuffer());
  if (body.byteLength > MAX_BODY_BYTES) throw new VexilError("payload_too_large", `A request body is at most ${MAX_BODY_BYTES} bytes`);
  if (body.byteLength === 0) return undefined;
  const type = request.headers.get("content-type") ?? "";
  if (!JSON_TYPE.test(type.trim())) throw new VexilError("unsupported_media_type", `Send JSON (Content-Type: application/json), not "${type.slice(0, 80) || "no content type"}"`);
  if (jsonDepth(body) > MAX_JSON_DEPTH) throw invalidRequest(`The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  return body;
}

export interface CorsOptions {
  /** Origins allowed to call with a token; empty: any origin (echoed). */
  origins: string[];
  /** The one origin whose session cookies are accepted: only it gets credentials. */
  publicOrigin: string;
}

const ALLOW_HEADERS = "Accept, Content-Type, Content-Length, Accept-Encoding, Authorization, LD-API-Version, X-HTTP-Method-Override, X-Request-Id";
const ALLOW_METHODS = "OPTIONS, GET, POST, PUT, PATCH, DELETE";

/** The CORS headers for a request from `Origin`, or none when it has no Origin or one that is not allowed. */
export function corsHeaders(request: Request, options: CorsOptions): Record<string, string> {
  const origin = request.headers.get("origin");
  if (!origin) return {};
  if (options.origins.length > 0 && !options.origins.includes(origin) && origin !== options.publicOrigin) return {};
  const headers: Record<string, string> = {
    "access-control-allow-origin": origin,
    "access-control-expose-headers": "X-Request-Id, X-Ratelimit-Global-Remaining, X-Ratelimit-Route-Remaining, X-Ratelimit-Reset, Retry-After",
    vary: "Origin",
  };
  if (origin === options.publicOrigin) headers["access-control-allow-credentials"] = "true";
  return headers;
}

/** The answer to a CORS preflight. */
export function preflight(request: Request, options: CorsOptions): Response {
  const headers = corsHeaders(request, options);
  if (headers["access-control-allow-origin"]) {
    headers["access-control-allow-methods"] = ALLOW_METHODS;
    headers["access-control-allow-headers"] = ALLOW_HEADERS;
    headers["access-control-max-age"] = "300";
  }
  return new Response(null, { status: 204, headers });
}
