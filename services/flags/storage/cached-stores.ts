/**
 * This instance's memory of projects (with their environments), flags and segments: a wrapper
 * around the flag, segment and project stores (as Flipt's `storage/cache` wraps its store) that
 * serves reads — single and listed — from memory and writes through to the store.
 *
 * Kept current by commit notices (`vexil_changes`, sent by the database's triggers as each change
 * commits, to every instance): a notice drops what it makes out of date. So:
 * - the instance that wrote reads its own write at once (the cache takes the written record before
 *   the writer answers);
 * - another instance serves the old version only until the notice arrives (a few milliseconds:
 *   the commit's NOTIFY and one delivery); if its notice connection dropped, it forgets everything
 *   when it is back, since notices may have been missed meanwhile;
 * - a load that began before a notice about its item does not fill the cache (per-item
 *   generations), so a late answer cannot bring an old version back;
 * - nothing older than the newest version a notice announced is kept (per item, until the next
 *   reset), not even this instance's own write: another instance may commit the next change, and
 *   its notice be handled here, before this instance's own commit comes back to it (a busy process
 *   reads its sockets in no set order) — kept, that write would be served until the flag's next
 *   change, however long that is;
 * - its own write is not kept either past a reset that came while it was written (notices of
 *   later changes may have been missed).
 * Reads that must see the database (`consistent`) go to it and refresh the cache. Changes are
 * written conditionally by the store, so a change decided on memory that proves out of date is
 * written nowhere and decided again (`../domain/unit-of-work.ts`).
 *
 * Bounded: at most `limits.flags` flags, `limits.segments` segments and `limits.lists` list pages,
 * the least recently used going first.
 */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { PendingChange } from "@vexil/shared/change-events";
import type { ChangeNotice } from "@vexil/shared/db/notifications";
import { cloneJson, deepFreeze } from "@vexil/shared/json-clone";
import type { FlagEnvironment } from "../domain/flags/model.ts";
import { isKeyListing, keysOfPage, type EnvironmentContents, type FlagGlobal, type FlagQuery, type FlagRecord, type FlagStore, type FlagWrite, type PrerequisiteGraph, type ProjectScope, type ReadOptions, type ScopedFlag } from "./flag-store.ts";
import type { EnvironmentRecord, ListQuery, Listed, ProjectRecord, ProjectStore } from "./project-store.ts";
import type { SegmentQuery, SegmentRecord, SegmentStore, SegmentWrite } from "./segment-store.ts";

export interface CacheLimits {
  flags: number;
  segments: number;
  lists: number;
  /** Projects whose live flag keys are held (a key list costs about 50 bytes a flag). */
  keyIndexes: number;
}

export const DEFAULT_CACHE_LIMITS: CacheLimits = { flags: 10_000, segments: 10_000, lists: 1_000, keyIndexes: 100 };

/**
 * A map that forgets entries not used lately past `limit`: the oldest entry goes first unless it
 * was read since it was put or last passed over, in which case it gets a second chance at the back
 * (the CLOCK approximation of least-recently-used). A read only marks its entry: the hottest path
 * of a cache changes nothing in the map.
 */
