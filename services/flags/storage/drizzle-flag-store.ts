import { and, asc, count, desc, eq, getTableColumns, inArray, or, sql, type SQL, type SQLWrapper } from "drizzle-orm";
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog, OPERATION_ID_INDEX } from "@vexil/shared/audit/schema";
import { rowsOf } from "@vexil/shared/db/migrate";
import { composedJson, jsonText } from "@vexil/shared/http/json-answer";
import { insertRowFrom, rowFromJson, rowJson, rowObject } from "@vexil/shared/db/rows";
import { compiledStatement, likePattern, isUniqueViolation, isUniqueViolationOf, isOutcomeUnknown, type Db, type Executor } from "@vexil/shared/db/connector";
import { commitDeadlineValue, deadlineCheck, refusedPastDeadline } from "@vexil/shared/db/deadline-guard";
import { checkDeadline, untilCallerDeadline, withoutDeadline } from "@vexil/shared/deadline";
import type { ChangeEvent, PendingChange } from "@vexil/shared/change-events";
import { VexilError, conflict } from "@vexil/shared/errors";
import type { Flag, FlagEnvironment } from "../domain/flags/model.ts";
import { scopeStamp, type EnvironmentContents, type FlagGlobal, type FlagQuery, type FlagRecord, type FlagStore, type FlagWrite, type PrerequisiteGraph, type ProjectScope, type ScopedFlag } from "./flag-store.ts";
import type { Segment } from "../domain/segments/model.ts";
import type { Listed } from "./project-store.ts";
import { GroupCommit } from "./group-commit.ts";
import { droppedRows, itemRow, scheduleCtes } from "./drizzle-schedule-store.ts";
import { approvalCtes, requestRow } from "./drizzle-approval-store.ts";
import { OperationAlreadyApplied } from "./schedule-store.ts";
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

type EnvIds = Array<{ id: string; key: string }>;

/** The outbox rows of `changes`: the events without their sequence numbers, which the relay adds as it publishes. */
function outboxRows(changes: PendingChange[], envs: EnvIds, now: number) {
  return changes.flatMap((change) => {
    const env = envs.find((e) => e.key === change.environmentKey);
    if (!env) return [];
    const { environmentKey: _, ...rest } = change;
    const payload: Omit<ChangeEvent, "seq"> = { v: 1, environmentId: env.id, ...rest };
    return [{ environmentId: env.id, payload: payload as unknown as Record<string, unknown>, createdAt: now }];
  });
}

/** Writes change events to the outbox, in the caller's transaction (`known`: the project's environments, when the caller has them). */
export async function writeChanges(tx: Executor, projectId: string, changes: PendingChange[], now: number, known?: EnvIds): Promise<void> {
  if (changes.length === 0) return;
  const envs = known ?? (await tx.select({ id: environments.id, key: environments.key }).from(environments).where(eq(environments.projectId, projectId)));
  const rows = outboxRows(changes, envs, now);
  if (rows.length > 0) await tx.insert(outbox).values(rows);
}

const parsedJson = <T>(v: unknown) => (typeof v === "string" ? JSON.parse(v) : v) as T;
const parsedTargeting = (v: unknown) => parsedJson<Record<string, FlagEnvironment>>(v);

/**
 * True when the project and its environments are as `scopeStamp` saw them: a change decided on
 * them (comments required, the set of environments) is written only while it holds.
 */
const scopeHolds = sql`${sql.placeholder("scope")}::text = ${currentScope(sql.placeholder("projectId"))}`;

/** The project's version and its environments' ids and versions now, as `scopeStamp` writes them. */
export function currentScope(projectId: SQLWrapper): SQL {
  return sql`(
    select p.version || ':' || coalesce((
      select string_agg(e.id || '@' || e.version, ',' order by e.id collate "C") from ${environments} e where e.project_id = p.id), '')
    from ${projects} p where p.id = ${projectId})`;
}

