/** In-memory flags (with projects and environments) for `app.handle` tests; the contract suite keeps it honest. */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { ChangeEvent, PendingChange } from "@vexil/shared/change-events";
import { conflict } from "@vexil/shared/errors";
import type { AuditQuery, AuditReader } from "./audit-reader.ts";
import type { SegmentQuery, SegmentRecord, SegmentStore, SegmentWrite } from "./segment-store.ts";
import { mergeUsage, type FlagUsage, type FlagUsageStore, type UsageBatch } from "./flag-usage-store.ts";
import { scopeStamp, type EnvironmentContents, type FlagQuery, type FlagRecord, type FlagStore, type FlagWrite, type PrerequisiteGraph, type ProjectScope, type ScopedFlag } from "./flag-store.ts";
import type { Listed } from "./project-store.ts";
import { MemoryProjectStore } from "./memory-project-store.ts";
import { OperationAlreadyApplied } from "./schedule-store.ts";

const byteCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function matches(f: FlagRecord, q: FlagQuery): boolean {
  const d = f.doc;
  if (q.query && !f.key.toLowerCase().includes(q.query.toLowerCase()) && !d.name.toLowerCase().includes(q.query.toLowerCase())) return false;
  if (q.tags && !q.tags.every((t) => d.tags.includes(t))) return false;
  if (q.state === "archived") {
    if (!d.archived) return false;
  } else if (q.state === "deprecated") {
    if (!d.deprecated || d.archived) return false;
  } else if (q.state === "live") {
    if (d.deprecated || d.archived) return false;
  } else if (d.archived) return false;
  if (q.type && d.temporary !== (q.type === "temporary")) return false;
  if (q.maintainerId && d.maintainerId !== q.maintainerId) return false;
  if (q.sdkAvailability) {
    const { usingEnvironmentId: env, usingMobileKey: mob } = d.clientSideAvailability;
    const ok = { client: env, mobile: mob, anyClient: env || mob, server: !env && !mob }[q.sdkAvailability];
    if (!ok) return false;
  }
  return true;
}

function compare(q: FlagQuery): (a: FlagRecord, b: FlagRecord) => number {
  const sign = q.sort.descending ? -1 : 1;
  const byKey = (a: FlagRecord, b: FlagRecord) => byteCompare(a.key, b.key);
  return (a, b) => {
    switch (q.sort.field) {
      case "name":
        return sign * (byteCompare(a.doc.name, b.doc.name) || byKey(a, b));
      case "creationDate":
        return sign * (a.createdAt - b.createdAt || byKey(a, b));
      case "maintainerId":
        return sign * (byteCompare(a.doc.maintainerId ?? "", b.doc.maintainerId ?? "") || byKey(a, b));
      case "type":
        return sign * (Number(a.doc.temporary) - Number(b.doc.temporary) || byKey(a, b));
      default:
        return sign * byKey(a, b);
    }
  };
}

export class MemoryFlagStore extends MemoryProjectStore implements FlagStore, SegmentStore, AuditReader, FlagUsageStore {
  /** Change events in commit order, as the outbox would hold them. */
  readonly outbox: ChangeEvent[] = [];
  private sequences = new Map<string, number>();
  /** Flag usage by flag id, then environment id. */
  private usage = new Map<string, Map<string, FlagUsage>>();

  private record(projectId: string, changes: PendingChange[]): void {
    for (const change of changes) {
      const env = [...this.environments.values()].find((e) => e.projectId === projectId && e.key === change.environmentKey);
      if (!env) continue;
      const seq = (this.sequences.get(env.id) ?? 0) + 1;
      this.sequences.set(env.id, seq);
      const { environmentKey: _, ...rest } = change;
      this.outbox.push({ v: 1, environmentId: env.id, seq, ...structuredClone(rest) });
    }
  }

  async listAudit(q: AuditQuery): Promise<AuditEntry[]> {
    const like = q.specLike ? new RegExp(`^${q.specLike.split("%").map((s) => s.replace(/\\(.)/g, "$1").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`) : undefined;
    return this.audit
      .filter((e) => q.before === undefined || e.date < q.before || (q.beforeId !== undefined && e.date === q.before && byteCompare(e.id, q.beforeId) < 0))
      .filter((e) => q.after === undefined || e.date > q.after)
      .filter((e) => !q.q || [e.name, e.title, e.comment ?? ""].some((s) => s.toLowerCase().includes(q.q!.toLowerCase())))
      .filter((e) => !like || like.test(e.spec))
      .sort((a, b) => b.date - a.date || byteCompare(b.id, a.id))
      .slice(0, q.limit)
      .map((e) => structuredClone(e));
  }

