/**
 * The live feed, `GET /api/v2/live[?project=<key>]`: Server-Sent Events naming the flags, segments,
 * projects and environments that changed, for a signed-in member or a token, so the console can read
 * them again at once. The gateway serves it itself: it has just verified the caller, and it hears
 * every committed change on `vexil.live` (`shared/live.ts`), which any gateway instance can
 * subscribe to. (A service behind the gateway could not answer it in distributed mode: a stream
 * cannot ride one NATS request/reply.)
 *
 * An event carries what changed, never its contents, and goes only to callers who may read it: the
 * caller's credential is verified again (the gateway's cached verdict, dropped on revocation) before
 * each event and at each heartbeat, so a revoked token, a signed-out session or a member demoted to
 * no access stops getting events and the stream ends.
 *
 * The feed is resumable (`shared/live.ts`): each event's `id` is a feed position, and a new feed
 * starts with one (`id:` with no event). A browser's EventSource sends the last it had as
 * `Last-Event-ID` when it reconnects (a page that opens a new EventSource passes it as
 * `?lastEventId=`): the gateway asks a flags instance for the changes since then and sends them
 * before anything newer, or `reset` (read everything again) when they are beyond the bound or
 * cannot be read. A flags instance that missed notices sends `reset` through every feed too.
 */
import { authorizeRead, canRead, type Caller } from "@vexil/shared/caller";
import { decodeJson, type Bus } from "@vexil/shared/bus/bus";
import { errorResponse } from "@vexil/shared/errors";
import { liveEventOf, livePosition, positionDate, type LiveEvent, type LiveReplay } from "@vexil/shared/live";
import { requestJson } from "@vexil/shared/bus/rpc";
import type { Logger } from "@vexil/shared/logger";
import { liveEvents, liveFeedsOpen } from "@vexil/shared/metrics";
import { subjects } from "@vexil/shared/subjects";
import type { CallerVerifier, Checked, Credential } from "./caller-verifier.ts";

export const LIVE_PATH = "/api/v2/live";

const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode(":\n\n");
/** Tells EventSource to reconnect after a second rather than its default three. */
const PREAMBLE = encoder.encode("retry: 1000\n\n");
/** Events kept per stream for a reader that does not read; beyond it the stream is closed (it reconnects). */
const MAX_QUEUED = 1_000;
/** Audit entry ids remembered, to send a change heard from several flags instances once. */
const SEEN = 4_096;

export interface LiveFeedOptions {
  bus: Bus;
  verifier: CallerVerifier;
  logger: Logger;
  heartbeatMs?: number;
  /** How long a replay from the flags service may take before the feed sends `reset` instead. */
  replayTimeoutMs?: number;
  now?: () => number;
  /** Open feeds this gateway accepts; beyond it, 503. */
  limit?: number;
}

interface Feed {
  credential: Credential;
  project: string | undefined;
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
  /** The feed's writes, one after another: a verification that takes longer never reorders events. */
  queue: Promise<void>;
}

export interface LiveFeed {
  /** The feed for a caller the gateway has just verified with `credential`; 403 for a caller who may read nothing. */
  open(request: Request, credential: Credential, caller: Caller, id: string): Response;
  readonly size: number;
  /** Ends every feed and refuses new ones (shutdown; browsers reconnect elsewhere). */
  close(): void;
}

