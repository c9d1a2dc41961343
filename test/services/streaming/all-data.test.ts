/**
 * The environment's data encoded once per revision for server-side SDKs: every `/all` stream of a
 * revision gets the same bytes, polling reads a view of them, and a new revision replaces them.
 * The flags service is played by a responder on an in-process bus.
 */
import { describe, expect, test } from "bun:test";
import { encodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import type { ChangeEvent } from "@vexil/shared/change-events";
import type { EnvironmentData, SdkItem } from "@vexil/shared/environment-data";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { AllDataCache, allData } from "@vexil/streaming/all-data";
import { Feed, FeedHub } from "@vexil/streaming/feeds";
import { ServerStreams, type StreamTag } from "@vexil/streaming/server-sdk";
import { SdkConnections } from "@vexil/streaming/sdk-connections";
import { StreamHub, type StreamOptions } from "@vexil/streaming/streams";

const ENV = "env-1";
const flag = (key: string, version: number, on = true): SdkItem => ({ key, version, on, variations: [true, false] });
const data = (seq: number, flags: Record<string, SdkItem>): EnvironmentData => ({ v: 1, environmentId: ENV, projectKey: "p", environmentKey: "e", seq, flags, segments: { s: { key: "s", version: 1, included: ["u"] } } });
const event = (seq: number, key: string, version: number): ChangeEvent => ({ v: 1, environmentId: ENV, seq, kind: "flag", key, version, deleted: false, data: flag(key, version, false) });
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function feedOf(d: EnvironmentData): Feed {
  const feed = new Feed(ENV);
  feed.replace(d);
  return feed;
}

/** Reads whole SSE events (up to each blank line) from a response body, as bytes. */
function eventReader(response: Response) {
  const reader = response.body!.getReader();
  let buffered = new Uint8Array(0);
  return async (): Promise<Uint8Array> => {
    for (;;) {
      const end = Buffer.from(buffered).indexOf("\n\n");
      if (end >= 0) {
        const event = buffered.slice(0, end + 2);
        buffered = buffered.slice(end + 2);
        return event;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended");
      const next = new Uint8Array(buffered.byteLength + value.byteLength);
      next.set(buffered);
      next.set(value, buffered.byteLength);
      buffered = next;
    }
  };
}

describe("all-data cache", () => {
  test("one encoding per revision: the same put bytes every time, the polling body a view of them", () => {
    const cache = new AllDataCache();
    const feed = feedOf(data(3, { a: flag("a", 1), b: flag("b", 2) }));
    const put = cache.put(feed);
    expect(cache.put(feed)).toBe(put);
    expect(text(put)).toBe(`event: put\ndata: ${JSON.stringify({ path: "/", data: allData(feed) })}\n\n`);
    const poll = cache.poll(feed);
    expect(JSON.parse(text(poll.body))).toEqual(allData(feed));
    expect(poll.body.buffer).toBe(put.buffer);
    expect(cache.poll(feed).etag).toBe(poll.etag);
  });

  test("a new revision replaces the encoding: new bytes with the change, a new ETag, the old bytes no longer given", () => {
    const cache = new AllDataCache();
    const feed = feedOf(data(3, { a: flag("a", 1) }));
    const put = cache.put(feed);
    const { etag } = cache.poll(feed);
    feed.apply(event(4, "a", 2));
    const next = cache.put(feed);
    expect(next).not.toBe(put);
    expect(JSON.parse(text(next).slice("event: put\ndata: ".length)).data.flags.a).toMatchObject({ version: 2, on: false });
    expect(cache.poll(feed).etag).not.toBe(etag);
    expect(cache.put(feed)).toBe(next);
    // An event that changes nothing leaves the revision, and the encoding, as they were.
    feed.apply(event(5, "a", 2));
    expect(cache.put(feed)).toBe(next);
  });

  test("feeds are encoded apart", () => {
    const cache = new AllDataCache();
    const one = feedOf(data(1, { a: flag("a", 1) }));
    const two = feedOf(data(1, { a: flag("a", 1) }));
    expect(cache.put(one)).not.toBe(cache.put(two));
    expect(text(cache.put(one))).toBe(text(cache.put(two)));
  });
});

/** A hub that also keeps what each stream was opened with, to tell shared bytes from equal copies. */
class RecordingHub extends StreamHub<StreamTag> {
  readonly initials: Uint8Array[] = [];
  override open(options: StreamOptions<StreamTag>, headers?: Record<string, string>) {
    this.initials.push(options.initial);
    return super.open(options, headers);
  }
}

describe("server-side streams", () => {
  test("two streams of one environment get the identical put; a reload sends both the new one, which later streams get too", async () => {
    const bus = new MemoryBus();
    let current = data(1, { a: flag("a", 1) });
    bus.serve(subjects.flagsEnvironmentData, async () => ({ data: encodeJson({ ok: current }) }));
    const feeds = new FeedHub(bus, silentLogger, { timeoutMs: 1_000 });
    const hub = new RecordingHub({ heartbeatMs: 60_000, limit: 10 });
    const cache = new AllDataCache();
    const connections = new SdkConnections();
    const streams = new ServerStreams(hub, feeds, cache, connections);
    const grant = { environmentId: ENV, kind: "sdk" as const, selector: "sel" };
    const sdk = new Headers({ "user-agent": "NodeJSClient/9.7.1" });

    const first = eventReader(await streams.open(grant, sdk));
    const second = eventReader(await streams.open(grant, sdk));
    const feed = await feeds.get(ENV);
    const put = cache.put(feed);
    expect(hub.initials).toEqual([put, put]);
    expect(hub.initials[0]).toBe(hub.initials[1]!);
    expect(await first()).toEqual(put);
    expect(await second()).toEqual(put);

    // A gap in the sequence: the environment is loaded again and every stream gets its new put.
    current = data(3, { a: flag("a", 3, false), b: flag("b", 1) });
    bus.publish(subjects.changes(ENV), encodeJson(event(3, "a", 3)));
    const [reloadedFirst, reloadedSecond] = await Promise.all([first(), second()]);
    const reloaded = cache.put(feed);
    expect(reloaded).not.toBe(put);
    expect(reloadedFirst).toEqual(reloaded);
    expect(reloadedSecond).toEqual(reloaded);
    expect(Object.keys(JSON.parse(text(reloaded).slice("event: put\ndata: ".length)).data.flags)).toEqual(["a", "b"]);

    const third = eventReader(await streams.open(grant, new Headers({ "user-agent": "GoClient/7.0.0", "x-launchdarkly-wrapper": "OpenFeature/1.2" })));
    expect(hub.initials[2]).toBe(reloaded);
    expect(await third()).toEqual(reloaded);
    expect(hub.size).toBe(3);
    // The SDK connections name each stream's SDK and the data every stream is up to date with.
    expect(connections.report(ENV).map(({ kind, sdk, wrapper, count, lastEventSeq }) => ({ kind, sdk, wrapper, count, lastEventSeq }))).toEqual([
      { kind: "server-stream", sdk: { name: "NodeJSClient", version: "9.7.1" }, wrapper: null, count: 2, lastEventSeq: 3 },
      { kind: "server-stream", sdk: { name: "GoClient", version: "7.0.0" }, wrapper: { name: "OpenFeature", version: "1.2" }, count: 1, lastEventSeq: 3 },
    ]);
    hub.shutdown();
    expect(hub.size).toBe(0);
    expect(connections.report(ENV)).toEqual([]);
    feeds.stop();
  });
});
