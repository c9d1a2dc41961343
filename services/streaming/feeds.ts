/**
 * What this instance knows of each environment its SDKs use: the flags and segments in the SDK
 * format, kept current from the change events on the bus. An environment is loaded from the flags
 * service (`vexil.flags.env-data`) when first asked for; events that arrive meanwhile wait. Events
 * apply in sequence order; a gap, or a reconnect to the bus (events may have gone by unseen), means
 * a fresh load, and listeners are told the whole data changed (`put`). So does a relay's tip
 * (`vexil.change-tips`) naming a later sequence number than the feed has: the last event of a
 * burst went by unseen (a bus node died with it). Nothing here reads the
 * database: a change reaches it only as an event, after its commit.
 */
import { decodeJson, type Bus } from "@vexil/shared/bus/bus";
import { requestJson } from "@vexil/shared/bus/rpc";
import type { ChangeEvent } from "@vexil/shared/change-events";
import type { EnvironmentData, SdkItem } from "@vexil/shared/environment-data";
import { VexilError } from "@vexil/shared/errors";
import type { Logger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";

export type ItemKind = "flag" | "segment";

export type FeedUpdate =
  | { type: "put" }
  | { type: "upsert"; kind: ItemKind; key: string; item: SdkItem }
  | { type: "delete"; kind: ItemKind; key: string; version: number };

/** Hears a feed's updates; returns how many streams it wrote the update to (nothing: none). */
export type FeedListener = (update: FeedUpdate, feed: Feed) => number | void;

export class Feed {
  readonly flags = new Map<string, SdkItem>();
  readonly segments = new Map<string, SdkItem>();
  /** Versions of deleted items, so a late, older event cannot bring one back. */
  private readonly tombstones = new Map<string, number>();
  readonly listeners = new Set<FeedListener>();
  projectKey = "";
  environmentKey = "";
  /** The sequence number of the last event applied. */
  seq = 0;
  /** Rises with every load and every change: what polling ETags are made of. */
  revision = 0;
  lastUsed = Date.now();
  /** Events that arrived while loading, applied after it. */
  pending: ChangeEvent[] = [];
  loading: Promise<void> | undefined;
  loaded = false;

  constructor(readonly environmentId: string) {}

  items(kind: ItemKind): Map<string, SdkItem> {
    return kind === "flag" ? this.flags : this.segments;
  }

  replace(data: EnvironmentData): void {
    this.flags.clear();
    this.segments.clear();
    this.tombstones.clear();
    for (const [key, item] of Object.entries(data.flags)) this.flags.set(key, item);
    for (const [key, item] of Object.entries(data.segments)) this.segments.set(key, item);
    this.projectKey = data.projectKey;
    this.environmentKey = data.environmentKey;
    this.seq = data.seq;
    this.revision++;
    this.loaded = true;
  }

  /** Applies one event in sequence; returns what changed for listeners, or nothing when the event changes nothing here. */
  apply(event: ChangeEvent): FeedUpdate | undefined {
    this.seq = event.seq;
    const items = this.items(event.kind);
    const tombstone = `${event.kind}/${event.key}`;
    const known = items.get(event.key)?.version ?? this.tombstones.get(tombstone) ?? 0;
    if (event.version <= known) return undefined;
    this.revision++;
    if (event.deleted || !event.data) {
      items.delete(event.key);
      this.tombstones.set(tombstone, event.version);
      return { type: "delete", kind: event.kind, key: event.key, version: event.version };
    }
    const item = { ...event.data, key: event.key, version: event.version } as SdkItem;
    items.set(event.key, item);
    this.tombstones.delete(tombstone);
    return { type: "upsert", kind: event.kind, key: event.key, item };
  }

  /** Tells every listener; returns how many streams they wrote the update to. */
  notify(update: FeedUpdate): number {
    let streams = 0;
    for (const listener of this.listeners) {
      try {
        streams += listener(update, this) ?? 0;
      } catch {
        // One listener's failure (a closed stream) is not the others'.
      }
    }
    return streams;
  }
}

/**
 * Members (streams) grouped by environment, with one feed listener per group: each update is worked
 * out once for the group (`onUpdate` gets every member), not once per member.
 */
export class FeedGroups<T> {
  private readonly groups = new Map<Feed, { members: Set<T>; listener: FeedListener }>();

  constructor(private readonly onUpdate: (update: FeedUpdate, feed: Feed, members: ReadonlySet<T>) => number | void) {}

  /** Adds `member` to the feed's group; the function returned takes it out (and the listener with the last one). */
  join(feed: Feed, member: T): () => void {
    let group = this.groups.get(feed);
    if (!group) {
      const members = new Set<T>();
      group = { members, listener: (update, f) => this.onUpdate(update, f, members) };
      this.groups.set(feed, group);
      feed.listeners.add(group.listener);
    }
    group.members.add(member);
    const joined = group;
    return () => {
      joined.members.delete(member);
      if (joined.members.size === 0 && this.groups.get(feed) === joined) {
        feed.listeners.delete(joined.listener);
        this.groups.delete(feed);
      }
    };
  }
}

export interface FeedHubOptions {
  timeoutMs: number;
  /** Called after a change event was written to this instance's streams (`streams`: how many; 0 when none listen). */
  onDelivered?: (event: ChangeEvent, streams: number) => void;
  /** Feeds nobody listens to and nobody asked for this long are forgotten. */
  idleMs?: number;
}

export class FeedHub {
  private readonly feeds = new Map<string, Feed>();
  private readonly subscription;
  private readonly tips;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private stopped = false;

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly options: FeedHubOptions,
  ) {
    this.subscription = bus.subscribe(subjects.changes("*"), (msg) => {
      let event: ChangeEvent;
      try {
        event = decodeJson<ChangeEvent>(msg.data);
      } catch {
        return;
      }
      const feed = this.feeds.get(event.environmentId);
      if (feed) this.onEvent(feed, event);
    });
    this.tips = bus.subscribe(subjects.changeTips, (msg) => {
      let tips: Record<string, number>;
      try {
        tips = decodeJson<{ tips: Record<string, number> }>(msg.data).tips ?? {};
      } catch {
        return;
      }
      for (const [environmentId, seq] of Object.entries(tips)) {
        const feed = this.feeds.get(environmentId);
        if (!feed || !feed.loaded || feed.loading || typeof seq !== "number" || seq <= feed.seq) continue;
        this.logger.info("change events missed; loading the environment again", { environmentId, have: feed.seq, published: seq });
        this.reload(feed);
      }
    });
    // Events may have gone by while the bus was away: load everything again.
    bus.onReconnect(() => {
      for (const feed of this.feeds.values()) this.reload(feed);
    });
    const idle = options.idleMs ?? 10 * 60_000;
    this.sweeper = setInterval(() => {
      const cutoff = Date.now() - idle;
      for (const [id, feed] of this.feeds) if (feed.listeners.size === 0 && feed.lastUsed < cutoff && !feed.loading) this.feeds.delete(id);
    }, Math.min(idle, 60_000));
    this.sweeper.unref?.();
  }

  /**
   * The environment's feed, loaded. Rejects with `not_found` for an environment that does not exist,
   * and with `service_unavailable` (503) when this instance holds nothing of it and cannot load it
   * now (the flags service or its database out of reach): an instance that holds the environment
   * may serve it from memory, so the SDK is told to try again, which sends it through the edge to
   * another instance (a 504 would be final for the edge).
   */
  async get(environmentId: string): Promise<Feed> {
    let feed = this.feeds.get(environmentId);
    if (!feed) {
      feed = new Feed(environmentId);
      this.feeds.set(environmentId, feed);
      this.reload(feed);
    }
    feed.lastUsed = Date.now();
    if (!feed.loaded) {
      try {
        await feed.loading;
      } catch (e) {
        if (this.feeds.get(environmentId) === feed && !feed.loaded) this.feeds.delete(environmentId);
        if (e instanceof VexilError && e.code === "not_found") throw e;
        throw new VexilError("service_unavailable", "This instance cannot load the environment's flags right now; try again");
      }
    }
    return feed;
  }

  /** The sequence number of the environment's data held here, without loading it; undefined when none is held. */
  heldSeq(environmentId: string): number | undefined {
    const feed = this.feeds.get(environmentId);
    return feed?.loaded ? feed.seq : undefined;
  }

  size(): number {
    return this.feeds.size;
  }

  stop(): void {
    this.stopped = true;
    this.subscription.unsubscribe();
    this.tips.unsubscribe();
    clearInterval(this.sweeper);
  }

  private onEvent(feed: Feed, event: ChangeEvent): void {
    if (feed.loading) {
      feed.pending.push(event);
      return;
    }
    if (event.seq <= feed.seq) return;
    if (event.seq !== feed.seq + 1) {
      this.logger.info("change events missed; loading the environment again", { environmentId: feed.environmentId, expected: feed.seq + 1, got: event.seq });
      feed.pending.push(event);
      this.reload(feed);
      return;
    }
    const update = feed.apply(event);
    if (!update) return;
    const streams = feed.notify(update);
    this.options.onDelivered?.(event, streams);
  }

  /** Loads the environment (again); a load already under way is joined, not repeated. */
  private reload(feed: Feed): void {
    if (feed.loading || this.stopped) return;
    feed.loading = this.load(feed).finally(() => {
      feed.loading = undefined;
    });
    // Failures reach whoever awaits the load; nobody else needs them.
    feed.loading.catch(() => undefined);
  }

  private async load(feed: Feed): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const data = await requestJson<EnvironmentData>(this.bus, subjects.flagsEnvironmentData, { v: 1, environmentId: feed.environmentId }, this.options.timeoutMs);
        feed.replace(data);
        // The events that arrived meanwhile: those past the snapshot apply in order; a hole means another load.
        const pending = feed.pending.sort((a, b) => a.seq - b.seq);
        feed.pending = [];
        let gap = false;
        for (const event of pending) {
          if (event.seq <= feed.seq) continue;
          if (event.seq !== feed.seq + 1) {
            gap = true;
            break;
          }
          feed.apply(event);
        }
        if (gap && attempt < 3) continue;
        feed.notify({ type: "put" });
        return;
      } catch (e) {
        // An environment that does not exist is an answer, not a failure to retry.
        if (e instanceof VexilError && e.code === "not_found") throw e;
        if (!feed.loaded) throw e;
        // Already serving older data: keep it, and keep trying in the background.
        if (this.stopped) return;
        if (attempt === 0) this.logger.warn("cannot load an environment's flags; serving what is known and retrying", { environmentId: feed.environmentId, error: e });
        await Bun.sleep(Math.min(5_000, 250 * 2 ** attempt));
      }
    }
  }
}
