/** In-memory ProjectStore for `app.handle` tests; the contract suite runs it and the drizzle store alike. */
import { MemoryApprovalStore } from "./memory-approval-store.ts";
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { conflict } from "@vexil/shared/errors";
import type { FlagEnvironment } from "../domain/flags/model.ts";
import type { FlagGlobal, FlagRecord } from "./flag-store.ts";
import type { SegmentRecord } from "./segment-store.ts";
import { MemoryScheduleStore } from "./memory-schedule-store.ts";
import type { EnvironmentRecord, ListQuery, Listed, ProjectRecord, ProjectStore } from "./project-store.ts";

type Row = ProjectRecord | EnvironmentRecord;

const byteCompare = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
};

function list<T extends Row>(rows: T[], q: ListQuery): Listed<T> {
  let out = rows;
  if (q.query) {
    const needle = q.query.toLowerCase();
    out = out.filter((r) => r.key.toLowerCase().includes(needle) || r.name.toLowerCase().includes(needle));
  }
  if (q.tags && q.tags.length > 0) out = out.filter((r) => q.tags!.every((t) => r.tags.includes(t)));
  if (q.keys) out = out.filter((r) => q.keys!.includes(r.key));
  const sign = q.sort.descending ? -1 : 1;
  const compare = (a: T, b: T): number => {
    switch (q.sort.field) {
      case "name":
        return sign * (byteCompare(a.name, b.name) || byteCompare(a.key, b.key));
      case "createdOn":
        return sign * (a.createdAt - b.createdAt || byteCompare(a.key, b.key));
      case "critical":
        if ("critical" in a && "critical" in b) return sign * (Number(a.critical) - Number(b.critical)) || byteCompare(a.key, b.key);
        return sign * byteCompare(a.key, b.key);
      default:
        return sign * byteCompare(a.key, b.key);
    }
  };
  const sorted = [...out].sort(compare);
  return { items: sorted.slice(q.offset, q.offset + q.limit).map((r) => structuredClone(r)), total: sorted.length };
}

export class MemoryProjectStore implements ProjectStore {
  protected projects = new Map<string, ProjectRecord>();
  protected environments = new Map<string, EnvironmentRecord>();
  /** Flags live here too, so that environments and flags change together as in Postgres. */
  protected flags = new Map<string, FlagRecord>();
  protected segments = new Map<string, SegmentRecord>();
  /** Scheduled items of the flags and segments, written with them. */
  readonly schedules = new MemoryScheduleStore();
  readonly approvals = new MemoryApprovalStore();
  /** Audit entries of every change, in the order written. */
  readonly audit: AuditEntry[] = [];

  protected audited(entry: AuditEntry | undefined): void {
    if (entry) this.audit.push(structuredClone(entry));
  }
  private bootstrapped = new Set<string>();

  async listProjects(q: ListQuery) {
    return list([...this.projects.values()], q);
  }

  async projectByKey(key: string) {
    const p = [...this.projects.values()].find((x) => x.key === key);
    return p && structuredClone(p);
  }

  async projectScope(key: string) {
    const project = await this.projectByKey(key);
    if (!project) return undefined;
    const environments = [...this.environments.values()]
      .filter((e) => e.projectId === project.id)
      .sort((a, b) => byteCompare(a.key, b.key))
      .map((e) => structuredClone(e));
    return { project, environments };
  }

  async insertProject(project: ProjectRecord, envs: EnvironmentRecord[], audit?: AuditEntry) {
    if (await this.projectByKey(project.key)) throw conflict(`A project with key "${project.key}" already exists`);
    this.projects.set(project.id, structuredClone(project));
    for (const e of envs) this.environments.set(e.id, structuredClone(e));
    this.audited(audit);
  }

  async updateProject(project: ProjectRecord, expectedVersion: number, audit?: AuditEntry) {
    const current = this.projects.get(project.id);
    if (!current || current.version !== expectedVersion) return false;
    this.projects.set(project.id, structuredClone(project));
    this.audited(audit);
    return true;
  }

  async deleteProject(id: string, audit?: AuditEntry) {
    if (!this.projects.delete(id)) return undefined;
    this.audited(audit);
    for (const [flagId, f] of this.flags) if (f.projectId === id) this.flags.delete(flagId);
    for (const [segmentId, seg] of this.segments) if (seg.projectId === id) this.segments.delete(segmentId);
    const envIds = [...this.environments.values()].filter((e) => e.projectId === id).map((e) => e.id);
    for (const envId of envIds) this.environments.delete(envId);
    this.schedules.removeWhere((i) => envIds.includes(i.environmentId));
    this.approvals.removeWhere((r) => envIds.includes(r.environmentId));
    return envIds;
  }

  async listEnvironments(projectId: string, q: ListQuery) {
    return list(
      [...this.environments.values()].filter((e) => e.projectId === projectId),
      q,
    );
  }

  async environmentByKey(projectId: string, key: string) {
    const e = [...this.environments.values()].find((x) => x.projectId === projectId && x.key === key);
    return e && structuredClone(e);
  }

  async insertEnvironment(env: EnvironmentRecord, defaultConfig: (flag: FlagGlobal) => FlagEnvironment, audit?: AuditEntry) {
    if (await this.environmentByKey(env.projectId, env.key)) throw conflict(`An environment with key "${env.key}" already exists`);
    this.environments.set(env.id, structuredClone(env));
    this.audited(audit);
    for (const f of this.flags.values()) if (f.projectId === env.projectId) f.configs[env.key] = defaultConfig(structuredClone(f.doc));
  }

  async updateEnvironment(env: EnvironmentRecord, expectedVersion: number, audit?: AuditEntry) {
    const current = this.environments.get(env.id);
    if (!current || current.version !== expectedVersion) return false;
    this.environments.set(env.id, structuredClone(env));
    this.audited(audit);
    return true;
  }

  async deleteEnvironment(id: string, audit?: AuditEntry) {
    const env = this.environments.get(id);
    if (!env) return false;
    this.environments.delete(id);
    this.audited(audit);
    for (const [segmentId, seg] of this.segments) if (seg.environmentId === id) this.segments.delete(segmentId);
    for (const f of this.flags.values()) if (f.projectId === env.projectId) delete f.configs[env.key];
    this.schedules.removeWhere((i) => i.environmentId === id);
    this.approvals.removeWhere((r) => r.environmentId === id);
    return true;
  }

  async isBootstrapped(step: string) {
    return this.bootstrapped.has(step);
  }

  async bootstrapProject(step: string, project: ProjectRecord, envs: EnvironmentRecord[]) {
    if (this.bootstrapped.has(step)) return false;
    this.bootstrapped.add(step);
    if (await this.projectByKey(project.key)) return false;
    await this.insertProject(project, envs);
    return true;
  }
}
