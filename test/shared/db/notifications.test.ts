/**
 * Commit notifications on a real Postgres server and on PGlite: what the triggers send (the
 * outbox, changes, scheduled items), only on commit, and listening again after the server
 * restarts. Notifications of one listening session arrive in commit order, so a marker sent after
 * a statement proves that the statement sent nothing when the marker arrives first.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { sql } from "drizzle-orm";
import { openDatabase, type Database } from "@vexil/shared/db/connector";
import { migrate } from "@vexil/shared/db/migrate";
import { CHANGES_CHANNEL, OUTBOX_CHANNEL, SCHEDULE_CHANNEL, changeNoticePayload, parseChangeNotice, parseScheduleNotice, type ChangeNotice } from "@vexil/shared/db/notifications";
import { startPostgres, testDatabaseUrl, type PgServer } from "../../support/postgres.ts";

describe("change notice payloads", () => {
  const notices: ChangeNotice[] = [
    { kind: "flag", projectId: "p".repeat(24), version: 7, key: "new-checkout.v2_beta" },
    { kind: "flag", projectId: "p".repeat(24), version: -1, key: "gone" },
    { kind: "segment", environmentId: "e".repeat(24), version: 1, key: "beta-users" },
    { kind: "segment", environmentId: "e".repeat(24), version: -1, key: "s" },
    { kind: "project", projectId: "p".repeat(24) },
    { kind: "flags", projectId: "p".repeat(24) },
  ];

  test("are built and read back", () => {
    expect(notices.map(changeNoticePayload)).toEqual([
      `flag:${"p".repeat(24)}:7:new-checkout.v2_beta`,
      `flag:${"p".repeat(24)}:-1:gone`,
      `segment:${"e".repeat(24)}:1:beta-users`,
      `segment:${"e".repeat(24)}:-1:s`,
      `project:${"p".repeat(24)}`,
      `flags:${"p".repeat(24)}`,
    ]);
    for (const notice of notices) expect(parseChangeNotice(changeNoticePayload(notice))).toEqual(notice);
  });

  test("the key is everything after the version, so even a key with ':' reads back whole", () => {
    expect(parseChangeNotice("flag:p1:3:a:b")).toEqual({ kind: "flag", projectId: "p1", version: 3, key: "a:b" });
  });

  test("anything the triggers do not send is refused", () => {
    for (const bad of ["", "flag", "flag:p", "flag:p:1", "flag:p:1:", "flag::1:k", "flag:p:x:k", "flag:p:01:k", "flag:p:-2:k", "flag:p:1.5:k", "project:", "project:p:1", "flags:", "flags:p:1", "environment:e", "segment:e:99999999999:k"]) {
      expect(parseChangeNotice(bad)).toBeUndefined();
    }
  });
});

const P = "p".repeat(24);
const E1 = "1".repeat(24);
const E2 = "2".repeat(24);

async function seed(database: Database): Promise<void> {
  await database.db.execute(sql`insert into projects (id, key, name, tags, include_in_snippet_by_default, csa_using_environment_id, csa_using_mobile_key, created_at, version)
    values (${P}, 'shop', 'Shop', '[]', false, false, true, 1, 1)`);
  await insertEnvironment(database, E1, "production");
}

const insertEnvironment = (database: Database, id: string, key: string) =>
  database.db.execute(sql`insert into environments (id, project_id, key, name, color, default_ttl, secure_mode, default_track_events, require_comments, confirm_changes, tags, critical, sdk_key_last4, mobile_key_last4, created_at, version)
    values (${id}, ${P}, ${key}, ${key}, '000000', 0, false, false, false, false, '[]', false, '0000', '0000', 1, 1)`);

const insertOutbox = (database: Database) => database.db.execute(sql`insert into outbox (environment_id, payload, created_at) values (${E1}, '{}', 1)`);

/** Everything heard on a channel, in order. */
async function hear(database: Database, channel: string) {
  const heard: string[] = [];
  let resets = 0;
  let losses = 0;
  const stop = await database.listen(
    channel,
    (payload) => heard.push(payload),
    () => resets++,
    () => losses++,
  );
  return {
    heard,
    resets: () => resets,
    losses: () => losses,
    stop,
    /** Sends `marker` on the channel (committed) and returns what was heard before it. */
    async until(marker: string): Promise<string[]> {
      await database.db.execute(sql`select pg_notify(${channel}, ${marker})`);
      for (let i = 0; i < 500 && !heard.includes(marker); i++) await Bun.sleep(10);
      const at = heard.indexOf(marker);
      if (at < 0) throw new Error(`the marker ${marker} never arrived`);
      return heard.splice(0, at + 1).slice(0, -1);
    },
  };
}

