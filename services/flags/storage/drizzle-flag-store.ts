import { and, asc, count, desc, eq, getTableColumns, inArray, ne, or, sql, type SQL } from "drizzle-orm";
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import { rowsOf } from "@vexil/shared/db/migrate";
import { insertRowFrom, rowFromJson, rowJson } from "@vexil/shared/db/rows";
import { compiledStatement, likePattern, isUniqueViolation, type Db, type Executor } from "@vexil/shared/db/connector";
import type { ChangeEvent, PendingChange } from "@vexil/shared/change-events";
import { conflict } from "@vexil/shared/errors";
import type { Flag, FlagEnvironment } from "../domain/flags/model.ts";
import { cloneJson } from "@vexil/shared/json-clone";
import { StaleRead, type EnvironmentContents, type FlagGlobal, type FlagOutcome, type FlagQuery, type FlagRecord, type FlagStore, type RecentRead, type ScopedFlag } from "./flag-store.ts";
import type { Segment } from "../domain/segments/model.ts";
import type { EnvironmentRecord, Listed, ProjectRecord } from "./project-store.ts";
import { environmentSequences, environments, flagConfigs, flags, outbox, projects, segments } from "./schema.ts";

const field = (name: string) => sql`${flags.doc}->>${name}`;

function filters(projectId: string, q: FlagQuery): SQL {
  const conds: SQL[] = [eq(flags.projectId, projectId)];
  if (q.query) {
    const p = likePattern(q.query);
    conds.push(or(sql`lower(${flags.key}) like ${p}`, sql`lower(${field("name")}) like ${p}`)!);
  }
  if (q.tags && q.tags.length > 0) conds.push(sql`${flags.doc}->'tags' @> ${JSON.stringify(q.tags)}::jsonb`);
  const archived = sql`coalesce((${flags.doc}->>'archived')::boolean, false)`;
  const deprecated = sql`coalesce((${flags.doc}->>'deprecated')::boolean, false)`;
  if (q.state === "archived") conds.push(sql`${archived}`);
  else if (q.state === "deprecated") conds.push(sql`${deprecated} and not ${archived}`);
  else if (q.state === "live") conds.push(sql`not ${deprecated} and not ${archived}`);
  else conds.push(sql`not ${archived}`);
  if (q.type) conds.push(sql`coalesce((${flags.doc}->>'temporary')::boolean, false) = ${q.type === "temporary"}`);
  if (q.maintainerId) conds.push(sql`${field("maintainerId")} = ${q.maintainerId}`);
  if (q.sdkAvailability) {
    const env = sql`coalesce((${flags.doc}->'clientSideAvailability'->>'usingEnvironmentId')::boolean, false)`;
    const mob = sql`coalesce((${flags.doc}->'clientSideAvailability'->>'usingMobileKey')::boolean, false)`;
    const cond = { client: sql`${env}`, mobile: sql`${mob}`, anyClient: sql`(${env} or ${mob})`, server: sql`not ${env} and not ${mob}` }[q.sdkAvailability];
    conds.push(cond);
  }
  return and(...conds)!;
}

function ordering(q: FlagQuery): SQL[] {
  const dir = q.sort.descending ? desc : asc;
  const byKey = dir(sql`${flags.key} collate "C"`);
  switch (q.sort.field) {
    case "name":
      return [dir(sql`${field("name")} collate "C"`), byKey];
    case "creationDate":
      return [dir(flags.createdAt), byKey];
    case "maintainerId":
      return [dir(sql`coalesce(${field("maintainerId")}, '') collate "C"`), byKey];
    case "type":
      return [dir(sql`coalesce((${flags.doc}->>'temporary')::boolean, false)`), byKey];
    default:
      return [byKey];
  }
}

type Row = typeof flags.$inferSelect;
type EnvIds = Array<{ id: string; key: string }>;

/** Optimistic rounds before a change waits for the flag's lock. */
const OPTIMISTIC_ATTEMPTS = 3;

const envIdsOf = (tx: Executor, projectId: string): Promise<EnvIds> =>
  tx.select({ id: environments.id, key: environments.key }).from(environments).where(eq(environments.projectId, projectId));

