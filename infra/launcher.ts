/**
 * The local launcher: the real services as separate processes, N instances of each, against a
 * throwaway Postgres and nats-server (or the given DATABASE_URL / NATS_URL). Used by the
 * end-to-end tests and the benchmarks, and by hand:
 *
 *   bun infra/launcher.ts --edge --gateway 2 --auth 1 --flags 2 --streaming 2 --webhooks 1
 *
 * With `--edge` (or `edge: true`) HAProxy runs in front (`infra/edge/`): one URL for the REST API and
 * every SDK endpoint. An instance that exits without being asked to is started again on its port,
 * after a pause that doubles with each quick exit, as an orchestrator would.
 *
 * One HAProxy process holds at most about half its open-file limit in streams (two descriptors
 * each), so for many SDK streams the edge runs as several processes on the one port, the kernel
 * spreading new connections over them: `--edge-processes N`, or `--streams N` to size it from the
 * streams expected and the file limit (`infra/edge/capacity.ts`; without either, one process).
 *   bun infra/launcher.ts --edge --streams 30000 --gateway 2 --auth 1 --flags 2 --streaming 2
 *   bun infra/launcher.ts --nats-nodes 3 --gateway 2 --auth 1 --flags 2 --streaming 2
 *
 * With `--nats-nodes N` (N > 1) the bus is a cluster of N nats-servers and the instances are
 * spread over its nodes: each connects to its own node first and fails over to the others.
 */
import { appendFileSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { edgeProcessesFor, openFileLimit } from "./edge/capacity.ts";
import { startEdge, type Edge, type EdgeServers } from "./edge/haproxy.ts";
import { startNats, startNatsCluster, type NatsCluster, type NatsServer } from "./local/nats.ts";
import { freePort } from "./local/ports.ts";
import { QUICK_EXIT_MS, restartDelay } from "./local/restarts.ts";
import { startPostgres, type PgServer, type PostgresOptions } from "./local/postgres.ts";

export type ServiceKind = "gateway" | "auth" | "flags" | "streaming" | "webhooks";

export interface ClusterOptions {
  /** Instances of each service; webhooks: none unless given. */
  counts: Record<Exclude<ServiceKind, "webhooks">, number> & { webhooks?: number };
  adminToken: string;
  /** Use this server instead of a throwaway one. */
  databaseUrl?: string;
  natsUrl?: string;
  /** Run the throwaway bus as a cluster of this many nats-servers (1: a single server). */
  natsNodes?: number;
  logLevel?: string;
  env?: Record<string, string>;
  /** Settings of the throwaway Postgres (see `startPostgres`). */
  postgres?: PostgresOptions;
  /** Run HAProxy in front of the gateways and streaming instances (`cluster.edge`). */
  edge?: boolean;
  /** HAProxy processes of the edge, on the one port (default: enough for `expectedStreams`, at least one). */
  edgeProcesses?: number;
  /** SDK streams the edge should hold at once: sizes `edgeProcesses` when that is not given. */
  expectedStreams?: number;
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
  /** With a clustered bus: the node this instance connects to first. */
  natsNode?: number;
}

export interface Cluster {
  gateways: string[];
  instances: Instance[];
  postgres: PgServer | undefined;
  nats: NatsServer | undefined;
  /** The bus's nodes when it runs as a cluster (`natsNodes` > 1). */
  natsCluster: NatsCluster | undefined;
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

/** The edge's processes: as asked, or as many as the expected streams need under this file limit. */
export function edgeProcessCount(options: Pick<ClusterOptions, "edgeProcesses" | "expectedStreams">, fileLimit = openFileLimit()): number {
  return options.edgeProcesses ?? edgeProcessesFor(options.expectedStreams ?? 0, fileLimit);
}

export async function launchCluster(options: ClusterOptions): Promise<Cluster> {
  const postgres = options.databaseUrl ? undefined : await startPostgres(options.postgres);
  const clustered = !options.natsUrl && (options.natsNodes ?? 1) > 1;
  const natsCluster = clustered ? await startNatsCluster(options.natsNodes) : undefined;
  const nats = options.natsUrl || clustered ? undefined : await startNats();
  const databaseUrl = options.databaseUrl ?? postgres!.url();
  const natsUrl = options.natsUrl ?? natsCluster?.url ?? nats!.url;
  const logDir = mkdtempSync(join(tmpdir(), "vexil-cluster-"));
  // One key for the whole cluster: the gateways sign caller assertions with it, the services check them.
  const internalKey = options.env?.VEXIL_INTERNAL_KEY ?? process.env.VEXIL_INTERNAL_KEY ?? Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
  const instances: Instance[] = [];
  const counters: Record<ServiceKind, number> = { gateway: 0, auth: 0, flags: 0, streaming: 0, webhooks: 0 };
  const restart = options.restart ?? true;
  /** Instances asked to stop: not started again. */
  const held = new Set<Instance>();
  let stopping = false;
  let edge: Edge | undefined;

  // Instances take the bus's nodes in turn, so each kind of service is spread over them.
  let spawned = 0;

  const startProcess = (kind: ServiceKind, port: number, logFile: string, natsNode: number | undefined): Subprocess => {
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
          NATS_URL: natsNode === undefined ? natsUrl : natsCluster!.urlFor(natsNode),
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
        instance.process = startProcess(instance.kind, instance.port, instance.logFile, instance.natsNode);
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
    const natsNode = natsCluster ? spawned++ % natsCluster.nodes.length : undefined;
    const instance: Instance = { kind, index, port, url: `http://127.0.0.1:${port}`, logFile, process: startProcess(kind, port, logFile, natsNode), restarts: 0, natsNode };
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
    await natsCluster?.destroy();
    await postgres?.destroy();
    rmSync(logDir, { recursive: true, force: true });
  };

  try {
    // auth first: it migrates the database and creates the admin token the others rely on.
    for (let i = 0; i < options.counts.auth; i++) await spawn("auth");
    await Promise.all([
      ...Array.from({ length: options.counts.flags }, () => spawn("flags")),
      ...Array.from({ length: options.counts.streaming }, () => spawn("streaming")),
      ...Array.from({ length: options.counts.webhooks ?? 0 }, () => spawn("webhooks")),
      ...Array.from({ length: options.counts.gateway }, () => spawn("gateway")),
    ]);
    if (options.edge) edge = await startEdge(edgeServers(), logDir, { processes: edgeProcessCount(options), restart });
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
    natsCluster,
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
      return [...instances.flatMap((i) => [i.logFile, `${i.logFile}.err`]), ...(edge ? edge.processes.map((p) => p.logFile) : [])]
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

const USAGE = "usage: bun infra/launcher.ts [--edge [--edge-processes N | --streams N]] [--gateway N] [--auth N] [--flags N] [--streaming N] [--webhooks N] [--nats-nodes N]";

interface LauncherArgs {
  counts: Record<ServiceKind, number>;
  edge: boolean;
  natsNodes: number;
  edgeProcesses?: number;
  expectedStreams?: number;
}

export function parseLauncherArgs(argv: string[]): LauncherArgs {
  const args: LauncherArgs = { counts: { gateway: 1, auth: 1, flags: 1, streaming: 1, webhooks: 1 }, edge: false, natsNodes: 1 };
  const whole = (n: number, min: number, max: number) => {
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(USAGE);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--edge") {
      args.edge = true;
      continue;
    }
    const option = argv[i]?.replace(/^--/, "");
    const n = Number(argv[++i]);
    if (option === "nats-nodes") args.natsNodes = whole(n, 1, 7);
    else if (option === "edge-processes") args.edgeProcesses = whole(n, 1, 32);
    else if (option === "streams") args.expectedStreams = whole(n, 0, 1_000_000);
    else if (option && option in args.counts) args.counts[option as ServiceKind] = whole(n, 0, 16);
    else throw new Error(USAGE);
  }
  return args;
}

if (import.meta.main) {
  const { counts, edge, natsNodes, edgeProcesses, expectedStreams } = parseLauncherArgs(process.argv.slice(2));
  const adminToken = process.env.VEXIL_ADMIN_TOKEN ?? `local-admin-${crypto.randomUUID()}`;
  const cluster = await launchCluster({
    counts,
    adminToken,
    databaseUrl: process.env.DATABASE_URL,
    natsUrl: process.env.NATS_URL,
    edge,
    edgeProcesses,
    expectedStreams,
    natsNodes,
    // A local cluster by hand favours speed: a crash of its throwaway Postgres may lose the last
    // acknowledged commits. Tests and fault runs keep the default (durable acknowledgements).
    postgres: { fastCommits: true },
  });
  console.log(`Vexil cluster running (logs in ${cluster.logDir})`);
  if (cluster.edge) {
    console.log(`  edge: ${cluster.edge.url}`);
    console.log(`  edge processes: ${cluster.edge.processes.length} (status: ${cluster.edge.processes.map((p) => `${p.statsUrl}/stats`).join(", ")})`);
  }
  for (const node of cluster.natsCluster?.nodes ?? []) console.log(`  nats: ${node.url}`);
  for (const url of cluster.gateways) console.log(`  gateway: ${url}`);
  console.log(`  admin token: ${process.env.VEXIL_ADMIN_TOKEN ? "(VEXIL_ADMIN_TOKEN)" : adminToken}`);
  const stop = () => void cluster.stop().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

export { freePort, restartDelay };