class Lru<V> {
  private readonly map = new Map<string, { value: V; used: boolean }>();
  constructor(private readonly limit: number) {}
  get(key: string): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, { value, used: false });
    while (this.map.size > this.limit) this.evictOne();
  }
  private evictOne(): void {
    // Entries moved to the back come round again in this same walk, unmarked: it ends.
    for (const [key, entry] of this.map) {
      this.map.delete(key);
      if (!entry.used) return;
      entry.used = false;
      this.map.set(key, entry);
    }
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  /** Deletes every entry whose key starts with `prefix`. */
  deletePrefix(prefix: string): void {
    for (const key of this.map.keys()) if (key.startsWith(prefix)) this.map.delete(key);
  }
  deleteWhere(drop: (value: V) => boolean): void {
    for (const [key, entry] of this.map) if (drop(entry.value)) this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
}

const SEP = "\u0000";
const flagKeyOf = (projectId: string, key: string) => `${projectId}${SEP}${key}`;
const segmentKeyOf = (environmentId: string, key: string) => `${environmentId}${SEP}${key}`;

export type { ChangeNotice };

/** Commit notices of one database: what the cache listens to. */
export interface ChangeNoticeSource {
  /**
   * `onNotice` for every committed change; `onLost` when notices stop being heard (the connection
   * dropped), `onReset` when they are heard again (some may have been missed). Returns a stop function.
   */
  subscribe(onNotice: (notice: ChangeNotice) => void, onReset: () => void, onLost?: () => void): () => void;
}

export class CachedStores {
  readonly flags: FlagStore;
  readonly segments: SegmentStore;
  readonly projects: ProjectStore;

  private readonly scopes = new Map<string, ProjectScope>();
  /** Project id → key, for notices that name the id. */
  private readonly projectKeys = new Map<string, string>();
  private readonly flagRecords: Lru<FlagRecord>;
  private readonly segmentRecords: Lru<SegmentRecord>;
  private readonly lists: Lru<Listed<FlagRecord> | Listed<SegmentRecord>>;
  /** Project id → the keys of its live flags in byte order (`FlagStore.liveKeys`): pages of the default list. */
  private readonly keyIndexes: Lru<readonly string[]>;
  /** Per item (flag, segment, project scope, list owner): raised whenever it may have changed. */
  private readonly generations = new Map<string, number>();
  /**
   * Per flag and segment: the newest version a notice announced (Infinity once deleted, until a
   * notice of the item made again). Nothing older is kept. Cleared with the generations.
   */
  private readonly noticed = new Map<string, number>();
  private epoch = 0;
  /** While notices are not heard, nothing is kept: every read goes to the store. */
  private deaf = false;
  /** Raised with every generation: a load during which it did not move saw nothing change. */
  changes = 0;
  private readonly stop: () => void;

  constructor(
    inner: { flags: FlagStore; segments: SegmentStore; projects: ProjectStore },
    notices: ChangeNoticeSource,
    limits: CacheLimits = DEFAULT_CACHE_LIMITS,
  ) {
    this.flagRecords = new Lru(limits.flags);
    this.segmentRecords = new Lru(limits.segments);
    this.lists = new Lru(limits.lists);
    this.keyIndexes = new Lru(limits.keyIndexes);
    this.flags = cachedFlags(this, inner.flags);
    this.segments = cachedSegments(this, inner.segments);
    this.projects = cachedProjects(this, inner.projects);
    this.stop = notices.subscribe(
      (notice) => this.notice(notice),
      () => {
        this.clear();
        this.deaf = false;
      },
      () => {
        this.deaf = true;
        this.clear();
      },
    );
  }

  close(): void {
    this.stop();
    this.clear();
  }

  /** How much is held, for tests and metrics. */
  get size() {
    return { projects: this.scopes.size, flags: this.flagRecords.size, segments: this.segmentRecords.size, lists: this.lists.size, keyIndexes: this.keyIndexes.size };
  }

  // --- generations: a load fills the cache only if its item did not change while it ran ---

  generation(item: string): number {
    return (this.generations.get(item) ?? 0) + this.epoch * 2 ** 32;
  }

  private bump(item: string): void {
    this.changes++;
    this.generations.set(item, (this.generations.get(item) ?? 0) + 1);
    // Generations only need to outlive loads and writes in flight; past a bound, a new epoch
    // replaces them all (and what was written or loaded under the old one is not kept).
    if (this.generations.size > 100_000) {
      this.generations.clear();
      this.noticed.clear();
      this.epoch++;
    }
  }

  clear(): void {
    this.changes++;
    this.epoch++;
    this.generations.clear();
    this.noticed.clear();
    this.scopes.clear();
    this.projectKeys.clear();
    this.flagRecords.clear();
    this.segmentRecords.clear();
    this.lists.clear();
    this.keyIndexes.clear();
  }

  private notice(notice: ChangeNotice): void {
    if (notice.kind === "project") {
      this.forgetProject(notice.projectId);
    } else if (notice.kind === "flags") {
      this.forgetLiveKeys(notice.projectId);
    } else if (notice.kind === "flag") {
      const item = flagKeyOf(notice.projectId, notice.key);
      this.announce(`flag${SEP}${item}`, notice.version);
      const held = this.flagRecords.get(item);
      // The instance's own writes come back as notices for what it already holds.
      if (!held || notice.version < 0 || held.version < notice.version) this.forgetFlag(notice.projectId, notice.key);
      else this.forgetLists(`flags${SEP}${notice.projectId}`);
    } else {
      const item = segmentKeyOf(notice.environmentId, notice.key);
      this.announce(`segment${SEP}${item}`, notice.version);
      const held = this.segmentRecords.get(item);
      if (!held || notice.version < 0 || held.version < notice.version) this.forgetSegment(notice.environmentId, notice.key);
      else this.forgetLists(`segments${SEP}${notice.environmentId}`);
    }
  }

  /** Records the version a notice announced (-1: deleted). A version after a deletion is the item made again. */
  private announce(item: string, version: number): void {
    const known = this.noticed.get(item);
    if (version < 0) this.noticed.set(item, Infinity);
    else if (known === undefined || known === Infinity || known < version) this.noticed.set(item, version);
  }

  /** Whether a notice announced a newer version of the item than `version`. */
  private overtaken(item: string, version: number): boolean {
    return (this.noticed.get(item) ?? -1) > version;
  }

  /** The epoch now: a write that began in another one may have missed notices (see `keepOwnFlag`). */
  get currentEpoch(): number {
    return this.epoch;
  }

  // --- what changes drop ---

  forgetProject(projectId: string): void {
    const key = this.projectKeys.get(projectId);
    if (key !== undefined) {
      this.bump(`scope${SEP}${key}`);
      const scope = this.scopes.get(key);
      this.scopes.delete(key);
      for (const env of scope?.environments ?? []) {
        this.segmentRecords.deletePrefix(`${env.id}${SEP}`);
        this.forgetLists(`segments${SEP}${env.id}`);
      }
    }
    // Segments go with a deleted environment, which the scope may not be held to name.
    this.segmentRecords.deleteWhere((segment) => segment.projectId === projectId);
    this.lists.deleteWhere((listed) => listed.items.some((item) => item.projectId === projectId));
    // Targeting rows come and go with environments: the project's flags are read afresh.
    this.bump(`project${SEP}${projectId}`);
    this.flagRecords.deletePrefix(`${projectId}${SEP}`);
    this.forgetLists(`flags${SEP}${projectId}`);
    this.forgetLiveKeys(projectId);
  }

  /**
   * What deleting an environment makes out of date: its project's flags (their targeting there) and
   * its segments. Without the project (its scope is not held), lists of the project's flags may still
   * be: everything is forgotten, as deleting an environment is rare.
   */
  forgetEnvironment(projectId: string | undefined): void {
    if (projectId === undefined) this.clear();
    else this.forgetProject(projectId);
  }

  forgetFlag(projectId: string, key: string): void {
    const item = flagKeyOf(projectId, key);
    this.bump(item);
    this.flagRecords.delete(item);
    this.forgetLists(`flags${SEP}${projectId}`);
  }

  forgetSegment(environmentId: string, key: string): void {
    const item = segmentKeyOf(environmentId, key);
    this.bump(item);
    this.segmentRecords.delete(item);
    this.forgetLists(`segments${SEP}${environmentId}`);
  }

  /** A flag of the project was created, deleted, archived or restored. */
  forgetLiveKeys(projectId: string): void {
    this.bump(`keys${SEP}${projectId}`);
    this.keyIndexes.delete(projectId);
  }

  private forgetLists(owner: string): void {
    this.bump(owner);
    this.lists.deletePrefix(`${owner}${SEP}`);
  }

  // --- loads ---

  /** Runs `load` and keeps its answer if none of `items` changed meanwhile. */
  async filled<T>(items: string[], load: () => Promise<T>, keep: (value: T) => void): Promise<T> {
    const before = items.map((i) => this.generation(i));
    const value = await load();
    if (items.every((i, n) => this.generation(i) === before[n])) keep(value);
    return value;
  }

  /** The project of an environment, if this instance holds the project (and so perhaps its flags). */
  projectOfEnvironment(environmentId: string): string | undefined {
    for (const scope of this.scopes.values()) if (scope.environments.some((e) => e.id === environmentId)) return scope.project.id;
    return undefined;
  }

  scope(projectKey: string): ProjectScope | undefined {
    return this.scopes.get(projectKey);
  }

  keepScope(scope: ProjectScope): void {
    if (this.deaf) return;
    this.scopes.set(scope.project.key, scope);
    this.projectKeys.set(scope.project.id, scope.project.key);
  }

  flag(projectId: string, key: string): FlagRecord | undefined {
    return this.flagRecords.get(flagKeyOf(projectId, key));
  }

  keepFlag(record: FlagRecord): void {
    if (this.deaf) return;
    const item = flagKeyOf(record.projectId, record.key);
    if (this.overtaken(`flag${SEP}${item}`, record.version)) return;
    const held = this.flagRecords.get(item);
    if (!held || held.version <= record.version) this.flagRecords.set(item, record);
  }

  /** This instance's own write, begun in `epoch`: kept unless a reset or a newer version's notice came meanwhile. */
  keepOwnFlag(record: FlagRecord, epoch: number): void {
    if (epoch === this.epoch) this.keepFlag(record);
  }

  segment(environmentId: string, key: string): SegmentRecord | undefined {
    return this.segmentRecords.get(segmentKeyOf(environmentId, key));
  }

  keepSegment(record: SegmentRecord): void {
    if (this.deaf) return;
    const item = segmentKeyOf(record.environmentId, record.key);
    if (this.overtaken(`segment${SEP}${item}`, record.version)) return;
    const held = this.segmentRecords.get(item);
    if (!held || held.version <= record.version) this.segmentRecords.set(item, record);
  }

  list<T>(owner: string, query: unknown): { key: string; owner: string; held: Listed<T> | undefined } {
    const key = `${owner}${SEP}${JSON.stringify(query)}`;
    return { key, owner, held: this.lists.get(key) as Listed<T> | undefined };
  }

  keepOwnSegment(record: SegmentRecord, epoch: number): void {
    if (epoch === this.epoch) this.keepSegment(record);
  }

  keepList(key: string, listed: Listed<FlagRecord> | Listed<SegmentRecord>): void {
    if (this.deaf) return;
    this.lists.set(key, listed);
  }

  liveKeys(projectId: string): readonly string[] | undefined {
    return this.keyIndexes.get(projectId);
  }

  keepLiveKeys(projectId: string, keys: readonly string[]): void {
    if (this.deaf) return;
    this.keyIndexes.set(projectId, keys);
  }
}

/**
 * What the cache keeps is a deep-frozen copy, handed out as it is: reads cost no copy, and a caller
 * that tried to change a record it was given would fail at once rather than change the cache.
 */
const frozen = deepFreeze;
const copyRecord = <T>(record: T): T => frozen(cloneJson(record));
const copyListed = <T>(listed: Listed<T>): Listed<T> => frozen({ items: listed.items.map((r) => cloneJson(r)), total: listed.total });

function cachedFlags(cache: CachedStores, inner: FlagStore): FlagStore {
  const scopeItems = (projectKey: string) => [`scope${SEP}${projectKey}`];
  return {
    environmentContents: (environmentId: string): Promise<EnvironmentContents | undefined> => inner.environmentContents(environmentId),
    flagByKey: (projectId: string, key: string) => inner.flagByKey(projectId, key),
    liveKeys: (projectId: string) => inner.liveKeys(projectId),
    flagsByKeys: (projectId: string, keys: string[]) => inner.flagsByKeys(projectId, keys),
    prerequisiteGraph: (projectId: string, from: string[], of?: string): Promise<PrerequisiteGraph> => inner.prerequisiteGraph(projectId, from, of),

    async projectScope(projectKey: string, options: ReadOptions = {}): Promise<ProjectScope | undefined> {
      const held = options.consistent ? undefined : cache.scope(projectKey);
      if (held) return held;
      const found = await cache.filled(scopeItems(projectKey), () => inner.projectScope(projectKey, { consistent: true }), (s) => s && cache.keepScope(copyRecord(s)));
      return found;
    },

    async flagInScope(projectKey: string, flagKey: string, options: ReadOptions = {}): Promise<ScopedFlag | undefined> {
      if (!options.consistent) {
        const scope = cache.scope(projectKey);
        const flag = scope && cache.flag(scope.project.id, flagKey);
        if (scope && flag) return { ...scope, flag };
      }
      // The flag's generation is known only once its project's id is: a notice about the project
      // (or about this flag, named by its project's id) during the load keeps it out of the cache.
      const known = cache.scope(projectKey);
      const items = [...scopeItems(projectKey), ...(known ? [`project${SEP}${known.project.id}`, flagKeyOf(known.project.id, flagKey)] : [])];
      const before = items.map((i) => cache.generation(i));
      const changes = cache.changes;
      const found = await inner.flagInScope(projectKey, flagKey, { consistent: true });
      if (!found) return undefined;
      // Nothing at all changed during the load: everything it read may be kept.
      const quiet = cache.changes === changes;
      const unchanged = items.every((i, n) => cache.generation(i) === before[n]);
      if (quiet || (unchanged && (!known || known.project.id === found.project.id))) {
        cache.keepScope(copyRecord({ project: found.project, environments: found.environments }));
        // Records are handed out frozen (cached ones are), so this one is kept as it is.
        if ((quiet || known) && found.flag) cache.keepFlag(frozen(found.flag));
      }
      return found;
    },

    async listFlags(projectId: string, q: FlagQuery): Promise<Listed<FlagRecord>> {
      // The default list pages through the project's live keys, held until a flag is created,
      // deleted, archived or restored: a page costs its own flags, wherever it starts, and changes
      // to flags leave the keys as they are.
      if (isKeyListing(q)) {
        const keys =
          cache.liveKeys(projectId) ??
          (await cache.filled([`keys${SEP}${projectId}`, `project${SEP}${projectId}`], () => inner.liveKeys(projectId), (k) => cache.keepLiveKeys(projectId, frozen(k))));
        const pageKeys = keysOfPage(keys, q);
        const held = pageKeys.map((k) => cache.flag(projectId, k));
        const missing = pageKeys.filter((_, i) => !held[i]);
        const loaded = new Map((await inner.flagsByKeys(projectId, missing)).map((f) => [f.key, f]));
        return { items: pageKeys.flatMap((k, i) => held[i] ?? loaded.get(k) ?? []), total: keys.length };
      }
      const { key, owner, held } = cache.list<FlagRecord>(`flags${SEP}${projectId}`, q);
      if (held) return held;
      return cache.filled([owner, `project${SEP}${projectId}`], () => inner.listFlags(projectId, q), (listed) => cache.keepList(key, copyListed(listed)));
    },

    async writeFlag(read: ScopedFlag & { flag: FlagRecord }, write: FlagWrite): Promise<boolean> {
      const epoch = cache.currentEpoch;
      const written = await inner.writeFlag(read, write);
      // Whether or not it was written, what was read may be out of date: forget it; then hold
      // what this instance itself just wrote, so its next read is of its own write.
      cache.forgetFlag(read.project.id, read.flag.key);
      if (written && (write.kind === "delete" || Boolean(write.flag.doc.archived) !== Boolean(read.flag.doc.archived))) cache.forgetLiveKeys(read.project.id);
      // The write is the store's once written: kept frozen as it is, not copied.
      if (written && write.kind === "update") cache.keepOwnFlag(frozen(write.flag), epoch);
      return written;
    },

    async insertFlag(flag: FlagRecord, audit: AuditEntry, changes: PendingChange[]): Promise<void> {
      try {
        await inner.insertFlag(flag, audit, changes);
      } finally {
        cache.forgetFlag(flag.projectId, flag.key);
        cache.forgetLiveKeys(flag.projectId);
      }
    },
  };
}

function cachedSegments(cache: CachedStores, inner: SegmentStore): SegmentStore {
  return {
    async segmentByKey(environmentId: string, key: string, options: ReadOptions = {}): Promise<SegmentRecord | undefined> {
      const held = options.consistent ? undefined : cache.segment(environmentId, key);
      if (held) return held;
      return cache.filled([segmentKeyOf(environmentId, key)], () => inner.segmentByKey(environmentId, key, { consistent: true }), (s) => s && cache.keepSegment(copyRecord(s)));
    },

    async listSegments(environmentId: string, q: SegmentQuery): Promise<Listed<SegmentRecord>> {
      const { key, owner, held } = cache.list<SegmentRecord>(`segments${SEP}${environmentId}`, q);
      if (held) return held;
      return cache.filled([owner], () => inner.listSegments(environmentId, q), (listed) => cache.keepList(key, copyListed(listed)));
    },

    async insertSegment(segment: SegmentRecord, audit: AuditEntry, changes: PendingChange[]): Promise<void> {
      try {
        await inner.insertSegment(segment, audit, changes);
      } finally {
        cache.forgetSegment(segment.environmentId, segment.key);
      }
    },

    async writeSegment(read: ProjectScope & { segment: SegmentRecord }, write: SegmentWrite): Promise<boolean> {
      const epoch = cache.currentEpoch;
      const written = await inner.writeSegment(read, write);
      cache.forgetSegment(read.segment.environmentId, read.segment.key);
      if (written && write.kind === "update") cache.keepOwnSegment(copyRecord(write.segment), epoch);
      return written;
    },
  };
}

/** Project and environment writes go through; each then drops what this instance held of the project. */
function cachedProjects(cache: CachedStores, inner: ProjectStore): ProjectStore {
  const after = async <T>(projectId: string, work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } finally {
      cache.forgetProject(projectId);
    }
  };
  return {
    listProjects: (q: ListQuery) => inner.listProjects(q),
    projectByKey: (key: string) => inner.projectByKey(key),
    projectScope: (key: string) => inner.projectScope(key),
    insertProject: (project: ProjectRecord, envs: EnvironmentRecord[], audit?: AuditEntry) => after(project.id, inner.insertProject(project, envs, audit)),
    updateProject: (project: ProjectRecord, expectedVersion: number, audit?: AuditEntry) => after(project.id, inner.updateProject(project, expectedVersion, audit)),
    deleteProject: (id: string, audit?: AuditEntry) => after(id, inner.deleteProject(id, audit)),
    listEnvironments: (projectId: string, q: ListQuery) => inner.listEnvironments(projectId, q),
    environmentByKey: (projectId: string, key: string) => inner.environmentByKey(projectId, key),
    insertEnvironment: (env: EnvironmentRecord, defaultConfig: (flag: FlagGlobal) => FlagEnvironment, audit?: AuditEntry) => after(env.projectId, inner.insertEnvironment(env, defaultConfig, audit)),
    updateEnvironment: (env: EnvironmentRecord, expectedVersion: number, audit?: AuditEntry) => after(env.projectId, inner.updateEnvironment(env, expectedVersion, audit)),
    deleteEnvironment: async (id: string, audit?: AuditEntry) => {
      const projectId = cache.projectOfEnvironment(id);
      try {
        return await inner.deleteEnvironment(id, audit);
      } finally {
        cache.forgetEnvironment(projectId);
      }
    },
    isBootstrapped: (step: string) => inner.isBootstrapped(step),
    bootstrapProject: (step: string, project: ProjectRecord, envs: EnvironmentRecord[]) => after(project.id, inner.bootstrapProject(step, project, envs)),
  };
}
