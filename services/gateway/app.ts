/**
 * The gateway: the one public entry for REST calls. It gives every request an id, authenticates
 * it at the edge through the auth service, and forwards it to the owning service unchanged but
 * for the signed caller assertion (credentials stay here). Pure assembly: tests call `handle`.
 */
import { CALLER_HEADER, type Caller } from "@vexil/shared/caller";
import { DEADLINE_HEADER } from "@vexil/shared/deadline";
import { VexilError, errorResponse } from "@vexil/shared/errors";
import { SESSION_COOKIE, cookieValue } from "@vexil/shared/http/cookies";
import { presentedCredential } from "@vexil/shared/http/credentials";
import { readyResponse, type Readiness } from "@vexil/shared/http/health";
import { ROUTE_HEADER, UNMATCHED } from "@vexil/shared/http/measured";
import { acceptRequestId } from "@vexil/shared/ids";
import { httpRecorder, metricsResponse, pathOf, refusals } from "@vexil/shared/metrics";
import type { Logger } from "@vexil/shared/logger";
import { forwardedOf, type Forwarded, type ServiceClient } from "@vexil/shared/transport/http-over-bus";
import type { CallerVerifier, Credential } from "./caller-verifier.ts";
import { clientAddressOf } from "./client-address.ts";
import { createFailureLimiter, type FailureLimiter } from "./failure-limiter.ts";
import { routeOf, type Route } from "./routes.ts";
import { DOCUMENT_PATH, createDocs } from "./docs.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { LIVE_PATH, type LiveFeed } from "./live.ts";
import { apiVersionOf, betaCheck, checkedBody, corsHeaders, preflight, versionsBody, withMethodOverride, type CorsOptions } from "./conventions.ts";

