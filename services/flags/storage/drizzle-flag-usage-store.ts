/** Flag usage on Postgres: one row per flag and environment, merged by one upsert per batch. */
import { sql } from "drizzle-orm";
import { compiledStatement, type Db } from "@vexil/shared/db/connector";
import { rowsOf } from "@vexil/shared/db/migrate";
import type { FlagUsage, FlagUsageStore, UsageBatch } from "./flag-usage-store.ts";
import { environments, flagUsage, flags } from "./schema.ts";

const parsedJson = <T>(v: unknown) => (typeof v === "string" ? JSON.parse(v) : v) as T;

/** Each variation's counts added up and the later time kept, over what is stored and what came. */
const mergedVariations = sql`(
  select coalesce(jsonb_object_agg(k, jsonb_build_object('count', n, 'lastRequested', at)), '{}'::jsonb)
  from (
    select k, sum(n) as n, max(at) as at from (
      select key as k, (value->>'count')::bigint as n, (value->>'lastRequested')::bigint as at from jsonb_each(${flagUsage}.variations)
      union all
      select key, (value->>'count')::bigint, (value->>'lastRequested')::bigint from jsonb_each(excluded.variations)
    ) both_sides group by k
  ) merged)`;

/**
 * The batch's flags found by key in the environment's project (others are skipped), in flag id
 * order so that two instances merging batches that share flags lock rows in the same order. An
 * absent `default` stays SQL null; a JSON null default is the jsonb `null`.
 */
const record = compiledStatement(sql`
  insert into ${flagUsage} (environment_id, flag_id, last_requested, evaluations, variations, default_value)
  select e.id, f.id, (r->>'lastRequested')::bigint, (r->>'evaluations')::bigint, r->'variations', r->'default'
  from ${environments} e
  cross join lateral jsonb_array_elements(${sql.placeholder("flags")}::jsonb) r
  join ${flags} f on f.project_id = e.project_id and f.key = r->>'key'
  where e.id = ${sql.placeholder("environmentId")}
  order by f.id
  on conflict (environment_id, flag_id) do update set
    last_requested = greatest(${flagUsage}.last_requested, excluded.last_requested),
    evaluations = ${flagUsage}.evaluations + excluded.evaluations,
    variations = ${mergedVariations},
    default_value = case
      when excluded.default_value is not null and (${flagUsage}.default_value is null or excluded.last_requested >= ${flagUsage}.last_requested)
      then excluded.default_value else ${flagUsage}.default_value end`);

/** A row as JSON, its default wrapped so that a null default and none stay apart. */
const usageJson = sql`jsonb_build_object(
  'lastRequested', u.last_requested, 'evaluations', u.evaluations, 'variations', u.variations,
  'reportedDefault', case when u.default_value is null then null else jsonb_build_object('value', u.default_value) end)`;

function usageOf(json: unknown): FlagUsage {
  const u = parsedJson<FlagUsage & { reportedDefault: { value: unknown } | null }>(json);
  const usage: FlagUsage = { lastRequested: Number(u.lastRequested), evaluations: Number(u.evaluations), variations: u.variations };
  if (u.reportedDefault) usage.reportedDefault = u.reportedDefault;
  return usage;
}

export class DrizzleFlagUsageStore implements FlagUsageStore {
  constructor(private readonly db: Db) {}

  async recordUsage(batch: UsageBatch): Promise<void> {
    if (batch.flags.length === 0) return;
    const rows = batch.flags.map((f) => {
      const row: Record<string, unknown> = { key: f.key, lastRequested: f.lastRequested, evaluations: f.evaluations, variations: f.variations };
      if (f.reportedDefault) row.default = f.reportedDefault.value;
      return row;
    });
    await record(this.db, { environmentId: batch.environmentId, flags: JSON.stringify(rows) });
  }

  async usageInEnvironment(environmentId: string): Promise<Map<string, FlagUsage>> {
    const rows = rowsOf<{ key: string; usage: unknown }>(
      await this.db.execute(sql`select f.key, ${usageJson} as usage from ${flagUsage} u join ${flags} f on f.id = u.flag_id where u.environment_id = ${environmentId}`),
    );
    return new Map(rows.map((r) => [r.key, usageOf(r.usage)]));
  }

  async usageOfFlag(flagId: string): Promise<Map<string, FlagUsage>> {
    const rows = rowsOf<{ environment_id: string; usage: unknown }>(await this.db.execute(sql`select u.environment_id, ${usageJson} as usage from ${flagUsage} u where u.flag_id = ${flagId}`));
    return new Map(rows.map((r) => [r.environment_id, usageOf(r.usage)]));
  }
}
