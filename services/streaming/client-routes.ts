/**
 * Routes of client-side SDKs (the client-side ID in the path) and mobile SDKs (the mobile key in
 * `Authorization`): evaluated flags by polling (`evalx`, GET with the context in the path or REPORT
 * with it as the body), as streams (`eval`, `meval`), goals, and analytics events.
 */
import { Elysia } from "elysia";
import { VexilError, invalidRequest } from "@vexil/shared/errors";
import type { EvaluationCounts } from "./evaluation-counts.ts";
import type { FeedHub } from "./feeds.ts";
import { clientFeed, contextFrom, evaluateAll, type ClientKind, type ClientStreams } from "./client-sdk.ts";
import { presentedCredential } from "@vexil/shared/http/credentials";
import { requireGrant, type KeyVerifier } from "./sdk-keys.ts";
import type { SdkConnections } from "./sdk-connections.ts";

export interface ClientRouteParts {
  keys: KeyVerifier;
  feeds: FeedHub;
  clientStreams: ClientStreams;
  counts: EvaluationCounts;
  connections: SdkConnections;
}

/**
 * Paths browsers call, which answer CORS preflights and carry CORS headers: the client-side SDKs'
 * (the client-side ID in the path) and OpenFeature's OFREP (a client-side ID in a header).
 */
export const BROWSER_PATHS = /^\/(sdk\/evalx\/|sdk\/goals\/|eval\/|events\/|ping\/|ofrep\/)/;

const CORS_HEADERS = {
  "access-control-allow-methods": "GET, REPORT, POST, OPTIONS",
  "access-control-allow-headers":
    "Accept, Content-Type, Content-Length, Authorization, X-API-Key, If-None-Match, X-LaunchDarkly-User-Agent, X-LaunchDarkly-Payload-ID, X-LaunchDarkly-Wrapper, X-LaunchDarkly-Event-Schema, X-LaunchDarkly-Tags",
  // OFREP's web provider reads the bulk answer's ETag to ask again with If-None-Match.
  "access-control-expose-headers": "ETag, Retry-After",
  "access-control-max-age": "300",
};

/** CORS for browser SDKs: any origin may read evaluated flags (the client-side ID is public by design). */
export function withCors(request: Request, response: Response): Response {
  const origin = request.headers.get("origin");
  response.headers.set("access-control-allow-origin", origin ?? "*");
  if (origin) {
    response.headers.set("access-control-allow-credentials", "true");
    response.headers.append("vary", "Origin");
  }
  for (const [k, v] of Object.entries(CORS_HEADERS)) response.headers.set(k, v);
  return response;
}

async function reportBody(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.length > 64 * 1024) throw new VexilError("payload_too_large", "A context is at most 64 KiB");
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest("The body must be the context as JSON");
  }
}

const reasonsWanted = (request: Request) => new URL(request.url).searchParams.get("withReasons") === "true";

export function clientRoutes(parts: ClientRouteParts) {
  const { keys, feeds, clientStreams, counts, connections } = parts;

  const mobileGrant = (request: Request) => requireGrant(keys, "mob", presentedCredential(request));

  const poll = async (environmentId: string, request: Request, kind: ClientKind, encoded: string | undefined) => {
    const context = contextFrom(encoded, encoded === undefined ? await reportBody(request) : undefined);
    const feed = await clientFeed(feeds, environmentId);
    connections.polled(environmentId, kind === "client" ? "client-polling" : "mobile-polling", request.headers, feed.seq);
    return evaluateAll(feed, context, kind, reasonsWanted(request));
  };
  const stream = async (environmentId: string, selector: string, request: Request, kind: ClientKind, encoded: string | undefined) => {
    const context = contextFrom(encoded, encoded === undefined ? await reportBody(request) : undefined);
    await clientFeed(feeds, environmentId);
    return clientStreams.open(environmentId, selector, context, kind, reasonsWanted(request), request.headers);
  };
  const accepted = async (environmentId: string, request: Request) => {
    counts.accept(environmentId, new Uint8Array(await request.arrayBuffer()), (request.headers.get("content-encoding") ?? "").toLowerCase().includes("gzip"));
    return new Response(null, { status: 202 });
  };
  const none = { parse: "none" as const };

  return (
    new Elysia({ normalize: false })
      // Browser and client-side SDKs: the client-side ID (the environment's id) in the path.
      .get("/sdk/evalx/:env/contexts/:context", ({ params, request }) => poll(params.env, request, "client", params.context))
      .get("/sdk/evalx/:env/users/:context", ({ params, request }) => poll(params.env, request, "client", params.context))
      .route("REPORT", "/sdk/evalx/:env/context", ({ params, request }) => poll(params.env, request, "client", undefined), none)
      .route("REPORT", "/sdk/evalx/:env/user", ({ params, request }) => poll(params.env, request, "client", undefined), none)
      .get("/eval/:env/:context", ({ params, request }) => stream(params.env, "", request, "client", params.context))
      .route("REPORT", "/eval/:env", ({ params, request }) => stream(params.env, "", request, "client", undefined), none)
      .get("/sdk/goals/:env", async ({ params }) => {
        await clientFeed(feeds, params.env);
        return [];
      })
      .post("/events/bulk/:env", async ({ params, request }) => {
        await clientFeed(feeds, params.env);
        return accepted(params.env, request);
      }, none)
      .post("/events/diagnostic/:env", async ({ params }) => {
        await clientFeed(feeds, params.env);
        return new Response(null, { status: 202 });
      }, none)
      // Mobile SDKs: the mobile key in Authorization.
      .get("/msdk/evalx/contexts/:context", async ({ params, request }) => poll((await mobileGrant(request)).environmentId, request, "mobile", params.context))
      .get("/msdk/evalx/users/:context", async ({ params, request }) => poll((await mobileGrant(request)).environmentId, request, "mobile", params.context))
      .route("REPORT", "/msdk/evalx/context", async ({ request }) => poll((await mobileGrant(request)).environmentId, request, "mobile", undefined), none)
      .route("REPORT", "/msdk/evalx/user", async ({ request }) => poll((await mobileGrant(request)).environmentId, request, "mobile", undefined), none)
      .get("/meval/:context", async ({ params, request }) => {
        const grant = await mobileGrant(request);
        return stream(grant.environmentId, grant.selector, request, "mobile", params.context);
      })
      .route("REPORT", "/meval", async ({ request }) => {
        const grant = await mobileGrant(request);
        return stream(grant.environmentId, grant.selector, request, "mobile", undefined);
      }, none)
      .post("/mobile", async ({ request }) => accepted((await mobileGrant(request)).environmentId, request), none)
      .post("/mobile/events", async ({ request }) => accepted((await mobileGrant(request)).environmentId, request), none)
      .post("/mobile/events/bulk", async ({ request }) => accepted((await mobileGrant(request)).environmentId, request), none)
      .post("/mobile/events/diagnostic", async ({ request }) => {
        await mobileGrant(request);
        return new Response(null, { status: 202 });
      }, none)
  );
}
