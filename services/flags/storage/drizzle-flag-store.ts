import { and, asc, count, desc, eq, inArray, ne, or, sql, type SQL } from "drizzle-orm";
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import { likePattern, isUniqueViolation, type Db, type Executor } from "@vexil/shared/db/connector";
import type { ChangeEvent, PendingChange } from "@vexil/shared/change-events";
import { conflict } from "@vexil/shared/errors";
import type { FlagEnvironment } from "../domain/flags/model.ts";
import type { FlagGlobal, FlagOutcome, FlagQuery, FlagRecord, FlagStore } from "./flag-store.ts";
import type { Listed } from "./project-store.ts";
import { environmentSequences, environments, flagConfigs, flags, outbox } from "./schema.ts";

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

const envIdsOf = (tx: Executor, projectId: string): Promise<EnvIds> =>
  tx.select({ id: environments.id, key: environments.key }).from(environments).where(eq(environments.projectId, projectId));

/**
 * Writes change events to the outbox, each with the next sequence number of its environment. The
 * sequence row stays locked until commit, so per environment, commit order is sequence order.
 */
export async function writeChanges(tx: Executor, projectId: string, changes: PendingChange[], now: number, known?: EnvIds): Promise<void> {
  if (changes.length === 0) return;
  const envs = known ?? (await envIdsOf(tx, projectId));
  for (const change of changes) {
    const env = envs.find((e) => e.key === change.environmentKey);
    if (!env) continue;
    const { environmentKey: _, ...rest } = change;
    const event = { v: 1, environmentId: env.id, seq: 0, ...rest } satisfies ChangeEvent;
    // One statement: take the environment's next sequence number (its row stays locked until
    // commit) and write the outbox row carrying it.
    await tx.execute(sql`
      with next as (
        insert into ${environmentSequences} (environment_id, seq) values (${env.id}, 1)
        on conflict (environment_id) do update set seq = ${environmentSequences}.seq + 1
        returning seq
      )
      insert into ${outbox} (environment_id, seq, payload, created_at)
      select ${env.id}, next.seq, jsonb_set(${JSON.stringify(event)}::jsonb, '{seq}', to_jsonb(next.seq)), ${now} from next`);
  }
}


/** The CTE parts that take each change's sequence number and write its outbox row. */
function changeParts(changes: PendingChange[], envs: EnvIds, now: number): SQL[] {
  const parts: SQL[] = [];
  changes.forEach((change, i) => {
    const env = envs.find((e) => e.key === change.environmentKey);
    if (!env) return;
    const { environmentKey: _, ...rest } = change;
    const event = { v: 1, environmentId: env.id, seq: 0, ...rest } satisfies ChangeEvent;
    const seq = sql.raw(`seq_${i}`);
    parts.push(
      sql`${seq} as (insert into ${environmentSequences} (environment_id, seq) values (${env.id}, 1) on conflict (environment_id) do update set seq = ${environmentSequences}.seq + 1 returning seq)`,
      sql`${sql.raw(`event_${i}`)} as (insert into ${outbox} (environment_id, seq, payload, created_at) select ${env.id}, ${seq}.seq, jsonb_set(${JSON.stringify(event)}::jsonb, '{seq}', to_jsonb(${seq}.seq)), ${now} from ${seq})`,
    );
  });
  return parts;
}

export class DrizzleFlagStore implements FlagStore {
  constructor(private readonly db: Db) {}

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
      this.db.select().from(flags).where(where).orderBy(...ordering(q)).limit(q.limit).offset(q.offset),
      this.db.select({ n: count() }).from(flags).where(where),
    ]);
    return { items: await this.withConfigs(rows), total: totals[0]?.n ?? 0 };
  }

  async flagByKey(projectId: string, key: string) {
    const rows = await this.db.select().from(flags).where(and(eq(flags.projectId, projectId), eq(flags.key, key))).limit(1);
    return (await this.withConfigs(rows))[0];
  }

  async projectFlags(projectId: string) {
    return this.withConfigs(await this.db.select().from(flags).where(eq(flags.projectId, projectId)));
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
  ): Promise<T> {
    return this.db.transaction(async (tx) => {
      // Lock first, then read the targeting rows: a statement that waited for the lock sees the
      // locked row's newest version but joined rows only as they were when it started.
      const rows = await tx.select().from(flags).where(and(eq(flags.projectId, projectId), eq(flags.key, key))).limit(1).for("update");
      const current = (await this.withConfigs(rows, tx))[0];
      const others = async () => (current ? this.withConfigs(await tx.select().from(flags).where(and(eq(flags.projectId, projectId), ne(flags.id, current.id))), tx) : []);
      const outcome = await change(current, others);
      if (outcome.kind === "update") {
        const { flag } = outcome;
        const envs = known ?? (await envIdsOf(tx, projectId));
        // The flag, its changed targeting rows, the audit entry and the change events: one statement.
        const changed = new Set(outcome.changes.map((c) => c.environmentKey));
        const configRows = envs
          .filter((e) => flag.configs[e.key] && changed.has(e.key))
          .map((e) => ({ flagId: flag.id, environmentId: e.id, config: flag.configs[e.key] as unknown as Record<string, unknown> }));
        const parts: SQL[] = [
          // An embedded query builder brings its own parentheses.
          sql`flag_row as ${tx.update(flags).set({ doc: flag.doc as unknown as Record<string, unknown>, version: flag.version }).where(eq(flags.id, flag.id))}`,
          sql`audit_row as ${tx.insert(auditLog).values(outcome.audit)}`,
          ...changeParts(outcome.changes, envs, outcome.audit.date),
        ];
        if (configRows.length > 0) {
          parts.push(
            sql`config_rows as ${tx
              .insert(flagConfigs)
              .values(configRows)
              .onConflictDoUpdate({ target: [flagConfigs.flagId, flagConfigs.environmentId], set: { config: sql`excluded.config` } })}`,
          );
        }
        await tx.execute(sql`with ${sql.join(parts, sql`, `)} select 1`);
      } else if (outcome.kind === "delete" && current) {
        await tx.delete(flags).where(eq(flags.id, current.id));
        await tx.insert(auditLog).values(outcome.audit);
        await writeChanges(tx, projectId, outcome.changes, outcome.audit.date);
      }
      return outcome.result;
    });
  }
}