  async changesSince(after: number, kinds: readonly string[], limit: number) {
    return this.audit
      .filter((e) => e.date > after && kinds.includes(e.kind))
      .sort((a, b) => a.date - b.date || byteCompare(a.id, b.id))
      .slice(0, limit)
      .map(({ id, date, kind, spec, currentVersion }) => ({ id, date, kind, spec, currentVersion }));
  }

  async auditById(id: string) {
    const e = this.audit.find((x) => x.id === id);
    return e && structuredClone(e);
  }

  async listFlags(projectId: string, q: FlagQuery): Promise<Listed<FlagRecord>> {
    const rows = [...this.flags.values()].filter((f) => f.projectId === projectId && matches(f, q)).sort(compare(q));
    return { items: rows.slice(q.offset, q.offset + q.limit).map((f) => structuredClone(f)), total: rows.length };
  }

  async liveKeys(projectId: string): Promise<string[]> {
    return [...this.flags.values()].filter((f) => f.projectId === projectId && !f.doc.archived).map((f) => f.key).sort(byteCompare);
  }

  async flagsByKeys(projectId: string, keys: string[]): Promise<FlagRecord[]> {
    const wanted = new Set(keys);
    return [...this.flags.values()].filter((f) => f.projectId === projectId && wanted.has(f.key)).map((f) => structuredClone(f));
  }

  async flagByKey(projectId: string, key: string) {
    const f = [...this.flags.values()].find((x) => x.projectId === projectId && x.key === key);
    return f && structuredClone(f);
  }

  /** Configs only for environments that exist, as the database's foreign keys would have it. */
  private stored(flag: FlagRecord): FlagRecord {
    const envKeys = new Set([...this.environments.values()].filter((e) => e.projectId === flag.projectId).map((e) => e.key));
    const copy = structuredClone(flag);
    for (const k of Object.keys(copy.configs)) if (!envKeys.has(k)) delete copy.configs[k];
    return copy;
  }

  async environmentContents(environmentId: string): Promise<EnvironmentContents | undefined> {
    const env = this.environments.get(environmentId);
    const project = env && this.projects.get(env.projectId);
    if (!env || !project) return undefined;
    const flags = [...this.flags.values()]
      .filter((f) => f.projectId === env.projectId && f.configs[env.key])
      .map((f) => ({ ...structuredClone(f.doc), environments: { [env.key]: structuredClone(f.configs[env.key]!) } }));
    const segments = [...this.segments.values()].filter((s) => s.environmentId === environmentId).map((s) => structuredClone(s.doc));
    return { projectKey: project.key, environmentKey: env.key, seq: this.sequences.get(environmentId) ?? 0, flags, segments };
  }

  async flagInScope(projectKey: string, flagKey: string) {
    const scope = await this.projectScope(projectKey);
    return scope && { ...scope, flag: await this.flagByKey(scope.project.id, flagKey) };
  }

  async prerequisiteGraph(projectId: string, from: string[], of?: string): Promise<PrerequisiteGraph> {
    const inProject = [...this.flags.values()].filter((f) => f.projectId === projectId);
    const byKey = new Map(inProject.map((f) => [f.key, f]));
    const reach = new Set<string>();
    const visit = (key: string) => {
      if (reach.has(key)) return;
      reach.add(key);
      for (const c of Object.values(byKey.get(key)?.configs ?? {})) for (const p of c.prerequisites ?? []) visit(p.key);
    };
    from.forEach(visit);
    return {
      reachable: inProject.filter((f) => reach.has(f.key)).map((f) => structuredClone(f)),
      dependents: of === undefined ? [] : inProject.filter((f) => Object.values(f.configs).some((c) => c.prerequisites?.some((p) => p.key === of))).map((f) => structuredClone(f)),
    };
  }

  /** True when the project and its environments are as `read` saw them (what the database's write compares). */
  private scopeHolds(read: ProjectScope): boolean {
    const project = this.projects.get(read.project.id);
    if (!project) return false;
    const envs = [...this.environments.values()].filter((e) => e.projectId === project.id);
    return scopeStamp({ project, environments: envs }) === scopeStamp(read);
  }

  /** The unique index on audit entries' operations. */
  private checkOperation(audit: AuditEntry): void {
    if (audit.operationId !== null && this.audit.some((e) => e.operationId === audit.operationId)) throw new OperationAlreadyApplied(audit.operationId);
  }

  async writeFlag(read: ScopedFlag & { flag: FlagRecord }, write: FlagWrite): Promise<boolean> {
    const stored = this.flags.get(read.flag.id);
    if (!stored || stored.version !== read.flag.version || !this.scopeHolds(read)) return false;
    this.checkOperation(write.audit);
    if (write.kind === "update") {
      this.flags.set(write.flag.id, this.stored(write.flag));
      this.schedules.apply({ flagId: read.flag.id }, write.schedule);
      this.approvals.apply(write.approvals);
    } else {
      this.flags.delete(read.flag.id);
      this.usage.delete(read.flag.id);
      this.schedules.removeWhere((i) => i.flagId === read.flag.id);
      this.approvals.removeWhere((r) => r.flagId === read.flag.id);
    }
    this.audit.push(structuredClone(write.audit));
    this.record(read.project.id, write.changes);
    return true;
  }

