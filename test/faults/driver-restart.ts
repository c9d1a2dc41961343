/**
 * postgres.js alone (no Vexil code) over a throwaway Postgres stopped (immediate shutdown) and
 * started again several times, under reads, transactions and a large statement, with the pool
 * settings of `shared/db/connector.ts`. Counts the statements begun well after a restart (1.5 s,
 * when the pool answers again) that are still unanswered 5 s later — the statements a request loses
 * to its deadline (postgres.js 3.x lost 1 to 24 a run: docs/faults.md, *Findings fixed*). Prints
 * the counts after each restart, one JSON object a line; `driver-restart.test.ts` runs it.
 *
 *   bun test/faults/driver-restart.ts [rounds]
 */
import postgres from "postgres";
import { startPostgres } from "../../infra/local/postgres.ts";
import { poolOptions } from "../../shared/db/connector.ts";

const rounds = Number(process.argv[2] ?? 5);
const pg = await startPostgres();
const sql = postgres(pg.url(), poolOptions(10));
await sql`create table t (id int primary key, v text)`;
await sql`insert into t select g, 'x' || g from generate_series(1, 100) g`;

const counts = { answered: 0, refused: 0, unanswered: 0, unansweredAfterRestart: 0 };
let stopped = false;
let restartedAt = 0;
const anyId = () => 1 + Math.floor(Math.random() * 100);

/** One statement (or transaction): answered, refused, or still unanswered after 5 s. */
async function one(work: () => Promise<unknown>): Promise<void> {
  const at = Date.now();
  const outcome = await Promise.race([work().then(() => "answered" as const, () => "refused" as const), Bun.sleep(5_000).then(() => "unanswered" as const)]);
  counts[outcome]++;
  if (outcome === "unanswered" && restartedAt > 0 && at - restartedAt > 1_500) counts.unansweredAfterRestart++;
}

async function repeat(work: () => Promise<unknown>): Promise<void> {
  while (!stopped) {
    await work();
    await Bun.sleep(3);
  }
}
const large = JSON.stringify(Array.from({ length: 30 }, (_, i) => ({ a: i, b: "y".repeat(3_000) })));
const load = Promise.all([
  repeat(() => Promise.all(Array.from({ length: 24 }, () => one(() => sql`select id, v from t where id = ${anyId()}`)))),
  repeat(() => Promise.all(Array.from({ length: 4 }, () => one(() => sql.begin(async (tx) => {
    await tx`select pg_try_advisory_xact_lock(1, 2)`;
    await tx`update t set v = v where id = ${anyId()}`;
  }))))),
  repeat(() => one(() => sql`select count(*) from json_to_recordset(${large}::json) as r(a int, b text)`)),
]);

for (let round = 1; round <= rounds; round++) {
  await Bun.sleep(1_500);
  restartedAt = 0;
  await pg.stop();
  await Bun.sleep(4_000);
  await pg.start();
  restartedAt = Date.now();
  await Bun.sleep(10_000);
  console.log(JSON.stringify({ round, ...counts }));
}
stopped = true;
await Promise.race([load, Bun.sleep(6_000)]);
await sql.end({ timeout: 1 }).catch(() => {});
await pg.stop();
process.exit(0);
