/**
 * The streaming service's public routes: what SDKs call. Streams and polling read the in-memory
 * feeds only; a change reaches them as an event after it committed.
 */
import { Elysia, t } from "elysia";
import { VexilError } from "@vexil/shared/errors";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import type { Logger } from "@vexil/shared/logger";
import type { AllDataCache } from "./all-data.ts";
import type { EvaluationCounts } from "./evaluation-counts.ts";
import type { FeedHub } from "./feeds.ts";
import type { KeyVerifier } from "./sdk-keys.ts";
import { clientRoutes } from "./client-routes.ts";
import type { ClientStreams } from "./client-sdk.ts";
import { ofrepRoutes } from "./ofrep.ts";
import type { SdkConnections } from "./sdk-connections.ts";
import { matchesEtag, sdkGrant, type ServerStreams } from "./server-sdk.ts";

export interface StreamingParts {
  logger: Logger;
  keys: KeyVerifier;
  feeds: FeedHub;
  serverStreams: ServerStreams;
  /** The environments' data encoded for server-side SDKs, shared with the streams. */
  all: AllDataCache;
  clientStreams: ClientStreams;
  counts: EvaluationCounts;
  /** This instance's SDK connections: streams register themselves, polling requests are noted here. */
  connections: SdkConnections;
}

const Key = t.Object({ key: t.String({ maxLength: 256 }) });
const json = (body: string | Uint8Array, headers: Record<string, string> = {}) => new Response(body, { headers: { "content-type": "application/json; charset=utf-8", ...headers } });

export function createStreamingApp(parts: StreamingParts) {
  const { keys, feeds, serverStreams, all, counts, connections } = parts;

  /** The feed a polling server-side SDK asks for, the request noted as that SDK's. */
  const feedOf = async (request: Request) => {
    const feed = await feeds.get((await sdkGrant(keys, request)).environmentId);
    connections.polled(feed.environmentId, "server-polling", request.headers, feed.seq);
    return feed;
  };
  const item = async (request: Request, kind: "flags" | "segments", key: string) => {
    const feed = await feedOf(request);
    const found = (kind === "flags" ? feed.flags : feed.segments).get(key);
    if (!found) throw new VexilError("not_found", `${kind === "flags" ? "Flag" : "Segment"} "${key}" not found`);
    return found;
  };
  const events = async (request: Request) => {
    const grant = await sdkGrant(keys, request);
    const body = new Uint8Array(await request.arrayBuffer());
    counts.accept(grant.environmentId, body, (request.headers.get("content-encoding") ?? "").toLowerCase().includes("gzip"));
    return new Response(null, { status: 202 });
  };

  return (
    new Elysia({ normalize: false })
      .use(errorsPlugin(parts.logger))
      .use(clientRoutes(parts))
      .use(ofrepRoutes({ keys, feeds, logger: parts.logger }))
      // Server-side SDKs: the stream of every flag and segment.
      .get("/all", async ({ request }) => serverStreams.open(await sdkGrant(keys, request), request.headers))
      // Polling: the same data, with an ETag.
      .get("/sdk/latest-all", async ({ request }) => {
        const { body, etag } = all.poll(await feedOf(request));
        if (matchesEtag(request, etag)) return new Response(null, { status: 304, headers: { etag } });
        return json(body, { etag, "cache-control": "no-cache" });
      })
      .get("/sdk/latest-flags", async ({ request }) => Object.fromEntries((await feedOf(request)).flags))
      .get("/sdk/latest-flags/:key", async ({ request, params }) => item(request, "flags", params.key), { params: Key })
      .get("/sdk/latest-segments", async ({ request }) => Object.fromEntries((await feedOf(request)).segments))
      .get("/sdk/latest-segments/:key", async ({ request, params }) => item(request, "segments", params.key), { params: Key })
      // Analytics events and diagnostics: accepted, counted later.
      .post("/bulk", async ({ request }) => events(request), { parse: "none" })
      .post("/diagnostic", async ({ request }) => {
        await sdkGrant(keys, request);
        return new Response(null, { status: 202 });
      }, { parse: "none" })
  );
}
