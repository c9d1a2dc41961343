/**
 * The endpoints of server-side SDKs (credential: the SDK key in `Authorization`): the `/all`
 * stream, polling (`/sdk/latest-all` with ETags), single items, and the event endpoints.
 *
 * Streams of one environment share one feed listener: each change is encoded once and the same
 * bytes go to every stream of the environment. The `put` is encoded once per revision of the
 * environment's data (`AllDataCache`) and shared by every stream that opens on that revision.
 */
import { VexilError } from "@vexil/shared/errors";
import { sdkRefusals, streamEventCounter, streamOpened } from "@vexil/shared/metrics";
import type { AllDataCache } from "./all-data.ts";
import { FeedGroups, type Feed, type FeedHub, type FeedUpdate } from "./feeds.ts";
import { presentedCredential } from "@vexil/shared/http/credentials";
import { requireGrant, type KeyGrant, type KeyVerifier } from "./sdk-keys.ts";
import type { SdkConnections, StreamConnection } from "./sdk-connections.ts";
import { sseEvent, type Stream, type StreamHub } from "./streams.ts";

export interface StreamTag {
  environmentId: string;
  /** The credential's public part (an SDK key's or mobile key's selector); empty for client-side IDs. */
  selector: string;
}

interface ServerStream {
  stream: Stream;
  connection: StreamConnection;
}

const path = (kind: "flag" | "segment", key: string) => `/${kind === "flag" ? "flags" : "segments"}/${key}`;

/** The SSE event of one feed update, in the server-side SDK protocol. */
function serverEvent(update: FeedUpdate, feed: Feed, all: AllDataCache): Uint8Array {
  switch (update.type) {
    case "put":
      return all.put(feed);
    case "upsert":
      return sseEvent("patch", { path: path(update.kind, update.key), data: update.item });
    case "delete":
      return sseEvent("delete", { path: path(update.kind, update.key), version: update.version });
  }
}

export class ServerStreams {
  /** Each change is encoded once per environment and the same bytes go to all its streams. */
  private readonly groups = new FeedGroups<ServerStream>((update, feed, members) => {
    const bytes = serverEvent(update, feed, this.all);
    for (const member of members) {
      member.stream.send(bytes);
      member.connection.seq = feed.seq;
    }
    sent(update.type === "upsert" ? "patch" : update.type, members.size);
    return members.size;
  });

  constructor(
    private readonly hub: StreamHub<StreamTag>,
    private readonly feeds: FeedHub,
    private readonly all: AllDataCache,
    private readonly connections: SdkConnections,
  ) {}

  /** Opens an `/all` stream for `grant`: the `put` now, then every change. `headers` name the SDK (SDK connections). */
  async open(grant: KeyGrant, headers: Headers): Promise<Response> {
    const feed = await this.feeds.get(grant.environmentId);
    let leave = () => {};
    let uncount = () => {};
    let forget = () => {};
    const opened = this.hub.open({
      initial: this.all.put(feed),
      tag: { environmentId: feed.environmentId, selector: grant.selector },
      onClose: () => {
        uncount();
        leave();
        forget();
      },
    });
    if (!opened) throw unavailable();
    sent("put", 1);
    uncount = streamOpened(feed.environmentId, feed.projectKey, feed.environmentKey, "server");
    const { connection, closed } = this.connections.opened(feed.environmentId, "server-stream", headers, feed.seq);
    forget = closed;
    leave = this.groups.join(feed, { stream: opened.stream, connection });
    // Closed before it joined (the client went away at once): nothing will call leave later.
    if (opened.stream.closed) {
      uncount();
      leave();
      forget();
    }
    return opened.response;
  }
}

const sent = streamEventCounter("server");
const streamLimited = sdkRefusals.labels("stream_limit");

/** The refusal of a stream this instance cannot take (at its limit, or shutting down). */
export const unavailable = () => {
  streamLimited.inc();
  return new VexilError("service_unavailable", "This instance takes no more streams right now; try again");
};

/** The SDK key of a server-side SDK request, verified. */
export const sdkGrant = (keys: KeyVerifier, request: Request): Promise<KeyGrant> => requireGrant(keys, "sdk", presentedCredential(request));

/** `If-None-Match` against an ETag (a list, weak or strong). */
export function matchesEtag(request: Request, etag: string): boolean {
  const header = request.headers.get("if-none-match");
  if (!header) return false;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag || t.trim() === "*");
}
