/** In-memory flags (with projects and environments) for `app.handle` tests; the contract suite keeps it honest. */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { ChangeEvent, PendingChange } from "@vexil/shared/change-events";
import { conflict } from "@vexil/shared/errors";
import type { AuditQuery, AuditReader } from "./audit-reader.ts";
import type { SegmentOutcome, SegmentQuery, SegmentRecord, SegmentStore } from "./segment-store.ts";
import type { EnvironmentContents, FlagOutcome, FlagQuery, FlagRecord, FlagStore } from "./flag-store.ts";
import type { Listed } from "./project-store.ts";
import { MemoryProjectStore } from "./memory-project-store.ts";

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

export class MemoryFlagStore extends MemoryProjectStore implements FlagStore, SegmentStore, AuditReader {
  /** Change events in commit order, as the outbox would hold them. */
  readonly outbox: ChangeEvent[] = [];
  private sequences = new Map<string, number>();

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

  async auditById(id: string) {
    const e = this.audit.find((x) => x.id === id);
    return e && structuredClone(e);
  }

  async listFlags(projectId: string, q: FlagQuery): Promise<Listed<FlagRecord>> {
    const rows = [...this.flags.values()].filter((f) => f.projectId === projectId && matches(f, q)).sort(compare(q));
    return { items: rows.slice(q.offset, q.offset + q.limit).map((f) => structuredClone(f)), total: rows.length };
  }

  async flagByKey(projectId: string, key: string) {
    const f = [...this.flags.values()].find((x) => x.projectId === projectId && x.key === key);
    return f && structuredClone(f);
  }

  async projectFlags(projectId: string) {
    return [...this.flags.values()].filter((f) => f.projectId === projectId).map((f) => structuredClone(f));
  }

  /** Configs only for environments that exist, as the database's foreign keys would have it. */
  private stored(flag: FlagRecord): FlagRecord {
    const envKeys = new Set([...this.environments.values()].filter((e) => e.projectId === flag.projectId).map((e) => e.key));
    const copy = structuredClone(flag);
    for (const k of Object.keys(copy.configs)) if (!envKeys.has(k)) delete copy.configs[k];
    return copy;
  }

  private locks = new Map<string, Promise<unknown>>();

  /** Runs `work` after every earlier piece of work on the same key: the in-memory row lock. */
  private async serialized<T>(lockKey: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(lockKey) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(work);
    this.locks.set(lockKey, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(lockKey) === run) this.locks.delete(lockKey);
    }
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

  async modifyFlag<T>(projectId: string, key: string, change: (flag: FlagRecord | undefined, others: () => Promise<FlagRecord[]>) => Promise<FlagOutcome<T>>, _environments?: Array<{ id: string; key: string }>): Promise<T> {
    return this.serialized(`flag\u0000${projectId}\u0000${key}`, async () => {
      const current = await this.flagByKey(projectId, key);
      const others = async () => (current ? (await this.projectFlags(projectId)).filter((f) => f.id !== current.id) : []);
      const outcome = await change(current, others);
      if (outcome.kind === "update") {
        this.flags.set(outcome.flag.id, this.stored(outcome.flag));
        this.audit.push(structuredClone(outcome.audit));
        this.record(projectId, outcome.changes);
      } else if (outcome.kind === "delete" && current) {
        this.flags.delete(current.id);
        this.audit.push(structuredClone(outcome.audit));
        this.record(projectId, outcome.changes);
      }
      return outcome.result;
    });
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

  async modifySegment<T>(environmentId: string, key: string, change: (segment: SegmentRecord | undefined) => Promise<SegmentOutcome<T>>): Promise<T> {
    return this.serialized(`segment\u0000${environmentId}\u0000${key}`, async () => {
      const current = await this.segmentByKey(environmentId, key);
      const outcome = await change(current);
      if (outcome.kind === "update") {
        this.segments.set(outcome.segment.id, structuredClone(outcome.segment));
        this.audit.push(structuredClone(outcome.audit));
        this.record(outcome.segment.projectId, outcome.changes);
      } else if (outcome.kind === "delete" && current) {
        this.segments.delete(current.id);
        this.audit.push(structuredClone(outcome.audit));
        this.record(current.projectId, outcome.changes);
      }
      return outcome.result;
    });
  }
}
