/**
 * Deadlines end to end: one gateway, two flags instances, four writers, and Postgres stopped for
 * ten seconds in the middle. Every write is either acknowledged (2xx) or answered 5xx; a write
 * answered 5xx must never be applied, not even when Postgres comes back (bar `outcome_unknown`: its
 * commit may have reached the log as the database stopped), and each flag must end in the state of
 * its last applied write, its audit log in the order of acknowledgments.
 * Then the all-in-one process on the same Postgres server: a write held up past its deadline.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry } from "../support/process.ts";

const token = "deadlines-admin-token-0001";
const PROJECT = "deadlines";
const FLAGS = ["shared-a", "shared-b"];
const WRITERS = 4;
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };

let cluster: Cluster;
let client: Client;

beforeAll(async () => {
  cluster = await launchCluster({
    counts: { gateway: 1, auth: 1, flags: 2, streaming: 0 },
    adminToken: token,
    env: { VEXIL_SERVICE_TIMEOUT_MS: "2000" },
    // Every acknowledged commit must survive the stop (an immediate stop is a crash).
    postgres: { settings: { synchronous_commit: "on" } },
  });
  client = makeClient(cluster.gateways, token);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

interface Attempt {
  writer: number;
  flag: string;
  /** The target the writer wants added; kept across retries until one is acknowledged. */
  value: string;
  /** Unique per attempt: it lands in the audit entry of the attempt that was applied. */
  comment: string;
  status: number | "timeout";
  code?: string;
  version?: number;
}