/** The outbox rows of `changes`: the events without their sequence numbers, which the relay gives as it publishes. */
function outboxRows(changes: PendingChange[], envs: EnvIds, now: number) {
  return changes.flatMap((change) => {
    const env = envs.find((e) => e.key === change.environmentKey);
    if (!env) return [];
    const { environmentKey: _, ...rest } = change;
    const payload: ChangeEvent = { v: 1, environmentId: env.id, seq: 0, ...rest };
    return [{ environmentId: env.id, payload: payload as unknown as Record<string, unknown>, createdAt: now }];
  });
}

/** Writes change events to the outbox, in the caller's transaction. */
export async function writeChanges(tx: Executor, projectId: string, changes: PendingChange[], now: number, known?: EnvIds): Promise<void> {
  if (changes.length === 0) return;
  const rows = outboxRows(changes, known ?? (await envIdsOf(tx, projectId)), now);
  if (rows.length > 0) await tx.insert(outbox).values(rows);
}

const parsedJson = <T>(v: unknown) => (typeof v === "string" ? JSON.parse(v) : v) as T;
const parsedTargeting = (v: unknown) => parsedJson<Record<string, FlagEnvironment>>(v);

/**
 * The flag, its changed targeting rows, the audit entry and the change events, in one statement that
 * writes only if the flag still has the version the change was decided on (`readVersion`) and, when
 * `scope` is given, the project and its environments are still as they were read.
 */
const writeFlag = compiledStatement(sql`
  with flag_row as (
    update ${flags} set doc = ${sql.placeholder("doc")}::jsonb, version = ${sql.placeholder("version")}
    where id = ${sql.placeholder("id")} and version = ${sql.placeholder("readVersion")}
      and (${sql.placeholder("scope")}::text is null or ${sql.placeholder("scope")}::text = (
        select p.version || ':' || coalesce((
          select string_agg(e.id || '@' || e.version, ',' order by e.id collate "C") from ${environments} e where e.project_id = p.id), '')
        from ${projects} p where p.id = ${sql.placeholder("projectId")}))
    returning id),
  audit_row as (${insertRowFrom(auditLog, sql`flag_row`, sql.placeholder("audit"))}),
  event_rows as (
    insert into ${outbox} (environment_id, payload, created_at)
    select e.environment_id, e.payload, e.created_at
    from flag_row, jsonb_to_recordset(${sql.placeholder("events")}::jsonb) as e(environment_id text, payload jsonb, created_at bigint)),
  config_rows as (
    insert into ${flagConfigs} (flag_id, environment_id, config)
    select c.flag_id, c.environment_id, c.config
    from flag_row, jsonb_to_recordset(${sql.placeholder("configs")}::jsonb) as c(flag_id text, environment_id text, config jsonb)
    on conflict (flag_id, environment_id) do update set config = excluded.config)
  select count(*)::int as n from flag_row`);

/** A flag row with its targeting in every environment, read in one statement (one snapshot). */
const withTargeting = {
  ...getTableColumns(flags),
  configs: sql<Record<string, FlagEnvironment>>`coalesce((
    select jsonb_object_agg(e.key, c.config) from ${flagConfigs} c join ${environments} e on e.id = c.environment_id
    where c.flag_id = ${sql.identifier("flags")}.id), '{}'::jsonb)`.mapWith(parsedTargeting),
};

const asRecord = (r: Row & { configs: Record<string, FlagEnvironment> }): FlagRecord => ({ ...r, doc: r.doc as unknown as FlagGlobal });

