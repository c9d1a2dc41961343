/**
 * The local launcher: the real services as separate processes, N instances of each, against a
 * throwaway Postgres and nats-server (or the given DATABASE_URL / NATS_URL). Used by the
 * end-to-end tests and the benchmarks, and by hand:
 *
 *   bun infra/launcher.ts --gateway 2 --auth 1 --flags 2 --streaming 1
 *   bun infra/launcher.ts --nats-nodes 3 --gateway 2 --auth 1 --flags 2 --streaming 2
 *
 * With `--nats-nodes N` (N > 1) the bus is a cluster of N nats-servers and the instances are
 * spread over its nodes: each connects to its own node first and fails over to the others.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { startNats, startNatsCluster, type NatsCluster, type NatsServer } from "./local/nats.ts";
import { freePort } from "./local/ports.ts";
import { startPostgres, type PgServer, type PostgresOptions } from "./local/postgres.ts";

export type ServiceKind = "gateway" | "auth" | "flags" | "streaming";

export interface ClusterOptions {
  counts: Record<ServiceKind, number>;
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
}

export interface Instance {
  kind: ServiceKind;
  index: number;
  port: number;
  url: string;
  logFile: string;
  process: Subprocess;
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
  /** Starts one more instance of a service and waits until it is ready. */
  add(kind: ServiceKind): Promise<Instance>;
  /** Sends a signal to one instance and waits for it to exit. */
  kill(instance: Instance, signal?: NodeJS.Signals): Promise<number>;
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
  const counters: Record<ServiceKind, number> = { gateway: 0, auth: 0, flags: 0, streaming: 0 };
  // Instances take the bus's nodes in turn, so each kind of service is spread over them.
  let spawned = 0;

  const spawn = async (kind: ServiceKind): Promise<Instance> => {
    const index = counters[kind]++;
    const port = freePort();
    const logFile = join(logDir, `${kind}-${index}.log`);
    const natsNode = natsCluster ? spawned++ % natsCluster.nodes.length : undefined;
    const proc = Bun.spawn(["bun", `services/${kind}/main.ts`], {
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
      stdout: Bun.file(logFile),
      stderr: Bun.file(`${logFile}.err`),
    });
    const instance: Instance = { kind, index, port, url: `http://127.0.0.1:${port}`, logFile, process: proc, natsNode };
    instances.push(instance);
    await waitReady(instance.url, 30_000, proc);
    return instance;
  };

  const stopAll = async () => {
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
      ...Array.from({ length: options.counts.gateway }, () => spawn("gateway")),
    ]);
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
    add: spawn,
    async kill(instance, signal = "SIGTERM") {
      instance.process.kill(signal);
      return instance.process.exited;
    },
    logs() {
      return instances
        .flatMap((i) => [i.logFile, `${i.logFile}.err`])
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

const USAGE = "usage: bun infra/launcher.ts [--gateway N] [--auth N] [--flags N] [--streaming N] [--nats-nodes N]";

function parseArgs(argv: string[]): { counts: Record<ServiceKind, number>; natsNodes: number } {
  const counts: Record<ServiceKind, number> = { gateway: 1, auth: 1, flags: 1, streaming: 1 };
  let natsNodes = 1;
  for (let i = 0; i < argv.length; i += 2) {
    const option = argv[i]?.replace(/^--/, "");
    const n = Number(argv[i + 1]);
    if (option === "nats-nodes") {
      if (!Number.isInteger(n) || n < 1 || n > 7) throw new Error(USAGE);
      natsNodes = n;
      continue;
    }
    const kind = option as ServiceKind;
    if (!(kind in counts) || !Number.isInteger(n) || n < 0 || n > 16) throw new Error(USAGE);
    counts[kind] = n;
  }
  return { counts, natsNodes };
}

if (import.meta.main) {
  const { counts, natsNodes } = parseArgs(process.argv.slice(2));
  const adminToken = process.env.VEXIL_ADMIN_TOKEN ?? `local-admin-${crypto.randomUUID()}`;
  const cluster = await launchCluster({
    counts,
    adminToken,
    databaseUrl: process.env.DATABASE_URL,
    natsUrl: process.env.NATS_URL,
    natsNodes,
  });
  console.log(`Vexil cluster running (logs in ${cluster.logDir})`);
  for (const node of cluster.natsCluster?.nodes ?? []) console.log(`  nats: ${node.url}`);
  for (const url of cluster.gateways) console.log(`  gateway: ${url}`);
  console.log(`  admin token: ${process.env.VEXIL_ADMIN_TOKEN ? "(VEXIL_ADMIN_TOKEN)" : adminToken}`);
  const stop = () => void cluster.stop().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

export { freePort };
