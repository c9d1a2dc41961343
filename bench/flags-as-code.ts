/**
 * Flags as code at project size: plan and apply for a project of N flags (default 1,000), with one
 * flag changed and with all of them changed, through the gateway of the all-in-one process on a
 * throwaway Postgres server (in-process bus).
 *
 *   bun bench/flags-as-code.ts [--flags 1000] [--json FILE]
 *
 * The project `bench` (environments `production` and `staging`) is filled by applying a file of N
 * flags (two variations each; in production a user target, a rule with one clause and a 50/50
 * rollout by `tenant`). Then, one call at a time, each timed from request to the last byte:
 *   export              the whole project as YAML
 *   plan, no change     the exported file planned back (an empty plan)
 *   plan, one changed   one flag's production rule edited
 *   apply, one changed  that plan applied
 *   plan, all changed   every flag's staging turned on
 *   apply, all changed  that plan applied
 * The process gets `VEXIL_SERVICE_TIMEOUT_MS=30000` (unless set): reading a YAML file of thousands of
 * flags takes longer than the default 5 s on a busy machine. An apply that runs out of time
 * answers the rest as `remaining`, applied in further calls (the `calls` column).
 * Statements are counted by Postgres itself (`pg_stat_statements`, top-level statements of the
 * project's database) over each step: what the step ran, plus the little that background work (the
 * outbox relay, the scheduler's poll) ran meanwhile.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { freePort, waitReady } from "../infra/launcher.ts";
import { startPostgres } from "../infra/local/postgres.ts";
import { planChunks } from "../tools/plan-chunks.ts";

const ROOT = resolve(import.meta.dir, "..");
const TOKEN = `fac-bench-${crypto.randomUUID()}`;
const { values } = parseArgs({ options: { flags: { type: "string", default: "1000" }, json: { type: "string" } } });
const N = Number(values.flags);
if (!Number.isInteger(N) || N < 1) throw new Error("--flags must be a positive integer");

function fileOf(n: number): string {
  const flags = Array.from({ length: n }, (_, i) => {
    const key = `flag-${String(i).padStart(5, "0")}`;
    return `  - key: ${key}
    name: Flag ${i}
    temporary: true
    variations: [{key: "on", value: true}, {key: "off", value: false}]
    defaults: {onVariation: "on", offVariation: "off"}
    environments:
      production:
        "on": true
        offVariation: "off"
        fallthrough: {rollout: {bucketBy: tenant, variations: {"on": 50000, "off": 50000}}}
        targets: [{variation: "on", values: [user-${i}]}]
        rules:
          - description: Staff
            clauses: [{attribute: email, op: endsWith, values: ["@example.com"]}]
            variation: "on"
      staging:
        "on": false
        offVariation: "off"
        fallthrough: {variation: "on"}
`;
  });
  return `version: 1
environments:
  production: {name: Production, color: "417505"}
  staging: {name: Staging, color: F5A623}
flags:
${flags.join("")}`;
}

const dir = mkdtempSync(join(tmpdir(), "vexil-fac-bench-"));
const pg = await startPostgres({ settings: { shared_preload_libraries: "pg_stat_statements", "pg_stat_statements.track": "top" } });
const port = freePort();
const url = `http://127.0.0.1:${port}`;
const proc = Bun.spawn(["bun", "services/all-in-one/main.ts"], {
  cwd: ROOT,
  env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: join(dir, "data"), LOG_LEVEL: "warn", DATABASE_URL: pg.url(), NATS_URL: "", VEXIL_SERVICE_TIMEOUT_MS: process.env.VEXIL_SERVICE_TIMEOUT_MS ?? "30000" },
  stdout: "ignore",
  stderr: "inherit",
});
const sql = postgres(pg.url(), { max: 1, onnotice: () => {} });
const rows: Array<{ step: string; ms: number; statements: number; items: number; instructions: number; calls: number }> = [];
try {
  await waitReady(url, 60_000, proc);
  await sql`create extension if not exists pg_stat_statements`;
  const statements = async () => Number((await sql`select coalesce(sum(calls), 0)::bigint as n from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())`)[0]!.n);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, { method, headers: { authorization: TOKEN, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    if (res.status !== 200 && res.status !== 201) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return text;
  };
  /** Applies a plan in as many calls as it takes (each answers what it had no time for as `remaining`). */
  const applyAll = async (first: { plan: { items: unknown[]; summary: string }; comment: string }) => {
    let calls = 0;
    // Sent in parts under the 1 MiB body limit, as the command-line tool does.
    for (const part of planChunks(first.plan)) {
      let body: Record<string, unknown> = { plan: part, comment: first.comment };
      for (;;) {
        calls++;
        const report = JSON.parse(await call("POST", "/api/v2/projects/bench/apply", body));
        if (report.conflicts.length || report.errors.length) throw new Error(JSON.stringify({ conflicts: report.conflicts, errors: report.errors }).slice(0, 500));
        if (!report.remaining) break;
        body = { plan: report.remaining, comment: first.comment };
      }
    }
    lastCalls = calls;
    return JSON.stringify({ plan: first.plan });
  };
  let lastCalls = 1;
  const step = async (name: string, work: () => Promise<string>) => {
    const before = await statements();
    const started = performance.now();
    const text = await work();
    const ms = performance.now() - started;
    // The counting query itself is one statement.
    const statementsRun = (await statements()) - before - 1;
    let items = 0;
    let instructions = 0;
    try {
      const body = JSON.parse(text);
      const plan = body.plan ?? body;
      if (Array.isArray(plan.items)) {
        items = plan.items.length;
        instructions = plan.items.reduce((n: number, i: { instructions: unknown[] }) => n + i.instructions.length, 0);
      }
      if (body.conflicts?.length || body.errors?.length) throw new Error(`${name}: ${JSON.stringify({ conflicts: body.conflicts, errors: body.errors }).slice(0, 500)}`);
    } catch (e) {
      if (e instanceof SyntaxError) void e;
      else throw e;
    }
    rows.push({ step: name, ms, statements: statementsRun, items, instructions, calls: lastCalls });
    lastCalls = 1;
    console.error(`${name}: ${ms.toFixed(0)} ms, ${statementsRun} statements`);
    return text;
  };
  await call("POST", "/api/v2/projects", { key: "bench", name: "Bench", environments: [{ key: "production", name: "Production", color: "417505" }, { key: "staging", name: "Staging", color: "F5A623" }] });
  const base = "/api/v2/projects/bench";
  const fill = await call("POST", `${base}/plan`, { file: fileOf(N) });
  await step(`apply, ${N} created`, () => applyAll({ plan: JSON.parse(fill), comment: "fill" }));
  const exported = await step("export", () => call("GET", `${base}/export`));
  await step("plan, no change", () => call("POST", `${base}/plan`, { file: exported }));
  const one = exported.replace('values: ["@example.com"]', 'values: ["@example.org"]');
  const onePlan = await step("plan, one changed", () => call("POST", `${base}/plan`, { file: one }));
  await step("apply, one changed", () => applyAll({ plan: JSON.parse(onePlan), comment: "one" }));
  const all = one.replaceAll('      staging:\n        "on": false', '      staging:\n        "on": true');
  const allPlan = await step("plan, all changed", () => call("POST", `${base}/plan`, { file: all }));
  await step("apply, all changed", () => applyAll({ plan: JSON.parse(allPlan), comment: "all" }));
} finally {
  await sql.end();
  proc.kill();
  await proc.exited;
  await pg.destroy();
  rmSync(dir, { recursive: true, force: true });
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Bun ${Bun.version}`;
console.log(`${N} flags, ${new Date().toISOString().slice(0, 16)}Z, ${machine}\n`);
console.log("| step | items | instructions | calls | time (ms) | statements |\n|---|---:|---:|---:|---:|---:|");
for (const r of rows) console.log(`| ${r.step} | ${r.items || ""} | ${r.instructions || ""} | ${r.calls} | ${r.ms.toFixed(0)} | ${r.statements} |`);
if (values.json) writeFileSync(values.json, JSON.stringify({ flags: N, machine, rows }, null, 2));