/** The audit entry and the change events of a write, inserted once per row of `changed`. */
const auditAndEvents = sql`
  audit_row as (${insertRowFrom(auditLog, sql`changed`, sql.placeholder("audit"))}),
  event_rows as (
    insert into ${outbox} (environment_id, payload, created_at)
    select e.environment_id, e.payload, e.created_at
    from changed, json_to_recordset(${sql.placeholder("events")}::json) as e(environment_id text, payload json, created_at bigint))`;

/**
 * Updates of several flags, each with its changed targeting rows, audit entry, change events and
 * changes of its scheduled items, in one statement (group commit: one transaction for all). Each flag is written only if it still has
 * the version its change was decided on (`read_version`) and its project and environments are as
 * read (`scope`); the answer lists the flags that were. The statement fails, writing nothing, if
 * Postgres's clock has passed the earliest request deadline among the flags it updated by the time
 * every update is done: checked last, so no write commits late after waiting for a row lock. (Group
 * commit then writes each flag alone, and only the late one fails.)
 *
 * Postgres reads JSON text once per layer it is nested in, and once more as it stores a `json` or
 * `jsonb` value: the large documents of a write (the audit entry's representation, the change
 * events, the targeting rows) come apart from the writes, one per line of `documents`, each read
 * once as it is stored; the writes name them by line (see `batchParams`).
 */
const updateFlags = compiledStatement(sql`
  with input as (
    select * from json_to_recordset(${sql.placeholder("writes")}::json)
      as w(id text, read_version int, version int, doc jsonb, scope text, project_id text, audit json, current int, events json, configs json,
        items jsonb, remove_items jsonb, dropped jsonb, approvals jsonb, remove_approvals jsonb, deadline float8)),
  documents as (select d.text, d.line from unnest(string_to_array(${sql.placeholder("documents")}::text, chr(10))) with ordinality as d(text, line)),
  changed as (
    update ${flags} f set doc = i.doc, version = i.version
    from input i
    where f.id = i.id and f.version = i.read_version and i.scope = ${currentScope(sql`i.project_id`)}
    returning f.id),
  written as (select i.* from changed join input i using (id)),
  audit_rows as (${insertRowFrom(auditLog, sql`written left join documents current on current.line = written.current`, sql`written.audit`, { current: sql`current.text::json` })}),
  event_rows as (
    insert into ${outbox} (environment_id, payload, created_at)
    select e.environment_id, d.text::json, e.created_at
    from written cross join lateral json_to_recordset(written.events) as e(environment_id text, payload int, created_at bigint)
      join documents d on d.line = e.payload),
  config_rows as (
    insert into ${flagConfigs} (flag_id, environment_id, config)
    select written.id, c.environment_id, d.text::jsonb
    from written cross join lateral json_to_recordset(written.configs) as c(environment_id text, config int)
      join documents d on d.line = c.config
    on conflict (flag_id, environment_id) do update set config = excluded.config),
  ${scheduleCtes(sql`written`)},
  ${approvalCtes(sql`written`)}
  select coalesce(jsonb_agg(id), '[]'::jsonb) as ids, ${deadlineCheck(sql`min(deadline)`)} as in_time from written`);

/**
 * `updateFlags`'s parameters for `rows`: the large documents as lines of JSON text (JSON text has
 * no line breaks: strings escape them), and the writes naming them by line number (from 1; no line
 * for a representation that is null).
 */
function batchParams(rows: UpdateRow[]): { writes: string; documents: string } {
  const lines: string[] = [];
  // Targeting and change events share their rules and targets with the version before: their text is kept.
  const line = (value: unknown) => (value === null || value === undefined ? null : lines.push(composedJson(value, 2)));
  const writes = rows.map((row) => ({
    ...row,
    audit: { ...row.audit, current: undefined },
    // The change's answer, whose text the HTTP answer shares when it is kept frozen.
    current: row.audit.current === null || row.audit.current === undefined ? null : lines.push(jsonText(row.audit.current)),
    events: row.events.map((e) => ({ environment_id: e.environment_id, payload: line(e.payload), created_at: e.created_at })),
    configs: row.configs.map((c) => ({ environment_id: c.environment_id, config: line(c.config) })),
  }));
  return { writes: JSON.stringify(writes), documents: lines.join("\n") };
}

