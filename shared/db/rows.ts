/**
 * A row as one JSON document keyed by column name, for statements that write it with
 * `jsonb_populate_record(null::<table>, <json>)`: an insert that selects from an earlier part of
 * the same statement (and so writes nothing when that part matched nothing).
 */
import { getTableColumns, getTableName, sql, type SQL } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";

export function rowJson<T extends PgTable>(table: T, values: Partial<T["$inferInsert"]>): string {
  const out: Record<string, unknown> = {};
  for (const [property, column] of Object.entries(getTableColumns(table))) {
    const value = (values as Record<string, unknown>)[property];
    if (value !== undefined) out[column.name] = value;
  }
  return JSON.stringify(out);
}

/** `insert into <table> select the row from <source>`: one row per row of `source`. */
export function insertRowFrom<T extends PgTable>(table: T, values: T["$inferInsert"], source: SQL): SQL {
  const name = sql.identifier(getTableName(table));
  // Only the columns given, so the others take their defaults.
  const columns = Object.entries(getTableColumns(table))
    .filter(([property]) => (values as Record<string, unknown>)[property] !== undefined)
    .map(([, c]) => sql.identifier(c.name));
  const list = sql.join(columns, sql`, `);
  return sql`insert into ${name} (${list}) select ${sql.join(columns.map((c) => sql`r.${c}`), sql`, `)} from ${source}, jsonb_populate_record(null::${name}, ${rowJson(table, values)}::jsonb) as r`;
}

/** The reverse of `rowJson`: a row read as JSON (e.g. `to_jsonb(t)`), keyed by property name. */
export function rowFromJson<T extends PgTable>(table: T, json: Record<string, unknown>): T["$inferSelect"] {
  const out: Record<string, unknown> = {};
  for (const [property, column] of Object.entries(getTableColumns(table))) out[property] = json[column.name];
  return out as T["$inferSelect"];
}
