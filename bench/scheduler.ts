/**
 * The scheduler under a burst: K scheduled items all due in the same second, executed by one flags
 * instance or by two, and per item how late it ran.
 *
 *   bun bench/scheduler.ts [--items 1000,10000] [--only 1-flags,2-flags] [--connections 32] [--lead S] [--json FILE]
 *   bun run bench --only scheduler -- --items 1000      (the same, through bench/run.ts)
 *
 * Targets, each a fresh cluster (infra/launcher.ts: 1 gateway, 1 auth, N flags, no streaming) over
 * a throwaway Postgres and nats-server:
 *   1-flags   one flags instance runs every item
 *   2-flags   two flags instances, each running its scheduler, share the items (claims with leases)
 *
 * For each K, a project of its own (`s-<K>`) gets K flags, one item each, made through the gateway
 * by --connections clients at once, in four kinds taking turns:
 *   scheduled change `turnFlagOn` (production), scheduled change `addTargets` (production), and
 *   twice an expiring target (`addExpiringTarget` on a context first added as an individual target)
 * The items are due at one whole second, far enough ahead that every item is made before it (the
 * lead is estimated from the rate of the untimed setup, or --lead seconds). Once the scheduled items
 * table holds none of them pending, the audit log (read from the database: `operation_id` is
 * `schedule:<item id>:<version>`, `date` the time the execution was decided) gives per item:
 *   lateness    its audit entry's date − its due time (p50, p99, max)
 *   rate        items applied ÷ (last execution − due time)
 *   duplicates  audit entries beyond the first of an item (must be 0)
 *   missing     items with no audit entry; failed: entries saying the item could not be applied
 * Target: p99 lateness ≤ 1 s at 1,000 items.
 */
import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { launchCluster, type Cluster } from "../infra/launcher.ts";

const ROOT = resolve(import.meta.dir, "..");
const TOKEN = `scheduler-bench-${crypto.randomUUID()}`;
const TARGETS = { "1-flags": 1, "2-flags": 2 } as const;
type TargetName = keyof typeof TARGETS;
const NO_RATE_LIMIT = { VEXIL_RATE_LIMIT_GLOBAL: "100000000", VEXIL_RATE_LIMIT_ROUTE: "100000000" };
const USAGE = `usage: bun bench/scheduler.ts [--items 1000,10000] [--only ${Object.keys(TARGETS).join(",")}] [--connections 32] [--lead S] [--json FILE]\n`;

function fail(message: string): never {
  process.stderr.write(`scheduler: ${message}\n\n${USAGE}`);
  process.exit(2);
}
const log = (m: string) => process.stderr.write(`[scheduler] ${m}\n`);

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        items: { type: "string", default: "1000" },
        only: { type: "string", default: Object.keys(TARGETS).join(",") },
        connections: { type: "string", default: "32" },
        lead: { type: "string" },
        json: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, raw: string, min: number, max: number) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return n;
  };
  const only = values.only.split(",").map((s) => s.trim());
  for (const name of only) if (!(name in TARGETS)) fail(`--only: unknown target "${name}"`);
  return {
    items: values.items.split(",").map((s) => int("items", s.trim(), 4, 100_000)),
    only: (Object.keys(TARGETS) as TargetName[]).filter((t) => only.includes(t)),
    connections: int("connections", values.connections, 1, 512),
    lead: values.lead === undefined ? undefined : int("lead", values.lead, 1, 3600),
    json: values.json,
  };
}

// ---------------------------------------------------------------------------------------------
// Requests

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";

async function call(base: string, method: string, path: string, body?: unknown, contentType = "application/json"): Promise<any> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: TOKEN, "content-type": contentType }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Runs `work(i)` for i in [0, n) with `connections` at once. */
async function pool(n: number, connections: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, connections) }, async () => {
    while (next < n) await work(next++);
  }));
}

type Kind = "turnFlagOn" | "addTargets" | "expiring";
const kindOf = (i: number): Kind => (["turnFlagOn", "addTargets", "expiring", "expiring"] as const)[i % 4]!;
const flagKey = (i: number) => `f-${String(i).padStart(6, "0")}`;

