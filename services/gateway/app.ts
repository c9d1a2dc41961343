/**
 * The gateway: the one public entry for REST calls. It gives every request an id, authenticates
 * it at the edge through the auth service, and forwards it to the owning service unchanged but
 * for the signed caller assertion (credentials stay here). Pure assembly: tests call `handle`.
 */
import { CALLER_HEADER } from "@vexil/shared/caller";
import { VexilError, errorResponse } from "@vexil/shared/errors";
import { SESSION_COOKIE, cookieValue } from "@vexil/shared/http/cookies";
import { presentedCredential } from "@vexil/shared/http/credentials";
import { readyResponse, type Readiness } from "@vexil/shared/http/health";
import { acceptRequestId } from "@vexil/shared/ids";
import type { Logger } from "@vexil/shared/logger";
import type { ServiceClient } from "@vexil/shared/transport/http-over-bus";
import type { CallerVerifier, Credential } from "./caller-verifier.ts";
import { clientAddressOf } from "./client-address.ts";
import { createFailureLimiter, type FailureLimiter } from "./failure-limiter.ts";
import { routeOf, type Route } from "./routes.ts";
import { createDocs } from "./docs.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { apiVersionOf, betaCheck, checkedBody, corsHeaders, preflight, versionsBody, withMethodOverride, type CorsOptions } from "./conventions.ts";

export interface GatewayDeps {
  services: Record<Route["service"], ServiceClient>;
  verifier: CallerVerifier;
  logger: Logger;
  readiness: Readiness;
  /** The browser origin whose session cookies are accepted. */
  publicOrigin: string;
  failures?: FailureLimiter;
  /** Proxies whose `X-Forwarded-For` names the caller's address (for the failure limiter); absent: none. */
  trustedProxies?: string[];
  /** Origins allowed to call the API from a browser; empty or absent: any (echoed). */
  corsOrigins?: string[];
  /** Per-caller rate limits; absent: none. */
  rateLimiter?: RateLimiter;
}

const link = (href: string) => ({ href, type: "application/json" });

/** `GET /api/v2`: where the collections are. */
const ROOT = {
  links: {
    self: link("/api/v2"),
    projects: link("/api/v2/projects"),
    tokens: link("/api/v2/tokens"),
    members: link("/api/v2/members"),
    roles: link("/api/v2/roles"),
    auditLog: link("/api/v2/auditlog"),
    callerIdentity: link("/api/v2/caller-identity"),
    versions: link("/api/v2/versions"),
  },
};

const CHALLENGE = { "www-authenticate": 'Bearer realm="vexil", charset="UTF-8"' };
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** `Authorization: <token>` or `Authorization: Bearer <token>`. */
export const presentedToken = presentedCredential;

