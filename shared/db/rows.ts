/**
 * A row as one JSON document keyed by column name, for statements that write it with
 * `jsonb_populate_record(null::<table>, <json>)`: an insert that selects from an earlier part of
 * the same statement (and so writes nothing when that part matched nothing).
 */
import { getTableColumns, getTableName, sql, type Placeholder, type SQL } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";

export function rowJson<T extends PgTable>(table: T, values: Partial<T["$inferInsert"]>): string {
  return JSON.stringify(rowObject(table, values));
}

/** The same row as an object keyed by column name, to embed in a larger JSON value. */
export function rowObject<T extends PgTable>(table: T, values: Partial<T["$inferInsert"]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [property, column] of Object.entries(getTableColumns(table))) {
    const value = (values as Record<string, unknown>)[property];
    if (value !== undefined) out[column.name] = value;
  }
  return out;
}

/**
 * `insert into <table> select the row from <source>`: one row per row of `source`, the row given as
 * JSON (`rowJson`) by `json`, typically a placeholder, so the statement has one shape whatever the
 * row holds. Every column is written; one the JSON leaves out takes its default, or null. The row
 * is read as `json`, not `jsonb`: a `json` column takes its value's text as it is, unconverted.
 * `given`: columns whose values come from elsewhere in the statement, by property name.
 */
export function insertRowFrom<T extends PgTable>(table: T, source: SQL, json: SQL | Placeholder, given: Partial<Record<keyof T["$inferInsert"], SQL>> = {}): SQL {
  const name = sql.identifier(getTableName(table));
  const columns = Object.entries(getTableColumns(table));
  const list = sql.join(columns.map(([, c]) => sql.identifier(c.name)), sql`, `);
  const values = columns.map(([property, c]) => {
    const value = (given as Record<string, SQL | undefined>)[property] ?? sql`r.${sql.identifier(c.name)}`;
    return c.default === undefined ? value : sql`coalesce(${value}, ${c.default})`;
  });
  return sql`insert into ${name} (${list}) select ${sql.join(values, sql`, `)} from ${source}, json_populate_record(null::${name}, ${json}::json) as r`;
}

/** The reverse of `rowJson`: a row read as JSON (e.g. `to_jsonb(t)`), keyed by property name. */
export function rowFromJson<T extends PgTable>(table: T, json: Record<string, unknown>): T["$inferSelect"] {
  const out: Record<string, unknown> = {};
  for (const [property, column] of Object.entries(getTableColumns(table))) out[property] = json[column.name];
  return out as T["$inferSelect"];
}