// ---------------------------------------------------------------------------------------------
// Measurement

interface Row {
  target: TargetName;
  items: number;
  setupSeconds: number;
  makeSeconds: number;
  leadMs: number;
  applied: number;
  failed: number;
  duplicates: number;
  missing: number;
  p50: number;
  p99: number;
  max: number;
  min: number;
  perSecond: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

async function measure(cluster: Cluster, sql: postgres.Sql, target: TargetName, k: number, connections: number, leadOption?: number): Promise<Row> {
  const gw = cluster.gateways[0]!;
  const project = `s-${k}`;
  await call(gw, "POST", "/api/v2/projects", { key: project, name: project, environments: [{ key: "production", name: "Production", color: "ff0000" }, { key: "test", name: "Test", color: "00ff00" }] });

  // Untimed setup: the flags, and the individual targets the expiring targets will be on.
  const variations: string[] = [];
  let started = performance.now();
  let requests = 0;
  await pool(k, connections, async (i) => {
    const flag = await call(gw, "POST", `/api/v2/flags/${project}`, { key: flagKey(i), name: flagKey(i) });
    variations[i] = flag.variations[0]._id;
    requests++;
    if (kindOf(i) === "expiring") {
      await call(gw, "PATCH", `/api/v2/flags/${project}/${flagKey(i)}`, { environmentKey: "production", instructions: [{ kind: "addTargets", variationId: variations[i], values: [`user-${i}`] }] }, SEMANTIC);
      requests++;
    }
  });
  const setupSeconds = (performance.now() - started) / 1000;
  // Making an item costs about what a setup request did; twice the estimate and 3 s to spare.
  const leadMs = leadOption !== undefined ? leadOption * 1000 : Math.ceil(((setupSeconds / requests) * k * 2 + 3) * 1000);
  const due = Math.ceil((Date.now() + leadMs) / 1000) * 1000;
  log(`${target} K=${k}: ${k} flags set up in ${setupSeconds.toFixed(1)} s; making ${k} items due at ${new Date(due).toISOString()}`);

  started = performance.now();
  await pool(k, connections, async (i) => {
    const kind = kindOf(i);
    if (kind === "expiring") {
      const answer = await call(gw, "PATCH", `/api/v2/flags/${project}/${flagKey(i)}/expiring-targets/production`, { instructions: [{ kind: "addExpiringTarget", variationId: variations[i], contextKey: `user-${i}`, contextKind: "user", value: due }] }, SEMANTIC);
      if (answer.successfulInstructions !== 1) throw new Error(`expiring target of ${flagKey(i)} refused: ${JSON.stringify(answer)}`);
    } else {
      const instruction = kind === "turnFlagOn" ? { kind } : { kind, variationId: variations[i], values: [`scheduled-${i}`] };
      await call(gw, "POST", `/api/v2/projects/${project}/flags/${flagKey(i)}/environments/production/scheduled-changes`, { executionDate: due, instructions: [instruction] });
    }
  });
  const madeAt = Date.now();
  const makeSeconds = (performance.now() - started) / 1000;
  if (madeAt >= due) throw new Error(`making ${k} items took ${makeSeconds.toFixed(1)} s, past their due time (lead ${leadMs} ms): give a larger --lead`);
  log(`${target} K=${k}: items made in ${makeSeconds.toFixed(1)} s (${Math.round(k / makeSeconds)}/s), ${((due - madeAt) / 1000).toFixed(1)} s before due`);

  // The items of this project, as stored.
  const items = await sql<{ id: string; due_at: string }[]>`
    select s.id, s.due_at from scheduled_items s where s.due_at = ${due} and s.status = 'pending'`;
  if (items.length !== k) throw new Error(`${items.length} pending items due at ${due} are stored, expected ${k}`);
  const dueOf = new Map(items.map((r) => [r.id, Number(r.due_at)]));

  // Wait until none is pending (or long after they should all have run).
  const giveUp = due + 60_000 + k * 20;
  for (;;) {
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from scheduled_items where due_at = ${due} and status = 'pending'`;
    if (left!.n === 0) break;
    if (Date.now() > giveUp) {
      log(`${target} K=${k}: ${left!.n} items still pending ${((Date.now() - due) / 1000).toFixed(0)} s after due; measuring what ran`);
      break;
    }
    await Bun.sleep(100);
  }

  const entries = await sql<{ operation_id: string; date: string; title: string }[]>`
    select operation_id, date, title from audit_log where operation_id like 'schedule:%'`;
  const seen = new Map<string, number>();
  const lateness: number[] = [];
  let failed = 0;
  let duplicates = 0;
  for (const e of entries) {
    const id = e.operation_id.split(":")[1]!;
    const dueAt = dueOf.get(id);
    if (dueAt === undefined) continue; // an item of another K
    const count = (seen.get(id) ?? 0) + 1;
    seen.set(id, count);
    if (count > 1) {
      duplicates++;
      continue;
    }
    if (e.title.includes("could not be applied")) failed++;
    lateness.push(Number(e.date) - dueAt);
  }
  lateness.sort((a, b) => a - b);
  const max = lateness.at(-1) ?? NaN;
  const row: Row = {
    target,
    items: k,
    setupSeconds,
    makeSeconds,
    leadMs,
    applied: lateness.length - failed,
    failed,
    duplicates,
    missing: k - seen.size,
    p50: percentile(lateness, 50),
    p99: percentile(lateness, 99),
    max,
    min: lateness[0] ?? NaN,
    perSecond: (lateness.length - failed) / (Math.max(max, 1) / 1000),
  };
  log(`${target} K=${k}: lateness p50 ${row.p50} ms, p99 ${row.p99} ms, max ${row.max} ms; ${row.applied} applied, ${row.failed} failed, ${row.duplicates} duplicates, ${row.missing} missing`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Main

const o = options();
const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const rows: Row[] = [];
let failedRun = false;
let current: Cluster | undefined;
const stop = async () => {
  const c = current;
  current = undefined;
  await c?.stop();
};
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop().finally(() => process.exit(130)));

try {
  for (const target of o.only) {
    log(`starting ${target}: 1 gateway, 1 auth, ${TARGETS[target]} flags`);
    current = await launchCluster({ counts: { gateway: 1, auth: 1, flags: TARGETS[target], streaming: 0 }, adminToken: TOKEN, logLevel: "warn", env: NO_RATE_LIMIT, postgres: { fastCommits: true } });
    const sql = postgres(current.databaseUrl, { max: 2, onnotice: () => {} });
    try {
      for (const k of o.items) rows.push(await measure(current, sql, target, k, o.connections, o.lead));
    } finally {
      await sql.end();
      await stop();
    }
  }
} catch (e) {
  failedRun = true;
  process.stderr.write(`\nscheduler: FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
} finally {
  await stop();
}

const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench"], { cwd: ROOT }).stdout.toString().trim() !== "";
const command = ["bun bench/scheduler.ts", ...process.argv.slice(2)].join(" ");
if (o.json) writeFileSync(o.json, JSON.stringify({ date, command, options: o, rows }, null, 2));
console.log("");
console.log("| flags instances | items | lateness p50 | p99 | max | applied/s | applied | failed | duplicates | missing | made in |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(`| ${TARGETS[r.target]} | ${int(r.items)} | ${int(r.p50)} ms | ${int(r.p99)} ms | ${int(r.max)} ms | ${int(r.perSecond)} | ${int(r.applied)} | ${r.failed} | ${r.duplicates} | ${r.missing} | ${r.makeSeconds.toFixed(1)} s |`);
}
console.log("");
console.log(`- command: \`${command}\``);
console.log(`- items: one per flag, turnFlagOn / addTargets scheduled changes and expiring targets (1:1:2), made through the gateway by ${o.connections} clients at once; lateness = audit entry date − due time`);
console.log(`- machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${cpus()[0]?.model ?? "?"}, bun ${Bun.version}`);
console.log(`- code: commit ${commit}${dirty ? " with uncommitted changes" : ""}`);
console.log(`- date: ${date} (start)`);
const bad = rows.some((r) => r.duplicates > 0 || r.missing > 0);
process.exit(failedRun || bad ? 1 : 0);