/** One flag's update as `updateFlags` takes it. */
interface UpdateRow {
  id: string;
  read_version: number;
  version: number;
  doc: FlagGlobal;
  scope: string;
  project_id: string;
  audit: Record<string, unknown>;
  events: Array<{ environment_id: string; payload: Record<string, unknown>; created_at: number }>;
  configs: Array<{ environment_id: string; config: FlagEnvironment }>;
  /** The flag's scheduled items: put (rows), removed (ids), dropped with their targets. */
  items: Array<Record<string, unknown>>;
  remove_items: string[];
  dropped: ReturnType<typeof droppedRows>;
  /** The flag's approval requests: put (rows), removed (ids). */
  approvals: Array<Record<string, unknown>>;
  remove_approvals: string[];
  /** The commit deadline of the request the update serves (unix ms), if it has one. */
  deadline: number | null;
}

/**
 * Concurrent updates written together (see group-commit.ts): one batch in flight, a second beside
 * it once 32 updates wait, or once the first has run 50 ms (a batch's statement takes a few ms;
 * longer is a lock wait). At 64 connections a second batch at 16 waiting split the writes into
 * smaller batches that cost more per row (BENCHMARKS.md, "The write path, fifth round").
 */
const GROUP_COMMIT = { concurrency: 2, fullBatch: 32, stallMs: 50, maxBatch: 256 };

/** A deletion (targeting rows go with the flag), on the same conditions and the same deadline check as an update. */
const deleteFlag = compiledStatement(sql`
  with changed as (
    delete from ${flags}
    where id = ${sql.placeholder("id")} and version = ${sql.placeholder("readVersion")} and ${scopeHolds}
    returning id),
  ${auditAndEvents}
  select count(*)::int as n, ${deadlineCheck(sql.placeholder("deadline"))} as in_time from changed`);

/** A flag row with its targeting in every environment, read in one statement (one snapshot). */
const configsOf = (flagId: SQL) =>
  sql<Record<string, FlagEnvironment>>`coalesce((
    select jsonb_object_agg(e.key, c.config) from ${flagConfigs} c join ${environments} e on e.id = c.environment_id
    where c.flag_id = ${flagId}), '{}'::jsonb)`.mapWith(parsedTargeting);
const withTargeting = { ...getTableColumns(flags), configs: configsOf(sql`${sql.identifier("flags")}.id`) };

type Row = typeof flags.$inferSelect;
const asRecord = (r: Row & { configs: Record<string, FlagEnvironment> }): FlagRecord => ({ ...r, doc: r.doc as unknown as FlagGlobal });

/**
 * What a write's failure means: past the deadline, the 504 refusal; the unique index on the audit
 * entry's operation, that the operation was applied before (the whole statement failed on it, so
 * nothing was written); anything else as it is.
 */
export function refused(audit: AuditEntry) {
  return (error: unknown): never => {
    if (audit.operationId !== null && isUniqueViolationOf(error, OPERATION_ID_INDEX)) throw new OperationAlreadyApplied(audit.operationId);
    // The statement was sent and its answer lost: it may have committed. Not "nothing changed".
    if (isOutcomeUnknown(error)) throw new VexilError("outcome_unknown", "The database went away while this change was being committed, so whether it was applied is unknown; read it before trying again");
    return refusedPastDeadline(error);
  };
}

export class DrizzleFlagStore implements FlagStore {
  /** The hottest reads (every flag request), built once. */
  private readonly byKey;
  private readonly inScope;