/** One attempt, answered or not within ten seconds (five times the gateway's limit). */
async function attempt(writer: number, flag: string, value: string, comment: string, variationId: string): Promise<Attempt> {
  try {
    const res = await fetch(`${cluster.gateways[0]}/api/v2/flags/${PROJECT}/${flag}`, {
      method: "PATCH",
      headers: { ...SEMANTIC, authorization: token },
      body: JSON.stringify({ comment, environmentKey: "production", instructions: [{ kind: "addTargets", values: [value], variationId }] }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { code?: string; _version?: number };
    return { writer, flag, value, comment, status: res.status, code: body.code, version: body._version };
  } catch {
    return { writer, flag, value, comment, status: "timeout" };
  }
}

/** Every audit entry of a flag's changes made by the writers, with the flag version each produced. */
async function appliedChanges(flag: string): Promise<Array<{ comment: string; version: number }>> {
  const entries: Array<{ comment: string; version: number }> = [];
  let path: string | undefined = `/api/v2/auditlog?limit=20&spec=${encodeURIComponent(`proj/${PROJECT}:env/*:flag/${flag}`)}`;
  while (path) {
    const page: { status: number; body: any } = await client.call("GET", path);
    expect(page.status).toBe(200);
    for (const item of page.body.items as Array<{ _id: string; comment?: string }>) {
      if (!item.comment?.startsWith("w")) continue;
      const detail = await client.call("GET", `/api/v2/auditlog/${item._id}`);
      entries.push({ comment: item.comment, version: detail.body._currentVersionNumber });
    }
    path = page.body._links.next?.href;
  }
  return entries.sort((a, b) => a.version - b.version);
}

test("no write answered 5xx is applied, and each flag ends in the state of its last acknowledged write", async () => {
  expect((await client.call("POST", "/api/v2/projects", { body: { key: PROJECT, name: "Deadlines" } })).status).toBe(201);
  const variations: Record<string, string> = {};
  for (const key of FLAGS) {
    const created = await client.call("POST", `/api/v2/flags/${PROJECT}`, { body: { key, name: key } });
    expect(created.status).toBe(201);
    variations[key] = created.body.variations[0]._id;
  }

  const attempts: Attempt[] = [];
  const phase = { stopped: false, restarted: false, done: false };
  const ackedAfterRestart = new Set<number>();
  const writer = async (w: number) => {
    const flag = FLAGS[w % FLAGS.length]!;
    for (let n = 0, a = 0; !phase.done; a++) {
      const value = `w${w}-${n}`;
      const result = await attempt(w, flag, value, `${value}#${a}`, variations[flag]!);
      attempts.push(result);
      if (result.status === 200) {
        n++;
        if (phase.restarted) ackedAfterRestart.add(w);
      }
    }
  };
  const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));

  await Bun.sleep(1_500);
  await cluster.postgres!.stop();
  phase.stopped = true;
  await Bun.sleep(10_000);
  await cluster.postgres!.start();
  phase.restarted = true;
  // Writers go on until each has been acknowledged again (the pools reconnect), and a little longer.
  for (let i = 0; i < 300 && ackedAfterRestart.size < WRITERS; i++) await Bun.sleep(100);
  await Bun.sleep(2_000);
  phase.done = true;
  await writers;
  // Anything a service still held when Postgres came back has had its chance to be applied.
  await Bun.sleep(3_000);

  const failed = attempts.filter((x) => x.status !== 200);
  const acked = attempts.filter((x) => x.status === 200);
  const refusals = new Map<string, number>();
  for (const key of failed.map((x) => `${x.status} ${x.code ?? ""}`.trim())) refusals.set(key, (refusals.get(key) ?? 0) + 1);
  console.log(`deadlines: ${attempts.length} writes, ${acked.length} acknowledged, refused: ${[...refusals].map(([k, n]) => `${n} × ${k}`).join(", ")}`);
  expect(ackedAfterRestart.size).toBe(WRITERS);
  expect(failed.length).toBeGreaterThan(0);
  // A refusal is a 503 or a 504, never a 500 (nor no answer at all).
  expect(failed.filter((x) => x.status !== 503 && x.status !== 504)).toEqual([]);

  // A write answered `outcome_unknown` had its statement sent when the database went away before
  // answering: it may have committed (its commit reached the log just before the stop), the one
  // outcome no client of a database can know. Each may or may not be applied; every other refusal
  // must not be.
  const unknown = new Set(failed.filter((x) => x.code === "outcome_unknown").map((x) => x.comment));
  for (const flag of FLAGS) {
    const applied = await appliedChanges(flag);
    const appliedComments = applied.map((x) => x.comment);
    const mine = (x: Attempt) => x.flag === flag;
    // Nothing refused was applied, bar the unknown outcomes; each applied write was applied once.
    expect(appliedComments.filter((c) => !unknown.has(c) && !acked.some((x) => x.comment === c))).toEqual([]);
    expect(new Set(appliedComments).size).toBe(appliedComments.length);
    // Everything acknowledged was applied as the version it was acknowledged as, or changed nothing:
    // it retried an unknown outcome that had been applied, so its target was there already.
    const versionOf = new Map(applied.map((x) => [x.comment, x.version]));
    const appliedUnknownValues = new Set(applied.filter((x) => unknown.has(x.comment)).map((x) => x.comment.split("#")[0]));
    const ackedHere = acked.filter(mine);
    expect(ackedHere.filter((x) => versionOf.has(x.comment) && versionOf.get(x.comment) !== x.version)).toEqual([]);
    expect(ackedHere.filter((x) => !versionOf.has(x.comment) && !appliedUnknownValues.has(x.value))).toEqual([]);
    expect(applied.map((x) => x.version)).toEqual(applied.map((_, i) => i + 2));
    // Each writer's changes are in the log in the order it made them.
    for (let w = 0; w < WRITERS; w++) {
      const ofWriter = (comment: string) => comment.startsWith(`w${w}-`);
      expect(appliedComments.filter(ofWriter)).toEqual(attempts.filter((x) => mine(x) && x.writer === w && appliedComments.includes(x.comment)).map((x) => x.comment));
    }
    // The flag is what the last applied write made it: that version, those targets in that order
    // (a retry of an applied unknown outcome adds a target already there, changing nothing).
    const current = await client.call("GET", `/api/v2/flags/${PROJECT}/${flag}`);
    expect(current.body._version).toBe(applied.at(-1)?.version ?? 1);
    const targets = (current.body.environments.production.targets as Array<{ values: string[] }>).flatMap((t) => t.values);
    expect(targets).toEqual([...new Set(applied.map((x) => x.comment.split("#")[0]!))]);
  }
  // A service that gave up on a request logged no failure of its own.
  expect(cluster.logs()).not.toContain("unhandled");
}, 120_000);

test("all-in-one on Postgres: a write held up past its deadline is answered 504 and never applied; the retry is", async () => {
  const admin = postgres(cluster.postgres!.url(), { max: 1, onnotice: () => {} });
  await admin.unsafe("create database vexil_aio");
  await admin.end();
  const url = cluster.postgres!.url("vexil_aio");
  const aioToken = "deadlines-aio-token-0001";
  const vexil = await startEntry("services/all-in-one/main.ts", freePort(), { DATABASE_URL: url, NATS_URL: undefined, VEXIL_ADMIN_TOKEN: aioToken, VEXIL_SERVICE_TIMEOUT_MS: "1000" });
  const db = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const aio = makeClient([vexil.url], aioToken);
    expect((await aio.call("POST", "/api/v2/projects", { body: { key: "aio", name: "AIO" } })).status).toBe(201);
    const created = await aio.call("POST", "/api/v2/flags/aio", { body: { key: "held", name: "Held" } });
    const variationId = created.body.variations[0]._id;
    const add = (comment: string) =>
      aio.call("PATCH", "/api/v2/flags/aio/held", { headers: SEMANTIC, body: { comment, environmentKey: "production", instructions: [{ kind: "addTargets", values: ["held-1"], variationId }] } });

    // Another session holds the flag's row: the write waits for it past its deadline.
    const holder = await db.reserve();
    await holder`begin`;
    await holder`select id from flags where key = 'held' for update`;
    const refused = await add("attempt-1");
    await holder`rollback`;
    holder.release();
    expect(refused.status).toBe(504);
    expect(refused.body.code).toBe("gateway_timeout");

    // The retry waits for whatever the first attempt left running, then applies once.
    const retried = await add("attempt-2");
    expect(retried.status).toBe(200);
    expect(retried.body._version).toBe(2);
    expect(retried.body.environments.production.targets.flatMap((t: { values: string[] }) => t.values)).toEqual(["held-1"]);
    const comments = (await db`select comment from audit_log where spec like '%:flag/held' and comment is not null`).map((r) => r.comment);
    expect(comments).toEqual(["attempt-2"]);
  } finally {
    await db.end();
    await vexil.stop();
  }
  expect(await vexil.stderr()).not.toContain("unhandled");
}, 60_000);