export interface GatewayDeps {
  /** The services by name; a gateway given no webhooks service answers its paths 503. */
  services: Record<Exclude<Route["service"], "webhooks">, ServiceClient> & Partial<Record<"webhooks", ServiceClient>>;
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
  /** `VEXIL_METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer <it>`. */
  metricsToken?: string;
  /** The web console's pages and assets (`@vexil/console/serve`); absent: none. */
  console?: (request: Request, pathname: string) => Promise<Response | undefined>;
  /** `GET /api/v2/live`, the feed of changes (`live.ts`); absent: 503. */
  live?: LiveFeed;
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
/** Paths the gateway answers itself, labelled as they are in its request metrics. */
const OWN_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/api/v2", "/api/v2/versions", LIVE_PATH, DOCUMENT_PATH]);
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Headers only the gateway sets: a caller's own never reach a service. */
const GATEWAY_HEADERS = new Set([CALLER_HEADER, "x-request-id", DEADLINE_HEADER]);
/** Once the caller is verified, its credentials stay here too: services get the verified caller. */
export const WITHHELD_WHEN_VERIFIED: ReadonlySet<string> = new Set([...GATEWAY_HEADERS, "authorization", "cookie"]);

/** `Authorization: <token>` or `Authorization: Bearer <token>`. */
export const presentedToken = presentedCredential;

export function createGateway(deps: GatewayDeps) {
  const { logger } = deps;
  const failures = deps.failures ?? createFailureLimiter(30);
  const cors: CorsOptions = { origins: deps.corsOrigins ?? [], publicOrigin: deps.publicOrigin };
  const docs = createDocs(deps.services, logger);
  const metrics = httpRecorder("gateway");

  /**
   * The route label of an answer: the template the owning service matched (it says so in a header,
   * removed here), or, for what the gateway answered itself, the path of its own routes, `/docs`,
   * `unmatched` for a path no service owns, and `gateway` for the rest (refusals, preflights,
   * services that did not answer).
   */
  function routeLabel(pathname: string, response: Response): string {
    const template = response.headers.get(ROUTE_HEADER);
    if (template !== null) {
      response.headers.delete(ROUTE_HEADER);
      return template;
    }
    if (OWN_PATHS.has(pathname)) return pathname;
    if (docs.has(pathname)) return "/docs";
    return routeOf(pathname) ? "gateway" : UNMATCHED;
  }
  const addressOf = clientAddressOf(deps.trustedProxies ?? []);
  /** The request, forwarded to its route's service (503 when this deployment runs none). */
  function sent(route: Route, id: string, forwarded: Forwarded): Promise<Response> {
    const service = deps.services[route.service];
    if (!service) return Promise.resolve(errorResponse(503, "service_unavailable", "This part of the API is not running here", id, { "retry-after": "1" }));
    return service.handle(forwarded);
  }

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

  /** `address()`: the caller's address, worked out only when a failure is counted or checked. */
  async function forward(incoming: Request, id: string, address: () => string): Promise<Response> {
    const url = new URL(incoming.url);
    if (url.pathname === "/healthz") return Response.json({ status: "ok" });
    if (url.pathname === "/readyz") return readyResponse(deps.readiness, incoming);
    if (url.pathname === "/metrics") return metricsResponse(incoming, deps.metricsToken);
    if (incoming.method === "OPTIONS") return preflight(incoming, cors);

    const request = withMethodOverride(incoming);
    // The API's documentation: public, like the routes it describes are not.
    if (docs.has(url.pathname)) {
      if (request.method !== "GET" && request.method !== "HEAD") return errorResponse(405, "method_not_allowed", `${request.method} is not allowed on ${url.pathname}; use GET`, id, { allow: "GET, HEAD" });
      return docs.answer(url.pathname);
    }
    let version = apiVersionOf(request);
    const local = url.pathname === "/api/v2" || url.pathname === "/api/v2/versions" || url.pathname === LIVE_PATH;
    const route = local ? ({ service: "flags" } as Route) : routeOf(url.pathname, request.method);
    let limitHeaders: Record<string, string> = {};
    let verified: { credential: Credential; caller: Caller } | undefined;
    if (!route) return (await deps.console?.(request, url.pathname)) ?? errorResponse(404, "not_found", `No resource at ${url.pathname}`, id);
    if (local && request.method !== "GET") return errorResponse(405, "method_not_allowed", `${request.method} is not allowed on ${url.pathname}`, id, { allow: "GET" });

    let assertion: string;
    if (route.public) {
      // Signing in is guessing a password: it counts against the address like a wrong token.
      const wait = failures.retryAfter(address());
      if (wait > 0) {
        refusals.authFailureLimited.inc();
        return errorResponse(429, "rate_limited", "Too many failed authentications from this address; try again later", id, { "retry-after": String(wait) });
      }
      const response = await sent(route, id, forwardedOf(request, url.pathname + url.search, await checkedBody(request), GATEWAY_HEADERS, [["x-request-id", id]]));
      if (response.status === 401) {
        refusals.unauthorized.inc();
        failures.fail(address());
      }
      return response;
    } else {
      const credential = credentialOf(request, id);
      if (credential instanceof Response) {
        if (credential.status === 401) refusals.unauthorized.inc();
        return credential;
      }
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
        const wait = failures.retryAfter(address());
        failures.fail(address());
        if (wait > 0) {
          refusals.authFailureLimited.inc();
          return errorResponse(429, "rate_limited", "Too many failed authentications from this address; try again later", id, { "retry-after": String(wait) });
        }
        refusals.unauthorized.inc();
        return errorResponse(401, "unauthorized", checked.reason, id, CHALLENGE);
      }
      verified = { credential, caller: checked.caller };
      assertion = checked.assertion;
      const rate = deps.rateLimiter?.check(checked.caller.tokenId ?? `member:${checked.caller.memberId}`, request.method, url.pathname);
      if (rate && !rate.ok) {
        refusals.rateLimited.inc();
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
    if (url.pathname === LIVE_PATH) {
      if (!deps.live) return errorResponse(503, "service_unavailable", "The live feed is not running here", id, { "retry-after": "1" });
      const response = deps.live.open(request, verified!.credential, verified!.caller, id);
      for (const [k, v] of Object.entries(limitHeaders)) response.headers.set(k, v);
      return response;
    }
    // Services get the verified caller, never the credential itself.
    const response = await sent(
      route,
      id,
      forwardedOf(request, url.pathname + url.search, await checkedBody(request), WITHHELD_WHEN_VERIFIED, [
        ["x-request-id", id],
        [CALLER_HEADER, assertion],
      ]),
    );
    for (const [k, v] of Object.entries(limitHeaders)) response.headers.set(k, v);
    if (!response.headers.has("x-request-id")) response.headers.set("x-request-id", id);
    return response;
  }

  return {
    /**
     * `peer`: the address the connection comes from (a trusted proxy's names the caller in
     * `X-Forwarded-For`), or how to find it: asked only when needed, as most requests never are.
     */
    async handle(request: Request, peer?: string | (() => string | undefined)): Promise<Response> {
      const started = performance.now();
      const id = acceptRequestId(request.headers.get("x-request-id"));
      let response: Response;
      try {
        let address: string | undefined;
        response = await forward(request, id, () => (address ??= addressOf(typeof peer === "function" ? peer() : peer, request.headers.get("x-forwarded-for"))));
      } catch (e) {
        if (e instanceof VexilError) response = errorResponse(e.status, e.code, e.message, id);
        else {
          logger.error("gateway failure", { id, error: e });
          response = errorResponse(500, "internal_error", "Something went wrong on our side; quote this id when reporting it", id);
        }
      }
      for (const [k, v] of Object.entries(corsHeaders(request, cors))) if (!response.headers.has(k)) response.headers.set(k, v);
      const status = response.status;
      const path = pathOf(request.url);
      const seconds = (performance.now() - started) / 1000;
      metrics.record(routeLabel(path, response), request.method, status, seconds);
      const line = { id, method: request.method, path, status, ms: Math.round(seconds * 1000) };
      if (status >= 500) logger.warn("request", line);
      else if (status >= 400) logger.info("request", line);
      else logger.debug("request", line);
      return response;
    },
  };
}
