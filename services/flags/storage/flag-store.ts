/** Storage of feature flags, as the flags domain sees it. */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { PendingChange } from "@vexil/shared/change-events";
import type { Flag, FlagEnvironment } from "../domain/flags/model.ts";
import type { Segment } from "../domain/segments/model.ts";
import type { EnvironmentRecord, Listed, ProjectRecord } from "./project-store.ts";

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

/** What a change decided, written in the transaction that holds the flag's lock. */
export type FlagOutcome<T> =
  | { kind: "update"; flag: FlagRecord; audit: AuditEntry; changes: PendingChange[]; result: T }
  | { kind: "delete"; audit: AuditEntry; changes: PendingChange[]; result: T }
  | { kind: "none"; result: T };

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

/** A project with its environments and one of its flags, read together. */
export interface ScopedFlag {
  project: ProjectRecord;
  environments: EnvironmentRecord[];
  flag: FlagRecord | undefined;
}

/**
 * A read a change may be decided on without reading the database: what this instance last read or
 * wrote of the flag, project and environments. The change's write applies only if all of them are
 * still as they were read; otherwise `modifyFlag` throws `StaleRead`.
 */
export interface RecentRead {
  readonly key: string;
  /** The answer came from memory (not from the database just now). */
  readonly remembered: boolean;
  /** Project version and environment ids and versions, as the write compares them. */
  readonly scope: string;
}

/**
 * A change decided on a read from memory did not apply, or refused: what it was decided on may be
 * out of date, so read afresh and decide again.
 */
export class StaleRead extends Error {
  constructor() {
    super("the flag, its project or its environments changed since they were read");
    this.name = "StaleRead";
  }
}

export interface FlagStore {
  /** Undefined when there is no such environment. */
  environmentContents(environmentId: string): Promise<EnvironmentContents | undefined>;
  /**
   * Locks the flag, hands it to `change` with a loader of the project's other flags (read in the
   * same transaction, for prerequisite checks; only when asked), and writes what it decides in that
   * transaction: concurrent changes to one flag run one after the other and none is lost. `change`
   * gets undefined if the flag does not exist; what it throws aborts the whole change.
   */
  modifyFlag<T>(
    projectId: string,
    key: string,
    change: (flag: FlagRecord | undefined, others: () => Promise<FlagRecord[]>) => Promise<FlagOutcome<T>>,
    /** The project's environments, when the caller has them already (saves a query). */
    environments?: Array<{ id: string; key: string }>,
    /**
     * The flag as the caller read it a moment ago (saves a query; a stale read costs a retry, never a
     * lost update). With `recent` the first write also checks project and environments, and if it
     * does not apply `modifyFlag` throws `StaleRead` rather than reading again itself.
     */
    read?: { flag: FlagRecord | undefined; recent?: RecentRead },
  ): Promise<T>;
  /**
   * A project with its environments and one of its flags, in one read; undefined when the project
   * does not exist. With `recent`, for a change: the answer may come from this instance's memory of
   * the flag (then it carries `recent`, to hand to `modifyFlag`).
   */
  flagInScope(projectKey: string, flagKey: string, options?: { recent?: boolean }): Promise<(ScopedFlag & { recent?: RecentRead }) | undefined>;
  listFlags(projectId: string, q: FlagQuery): Promise<Listed<FlagRecord>>;
  flagByKey(projectId: string, key: string): Promise<FlagRecord | undefined>;
  /** Every flag of a project (prerequisite checks need the whole graph). */
  projectFlags(projectId: string): Promise<FlagRecord[]>;
  /** A taken key is a `conflict`. The change events go to the outbox in the same transaction. */
  insertFlag(flag: FlagRecord, audit: AuditEntry, changes: PendingChange[]): Promise<void>;
}