function suite(engine: string, open: () => Promise<Database>) {
  describe(`notifications on ${engine}`, () => {
    let database: Database;
    beforeAll(async () => {
      database = await open();
      await seed(database);
    }, 60_000);
    afterAll(async () => {
      await database?.close();
    });

    test("a committed outbox insert notifies vexil_outbox once; a rolled-back one and one inserting no row do not", async () => {
      const outbox = await hear(database, OUTBOX_CHANNEL);
      await database.db
        .transaction(async (tx) => {
          await tx.execute(sql`insert into outbox (environment_id, payload, created_at) values (${E1}, '{}', 1)`);
          throw new Error("roll back");
        })
        .catch(() => undefined);
      await database.db.execute(sql`insert into outbox (environment_id, payload, created_at) select ${E1}, '{}', 1 where false`);
      expect(await outbox.until("m1")).toEqual([]);

      await database.db.transaction(async (tx) => {
        await tx.execute(sql`insert into outbox (environment_id, payload, created_at) values (${E1}, '{}', 1), (${E1}, '{}', 2)`);
        await tx.execute(sql`insert into outbox (environment_id, payload, created_at) values (${E1}, '{}', 3)`);
      });
      await insertOutbox(database);
      expect(await outbox.until("m2")).toEqual(["", ""]);
      await outbox.stop();
    });

    test("flag changes give flag:<project>:<version>:<key>, a deletion version -1; creation, deletion, archiving and restoring also flags:<project>", async () => {
      const changes = await hear(database, CHANGES_CHANNEL);
      await database.db.execute(sql`insert into flags (id, project_id, key, doc, version, created_at) values ('f1', ${P}, 'checkout.v2', '{}', 1, 1)`);
      await database.db.execute(sql`update flags set version = 2 where id = 'f1'`);
      await database.db.execute(sql`update flags set version = 3, doc = '{"archived": true}' where id = 'f1'`);
      await database.db.execute(sql`update flags set version = 4, doc = '{"archived": true, "name": "x"}' where id = 'f1'`);
      await database.db.execute(sql`update flags set version = 5, doc = '{"archived": false}' where id = 'f1'`);
      await database.db.execute(sql`delete from flags where id = 'f1'`);
      await database.db
        .transaction(async (tx) => {
          await tx.execute(sql`insert into flags (id, project_id, key, doc, version, created_at) values ('f2', ${P}, 'never', '{}', 1, 1)`);
          throw new Error("roll back");
        })
        .catch(() => undefined);
      expect(await changes.until("m")).toEqual([
        `flag:${P}:1:checkout.v2`,
        `flags:${P}`,
        `flag:${P}:2:checkout.v2`,
        `flag:${P}:3:checkout.v2`,
        `flags:${P}`,
        `flag:${P}:4:checkout.v2`,
        `flag:${P}:5:checkout.v2`,
        `flags:${P}`,
        `flag:${P}:-1:checkout.v2`,
        `flags:${P}`,
      ]);
      expect((await changes.until("m")).map(parseChangeNotice)).toEqual([]);
      await changes.stop();
    });

    test("segment changes give segment:<environment>:<version>:<key>, a deletion version -1", async () => {
      const changes = await hear(database, CHANGES_CHANNEL);
      await database.db.execute(sql`insert into segments (id, project_id, environment_id, key, doc, version, created_at) values ('s1', ${P}, ${E1}, 'beta-users', '{}', 1, 1)`);
      await database.db.execute(sql`update segments set version = 2 where id = 's1'`);
      await database.db.execute(sql`delete from segments where id = 's1'`);
      const heard = await changes.until("m");
      expect(heard).toEqual([`segment:${E1}:1:beta-users`, `segment:${E1}:2:beta-users`, `segment:${E1}:-1:beta-users`]);
      expect(heard.map(parseChangeNotice)).toEqual([
        { kind: "segment", environmentId: E1, version: 1, key: "beta-users" },
        { kind: "segment", environmentId: E1, version: 2, key: "beta-users" },
        { kind: "segment", environmentId: E1, version: -1, key: "beta-users" },
      ]);
      await changes.stop();
    });

    test("a project's update, and its environments' insert, update and delete, give project:<project>", async () => {
      const changes = await hear(database, CHANGES_CHANNEL);
      await database.db.execute(sql`update projects set name = 'Shop 2', version = 2 where id = ${P}`);
      await insertEnvironment(database, E2, "staging");
      await database.db.execute(sql`update environments set name = 'Staging' where id = ${E2}`);
      await database.db.execute(sql`delete from environments where id = ${E2}`);
      expect(await changes.until("m")).toEqual(Array.from({ length: 4 }, () => `project:${P}`));
      await changes.stop();
    });

    test("deleting a project notifies for it and for what the deletion took with it", async () => {
      const changes = await hear(database, CHANGES_CHANNEL);
      await database.db.execute(sql`insert into flags (id, project_id, key, doc, version, created_at) values ('f3', ${P}, 'doomed', '{}', 4, 1)`);
      await database.db.execute(sql`insert into segments (id, project_id, environment_id, key, doc, version, created_at) values ('s3', ${P}, ${E1}, 'doomed-segment', '{}', 2, 1)`);
      await changes.until("m1");
      await database.db.execute(sql`delete from projects where id = ${P}`);
      // One transaction: the same notice from the project and its environment arrives once.
      expect((await changes.until("m2")).sort()).toEqual([`flag:${P}:-1:doomed`, `flags:${P}`, `project:${P}`, `segment:${E1}:-1:doomed-segment`]);
      await changes.stop();
      await seed(database);
    });

    test("scheduled items made, moved or released give vexil_schedule with the earliest due time; claims, failures, executions and rollbacks send nothing", async () => {
      const schedule = await hear(database, SCHEDULE_CHANNEL);
      const item = (id: string, due: number) => sql`(${id}, 'flagChange', ${P}, ${E1}, 'shop', 'production', 'checkout', ${due}, 'pending', 1, 1, '{}')`;
      const insert = (...rows: ReturnType<typeof item>[]) =>
        sql`insert into scheduled_items (id, kind, project_id, environment_id, project_key, environment_key, resource_key, due_at, status, version, created_at, creator) values ${sql.join(rows, sql`, `)}`;
      await database.db.execute(insert(item("i1", 5_000), item("i2", 3_000)));
      // Moved, by an upsert as the write path does it.
      await database.db.execute(sql`${insert(item("i1", 2_000))} on conflict (id) do update set due_at = excluded.due_at`);
      expect((await schedule.until("m1")).map(parseScheduleNotice)).toEqual([3_000, 2_000]);

      await database.db.execute(sql`update scheduled_items set lease_token = 't', lease_until = 9000`);
      await database.db.execute(sql`update scheduled_items set status = 'failed', failure = '{}', lease_token = null, lease_until = null where id = 'i2'`);
      await database.db.execute(sql`delete from scheduled_items where id = 'i2'`);
      await database.db
        .transaction(async (tx) => {
          await tx.execute(insert(item("i3", 1_000)));
          throw new Error("roll back");
        })
        .catch(() => undefined);
      expect(await schedule.until("m2")).toEqual([]);

      // Released by a scheduler (the item changed while it held it): due again.
      await database.db.execute(sql`update scheduled_items set lease_token = null, lease_until = null where id = 'i1'`);
      expect((await schedule.until("m3")).map(parseScheduleNotice)).toEqual([2_000]);
      expect(["m3", "", "1e3"].map(parseScheduleNotice)).toEqual([undefined, undefined, undefined]);
      await database.db.execute(sql`delete from scheduled_items`);
      await schedule.stop();
    });

    test("after unlisten nothing more arrives for that listener; others on the channel still hear", async () => {
      const first = await hear(database, OUTBOX_CHANNEL);
      const second = await hear(database, OUTBOX_CHANNEL);
      await first.stop();
      await first.stop();
      await insertOutbox(database);
      expect(await second.until("m")).toEqual([""]);
      expect(first.heard).toEqual([]);
      await second.stop();
    });
  });
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

suite("Postgres", async () => {
  const database = await openDatabase({ url: await testDatabaseUrl(), dataDir: "/nonexistent-unused", max: 2 });
  return database;
});

suite("PGlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vexil-notify-"));
  dirs.push(dir);
  const database = await openDatabase({ url: undefined, dataDir: dir });
  await migrate(database.db);
  return database;
});

