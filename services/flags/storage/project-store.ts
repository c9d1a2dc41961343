/** Storage of projects and environments, as the flags domain sees it. */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { FlagEnvironment } from "../domain/flags/model.ts";
import type { FlagGlobal } from "./flag-store.ts";
export interface ProjectRecord {
  id: string;
  key: string;
  name: string;
  tags: string[];
  includeInSnippetByDefault: boolean;
  csaUsingEnvironmentId: boolean;
  csaUsingMobileKey: boolean;
  createdAt: number;
  version: number;
}

export interface EnvironmentRecord {
  id: string;
  projectId: string;
  key: string;
  name: string;
  color: string;
  defaultTtl: number;
  secureMode: boolean;
  defaultTrackEvents: boolean;
  requireComments: boolean;
  confirmChanges: boolean;
  tags: string[];
  critical: boolean;
  /** `domain/approvals/settings.ts`; null: the defaults. */
  approvalSettings: Record<string, unknown> | null;
  /** The approval settings of segments (`resourceApprovalSettings.segment`); null until first set. */
  segmentApprovalSettings: Record<string, unknown> | null;
  sdkKeyLast4: string;
  mobileKeyLast4: string;
  createdAt: number;
  version: number;
}

export type SortField = "key" | "name" | "createdOn" | "critical";

export interface ListQuery {
  limit: number;
  offset: number;
  /** Case-insensitive substring of key or name. */
  query?: string;
  /** All of these tags. */
  tags?: string[];
  /** Any of these keys. */
  keys?: string[];
  sort: { field: SortField; descending: boolean };
}

export interface Listed<T> {
  items: T[];
  total: number;
}

/** Every change takes its audit entry (when given) and writes it in the same transaction. */
export interface ProjectStore {
  listProjects(q: ListQuery): Promise<Listed<ProjectRecord>>;
  projectByKey(key: string): Promise<ProjectRecord | undefined>;
  /** A project with all its environments (sorted by key), in one round trip. */
  projectScope(key: string): Promise<{ project: ProjectRecord; environments: EnvironmentRecord[] } | undefined>;
  /** Inserts a project with its environments, atomically. A taken key is a `conflict`. */
  insertProject(project: ProjectRecord, envs: EnvironmentRecord[], audit?: AuditEntry): Promise<void>;
  /** Writes `project` if the stored version is still `expectedVersion`; false if it moved on. */
  updateProject(project: ProjectRecord, expectedVersion: number, audit?: AuditEntry): Promise<boolean>;
  /** Deletes the project and its environments; returns the deleted environments' ids, or undefined if absent. */
  deleteProject(id: string, audit?: AuditEntry): Promise<string[] | undefined>;

  listEnvironments(projectId: string, q: ListQuery): Promise<Listed<EnvironmentRecord>>;
  environmentByKey(projectId: string, key: string): Promise<EnvironmentRecord | undefined>;
  /** Inserts the environment and gives every flag of its project `defaultConfig` there, atomically. */
  insertEnvironment(env: EnvironmentRecord, defaultConfig: (flag: FlagGlobal) => FlagEnvironment, audit?: AuditEntry): Promise<void>;
  updateEnvironment(env: EnvironmentRecord, expectedVersion: number, audit?: AuditEntry): Promise<boolean>;
  deleteEnvironment(id: string, audit?: AuditEntry): Promise<boolean>;

  isBootstrapped(step: string): Promise<boolean>;
  /** Inserts the project and marks `step` done, once across all instances; false if it was already done. */
  bootstrapProject(step: string, project: ProjectRecord, envs: EnvironmentRecord[]): Promise<boolean>;
}
