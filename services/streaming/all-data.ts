/**
 * The whole environment as server-side SDKs read it — the `put` of an `/all` stream and the body of
 * `/sdk/latest-all` — encoded once per revision of the feed and shared by every stream and poll of
 * that revision. An environment of 50 flags is some 35 KB; encoded per stream, 10,000 streams
 * would make (and, through the stream's queue and closures, hold) 10,000 copies.
 *
 * One byte array holds the `put` event; the polling body is a view into it (the `data` of the
 * event's JSON), so both cost one encoding. A new revision replaces the entry, so the old bytes
 * are garbage once the last write of them has gone to its socket; a feed that is forgotten takes
 * its entry with it (the cache is weak).
 */
import { createHash } from "node:crypto";
import type { SdkItem } from "@vexil/shared/environment-data";
import type { Feed } from "./feeds.ts";

const itemsOf = (items: Map<string, SdkItem>) => Object.fromEntries(items);

/** The whole environment as server-side SDKs read it (`put` data and polling body). */
export const allData = (feed: Feed) => ({ flags: itemsOf(feed.flags), segments: itemsOf(feed.segments) });

const encoder = new TextEncoder();
// `sseEvent("put", { path: "/", data })`, written around the data so the data can be a view of it.
const PUT_HEAD = 'event: put\ndata: {"path":"/","data":';
const PUT_TAIL = "}\n\n";

export interface Encoded {
  /** The feed revision these bytes are of. */
  readonly revision: number;
  /** The `put` event of an `/all` stream. */
  readonly put: Uint8Array;
  /** The polling body: the data of the `put`, a view into the same bytes. */
  readonly body: Uint8Array;
  /** The polling body's ETag, made on first use. */
  etag?: string;
}

export class AllDataCache {
  private readonly cache = new WeakMap<Feed, Encoded>();

  /** The feed's current data, encoded (once for this revision). */
  of(feed: Feed): Encoded {
    const hit = this.cache.get(feed);
    if (hit && hit.revision === feed.revision) return hit;
    // ASCII head and tail: their byte lengths are their string lengths.
    const put = encoder.encode(`${PUT_HEAD}${JSON.stringify(allData(feed))}${PUT_TAIL}`);
    const entry: Encoded = { revision: feed.revision, put, body: put.subarray(PUT_HEAD.length, put.byteLength - PUT_TAIL.length) };
    this.cache.set(feed, entry);
    return entry;
  }

  /** The `put` event of the feed's current data. */
  put(feed: Feed): Uint8Array {
    return this.of(feed).put;
  }

  /** The polling body of the feed's current data, with an ETag from its bytes. */
  poll(feed: Feed): { body: Uint8Array; etag: string } {
    const entry = this.of(feed);
    entry.etag ??= `"${createHash("sha1").update(entry.body).digest("base64url")}"`;
    return { body: entry.body, etag: entry.etag };
  }
}