describe("notifications across a Postgres restart", () => {
  let server: PgServer;
  let database: Database;
  beforeAll(async () => {
    server = await startPostgres();
    const admin = postgres(server.url(), { max: 1, onnotice: () => {} });
    await admin.unsafe("create database notify_restart");
    await admin.end();
    database = await openDatabase({ url: server.url("notify_restart"), dataDir: "/nonexistent-unused", max: 2 });
    await migrate(database.db);
    await seed(database);
  }, 60_000);
  afterAll(async () => {
    await database?.close();
    await server?.destroy();
  });

  test("onReset is called once the connection is back, and notifications flow again", async () => {
    const outbox = await hear(database, OUTBOX_CHANNEL);
    await insertOutbox(database);
    expect(await outbox.until("before")).toEqual([""]);
    expect(outbox.resets()).toBe(0);
    expect(outbox.losses()).toBe(0);

    // The test server commits asynchronously and stops without a shutdown checkpoint: write it all out first.
    await database.db.execute(sql`checkpoint`);
    await server.stop();
    // The loss is told at once, before anything is heard again.
    for (let i = 0; i < 500 && outbox.losses() === 0; i++) await Bun.sleep(10);
    expect(outbox.losses()).toBe(1);
    // Longer than a first reconnection attempt, which then finds the server away.
    await Bun.sleep(1_500);
    await server.start();
    for (let i = 0; i < 1_000 && outbox.resets() === 0; i++) await Bun.sleep(20);
    expect(outbox.resets()).toBe(1);
    expect(outbox.losses()).toBe(1);

    // A commit from another connection, as another instance would make it.
    const other = postgres(server.url("notify_restart"), { max: 1, onnotice: () => {} });
    await other`insert into outbox (environment_id, payload, created_at) values (${E1}, '{}', 1)`;
    await other.end();
    expect(await outbox.until("after")).toEqual([""]);
    await outbox.stop();
  }, 60_000);
});