export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  const { verifier, logger, bus } = options;
  const now = options.now ?? Date.now;
  const limit = options.limit ?? 10_000;
  const feeds = new Set<Feed>();
  /** The ids of the last SEEN events, in the order heard (a ring: the oldest is overwritten). */
  const seen = new Set<string>();
  const seenOrder: string[] = [];
  let seenAt = 0;
  let accepting = true;

  function end(feed: Feed): void {
    if (feed.closed) return;
    feed.closed = true;
    if (feeds.delete(feed)) liveFeedsOpen.dec();
    try {
      feed.controller.close();
    } catch {
      // The reader has gone already.
    }
  }

  function write(feed: Feed, bytes: Uint8Array): void {
    if (feed.closed) return;
    if ((feed.controller.desiredSize ?? 0) < -MAX_QUEUED) return end(feed);
    try {
      feed.controller.enqueue(bytes);
    } catch {
      end(feed);
    }
  }

  /** Verifications under way, by credential: the feeds of one token or session share one. */
  const checking = new Map<string, Promise<Checked>>();
  function check(credential: Credential): Promise<Checked> {
    const key = "token" in credential ? `t:${credential.token}` : `s:${credential.session}`;
    let pending = checking.get(key);
    if (!pending) {
      pending = verifier.verify(credential).finally(() => checking.delete(key));
      checking.set(key, pending);
    }
    return pending;
  }

  /** Writes `bytes` after what the feed already has to write, if its caller may still read then. */
  function deliver(feed: Feed, bytes: Uint8Array): void {
    feed.queue = feed.queue.then(() => (feed.closed ? undefined : checkAndWrite(feed, bytes)));
  }

  /** Writes `bytes` if the feed's caller may still read; ends the feed when its credential no longer works. */
  async function checkAndWrite(feed: Feed, bytes: Uint8Array): Promise<void> {
    let allowed: boolean;
    try {
      const checked = await check(feed.credential);
      if (!checked.ok) return end(feed);
      allowed = canRead(checked.caller);
    } catch {
      // Authentication unreachable: nothing is sent that cannot be checked; the feed stays open.
      return;
    }
    if (!allowed) return end(feed);
    write(feed, bytes);
    if (bytes !== HEARTBEAT) liveEvents.inc();
  }

  const changeBytes = (event: LiveEvent) => encoder.encode(`event: change\nid: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
  /** Read everything again, from here on. */
  const resetBytes = () => encoder.encode(`event: reset\nid: ${livePosition(now())}\ndata: {}\n\n`);

  /** The newest position heard on the bus: ids of one length in lower-case hex compare as text. */
  let lastHeard = livePosition(now());

  function publish(event: LiveEvent): void {
    if (event.id > lastHeard) lastHeard = event.id;
    if (seen.has(event.id)) return;
    // Forgetting the oldest through the ring, not the set's first entry: finding that walks past
    // every entry deleted before it, microseconds an event once the set is full.
    const oldest = seenOrder[seenAt];
    if (oldest !== undefined) seen.delete(oldest);
    seenOrder[seenAt] = event.id;
    seenAt = (seenAt + 1) % SEEN;
    seen.add(event.id);
    let bytes: Uint8Array | undefined;
    for (const feed of feeds) if (feed.project === undefined || feed.project === event.project) deliver(feed, (bytes ??= changeBytes(event)));
  }

  /** What a reconnecting feed missed since `position`, as bytes to send: its changes, or `reset`. */
  async function replayBytes(position: string, project: string | undefined): Promise<Uint8Array> {
    if (positionDate(position) === undefined) return resetBytes();
    try {
      const replay = await requestJson<LiveReplay>(bus, subjects.liveReplay, { after: position, project }, options.replayTimeoutMs ?? 5_000);
      if ("reset" in replay) return resetBytes();
      const parts = replay.events.map(changeBytes);
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const part of parts) {
        bytes.set(part, at);
        at += part.length;
      }
      return bytes;
    } catch (e) {
      logger.debug("live: replay not read; the feed reads everything again", { error: e });
      return resetBytes();
    }
  }

  const subscription = options.bus.subscribe(subjects.live, (message) => {
    let event: LiveEvent | undefined;
    try {
      event = liveEventOf(decodeJson(message.data));
    } catch {
      event = undefined;
    }
    if (event) publish(event);
    else logger.debug("live: message ignored");
  });
  const resetAll = () => {
    const bytes = resetBytes();
    for (const feed of feeds) deliver(feed, bytes);
  };
  const resets = bus.subscribe(subjects.liveReset, resetAll);
  // Events published while this gateway's bus connection was down never reach it: once it is back,
  // what was committed since the last one it heard is asked for and sent like any other (repeats dropped by id).
  bus.onReconnect(() => {
    if (!accepting) return;
    void requestJson<LiveReplay>(bus, subjects.liveReplay, { after: lastHeard }, options.replayTimeoutMs ?? 5_000).then(
      (replay) => ("reset" in replay ? resetAll() : replay.events.forEach(publish)),
      (e) => {
        logger.debug("live: changes missed while the bus was away not read; feeds read everything again", { error: e });
        resetAll();
      },
    );
  });

  const heartbeat = setInterval(() => {
    for (const feed of feeds) deliver(feed, HEARTBEAT);
  }, options.heartbeatMs ?? 15_000);
  heartbeat.unref?.();

  return {
    open(request, credential, caller, id) {
      authorizeRead(caller);
      const url = new URL(request.url);
      const project = url.searchParams.get("project") ?? undefined;
      if (project !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/.test(project)) return errorResponse(400, "invalid_request", "project must be a project key", id);
      if (!accepting || feeds.size >= limit) return errorResponse(503, "service_unavailable", "No more live feeds are accepted here right now; try again shortly", id, { "retry-after": "1" });
      const resumeFrom = request.headers.get("last-event-id") ?? url.searchParams.get("lastEventId") ?? undefined;
      let feed: Feed | undefined;
      const body = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            feed = { credential, project, controller, closed: false, queue: Promise.resolve() };
            feeds.add(feed);
            liveFeedsOpen.inc();
            if (resumeFrom === undefined) {
              // A first feed starts at the present: a browser that loses it before any change resumes from here.
              controller.enqueue(encoder.encode(`retry: 1000\nid: ${livePosition(now())}\n\n`));
            } else {
              controller.enqueue(PREAMBLE);
              // Events heard meanwhile queue behind the replay: the missed changes come first.
              const opened = feed;
              opened.queue = replayBytes(resumeFrom, project).then((bytes) => (opened.closed || bytes.length === 0 ? undefined : checkAndWrite(opened, bytes)));
            }
          },
          cancel() {
            if (feed) {
              feed.closed = true;
              if (feeds.delete(feed)) liveFeedsOpen.dec();
            }
          },
        },
        { highWaterMark: 1 },
      );
      return new Response(body, {
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache, no-transform",
          // Proxies that buffer responses (nginx) would hold events back.
          "x-accel-buffering": "no",
        },
      });
    },
    get size() {
      return feeds.size;
    },
    close() {
      accepting = false;
      clearInterval(heartbeat);
      subscription.unsubscribe();
      resets.unsubscribe();
      for (const feed of [...feeds]) end(feed);
    },
  };
}
