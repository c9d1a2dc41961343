/**
 * The fault suite's harness: a distributed cluster behind the edge, real server-side SDKs connected
 * through it, and writers changing flags through it with semantic patches while a fault is injected.
 *
 * Each writer owns one flag and changes it in sequence: write n sets the flag's served variation to the
 * number n, so a flag's value names the last write that landed. Every answer is recorded: an
 * acknowledged write (200) must never be lost, and an answer in the 5xx range must be a 503 or 504
 * with a JSON error body (a 503 with `Retry-After`).
 */
import { expect } from "bun:test";
import { basicLogger, init, type LDClient } from "@launchdarkly/node-server-sdk";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";
import postgres from "postgres";
import { socketOf } from "../../shared/db/connector.ts";
import { makeClient, type Client } from "../support/client.ts";

export const TOKEN = "faults-admin-token-0123456789abcdef";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
export const CONTEXT = { kind: "user", key: "fault-user" };
export const FLAGS = ["f0", "f1", "f2", "f3"];
const PROJECT = "faults";
const ENV = "live";

export interface Suite {
  cluster: Cluster;
  edge: string;
  admin: Client;
  sdkKey: string;
  sdks: LDClient[];
  sdkLog: string[];
  /** The id of each flag's served variation. */
  variation: Map<string, string>;
  /** The next write's number per flag (numbers only grow). */
  next: Map<string, number>;
}

export async function startSuite(): Promise<Suite> {
  const cluster = await launchCluster({
    counts: { gateway: 2, auth: 1, flags: 2, streaming: 2 },
    adminToken: TOKEN,
    logLevel: "warn",
    edge: true,
    // HAProxy notices an SDK that went away when it next writes to it: a heartbeat every second makes that soon.
    env: { VEXIL_STREAM_HEARTBEAT_MS: "1000" },
  });
  const edge = cluster.edge!.url;
  const admin = makeClient([edge], TOKEN);
  const project = await admin.call("POST", "/api/v2/projects", { body: { key: PROJECT, name: "Faults", environments: [{ key: ENV, name: "Live", color: "123456" }] } });
  expect(project.status).toBe(201);
  const sdkKey = project.body.environments[0].apiKey as string;
  const variation = new Map<string, string>();
  const next = new Map<string, number>();
  for (const key of FLAGS) {
    const flag = await admin.call("POST", `/api/v2/flags/${PROJECT}`, {
      body: { key, name: key, variations: [{ value: -1 }, { value: 0 }], defaults: { onVariation: 1, offVariation: 0 } },
    });
    expect(flag.status).toBe(201);
    variation.set(key, flag.body.variations[1]._id);
    const on = await admin.call("PATCH", `/api/v2/flags/${PROJECT}/${key}`, { headers: SEMANTIC, body: { environmentKey: ENV, instructions: [{ kind: "turnFlagOn" }] } });
    expect(on.status).toBe(200);
    next.set(key, 1);
  }
  const suite: Suite = { cluster, edge, admin, sdkKey, sdks: [], sdkLog: [], variation, next };
  for (let i = 0; i < 4; i++) suite.sdks.push(newSdk(suite));
  await Promise.all(suite.sdks.map((c) => c.waitForInitialization({ timeout: 30 })));
  return suite;
}

export function newSdk(suite: Suite): LDClient {
  return init(suite.sdkKey, {
    baseUri: suite.edge,
    streamUri: suite.edge,
    eventsUri: suite.edge,
    sendEvents: false,
    streamInitialReconnectDelay: 0.2,
    logger: basicLogger({ level: "warn", destination: (line: string) => suite.sdkLog.push(line) }),
  });
}

/** One write's outcome. */
interface Attempt {
  flag: string;
  n: number;
  /** The HTTP status, or 0 when no answer came (connection lost, or no answer within 15 s). */
  status: number;
  /** What was wrong with an error answer, if anything. */
  problem?: string;
  at: number;
}