  /** Flag updates, written by group commit. */
  private readonly updates = new GroupCommit<UpdateRow>({
    ...GROUP_COMMIT,
    keyOf: (row) => row.id,
    // A batch whose answer was lost may have committed: trying its rows alone would hide that.
    final: isOutcomeUnknown,
    // A batch serves several requests: it runs under none of their deadlines, each row carries its own.
    writeBatch: async (rows) => new Set(rowsOf<{ ids: string[] | string }>(await withoutDeadline(() => updateFlags(this.db, batchParams(rows)))).flatMap((r) => parsedJson<string[]>(r.ids))),
  });

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

  async flagInScope(projectKey: string, flagKey: string): Promise<ScopedFlag | undefined> {
    const row = (await this.inScope.execute({ projectKey, flagKey }))[0];
    if (!row) return undefined;
    return {
      project: row.project,
      environments: row.environments.map((e) => rowFromJson(environments, e)),
      flag: row.flag ? asRecord({ ...row.flag, configs: row.configs }) : undefined,
    };
  }

  async projectScope(projectKey: string): Promise<ProjectScope | undefined> {
    // The flag key no flag can have: the same prepared statement, without a flag.
    const found = await this.flagInScope(projectKey, "");
    return found && { project: found.project, environments: found.environments };
  }

  async listFlags(projectId: string, q: FlagQuery): Promise<Listed<FlagRecord>> {
    const where = filters(projectId, q);
    // The page's keys are found first and only those rows get their targeting: building it for
    // every row before the offset made late pages cost as much as the whole project. Keys, not
    // ids: the default list (by key, not archived) then reads its partial index alone.
    const page = this.db.select({ key: flags.key }).from(flags).where(where).orderBy(...ordering(q)).limit(q.limit).offset(q.offset);
    const [keys, totals] = await Promise.all([page, this.db.select({ n: count() }).from(flags).where(where)]);
    const byKey = new Map((await this.flagsByKeys(projectId, keys.map((r) => r.key))).map((f) => [f.key, f]));
    return { items: keys.flatMap((r) => byKey.get(r.key) ?? []), total: totals[0]?.n ?? 0 };
  }

  async liveKeys(projectId: string): Promise<string[]> {
    const q: FlagQuery = { limit: 0, offset: 0, sort: { field: "key", descending: false } };
    return (await this.db.select({ key: flags.key }).from(flags).where(filters(projectId, q)).orderBy(...ordering(q))).map((r) => r.key);
  }

  async flagsByKeys(projectId: string, keys: string[]): Promise<FlagRecord[]> {
    if (keys.length === 0) return [];
    return (await this.db.select(withTargeting).from(flags).where(and(eq(flags.projectId, projectId), inArray(flags.key, keys)))).map(asRecord);
  }

  async flagByKey(projectId: string, key: string) {
    const rows = await this.byKey.execute({ projectId, key });
    return rows[0] && asRecord(rows[0]);
  }

  async prerequisiteGraph(projectId: string, from: string[], of?: string): Promise<PrerequisiteGraph> {
    // Each only when asked, each by index: the flags reached by following prerequisites from
    // `from`, a level at a time by key (chains are short; a cycle ends where keys repeat), and
    // those naming `of` (the GIN index on prerequisites).
    const reach = async (): Promise<FlagRecord[]> => {
      const found = new Map<string, FlagRecord>();
      for (let next = [...new Set(from)]; next.length > 0; ) {
        const level = await this.flagRows(sql`f.key in (${sql.join(next.map((k) => sql`${k}`), sql`, `)})`, projectId);
        for (const f of level) found.set(f.key, f);
        next = [...new Set(level.flatMap((f) => Object.values(f.configs).flatMap((c) => (c.prerequisites ?? []).map((p) => p.key))))].filter((k) => !found.has(k));
      }
      return [...found.values()];
    };
    const [reachable, dependents] = await Promise.all([
      from.length === 0 ? [] : reach(),
      of === undefined
        ? []
        : this.flagRows(sql`f.id = any(array(
            select c.flag_id from ${flagConfigs} c
            where c.config->'prerequisites' <> '[]'::jsonb
              and c.config->'prerequisites' @> jsonb_build_array(jsonb_build_object('key', ${of}::text))))`, projectId),
    ]);
    return { reachable, dependents };
  }