  async insertFlag(flag: FlagRecord, audit: AuditEntry, changes: PendingChange[]) {
    if (await this.flagByKey(flag.projectId, flag.key)) throw conflict(`A flag with key "${flag.key}" already exists`);
    this.flags.set(flag.id, this.stored(flag));
    this.audit.push(structuredClone(audit));
    this.record(flag.projectId, changes);
  }

  async listSegments(environmentId: string, q: SegmentQuery): Promise<Listed<SegmentRecord>> {
    const needle = q.query?.toLowerCase();
    const rows = [...this.segments.values()]
      .filter((x) => x.environmentId === environmentId)
      .filter((x) => !needle || x.key.toLowerCase().includes(needle) || x.doc.name.toLowerCase().includes(needle))
      .filter((x) => !q.tags || q.tags.length === 0 || q.tags.some((t) => x.doc.tags.includes(t)));
    const sign = q.sort.descending ? -1 : 1;
    const byKey = (a: SegmentRecord, b: SegmentRecord) => byteCompare(a.key, b.key);
    rows.sort((a, b) => {
      switch (q.sort.field) {
        case "name":
          return sign * (byteCompare(a.doc.name, b.doc.name) || byKey(a, b));
        case "creationDate":
          return sign * (a.createdAt - b.createdAt || byKey(a, b));
        case "lastModified":
          return sign * (a.doc.lastModifiedDate - b.doc.lastModifiedDate || byKey(a, b));
        default:
          return sign * byKey(a, b);
      }
    });
    return { items: rows.slice(q.offset, q.offset + q.limit).map((x) => structuredClone(x)), total: rows.length };
  }

  async segmentByKey(environmentId: string, key: string) {
    const found = [...this.segments.values()].find((x) => x.environmentId === environmentId && x.key === key);
    return found && structuredClone(found);
  }

  async insertSegment(segment: SegmentRecord, audit: AuditEntry, changes: PendingChange[]) {
    if (await this.segmentByKey(segment.environmentId, segment.key)) throw conflict(`A segment with key "${segment.key}" already exists in this environment`);
    this.segments.set(segment.id, structuredClone(segment));
    this.audit.push(structuredClone(audit));
    this.record(segment.projectId, changes);
  }

  async writeSegment(read: ProjectScope & { segment: SegmentRecord }, write: SegmentWrite): Promise<boolean> {
    const stored = this.segments.get(read.segment.id);
    if (!stored || stored.version !== read.segment.version || !this.scopeHolds(read)) return false;
    this.checkOperation(write.audit);
    if (write.kind === "update") {
      this.segments.set(write.segment.id, structuredClone(write.segment));
      this.schedules.apply({ segmentId: read.segment.id }, write.schedule);
      this.approvals.apply(write.approvals);
    } else {
      this.segments.delete(read.segment.id);
      this.schedules.removeWhere((i) => i.segmentId === read.segment.id);
      this.approvals.removeWhere((r) => r.segmentId === read.segment.id);
    }
    this.audit.push(structuredClone(write.audit));
    this.record(read.project.id, write.changes);
    return true;
  }

  async recordUsage(batch: UsageBatch): Promise<void> {
    const env = this.environments.get(batch.environmentId);
    if (!env) return;
    for (const report of batch.flags) {
      const flag = [...this.flags.values()].find((f) => f.projectId === env.projectId && f.key === report.key);
      if (!flag) continue;
      const { key: _, ...usage } = report;
      let byEnv = this.usage.get(flag.id);
      if (!byEnv) this.usage.set(flag.id, (byEnv = new Map()));
      byEnv.set(env.id, mergeUsage(byEnv.get(env.id), usage));
    }
  }

  /** Only flags and environments that exist, as the database's foreign keys would have it. */
  async usageInEnvironment(environmentId: string): Promise<Map<string, FlagUsage>> {
    const out = new Map<string, FlagUsage>();
    if (!this.environments.has(environmentId)) return out;
    for (const [flagId, byEnv] of this.usage) {
      const flag = this.flags.get(flagId);
      const usage = byEnv.get(environmentId);
      if (flag && usage) out.set(flag.key, structuredClone(usage));
    }
    return out;
  }

  async usageOfFlag(flagId: string): Promise<Map<string, FlagUsage>> {
    const out = new Map<string, FlagUsage>();
    if (!this.flags.has(flagId)) return out;
    for (const [envId, usage] of this.usage.get(flagId) ?? []) if (this.environments.has(envId)) out.set(envId, structuredClone(usage));
    return out;
  }
}
