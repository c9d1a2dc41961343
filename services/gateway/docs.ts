/**
 * The API's documentation at the gateway: `GET /api/v2/openapi.json` joins the parts each service
 * answers on `PART_PATH` (built from its routes) with the gateway's own operations, and `/docs`
 * (also `/api-docs`) is Swagger UI over it, served from the `swagger-ui-dist` package: nothing is
 * fetched from elsewhere, so the page works where the server has no way out.
 */
import { dirname, join } from "node:path";
import { Type as T } from "@sinclair/typebox";
import { API_VERSIONS } from "@vexil/shared/api-versions";
import { VexilError } from "@vexil/shared/errors";
import { Links, PART_PATH, joinParts, operation, plain, type OperationSpec, type ServicePart } from "@vexil/shared/http/openapi";
import type { Logger } from "@vexil/shared/logger";
import type { ServiceClient } from "@vexil/shared/transport/http-over-bus";

export const DOCUMENT_PATH = "/api/v2/openapi.json";
export const DOCS_PATHS = ["/docs", "/api-docs"];
const ASSETS = "/docs/assets/";
/** Services a deployment may leave out; without them the document has none of their operations. */
const OPTIONAL_SERVICES = new Set(["webhooks"]);
/** A joined document is kept this long, then built again from the services' current parts. */
const KEEP_MS = 60_000;

const info = {
  title: "Vexil REST API",
  version: "2.0",
  description: [
    "Feature flags, segments, projects, environments, access tokens, members, roles and the audit log.",
    "",
    "Authenticate with an access token in `Authorization` (raw, or after `Bearer `). Errors are `{code, message, id}`.",
    "Patches take JSON Patch, JSON Merge Patch or, for flags and segments, semantic patch",
    "(`Content-Type: application/json; domain-model=launchdarkly.semanticpatch`).",
    "Send `LD-API-Version: <yyyymmdd>` to pin a version (else the token's default, else the latest) and `LD-API-Version: beta` for beta resources.",
    "Rate limits: `X-Ratelimit-Global-Remaining`, `X-Ratelimit-Route-Remaining`, `X-Ratelimit-Reset`; 429 with `Retry-After`.",
  ].join("\n"),
};

const Root = T.Object({ links: Links }, { additionalProperties: false });
const Versions = T.Object(
  {
    validVersions: T.Array(T.Integer()),
    latestVersion: T.Integer(),
    currentVersion: T.Integer({ description: "The version this call was answered in" }),
    beta: T.Boolean(),
  },
  { additionalProperties: false },
);

const op = (spec: OperationSpec) => operation(spec) as unknown as Record<string, unknown>;

const LiveChange = T.Object(
  {
    v: T.Literal(1),
    id: T.String({ description: "The change's audit entry id (also the event's `id:`)" }),
    kind: T.Union([T.Literal("flag"), T.Literal("segment"), T.Literal("project"), T.Literal("environment")]),
    project: T.String({ description: "The project's key" }),
    environment: T.Union([T.String(), T.Null()], { description: "The environment's key: for an environment, a segment, and a flag change of one environment; else null" }),
    key: T.Union([T.String(), T.Null()], { description: "The flag's or segment's key; null for a project or environment" }),
    version: T.Union([T.Integer(), T.Null()], { description: "The resource's version after the change; null for a deletion" }),
  },
  { additionalProperties: false },
);

/** `GET /api/v2/live`: a stream of Server-Sent Events rather than one JSON body. */
function liveOperation(): Record<string, unknown> {
  const get = op({
    id: "getLiveChanges",
    tag: "Other",
    summary: "Changes as they commit (Server-Sent Events)",
    description: [
      "A `text/event-stream` that stays open: an `event: change` for each committed change of a flag, segment, project or environment the caller may read,",
      "with `data` naming it (never its contents: read the resource through the API), a comment line every 15 seconds, and `retry: 1000`.",
      "For a session cookie (the console) or a token. A caller who may read nothing gets 403; a feed ends when its credential stops working.",
      "Resumable: each event's `id` is a feed position, and a new feed starts with one (an `id:` line without an event). Reconnecting with `Last-Event-ID` (or `?lastEventId=`)",
      "first sends the changes committed since then (some may come twice), or an `event: reset` when they are too many or too old to replay: then read everything again.",
    ].join(" "),
    ok: { 200: LiveChange },
    errors: [403, 503],
  });
  const responses = get.responses as Record<string, { content?: unknown }>;
  responses["200"]!.content = { "text/event-stream": { schema: { type: "string", description: "`event: change` lines whose `data` is a LiveChange" }, example: 'event: change\nid: 01a24bf6e6980000b94b4f72\ndata: {"v":1,"id":"01a24bf6e6980000b94b4f72","kind":"flag","project":"default","environment":"production","key":"new-checkout","version":7}\n\n' } };
  return {
    ...get,
    parameters: [
      { name: "project", in: "query", required: false, description: "Only this project's changes", schema: { type: "string" } },
      { name: "Last-Event-ID", in: "header", required: false, description: "The last event's id: resume after it", schema: { type: "string" } },
      { name: "lastEventId", in: "query", required: false, description: "As `Last-Event-ID`, for a client that cannot set the header", schema: { type: "string" } },
    ],
  };
}