export interface Load {
  attempts: Attempt[];
  /** Stops the writers and waits for their last writes' answers. */
  stop(): Promise<void>;
}

/** One writer per flag, each making one semantic-patch change at a time through the edge. */
export function startLoad(suite: Suite): Load {
  const attempts: Attempt[] = [];
  let running = true;
  const writer = async (flag: string) => {
    while (running) {
      const n = suite.next.get(flag)!;
      suite.next.set(flag, n + 1);
      attempts.push(await write(suite, flag, n));
      await Bun.sleep(25);
    }
  };
  const writers = FLAGS.map(writer);
  return {
    attempts,
    async stop() {
      running = false;
      await Promise.all(writers);
    },
  };
}

async function write(suite: Suite, flag: string, n: number): Promise<Attempt> {
  const at = Date.now();
  let res: Response;
  try {
    res = await fetch(`${suite.edge}/api/v2/flags/${PROJECT}/${flag}`, {
      method: "PATCH",
      headers: { ...SEMANTIC, authorization: TOKEN },
      body: JSON.stringify({ comment: `write ${n}`, instructions: [{ kind: "updateVariation", variationId: suite.variation.get(flag), value: n }] }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    return { flag, n, status: 0, problem: String(e), at };
  }
  const text = await res.text().catch(() => "");
  if (res.status === 200) {
    const served = JSON.parse(text).variations?.[1]?.value;
    return { flag, n, status: 200, problem: served === n ? undefined : `acknowledged with value ${served}`, at };
  }
  return { flag, n, status: res.status, problem: errorProblem(res, text), at };
}

/** What is wrong with an error answer: a 5xx other than 503/504, a body that is not a JSON error, a 503 without Retry-After. */
function errorProblem(res: Response, text: string): string | undefined {
  if (res.status >= 500 && res.status !== 503 && res.status !== 504) return `status ${res.status}: ${text.slice(0, 200)}`;
  if (!res.headers.get("content-type")?.includes("application/json")) return `${res.status} with content-type ${res.headers.get("content-type")}: ${text.slice(0, 200)}`;
  let body: { code?: unknown; message?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    return `${res.status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  if (typeof body.code !== "string" || typeof body.message !== "string") return `${res.status} without code and message: ${text.slice(0, 200)}`;
  if (res.status === 503 && !res.headers.get("retry-after")) return `503 without Retry-After: ${text.slice(0, 200)}`;
  return undefined;
}

/**
 * The flags' committed values, read from Postgres itself (retried until it answers), to hold the
 * REST API's reads to them.
 */
export async function committed(suite: Suite, ms = 60_000): Promise<Map<string, number>> {
  const { url, socket } = socketOf(suite.cluster.databaseUrl);
  const sql = postgres(url, { ...socket, max: 1, onnotice: () => {} });
  const deadline = Date.now() + ms;
  try {
    for (;;) {
      try {
        const rows = await sql<{ key: string; value: number }[]>`select key, (doc->'variations'->1->>'value')::int as value from flags where key in ${sql(FLAGS)}`;
        expect(rows.map((r) => r.key).sort()).toEqual(FLAGS);
        return new Map(rows.map((r) => [r.key, r.value]));
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await Bun.sleep(200);
      }
    }
  } finally {
    await sql.end();
  }
}

/** Reads of each flag through the edge: over the gateways and the flags instances the bus picks, enough to reach each. */
const READS_PER_FLAG = 16;

/** What REST reads of each flag through the edge answer where it is not `values` (the committed values): other values, and errors. */
export async function restReads(suite: Suite, values: Map<string, number>): Promise<string[]> {
  const { stale, errors } = await restAnswers(suite, values);
  return [...stale, ...errors];
}

async function restAnswers(suite: Suite, values: Map<string, number>): Promise<{ stale: string[]; errors: string[] }> {
  const stale = new Set<string>();
  const errors = new Set<string>();
  for (const flag of FLAGS) {
    const reads = await Promise.all(Array.from({ length: READS_PER_FLAG }, () => suite.admin.call("GET", `/api/v2/flags/${PROJECT}/${flag}`)));
    for (const r of reads) {
      if (r.status !== 200) errors.add(`${flag}: status ${r.status} ${r.body?.code}: ${r.body?.message}`);
      else if (r.body.variations?.[1]?.value !== values.get(flag)) stale.add(`${flag}: ${r.body.variations?.[1]?.value} (committed ${values.get(flag)})`);
    }
  }
  return { stale: [...stale], errors: [...errors] };
}

/**
 * Waits until every REST read of each flag through the edge shows `values`: a flags instance serves
 * a flag from its memory, which a commit notice brings up to date within milliseconds of the commit
 * elsewhere; one that missed a notice or kept an older version must not keep serving it (`staleMs`).
 * Reads answered with an error (503/504: an instance whose connections are still coming back after an
 * outage) are waited for longer (`errorMs`). Answers how long that took, and what reads answered before.
 */
export async function restReadsAgree(suite: Suite, values: Map<string, number>, staleMs = 10_000, errorMs = 30_000): Promise<{ readsMs: number; readsBefore: string[] }> {
  const start = Date.now();
  const before = new Set<string>();
  for (;;) {
    const { stale, errors } = await restAnswers(suite, values);
    if (stale.length === 0 && errors.length === 0) return { readsMs: Date.now() - start, readsBefore: [...before] };
    for (const w of [...stale, ...errors]) before.add(w);
    const waited = Date.now() - start;
    if (waited > errorMs || (stale.length > 0 && waited > staleMs)) throw new Error(`REST reads do not show the committed values: ${[...stale, ...errors].join("; ")}`);
    await Bun.sleep(100);
  }
}

/** What every SDK serves for each flag. */
export const served = (sdks: LDClient[]) => Promise.all(sdks.map(async (c) => Object.fromEntries(await Promise.all(FLAGS.map(async (f) => [f, await c.variation(f, CONTEXT, null)])))));

/** Waits until every SDK serves `values`; answers how long that took. */
export async function converge(sdks: LDClient[], values: Map<string, number>, ms = 60_000): Promise<number> {
  const start = Date.now();
  const want = Object.fromEntries(values);
  for (;;) {
    const seen = await served(sdks);
    if (seen.every((s) => FLAGS.every((f) => s[f] === want[f]))) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`the SDKs did not converge on ${JSON.stringify(want)}: ${JSON.stringify(seen)}`);
    await Bun.sleep(50);
  }
}

export interface Figures {
  fault: string;
  writes: number;
  acknowledged: number;
  /** Answers other than 200 by status (0: no answer). */
  errors: Record<string, number>;
  /** Answers of the edge in the 5xx range by status, over every path (SDKs' included). */
  edge5xx: Record<string, number>;
  lost: number;
  /** From the end of the fault (the server or process started again) until every writer had a write acknowledged. */
  recoveryMs: number | undefined;
  /** From the writers' last answer until every SDK served the committed values. */
  convergeMs: number;
  /** From then until every REST read through the edge (16 a flag) showed them. */
  readsMs: number;
  /** What reads answered before that, if anything (an older value, or an error status). */
  readsBefore: string[];
}

/**
 * Stops the load and checks the outcome: no acknowledged write lost (each flag's value is its last
 * acknowledged write, or a later write whose answer did not say), every error answer well formed, and
 * every SDK converging on the committed values. Answers the case's figures.
 */
export async function settle(suite: Suite, load: Load, fault: string, edgeFrom: number, options: { unanswered?: number; unansweredBefore?: number; recoveryMs?: number } = {}): Promise<Figures> {
  await load.stop();
  const values = await committed(suite);
  const convergeMs = await converge(suite.sdks, values);
  const { readsMs, readsBefore } = await restReadsAgree(suite, values);
  const wrong = allowedByWrites(load, Object.fromEntries(values));
  for (const w of wrong) console.error(`${fault}: ${w}`);
  const lost = wrong.length;
  const errors: Record<string, number> = {};
  for (const a of load.attempts) if (a.status !== 200) errors[a.status] = (errors[a.status] ?? 0) + 1;
  const edge5xx: Record<string, number> = {};
  for (const e of suite.cluster.edge!.requests().slice(edgeFrom)) if (e.status >= 500) edge5xx[e.status] = (edge5xx[e.status] ?? 0) + 1;
  const figures: Figures = { fault, writes: load.attempts.length, acknowledged: load.attempts.filter((a) => a.status === 200).length, errors, edge5xx, lost, recoveryMs: options.recoveryMs, convergeMs, readsMs, readsBefore };
  console.log(`fault figures: ${JSON.stringify(figures)}`);
  // A write with no answer at all (its connection closed) is one that was in flight in a process
  // killed outright: at most one per writer, and only where the case allows it.
  const unanswered = load.attempts.filter((a) => a.status === 0);
  expect(unanswered.length).toBeLessThanOrEqual(options.unanswered ?? 0);
  // ...sent before the killed process was gone.
  expect(unanswered.filter((a) => a.at > (options.unansweredBefore ?? 0))).toEqual([]);
  const problems = load.attempts.filter((a) => a.problem && a.status !== 0).map((a) => `${a.flag} write ${a.n}: ${a.problem}`);
  expect(problems).toEqual([]);
  expect(lost).toBe(0);
  expect(Object.keys(edge5xx).filter((s) => s !== "503" && s !== "504")).toEqual([]);
  // The SDKs are never told their key is unknown or their path missing while instances come and go.
  const refused = suite.cluster.edge!.requests().slice(edgeFrom).filter((e) => e.backend === "streaming" && (e.status === 401 || e.status === 404));
  expect(refused).toEqual([]);
  return figures;
}

/** Waits until every flag has had an acknowledged write at or after `since` (the cluster writes again). */
export async function writesAgain(load: Load, since: number, ms = 60_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    const flags = new Set(load.attempts.filter((a) => a.status === 200 && a.at >= since).map((a) => a.flag));
    if (FLAGS.every((f) => flags.has(f))) return Date.now() - since;
    if (Date.now() - start > ms) throw new Error(`writes did not succeed again for every flag within ${ms} ms`);
    await Bun.sleep(50);
  }
}

/**
 * Whether `values` (a flag's value per flag) are what the writes so far allow: each flag's last
 * acknowledged write, or a later one whose answer did not say.
 */
export function allowedByWrites(load: Load, values: Record<string, unknown>): string[] {
  const wrong: string[] = [];
  for (const flag of FLAGS) {
    const mine = load.attempts.filter((a) => a.flag === flag);
    const lastAcknowledged = Math.max(0, ...mine.filter((a) => a.status === 200).map((a) => a.n));
    const unanswered = mine.filter((a) => a.status !== 200 && a.n > lastAcknowledged).map((a) => a.n);
    if (values[flag] !== lastAcknowledged && !unanswered.includes(values[flag] as number)) wrong.push(`${flag}: ${values[flag]} (last acknowledged ${lastAcknowledged})`);
  }
  return wrong;
}

/** Waits until every SDK serves the same values, and values `ok` accepts; answers them. */
export async function agree(sdks: LDClient[], ok: (values: Record<string, unknown>) => string[] = () => [], ms = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = await served(sdks);
    const wrong = ok(seen[0]!);
    if (wrong.length === 0 && seen.every((s) => JSON.stringify(s) === JSON.stringify(seen[0]))) return seen[0]!;
    if (Date.now() > deadline) throw new Error(`the SDKs do not serve the same acceptable values: ${JSON.stringify(seen)} ${wrong.join(", ")}`);
    await Bun.sleep(50);
  }
}

/** A JSON error answer: content type, `{code, message}`, and `Retry-After` on a 503. */
export async function expectJsonError(res: Response, statuses: number[]): Promise<void> {
  const text = await res.text();
  expect(statuses).toContain(res.status);
  expect(errorProblem(res, text)).toBeUndefined();
}
