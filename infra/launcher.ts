/**
 * The local launcher: the real services as separate processes, N instances of each, against a
 * throwaway Postgres and nats-server (or the given DATABASE_URL / NATS_URL). Used by the
 * end-to-end tests and the benchmarks, and by hand:
 *
 *   bun infra/launcher.ts --edge --gateway 2 --auth 1 --flags 2 --streaming 2
 *
 * With `--edge` (or `edge: true`) HAProxy runs in front (`infra/edge/`): one URL for the REST API and
 * every SDK endpoint. An instance that exits without being asked to is started again on its port,
 * after a pause that doubles with each quick exit, as an orchestrator would.
 */
import { appendFileSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { startEdge, type Edge, type EdgeServers } from "./edge/haproxy.ts";
import { startNats, type NatsServer } from "./local/nats.ts";
import { freePort } from "./local/ports.ts";
import { startPostgres, type PgServer, type PostgresOptions } from "./local/postgres.ts";

export type ServiceKind = "gateway" | "auth" | "flags" | "streaming";

export interface ClusterOptions {
  counts: Record<ServiceKind, number>;
  adminToken: string;
  /** Use this server instead of a throwaway one. */
  databaseUrl?: string;
  natsUrl?: string;
  logLevel?: string;
  env?: Record<string, string>;
  /** Settings of the throwaway Postgres (see `startPostgres`). */
  postgres?: PostgresOptions;
  /** Run HAProxy in front of the gateways and streaming instances (`cluster.edge`). */
  edge?: boolean;
  /** Start an instance again when it exits without `kill` or `stop` asking it to (default true). */
  restart?: boolean;
}

export interface Instance {
  kind: ServiceKind;
  index: number;
  port: number;
  url: string;
  logFile: string;
  /** The running process; a new one after each restart. */
  process: Subprocess;
  /** How many times the launcher started it again after it exited on its own. */
  restarts: number;
}

export interface Cluster {
  gateways: string[];
  instances: Instance[];
  postgres: PgServer | undefined;
  nats: NatsServer | undefined;
  databaseUrl: string;
  natsUrl: string;
  /** The key the cluster's gateways and services share. */
  internalKey: string;
  logDir: string;
  /** HAProxy in front, when asked for. */
  edge: Edge | undefined;
  /** Starts one more instance of a service and waits until it is ready (and in the edge's configuration). */
  add(kind: ServiceKind): Promise<Instance>;
  /**
   * Sends a signal to one instance and waits for it to exit. It stays down unless `restart` is
   * set, which treats the exit as a crash: the launcher starts it again as it would after one.
   */
  kill(instance: Instance, signal?: NodeJS.Signals, options?: { restart?: boolean }): Promise<number>;
  /** Resolves once the instance has been started again `count` times in all (default 1) and is ready. */
  restarted(instance: Instance, count?: number, timeoutMs?: number): Promise<void>;
  /** Everything the processes logged so far. */
  logs(): string;
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dir, "..");

/** Still running: neither exited nor killed by a signal. */
export const isAlive = (instance: Instance) => instance.process.exitCode === null && instance.process.signalCode === null;

export async function waitReady(url: string, timeoutMs = 30_000, process?: Subprocess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process?.exitCode !== null && process?.exitCode !== undefined) throw new Error(`${url}: the process exited with ${process.exitCode}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await Bun.sleep(100);
  }
}

/** An instance that exits within this long of starting counts as a quick exit: the next pause doubles. */
const QUICK_EXIT_MS = 30_000;
const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 15_000;

/** The pause before starting an instance again after its `quickExits`-th exit in a row soon after starting (250 ms, 500 ms, … 15 s). */
export function restartDelay(quickExits: number): number {
  return Math.min(FIRST_RESTART_DELAY_MS * 2 ** Math.max(0, quickExits - 1), MAX_RESTART_DELAY_MS);
}

export async function launchCluster(options: ClusterOptions): Promise<Cluster> {
  const postgres = options.databaseUrl ? undefined : await startPostgres(options.postgres);
  const nats = options.natsUrl ? undefined : await startNats();
  const databaseUrl = options.databaseUrl ?? postgres!.url();
  const natsUrl = options.natsUrl ?? nats!.url;
  const logDir = mkdtempSync(join(tmpdir(), "vexil-cluster-"));
  // One key for the whole cluster: the gateways sign caller assertions with it, the services check them.
  const internalKey = options.env?.VEXIL_INTERNAL_KEY ?? process.env.VEXIL_INTERNAL_KEY ?? Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
  const instances: Instance[] = [];
  const counters: Record<ServiceKind, number> = { gateway: 0, auth: 0, flags: 0, streaming: 0 };
  const restart = options.restart ?? true;
  /** Instances asked to stop: not started again. */
  const held = new Set<Instance>();
  let stopping = false;
  let edge: Edge | undefined;

  const startProcess = (kind: ServiceKind, port: number, logFile: string): Subprocess => {
    // Appended to, so a restarted instance's log follows the previous one's.
    const out = openSync(logFile, "a");
    const err = openSync(`${logFile}.err`, "a");
    try {
      return Bun.spawn(["bun", `services/${kind}/main.ts`], {
        cwd: ROOT,
        env: {
          ...process.env,
          ...options.env,
          PORT: String(port),
          HOST: "127.0.0.1",
          DATABASE_URL: databaseUrl,
          NATS_URL: natsUrl,
          VEXIL_ADMIN_TOKEN: options.adminToken,
          VEXIL_INTERNAL_KEY: internalKey,
          LOG_LEVEL: options.logLevel ?? "info",
        },
        stdout: out,
        stderr: err,
        stdin: "ignore",
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
  };

  /** Starts the instance again whenever it exits unasked, after a pause that doubles while it keeps exiting soon after starting. */
  const supervise = (instance: Instance, quickExits: number) => {
    const proc = instance.process;
    const startedAt = Date.now();
    void proc.exited.then((code) => {
      if (!restart || stopping || held.has(instance) || instance.process !== proc) return;
      const quick = Date.now() - startedAt < QUICK_EXIT_MS ? quickExits + 1 : 0;
      const delay = restartDelay(quick);
      const how = proc.signalCode ? `signal ${proc.signalCode}` : `code ${code}`;
      try {
        appendFileSync(`${instance.logFile}.err`, `launcher: ${instance.kind}-${instance.index} exited (${how}); starting it again in ${delay} ms\n`);
      } catch {
        // the log directory is gone: the cluster is being torn down
      }
      setTimeout(() => {
        if (stopping || held.has(instance)) return;
        instance.process = startProcess(instance.kind, instance.port, instance.logFile);
        instance.restarts++;
        supervise(instance, quick);
      }, delay);
    });
  };

  const edgeServers = (): EdgeServers => {
    const of = (kind: ServiceKind) => instances.filter((i) => i.kind === kind && !held.has(i)).map((i) => ({ name: `${i.kind}-${i.index}`, host: "127.0.0.1", port: i.port }));
    return { gateways: of("gateway"), streaming: of("streaming") };
  };

  const spawn = async (kind: ServiceKind): Promise<Instance> => {
    const index = counters[kind]++;
    const port = freePort();
    const logFile = join(logDir, `${kind}-${index}.log`);
    const instance: Instance = { kind, index, port, url: `http://127.0.0.1:${port}`, logFile, process: startProcess(kind, port, logFile), restarts: 0 };
    instances.push(instance);
    await waitReady(instance.url, 30_000, instance.process);
    supervise(instance, 0);
    return instance;
  };

  const stopAll = async () => {
    stopping = true;
    await edge?.stop();
    for (const i of instances) if (isAlive(i)) i.process.kill("SIGTERM");
    await Promise.all(instances.map((i) => Promise.race([i.process.exited, Bun.sleep(12_000)])));
    for (const i of instances) if (isAlive(i)) i.process.kill("SIGKILL");
    await nats?.destroy();
    await postgres?.destroy();
    rmSync(logDir, { recursive: true, force: true });
  };

  try {
    // auth first: it migrates the database and creates the admin token the others rely on.
    for (let i = 0; i < options.counts.auth; i++) await spawn("auth");
    await Promise.all([
      ...Array.from({ length: options.counts.flags }, () => spawn("flags")),
      ...Array.from({ length: options.counts.streaming }, () => spawn("streaming")),
      ...Array.from({ length: options.counts.gateway }, () => spawn("gateway")),
    ]);
    if (options.edge) edge = await startEdge(edgeServers(), logDir);
  } catch (e) {
    const logs = instances.map((i) => { try { return readFileSync(`${i.logFile}.err`, "utf8").slice(-2000); } catch { return ""; } }).join("\n");
    await stopAll();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${logs}`);
  }

  const cluster: Cluster = {
    get gateways() {
      return instances.filter((i) => i.kind === "gateway" && isAlive(i)).map((i) => i.url);
    },
    instances,
    postgres,
    nats,
    databaseUrl,
    natsUrl,
    internalKey,
    logDir,
    edge,
    async add(kind) {
      const instance = await spawn(kind);
      if (edge && (kind === "gateway" || kind === "streaming")) await edge.reload(edgeServers());
      return instance;
    },
    async kill(instance, signal = "SIGTERM", killOptions = {}) {
      if (!killOptions.restart) held.add(instance);
      instance.process.kill(signal);
      return instance.process.exited;
    },
    async restarted(instance, count = 1, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (instance.restarts < count || !isAlive(instance)) {
        if (Date.now() > deadline) throw new Error(`${instance.kind}-${instance.index} was not started again within ${timeoutMs} ms`);
        await Bun.sleep(50);
      }
      await waitReady(instance.url, Math.max(1, deadline - Date.now()), instance.process);
    },
    logs() {
      return [...instances.flatMap((i) => [i.logFile, `${i.logFile}.err`]), ...(edge ? [edge.logFile] : [])]
        .map((f) => {
          try {
            return readFileSync(f, "utf8");
          } catch {
            return "";
          }
        })
        .join("\n");
    },
    stop: stopAll,
  };
  return cluster;
}

const USAGE = "usage: bun infra/launcher.ts [--edge] [--gateway N] [--auth N] [--flags N] [--streaming N]";

function parseArgs(argv: string[]): { counts: Record<ServiceKind, number>; edge: boolean } {
  const counts: Record<ServiceKind, number> = { gateway: 1, auth: 1, flags: 1, streaming: 1 };
  let edge = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--edge") {
      edge = true;
      continue;
    }
    const kind = argv[i]?.replace(/^--/, "") as ServiceKind;
    const n = Number(argv[++i]);
    if (!(kind in counts) || !Number.isInteger(n) || n < 0 || n > 16) throw new Error(USAGE);
    counts[kind] = n;
  }
  return { counts, edge };
}

if (import.meta.main) {
  const { counts, edge } = parseArgs(process.argv.slice(2));
  const adminToken = process.env.VEXIL_ADMIN_TOKEN ?? `local-admin-${crypto.randomUUID()}`;
  const cluster = await launchCluster({
    counts,
    adminToken,
    databaseUrl: process.env.DATABASE_URL,
    natsUrl: process.env.NATS_URL,
    edge,
    // A local cluster by hand favours speed: a crash of its throwaway Postgres may lose the last
    // acknowledged commits. Tests and fault runs keep the default (durable acknowledgements).
    postgres: { fastCommits: true },
  });
  console.log(`Vexil cluster running (logs in ${cluster.logDir})`);
  if (cluster.edge) console.log(`  edge: ${cluster.edge.url}`);
  for (const url of cluster.gateways) console.log(`  gateway: ${url}`);
  console.log(`  admin token: ${process.env.VEXIL_ADMIN_TOKEN ? "(VEXIL_ADMIN_TOKEN)" : adminToken}`);
  const stop = () => void cluster.stop().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

export { freePort };