/** The operations the gateway answers itself. */
function gatewayPart(): ServicePart {
  return {
    paths: {
      "/api/v2": { get: op({ id: "getRoot", tag: "Other", summary: "Links to the API's collections", ok: { 200: "Root" } }) },
      "/api/v2/versions": {
        get: op({ id: "getVersions", tag: "Other", summary: "The API versions", ok: { 200: "Versions" }, example: { validVersions: [...API_VERSIONS], latestVersion: API_VERSIONS.at(-1), currentVersion: API_VERSIONS.at(-1), beta: false } }),
      },
      "/api/v2/live": { get: liveOperation() },
      [DOCUMENT_PATH]: {
        get: op({ id: "getOpenapiSpec", tag: "Other", summary: "This document", description: "Answered without a credential.", ok: { 200: T.Object({ openapi: T.String() }, { additionalProperties: true }) }, public: true }),
      },
    },
    components: { schemas: { Root: plain(Root), Versions: plain(Versions), LiveChange: plain(LiveChange) } },
  };
}

const page = (document: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vexil REST API</title>
<link rel="stylesheet" href="${ASSETS}swagger-ui.css">
<link rel="icon" type="image/png" href="${ASSETS}favicon-32x32.png">
</head>
<body>
<div id="docs"></div>
<script src="${ASSETS}swagger-ui-bundle.js"></script>
<script src="${ASSETS}docs-init.js" data-document="${document}"></script>
</body>
</html>
`;

/** Starts Swagger UI; a file of its own, so the page needs no inline script (a strict CSP holds). */
const INIT = `(function () {
  var script = document.currentScript;
  window.ui = SwaggerUIBundle({
    url: script.getAttribute("data-document"),
    dom_id: "#docs",
    deepLinking: true,
    persistAuthorization: false,
    tryItOutEnabled: true,
  });
})();
`;

const SERVED_ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

function assetsDir(): string {
  return dirname(Bun.resolveSync("swagger-ui-dist/package.json", import.meta.dir));
}

export interface Docs {
  /** Whether the path is one of the documentation's. */
  has(pathname: string): boolean;
  /** The answer to a GET of one of its paths. */
  answer(pathname: string): Promise<Response> | Response;
}

export function createDocs(services: Record<string, ServiceClient>, logger: Logger, clock: () => number = Date.now): Docs {
  let kept: { body: string; at: number } | undefined;
  let building: Promise<string> | undefined;
  let dir: string | undefined;

  async function part(name: string, client: ServiceClient) {
    const response = await client.handle({ method: "GET", path: PART_PATH, headers: [["accept", "application/json"]] });
    if (response.status !== 200) throw new Error(`${name} answered ${response.status} for its part of the document`);
    return (await response.json()) as ServicePart;
  }

  async function build(): Promise<string> {
    const parts = await Promise.all(
      Object.entries(services).map(([name, client]) =>
        OPTIONAL_SERVICES.has(name)
          ? part(name, client).catch((error: unknown) => {
              // A deployment may run without it: the document leaves its operations out.
              logger.info("API document built without a service's part", { service: name, error: String(error) });
              return undefined;
            })
          : part(name, client),
      ),
    );
    return JSON.stringify(joinParts(info, [gatewayPart(), ...parts.filter((p): p is ServicePart => p !== undefined)]));
  }

  async function document(): Promise<Response> {
    const now = clock();
    if (!kept || now - kept.at > KEEP_MS) {
      building ??= build().finally(() => (building = undefined));
      try {
        kept = { body: await building, at: now };
      } catch (error) {
        if (!kept) {
          logger.warn("API document unavailable", { error });
          throw new VexilError("service_unavailable", "The API document cannot be built right now: a service did not answer; try again shortly");
        }
      }
    }
    return new Response(kept.body, { headers: { "content-type": "application/json", "cache-control": "public, max-age=60" } });
  }

  return {
    has: (pathname) => pathname === DOCUMENT_PATH || DOCS_PATHS.includes(pathname) || pathname.startsWith(ASSETS),
    answer(pathname) {
      if (pathname === DOCUMENT_PATH) return document();
      if (DOCS_PATHS.includes(pathname)) return new Response(page(DOCUMENT_PATH), { headers: { "content-type": "text/html; charset=utf-8" } });
      const name = pathname.slice(ASSETS.length);
      if (name === "docs-init.js") return new Response(INIT, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=3600" } });
      const type = SERVED_ASSETS[name];
      if (!type) throw new VexilError("not_found", `No resource at ${pathname}`);
      dir ??= assetsDir();
      return new Response(Bun.file(join(dir, name)), { headers: { "content-type": type, "cache-control": "public, max-age=86400" } });
    },
  };
}
