/** Storage of feature flags, as the flags domain sees it. */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { PendingChange } from "@vexil/shared/change-events";
import type { Flag, FlagEnvironment } from "../domain/flags/model.ts";
import type { Segment } from "../domain/segments/model.ts";
import type { EnvironmentRecord, Listed, ProjectRecord } from "./project-store.ts";
import type { ApprovalWrite } from "./approval-store.ts";
import type { ScheduleWrite } from "./schedule-store.ts";

/** The flag-wide part of a flag document. */
export type FlagGlobal = Omit<Flag, "environments">;

export interface FlagRecord {
  id: string;
  projectId: string;
  key: string;
  doc: FlagGlobal;
  /** Targeting per environment, keyed by environment key. */
  configs: Record<string, FlagEnvironment>;
  /** Equals `doc._version`. */
  version: number;
  createdAt: number;
}

export type FlagSortField = "key" | "name" | "creationDate" | "maintainerId" | "type";

export interface FlagQuery {
  limit: number;
  offset: number;
  /** Case-insensitive substring of key or name. */
  query?: string;
  /** All of these tags. */
  tags?: string[];
  state?: "live" | "deprecated" | "archived";
  type?: "temporary" | "permanent";
  maintainerId?: string;
  sdkAvailability?: "client" | "mobile" | "anyClient" | "server";
  sort: { field: FlagSortField; descending: boolean };
}

/** The default list: flags not archived, by key, nothing else asked. A page of it is a slice of `liveKeys`. */
export function isKeyListing(q: FlagQuery): boolean {
  return q.sort.field === "key" && !q.query && !q.tags?.length && q.state === undefined && q.type === undefined && q.maintainerId === undefined && q.sdkAvailability === undefined;
}

/** The keys of a page of the default list, `liveKeys` in hand (descending: from the end). */
export function keysOfPage(liveKeys: readonly string[], q: FlagQuery): string[] {
  if (!q.sort.descending) return liveKeys.slice(q.offset, q.offset + q.limit);
  const end = Math.max(0, liveKeys.length - q.offset);
  return liveKeys.slice(Math.max(0, end - q.limit), end).reverse();
}

/** One environment as SDKs see it, read at one moment. */
export interface EnvironmentContents {
  projectKey: string;
  environmentKey: string;
  /** The sequence number of the environment's last published change event. */
  seq: number;
  /** Each flag's document with this environment's targeting only. */
  flags: Flag[];
  segments: Segment[];
}

/** A project with its environments (sorted by key), read at one moment. */
export interface ProjectScope {
  project: ProjectRecord;
  environments: EnvironmentRecord[];
}

/** A project with its environments and one of its flags, read together. */
export interface ScopedFlag extends ProjectScope {
  flag: FlagRecord | undefined;
}

/**
 * What a change to a flag decided. It is written only if the flag still has the version it was
 * read at and its project and environments are as they were read (`FlagStore.writeFlag`). An
 * update may also change the flag's scheduled items (`schedule`) and approval requests
 * (`approvals`); a deletion takes them all. `gate` is read by the approval gate of the write path
 * (`domain/flags/change.ts`), not stored.
 */
export type FlagWrite =
  | { kind: "update"; flag: FlagRecord; audit: AuditEntry; changes: PendingChange[]; schedule?: ScheduleWrite; approvals?: ApprovalWrite; gate?: ApprovalGate }
  | { kind: "delete"; audit: AuditEntry; changes: PendingChange[] };

/** What a change tells the approval gate besides the targeting it changes. */
export interface ApprovalGate {
  /** Environments (keys) where the change is gated although it changes no targeting now: a scheduled change made or edited. */
  environments?: string[];
  /**
   * Why it may go ahead where approvals are required: it carries out this approved request, or it
   * is the execution of a scheduled change made while it needed no approval (or by one who could bypass).
   */
  approved?: { requestId: string } | { scheduledChangeId: string };
}

/** The flags a change decides on besides the flag itself: prerequisites, both ways. */
export interface PrerequisiteGraph {
  /** Every flag reachable from the start keys through prerequisites, the start flags included. */
  reachable: FlagRecord[];
  /** The flags with `of` as a prerequisite in some environment. */
  dependents: FlagRecord[];
}

export interface ReadOptions {
  /**
   * Read the database now. Without it an answer may come from this instance's memory: never older
   * than this instance's own last write, and behind another instance's by at most the propagation
   * time (docs/architecture.md). A change is always written conditionally, so what memory gets
   * wrong costs a retry, never a lost update.
   */
  consistent?: boolean;
}

/**
 * Records a store hands out are read-only: an implementation may share them between callers (the
 * cache hands out frozen ones). A change works on a copy.
 */
export interface FlagStore {
  /** Undefined when there is no such environment. */
  environmentContents(environmentId: string): Promise<EnvironmentContents | undefined>;
  /** A project with its environments and one of its flags, in one read; undefined when the project does not exist. */
  flagInScope(projectKey: string, flagKey: string, options?: ReadOptions): Promise<ScopedFlag | undefined>;
  /** A project with its environments; undefined when it does not exist. */
  projectScope(projectKey: string, options?: ReadOptions): Promise<ProjectScope | undefined>;
  listFlags(projectId: string, q: FlagQuery): Promise<Listed<FlagRecord>>;
  /**
   * The keys of the project's flags that are not archived, in byte order: what the default list
   * (no filter, by key) pages through.
   */
  liveKeys(projectId: string): Promise<string[]>;
  /** The project's flags with these keys (those that exist), in no particular order. */
  flagsByKeys(projectId: string, keys: string[]): Promise<FlagRecord[]>;
  flagByKey(projectId: string, key: string): Promise<FlagRecord | undefined>;
  /**
   * The flags reachable through prerequisites from `from` (for validation and cycle checks) and
   * those that name `of` as a prerequisite: never the whole project.
   */
  prerequisiteGraph(projectId: string, from: string[], of?: string): Promise<PrerequisiteGraph>;
  /**
   * Writes a change decided on `read` — the flag as given (or its deletion), the audit entry, the
   * change events and the changes of its scheduled items, all or nothing — if the flag, its project
   * and environments are still as read. False (nothing written) when any of them moved: decide
   * again on a new read. Throws `OperationAlreadyApplied` when the audit entry's operation was
   * recorded before.
   */
  writeFlag(read: ScopedFlag & { flag: FlagRecord }, write: FlagWrite): Promise<boolean>;
  /** A taken key is a `conflict`. The change events go to the outbox in the same transaction. */
  insertFlag(flag: FlagRecord, audit: AuditEntry, changes: PendingChange[]): Promise<void>;
}

/** What the write compares to know the project and its environments are as they were read. */
export function scopeStamp(scope: ProjectScope): string {
  const ids = scope.environments.map((e) => ({ id: e.id, version: e.version })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return `${scope.project.version}:${ids.map((e) => `${e.id}@${e.version}`).join(",")}`;
}
