/**
 * Applies the drizzle-kit migrations (journaled in `./migrations`) at start-up, in one
 * transaction under a Postgres advisory lock, so that any number of instances may start at once.
 */
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import type { Db } from "./connector.ts";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));

/** Shared by every advisory lock Vexil takes; the second key names the purpose. */
export const LOCK_NAMESPACE = 0x5645_5849; // "VEXI"
export const MIGRATION_LOCK = 1;

export async function migrate(db: Db, migrationsFolder = MIGRATIONS_FOLDER): Promise<number> {
  const migrations = readMigrationFiles({ migrationsFolder });
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${MIGRATION_LOCK})`);
    await tx.execute(sql`create table if not exists vexil_migrations (hash text primary key, created_at bigint not null, applied_at timestamptz not null default now())`);
    const rows = await tx.execute(sql`select hash from vexil_migrations`);
    const applied = new Set(rowsOf<{ hash: string }>(rows).map((r) => r.hash));
    let count = 0;
    for (const migration of migrations) {
      if (applied.has(migration.hash)) continue;
      for (const statement of migration.sql) {
        if (statement.trim()) await tx.execute(sql.raw(statement));
      }
      await tx.execute(sql`insert into vexil_migrations (hash, created_at) values (${migration.hash}, ${migration.folderMillis})`);
      count++;
    }
    return count;
  });
}

/** postgres.js returns an array of rows; PGlite returns `{rows}`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