/** What the write compares to know the project and its environments are as they were read. */
function scopeStamp(project: ProjectRecord, envs: EnvironmentRecord[]): string {
  const ids = envs.map((e) => ({ id: e.id, version: e.version })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return `${project.version}:${ids.map((e) => `${e.id}@${e.version}`).join(",")}`;
}

interface Recent extends RecentRead, ScopedFlag {
  flag: FlagRecord;
}

/** How many flags an instance remembers for changes to come. */
const RECENT_LIMIT = 10_000;
/** After its memory of a flag proved out of date, changes to it read the database for this long. */
const UNSETTLED_MS = 1_000;

export class DrizzleFlagStore implements FlagStore {
  /**
   * Flags this instance last read or wrote for a change, with their project and environments: the
   * next change to one of them is decided without a read, and its write checks that nothing moved.
   */
  private readonly recent = new Map<string, Recent>();
  /** Flags whose memory proved out of date lately (changed elsewhere, or by several callers at once), and until when. */
  private readonly unsettled = new Map<string, number>();
  /** The hottest reads (every flag request), built once. */
  private readonly byKey;
  private readonly inScope;

  constructor(private readonly db: Db) {
    this.byKey = db
      .select(withTargeting)
      .from(flags)
      .where(and(eq(flags.projectId, sql.placeholder("projectId")), eq(flags.key, sql.placeholder("key"))))
      .limit(1)
      .prepare("flag_by_key");
    this.inScope = db
      .select({
        project: projects,
        environments: sql<Array<Record<string, unknown>>>`coalesce((
          select jsonb_agg(to_jsonb(e) order by e.key collate "C") from ${environments} e where e.project_id = ${sql.identifier("projects")}.id), '[]'::jsonb)`.mapWith((v) => parsedJson<Array<Record<string, unknown>>>(v)),
        flag: getTableColumns(flags),
        configs: withTargeting.configs,
      })
      .from(projects)
      .leftJoin(flags, and(eq(flags.projectId, projects.id), eq(flags.key, sql.placeholder("flagKey"))))
      .where(eq(projects.key, sql.placeholder("projectKey")))
      .prepare("flag_in_scope");
  }

  async environmentContents(environmentId: string): Promise<EnvironmentContents | undefined> {
    // One statement, so one snapshot: the sequence number and the items agree.
    const rows = rowsOf<{ project_key: string; environment_key: string; seq: string | number; flags: unknown; segments: unknown }>(
      await this.db.execute(sql`
        select p.key as project_key, e.key as environment_key,
          coalesce((select s.seq from ${environmentSequences} s where s.environment_id = e.id), 0) as seq,
          coalesce((select jsonb_agg(f.doc || jsonb_build_object('environments', jsonb_build_object(e.key, c.config)))
            from ${flags} f join ${flagConfigs} c on c.flag_id = f.id and c.environment_id = e.id), '[]'::jsonb) as flags,
          coalesce((select jsonb_agg(g.doc) from ${segments} g where g.environment_id = e.id), '[]'::jsonb) as segments
        from ${environments} e join ${projects} p on p.id = e.project_id where e.id = ${environmentId}`),
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      projectKey: row.project_key,
      environmentKey: row.environment_key,
      seq: Number(row.seq),
      flags: parsedJson<Flag[]>(row.flags),
      segments: parsedJson<Segment[]>(row.segments),
    };
  }

  async flagInScope(projectKey: string, flagKey: string, options: { recent?: boolean } = {}) {
    const key = `${projectKey}\u0000${flagKey}`;
    const remember = options.recent === true && !this.isUnsettled(key);
    const known = remember ? this.recent.get(key) : undefined;
    if (known) return { project: known.project, environments: known.environments, flag: cloneJson(known.flag), recent: { ...known, remembered: true } };
    const row = (await this.inScope.execute({ projectKey, flagKey }))[0];
    if (!row) return undefined;
    const found: ScopedFlag = {
      project: row.project,
      environments: row.environments.map((e) => rowFromJson(environments, e)),
      flag: row.flag ? asRecord({ ...row.flag, configs: row.configs }) : undefined,
    };
    if (!remember || !found.flag) return found;
    const recent = this.remember({ ...found, flag: cloneJson(found.flag), key, scope: scopeStamp(found.project, found.environments), remembered: false });
    return { ...found, recent };
  }

  private isUnsettled(key: string): boolean {
    const until = this.unsettled.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.unsettled.delete(key);
    return false;
  }

  /** Forgets a flag that proved out of date, and leaves it to database reads for a while. */
  private stale(key: string): StaleRead {
    this.recent.delete(key);
    if (this.unsettled.size >= RECENT_LIMIT) this.unsettled.clear();
    this.unsettled.set(key, Date.now() + UNSETTLED_MS);
    return new StaleRead();
  }

  private remember(entry: Recent): Recent {
    this.recent.delete(entry.key);
    if (this.recent.size >= RECENT_LIMIT) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(entry.key, entry);
    return entry;
  }

  private async withConfigs(rows: Row[], tx: Executor = this.db): Promise<FlagRecord[]> {
    if (rows.length === 0) return [];
    const configs = await tx
      .select({ flagId: flagConfigs.flagId, envKey: environments.key, config: flagConfigs.config })
      .from(flagConfigs)
      .innerJoin(environments, eq(environments.id, flagConfigs.environmentId))
      .where(inArray(flagConfigs.flagId, rows.map((r) => r.id)));
    const byFlag = new Map<string, Record<string, FlagEnvironment>>();
    for (const c of configs) {
      const map = byFlag.get(c.flagId) ?? {};
      map[c.envKey] = c.config as unknown as FlagEnvironment;
      byFlag.set(c.flagId, map);
    }
    return rows.map((r) => ({ ...r, doc: r.doc as unknown as FlagGlobal, configs: byFlag.get(r.id) ?? {} }));
  }

  async listFlags(projectId: string, q: FlagQuery): Promise<Listed<FlagRecord>> {
    const where = filters(projectId, q);
    const [rows, totals] = await Promise.all([
      this.db.select(withTargeting).from(flags).where(where).orderBy(...ordering(q)).limit(q.limit).offset(q.offset),
      this.db.select({ n: count() }).from(flags).where(where),
    ]);
    return { items: rows.map(asRecord), total: totals[0]?.n ?? 0 };
  }

  async flagByKey(projectId: string, key: string) {
    const rows = await this.byKey.execute({ projectId, key });
    return rows[0] && asRecord(rows[0]);
  }

  async projectFlags(projectId: string) {
    return (await this.db.select(withTargeting).from(flags).where(eq(flags.projectId, projectId))).map(asRecord);
  }

  /** Writes the flag's configs of `only` these environments (all when absent). */
  private async writeConfigs(tx: Executor, flag: FlagRecord, envs: EnvIds, only?: Set<string>): Promise<void> {
    const rows = envs.filter((e) => flag.configs[e.key] && (!only || only.has(e.key))).map((e) => ({ flagId: flag.id, environmentId: e.id, config: flag.configs[e.key] as unknown as Record<string, unknown> }));
    if (rows.length === 0) return;
    await tx
      .insert(flagConfigs)
      .values(rows)
      .onConflictDoUpdate({ target: [flagConfigs.flagId, flagConfigs.environmentId], set: { config: sql`excluded.config` } });
  }

  async insertFlag(flag: FlagRecord, audit: AuditEntry, changes: PendingChange[]) {
    await this.db
      .transaction(async (tx) => {
        await tx.insert(flags).values({ id: flag.id, projectId: flag.projectId, key: flag.key, doc: flag.doc as unknown as Record<string, unknown>, version: flag.version, createdAt: flag.createdAt });
        const envs = await envIdsOf(tx, flag.projectId);
        await this.writeConfigs(tx, flag, envs);
        await tx.insert(auditLog).values(audit);
        await writeChanges(tx, flag.projectId, changes, audit.date, envs);
      })
      .catch((e: unknown) => {
        if (isUniqueViolation(e)) throw conflict(`A flag with key "${flag.key}" already exists`);
        throw e;
      });
  }

  async modifyFlag<T>(
    projectId: string,
    key: string,
    change: (flag: FlagRecord | undefined, others: () => Promise<FlagRecord[]>) => Promise<FlagOutcome<T>>,
    known?: EnvIds,
    read?: { flag: FlagRecord | undefined; recent?: RecentRead },
  ): Promise<T> {
    // Optimistic first: read without a lock, decide, and write in one statement that applies only if
    // the flag still has the version that was read. A write that finds it moved reads again; after a
    // few such rounds (a busy flag), the change takes the flag's lock and waits its turn. A change
    // decided on this instance's memory of the flag goes back to its caller instead (`StaleRead`):
    // project and environments may have moved too, and the caller decided on them.
    for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
      const first = attempt === 0 && read !== undefined;
      const recent = first ? read.recent : undefined;
      const current = first ? read.flag : await this.flagByKey(projectId, key);
      const others = async () => (current ? (await this.projectFlags(projectId)).filter((f) => f.id !== current.id) : []);
      let outcome: FlagOutcome<T>;
      try {
        outcome = await change(current, others);
      } catch (e) {
        if (!recent?.remembered) throw e;
        outcome = { kind: "none", result: undefined as T };
      }
      // Only a write can confirm what memory said: a refusal, "nothing to change" or a deletion
      // decided on memory is decided again on a fresh read.
      if (recent?.remembered && outcome.kind !== "update") throw this.stale(recent.key);
      if (outcome.kind === "none") return outcome.result;
      if (outcome.kind === "delete" || !current) break;
      const envs = known ?? (await envIdsOf(this.db, projectId));
      if (await this.writeIfUnchanged(this.db, current.version, outcome, envs, recent?.scope)) {
        const later = recent && (this.recent.get(recent.key)?.flag.version ?? 0) > outcome.flag.version;
        if (recent && !later) this.remember({ ...(recent as Recent), flag: cloneJson(outcome.flag), remembered: false });
        return outcome.result;
      }
      if (recent) throw this.stale(recent.key);
    }
    if (read?.recent) this.recent.delete(read.recent.key);
    return this.modifyLocked(projectId, key, change, known);
  }

  /**
   * Writes an update decided on a flag read at `readVersion` — the flag, its changed targeting
   * rows, the audit entry and the change events, in one statement — unless the flag has moved on
   * since (then nothing is written and the answer is false).
   */
  private async writeIfUnchanged(tx: Executor, readVersion: number, outcome: Extract<FlagOutcome<unknown>, { kind: "update" }>, envs: EnvIds, scope?: string): Promise<boolean> {
    const { flag } = outcome;
    const changed = new Set(outcome.changes.map((c) => c.environmentKey));
    const configs = envs.filter((e) => flag.configs[e.key] && changed.has(e.key)).map((e) => ({ flag_id: flag.id, environment_id: e.id, config: flag.configs[e.key] }));
    const events = outboxRows(outcome.changes, envs, outcome.audit.date).map((r) => ({ environment_id: r.environmentId, payload: r.payload, created_at: r.createdAt }));
    const rows = rowsOf<{ n: number }>(
      await writeFlag(tx, {
        doc: JSON.stringify(flag.doc),
        version: flag.version,
        id: flag.id,
        readVersion,
        scope: scope ?? null,
        projectId: flag.projectId,
        audit: rowJson(auditLog, outcome.audit),
        events: JSON.stringify(events),
        configs: JSON.stringify(configs),
      }),
    );
    return Number(rows[0]?.n) === 1;
  }

  /** The pessimistic path: lock the flag, then decide and write in the transaction holding the lock. */
  private async modifyLocked<T>(
    projectId: string,
    key: string,
    change: (flag: FlagRecord | undefined, others: () => Promise<FlagRecord[]>) => Promise<FlagOutcome<T>>,
    known?: EnvIds,
  ): Promise<T> {
    return this.db.transaction(async (tx) => {
      // Lock first, then read the targeting rows: a statement that waited for the lock sees the
      // locked row's newest version but joined rows only as they were when it started.
      const rows = await tx.select().from(flags).where(and(eq(flags.projectId, projectId), eq(flags.key, key))).limit(1).for("update");
      const current = (await this.withConfigs(rows, tx))[0];
      const others = async () => (current ? this.withConfigs(await tx.select().from(flags).where(and(eq(flags.projectId, projectId), ne(flags.id, current.id))), tx) : []);
      const outcome = await change(current, others);
      if (outcome.kind === "update" && current) {
        if (!(await this.writeIfUnchanged(tx, current.version, outcome, known ?? (await envIdsOf(tx, projectId))))) throw new Error(`flag ${current.id} moved while locked`);
      } else if (outcome.kind === "delete" && current) {
        await tx.delete(flags).where(eq(flags.id, current.id));
        await tx.insert(auditLog).values(outcome.audit);
        await writeChanges(tx, projectId, outcome.changes, outcome.audit.date, known);
      }
      return outcome.result;
    });
  }
}