  /** The project's flags matching `where` (over `f`), with their targeting. */
  private async flagRows(where: SQL, projectId: string): Promise<FlagRecord[]> {
    const rows = rowsOf<{ flag: Record<string, unknown>; configs: unknown }>(
      await this.db.execute(sql`select to_jsonb(f) as flag, ${configsOf(sql`f.id`)} as configs from ${flags} f where f.project_id = ${projectId} and ${where}`),
    );
    return rows.map((r) => asRecord({ ...rowFromJson(flags, r.flag), configs: parsedTargeting(r.configs) }));
  }

  async insertFlag(flag: FlagRecord, audit: AuditEntry, changes: PendingChange[]) {
    await this.db
      .transaction(async (tx) => {
        await tx.insert(flags).values({ id: flag.id, projectId: flag.projectId, key: flag.key, doc: flag.doc as unknown as Record<string, unknown>, version: flag.version, createdAt: flag.createdAt });
        const envs = await tx.select({ id: environments.id, key: environments.key }).from(environments).where(eq(environments.projectId, flag.projectId));
        const rows = envs.filter((e) => flag.configs[e.key]).map((e) => ({ flagId: flag.id, environmentId: e.id, config: flag.configs[e.key] as unknown as Record<string, unknown> }));
        if (rows.length > 0) await tx.insert(flagConfigs).values(rows);
        await tx.insert(auditLog).values(audit);
        await writeChanges(tx, flag.projectId, changes, audit.date, envs);
      })
      .catch((e: unknown) => {
        if (isUniqueViolation(e)) throw conflict(`A flag with key "${flag.key}" already exists`);
        throw e;
      });
  }

  async writeFlag(read: ScopedFlag & { flag: FlagRecord }, write: FlagWrite): Promise<boolean> {
    const envs = read.environments;
    const events = outboxRows(write.changes, envs, write.audit.date).map((r) => ({ environment_id: r.environmentId, payload: r.payload, created_at: r.createdAt }));
    if (write.kind === "delete") {
      const result = await deleteFlag(this.db, { id: read.flag.id, readVersion: read.flag.version, scope: scopeStamp(read), projectId: read.project.id, audit: rowJson(auditLog, write.audit), events: JSON.stringify(events), deadline: commitDeadlineValue() }).catch(refused(write.audit));
      return Number(rowsOf<{ n: number }>(result)[0]?.n) === 1;
    }
    const { flag } = write;
    // Past its deadline a write does not join a batch; once in one, it is waited for until the
    // caller's deadline at most (the batch may still commit it in time).
    checkDeadline();
    const written = this.updates.write({
      id: read.flag.id,
      read_version: read.flag.version,
      version: flag.version,
      doc: flag.doc,
      scope: scopeStamp(read),
      project_id: read.project.id,
      audit: rowObject(auditLog, write.audit),
      events,
      // Only the targeting rows that differ from the read are sent: a change usually touches one
      // environment. Which ones differ is compared here, not taken from the change events, so a
      // change stores exactly the flag it decided on.
      configs: envs.filter((e) => flag.configs[e.key] && !Bun.deepEquals(flag.configs[e.key], read.flag.configs[e.key], true)).map((e) => ({ environment_id: e.id, config: flag.configs[e.key]! })),
      items: (write.schedule?.put ?? []).map(itemRow),
      remove_items: write.schedule?.remove ?? [],
      dropped: droppedRows(write.schedule?.dropped),
      approvals: (write.approvals?.put ?? []).map(requestRow),
      remove_approvals: write.approvals?.remove ?? [],
      deadline: commitDeadlineValue(),
    });
    return untilCallerDeadline(written.catch(refused(write.audit)));
  }
}