export function createGateway(deps: GatewayDeps) {
  const { logger } = deps;
  const failures = deps.failures ?? createFailureLimiter(30);
  const cors: CorsOptions = { origins: deps.corsOrigins ?? [], publicOrigin: deps.publicOrigin };
  const docs = createDocs(deps.services, logger);
  const addressOf = clientAddressOf(deps.trustedProxies ?? []);

  /** The request's credential; a session cookie only from the public origin. */
  function credentialOf(request: Request, id: string): Credential | Response {
    const token = presentedToken(request);
    if (token) return { token };
    const session = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
    if (!session) return errorResponse(401, "unauthorized", "An access token is required in the Authorization header", id, CHALLENGE);
    const origin = request.headers.get("origin");
    if (origin ? origin !== deps.publicOrigin : !SAFE_METHODS.has(request.method)) {
      return errorResponse(403, "forbidden", "Session cookies are accepted only from the configured public origin", id);
    }
    return { session };
  }

  async function forward(incoming: Request, id: string, address: string): Promise<Response> {
    const url = new URL(incoming.url);
    if (url.pathname === "/healthz") return Response.json({ status: "ok" });
    if (url.pathname === "/readyz") return readyResponse(deps.readiness, incoming);
    if (incoming.method === "OPTIONS") return preflight(incoming, cors);

    const request = withMethodOverride(incoming);
    // The API's documentation: public, like the routes it describes are not.
    if (docs.has(url.pathname)) {
      if (request.method !== "GET" && request.method !== "HEAD") return errorResponse(405, "method_not_allowed", `${request.method} is not allowed on ${url.pathname}; use GET`, id, { allow: "GET, HEAD" });
      return docs.answer(url.pathname);
    }
    let version = apiVersionOf(request);
    const local = url.pathname === "/api/v2" || url.pathname === "/api/v2/versions";
    const route = local ? ({ service: "flags" } as Route) : routeOf(url.pathname, request.method);
    let limitHeaders: Record<string, string> = {};
    if (!route) return errorResponse(404, "not_found", `No resource at ${url.pathname}`, id);
    if (local && request.method !== "GET") return errorResponse(405, "method_not_allowed", `${request.method} is not allowed on ${url.pathname}`, id, { allow: "GET" });

    // Services get the verified caller, never the credential itself.
    const headers = new Headers(request.headers);
    headers.delete(CALLER_HEADER);
    headers.set("x-request-id", id);
    if (route.public) {
      // Signing in is guessing a password: it counts against the address like a wrong token.
      const wait = failures.retryAfter(address);
      if (wait > 0) return errorResponse(429, "rate_limited", "Too many failed authentications from this address; try again later", id, { "retry-after": String(wait) });
      const response = await deps.services[route.service].handle(new Request(await checkedBody(request), { headers }));
      if (response.status === 401) failures.fail(address);
      return response;
    } else {
      const credential = credentialOf(request, id);
      if (credential instanceof Response) return credential;
      let checked;
      try {
        checked = await deps.verifier.verify(credential);
      } catch (e) {
        const code = e instanceof VexilError && e.code === "gateway_timeout" ? "gateway_timeout" : "service_unavailable";
        logger.warn("authentication unavailable", { id, error: e });
        return errorResponse(code === "gateway_timeout" ? 504 : 503, code, "Authentication is not available right now; try again shortly", id, { "retry-after": "1" });
      }
      if (!checked.ok) {
        // A valid credential is never refused here: only a wrong one, from an address past its limit.
        const wait = failures.retryAfter(address);
        failures.fail(address);
        if (wait > 0) return errorResponse(429, "rate_limited", "Too many failed authentications from this address; try again later", id, { "retry-after": String(wait) });
        return errorResponse(401, "unauthorized", checked.reason, id, CHALLENGE);
      }
      headers.delete("authorization");
      headers.delete("cookie");
      headers.set(CALLER_HEADER, checked.assertion);
      const rate = deps.rateLimiter?.check(checked.caller.tokenId ?? `member:${checked.caller.memberId}`, request.method, url.pathname);
      if (rate && !rate.ok) {
        return errorResponse(429, "rate_limited", "You've exceeded the API rate limit; try again after the window resets", id, { ...rate.headers, "retry-after": String(rate.retryAfter) });
      }
      if (rate) limitHeaders = rate.headers;
      // Without LD-API-Version a call speaks the token's default version.
      version = apiVersionOf(request, checked.caller.apiVersion);
    }
    betaCheck(url.pathname, version);
    // Answered here, for any authenticated caller.
    if (url.pathname === "/api/v2") return Response.json(ROOT, { headers: limitHeaders });
    if (url.pathname === "/api/v2/versions") return Response.json(versionsBody(version), { headers: limitHeaders });
    const body = await checkedBody(request);
    const response = await deps.services[route.service].handle(new Request(body, { headers }));
    for (const [k, v] of Object.entries(limitHeaders)) response.headers.set(k, v);
    if (!response.headers.has("x-request-id")) response.headers.set("x-request-id", id);
    return response;
  }

  return {
    /** `peer`: the address the connection comes from (a trusted proxy's names the caller in `X-Forwarded-For`). */
    async handle(request: Request, peer?: string): Promise<Response> {
      const started = performance.now();
      const id = acceptRequestId(request.headers.get("x-request-id"));
      let response: Response;
      try {
        response = await forward(request, id, addressOf(peer, request.headers.get("x-forwarded-for")));
      } catch (e) {
        if (e instanceof VexilError) response = errorResponse(e.status, e.code, e.message, id);
        else {
          logger.error("gateway failure", { id, error: e });
          response = errorResponse(500, "internal_error", "Something went wrong on our side; quote this id when reporting it", id);
        }
      }
      for (const [k, v] of Object.entries(corsHeaders(request, cors))) if (!response.headers.has(k)) response.headers.set(k, v);
      const status = response.status;
      const line = { id, method: request.method, path: new URL(request.url).pathname, status, ms: Math.round(performance.now() - started) };
      if (status >= 500) logger.warn("request", line);
      else if (status >= 400) logger.info("request", line);
      else logger.debug("request", line);
      return response;
    },
  };
}
