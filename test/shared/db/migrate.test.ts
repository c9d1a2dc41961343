/** Migrations on a real Postgres server: N instances starting at once apply each migration exactly once. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { readMigrationFiles } from "drizzle-orm/migrator";
import type { Db } from "@vexil/shared/db/connector";
import { MIGRATIONS_FOLDER, migrate, rowsOf } from "@vexil/shared/db/migrate";
import { emptyDatabaseUrl } from "../../support/postgres.ts";

// The first database starts the shared throwaway server (initdb and a migrated template): allow it time.
beforeAll(async () => {
  await emptyDatabaseUrl();
}, 60_000);

const clients: Array<ReturnType<typeof postgres>> = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
});

function connect(url: string) {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  clients.push(client);
  return { client, db: drizzle(client) as unknown as Db };
}

const EXPECTED_TABLES = [
  "access_tokens",
  "approval_requests",
  "audit_log",
  "custom_roles",
  "environment_keys",
  "environment_sequences",
  "environments",
  "flag_configs",
  "flag_usage",
  "flags",
  "flags_bootstrap",
  "members",
  "outbox",
  "projects",
  "retired_token_secrets",
  "scheduled_items",
  "segments",
  "sessions",
  "vexil_migrations",
  "webhook_attempts",
  "webhook_deliveries",
  "webhook_feed",
  "webhook_stream_cursor",
  "webhook_stream_dead",
  "webhook_stream_planned",
  "webhooks",
];

describe("migrate", () => {
  test("five instances migrating an empty database at once apply every migration exactly once", async () => {
    const url = await emptyDatabaseUrl();
    const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
    expect(migrations.length).toBeGreaterThan(0);

    const connections = Array.from({ length: 5 }, () => connect(url));
    const counts = await Promise.all(connections.map(({ db }) => migrate(db)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(migrations.length);
    expect(counts.filter((c) => c === migrations.length)).toHaveLength(1);

    const { client } = connections[0]!;
    const tables = await client<{ table_name: string }[]>`select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    expect(tables.map((t) => t.table_name)).toEqual(EXPECTED_TABLES);

    const rows = await client<{ hash: string; created_at: string }[]>`select hash, created_at from vexil_migrations order by created_at`;
    expect(rows.map((r) => r.hash)).toEqual(migrations.map((m) => m.hash));
    expect(rows.map((r) => Number(r.created_at))).toEqual(migrations.map((m) => m.folderMillis));

    expect(await migrate(connections[1]!.db)).toBe(0);
    expect([...(await client`select count(*)::int as n from vexil_migrations`)]).toEqual([{ n: migrations.length }]);
  });

  test("a new migration in the folder is applied on the next run, and only it", async () => {
    const url = await emptyDatabaseUrl();
    const { db, client } = connect(url);
    const applied = await migrate(db);

    // A copy of the real migrations plus one more, journaled as drizzle-kit would.
    const folder = mkdtempSync(join(tmpdir(), "vexil-migrations-"));
    try {
      const journal = (await Bun.file(join(MIGRATIONS_FOLDER, "meta", "_journal.json")).json()) as {
        entries: Array<{ idx: number; version: string; when: number; tag: string; breakpoints: boolean }>;
      };
      mkdirSync(join(folder, "meta"));
      for (const entry of journal.entries) {
        writeFileSync(join(folder, `${entry.tag}.sql`), await Bun.file(join(MIGRATIONS_FOLDER, `${entry.tag}.sql`)).text());
      }
      const last = journal.entries[journal.entries.length - 1]!;
      journal.entries.push({ idx: last.idx + 1, version: last.version, when: last.when + 1000, tag: "9999_extra", breakpoints: true });
      writeFileSync(join(folder, "meta", "_journal.json"), JSON.stringify(journal));
      writeFileSync(join(folder, "9999_extra.sql"), 'CREATE TABLE "extra_table" ("id" text PRIMARY KEY);\n--> statement-breakpoint\nINSERT INTO "extra_table" VALUES (\'x\');');

      expect(await migrate(db, folder)).toBe(1);
      expect([...(await client`select id from extra_table`)]).toEqual([{ id: "x" }]);
      expect([...(await client`select count(*)::int as n from vexil_migrations`)]).toEqual([{ n: applied + 1 }]);
      expect(await migrate(db, folder)).toBe(0);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test("a failing migration leaves nothing behind", async () => {
    const url = await emptyDatabaseUrl();
    const { db, client } = connect(url);
    const folder = mkdtempSync(join(tmpdir(), "vexil-migrations-"));
    try {
      mkdirSync(join(folder, "meta"));
      writeFileSync(
        join(folder, "meta", "_journal.json"),
        JSON.stringify({ version: "7", dialect: "postgresql", entries: [{ idx: 0, version: "7", when: 1, tag: "0000_bad", breakpoints: true }] }),
      );
      writeFileSync(join(folder, "0000_bad.sql"), 'CREATE TABLE "half" ("id" text);\n--> statement-breakpoint\nTHIS IS NOT SQL;');
      await expect(migrate(db, folder)).rejects.toThrow();
      const tables = await client`select table_name from information_schema.tables where table_schema = 'public'`;
      expect(tables.length).toBe(0);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("rowsOf", () => {
  test("reads both driver result shapes", () => {
    expect(rowsOf([{ a: 1 }])).toEqual([{ a: 1 }]);
    expect(rowsOf({ rows: [{ b: 2 }] })).toEqual([{ b: 2 }]);
    expect(rowsOf({})).toEqual([]);
  });
});
