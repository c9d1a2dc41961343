/**
 * HAProxy as child processes for the local launcher: one or more edge processes listening on the
 * same port (SO_REUSEPORT, which HAProxy sets on Linux; the kernel spreads new connections over
 * them), each with its own configuration file rendered for the instances' ports, its own status
 * port and its own request log (one JSON object a line). A process's open-file limit bounds the
 * streams it can hold (two descriptors each, `capacity.ts`), so more streams take more processes.
 * Each is reloaded in place (SIGUSR2 to its master process) when instances are added, and started
 * again on its ports when it exits without being asked to, as an orchestrator would.
 */
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../local/ports.ts";
import { QUICK_EXIT_MS, restartDelay } from "../local/restarts.ts";
import { renderEdgeConfig, type StaticServer } from "./config.ts";

export interface EdgeServers {
  gateways: StaticServer[];
  streaming: StaticServer[];
}

/** One request as the edge logged it (`log-format` in config.ts). */
export interface EdgeLogEntry {
  time: string;
  client: string;
  backend: string;
  server: string;
  status: number;
  method: string;
  path: string;
  /** Milliseconds until the answer started (`+` before it: logged as it started, see `option logasap`). */
  ms: string;
  retries: number | string;
  end: string;
}

/** One server's line of the statistics (`/stats;csv`). */
export interface EdgeServerState {
  backend: string;
  server: string;
  /** `UP`, `DOWN`, `MAINT`, `no check`, or a transition such as `UP 1/2`. */
  status: string;
  /** Connections open to it now. */
  current: number;
}

/** One HAProxy master process (with its worker) of the edge. */
export interface EdgeProcess {
  index: number;
  /** `/stats` (add `;csv`) and `/metrics` of this process. */
  statsUrl: string;
  configFile: string;
  logFile: string;
  /** The master process; a new one after each restart. Its worker is its child. */
  process: Subprocess;
  /** How many times it was started again after exiting unasked. */
  restarts: number;
  /** Every request this process logged so far. */
  requests(): EdgeLogEntry[];
  /** The servers as this process sees them (its own health checks, its own connections). */
  servers(): Promise<EdgeServerState[]>;
}

export interface Edge {
  url: string;
  port: number;
  /** The first process's `/stats` and `/metrics`; each process has its own (`processes`). */
  statsUrl: string;
  /** The first process's request log. */
  logFile: string;
  processes: EdgeProcess[];
  /** Renders every process's configuration for these servers and reloads each without dropping connections. */
  reload(servers: EdgeServers): Promise<void>;
  /** Every request logged so far: each process's in its order, one process after another. */
  requests(): EdgeLogEntry[];
  /** The servers, with the connections to each summed over the processes and the status the first running process sees. */
  servers(): Promise<EdgeServerState[]>;
  /** Resolves once every running process's health checks put the server in (`UP`) or out (`DOWN`) of the rotation. */
  waitServer(server: string, status: "UP" | "DOWN", timeoutMs?: number): Promise<void>;
  /** Resolves once the process has been started again `count` times in all (default 1) and sees a gateway up. */
  restarted(index: number, count?: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface EdgeOptions {
  /** HAProxy processes on the one port (default 1). */
  processes?: number;
  /** Start a process again when it exits unasked (default true). */
  restart?: boolean;
}

export function haproxyBinary(): string {
  const found = Bun.which("haproxy") ?? ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"].find((p) => existsSync(p));
  if (!found) throw new Error("haproxy is not installed (Debian: apt-get install haproxy)");
  return found;
}

const running = (p: Subprocess) => p.exitCode === null && p.signalCode === null;

function readLog(file: string): EdgeLogEntry[] {
  const entries: EdgeLogEntry[] = [];
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return entries;
  }
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      entries.push(JSON.parse(line) as EdgeLogEntry);
    } catch {
      // a path HAProxy could not escape for JSON: not one the tests look at
    }
  }
  return entries;
}

async function readStates(statsUrl: string): Promise<EdgeServerState[]> {
  const csv = await (await fetch(`${statsUrl}/stats;csv`)).text();
  const [header, ...rows] = csv.trim().split("\n");
  const columns = header!.replace(/^# /, "").split(",");
  const at = (name: string) => columns.indexOf(name);
  return rows
    .map((row) => row.split(","))
    .filter((cells) => cells[at("svname")] !== "FRONTEND" && cells[at("svname")] !== "BACKEND")
    .map((cells) => ({ backend: cells[at("pxname")]!, server: cells[at("svname")]!, status: cells[at("status")]!, current: Number(cells[at("scur")]) }));
}

function spawnHaproxy(configFile: string, logFile: string): Subprocess {
  const out = openSync(logFile, "a");
  try {
    return Bun.spawn([haproxyBinary(), "-f", configFile], { stdout: out, stderr: out, stdin: "ignore" });
  } finally {
    closeSync(out);
  }
}

export async function startEdge(servers: EdgeServers, dir: string, options: EdgeOptions = {}): Promise<Edge> {
  const count = options.processes ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new Error(`edge processes: ${count} is not a positive whole number`);
  const restart = options.restart ?? true;
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  let stopping = false;
  /** Processes past their first start: from then on an exit is a crash to recover from, not a failure to start. */
  const supervised = new Set<EdgeProcess>();

  // The first process keeps the file names of a one-process edge.
  const named = (index: number, base: string, ext: string) => join(dir, index === 0 ? `${base}.${ext}` : `${base}-${index}.${ext}`);
  const processes: EdgeProcess[] = Array.from({ length: count }, (_, index) => {
    const statsUrl = `http://127.0.0.1:${freePort()}`;
    const logFile = named(index, "edge", "log");
    return {
      index,
      statsUrl,
      configFile: named(index, "haproxy", "cfg"),
      logFile,
      process: undefined as unknown as Subprocess,
      restarts: 0,
      requests: () => readLog(logFile),
      servers: () => readStates(statsUrl),
    };
  });

  const write = (p: EdgeProcess, s: EdgeServers) => Bun.write(p.configFile, renderEdgeConfig({ bind: `127.0.0.1:${port}`, statsBind: p.statsUrl.replace("http://", ""), ...s }));

  /** Starts the process again whenever it exits unasked, after a pause that doubles while it keeps exiting soon after starting. */
  const supervise = (p: EdgeProcess, quickExits: number) => {
    const proc = p.process;
    const startedAt = Date.now();
    void proc.exited.then((code) => {
      if (!restart || stopping || p.process !== proc) return;
      const quick = Date.now() - startedAt < QUICK_EXIT_MS ? quickExits + 1 : 0;
      const delay = restartDelay(quick);
      const how = proc.signalCode ? `signal ${proc.signalCode}` : `code ${code}`;
      try {
        appendFileSync(p.logFile, `launcher: edge-${p.index} exited (${how}); starting it again in ${delay} ms\n`);
      } catch {
        // the log directory is gone: the cluster is being torn down
      }
      setTimeout(() => {
        if (stopping) return;
        p.process = spawnHaproxy(p.configFile, p.logFile);
        p.restarts++;
        supervise(p, quick);
      }, delay);
    });
  };

  /** Resolves once this process's health checks see the server with that status. */
  const waitProcessServer = async (p: EdgeProcess, server: string, status: string, deadline: number, timeoutMs: number) => {
    let seen = "";
    for (;;) {
      try {
        seen = (await p.servers()).find((s) => s.server === server)?.status ?? "absent";
        if (seen === status) return;
      } catch {
        // between two workers during a reload, or starting again
      }
      if (!running(p.process) && !(restart && supervised.has(p))) throw new Error(`haproxy (edge-${p.index}) exited with ${p.process.exitCode}: ${readFileSync(p.logFile, "utf8").slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`edge-${p.index}: ${server} is ${seen}, not ${status}, after ${timeoutMs} ms`);
      await Bun.sleep(100);
    }
  };

  const waitServer = async (server: string, status: "UP" | "DOWN", timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(processes.filter((p) => running(p.process)).map((p) => waitProcessServer(p, server, status, deadline, timeoutMs)));
  };

  /** Every server of the configuration is up as this process sees it. */
  const waitAllUp = async (p: EdgeProcess, s: EdgeServers, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (const server of [...s.gateways, ...s.streaming]) await waitProcessServer(p, server.name, "UP", deadline, timeoutMs);
  };

  let current = servers;
  const edge: Edge = {
    url,
    port,
    statsUrl: processes[0]!.statsUrl,
    logFile: processes[0]!.logFile,
    processes,
    async reload(next) {
      current = next;
      for (const p of processes) {
        await write(p, next);
        if (running(p.process)) p.process.kill("SIGUSR2");
      }
      // A process that is being started again reads the new file as it starts.
      await Promise.all(processes.map((p) => waitAllUp(p, next)));
    },
    requests: () => processes.flatMap((p) => p.requests()),
    async servers() {
      const seen = await Promise.all(processes.filter((p) => running(p.process)).map((p) => p.servers().catch(() => [] as EdgeServerState[])));
      const merged = new Map<string, EdgeServerState>();
      for (const states of seen) {
        for (const s of states) {
          const key = `${s.backend}/${s.server}`;
          const known = merged.get(key);
          if (known) known.current += s.current;
          else merged.set(key, { ...s });
        }
      }
      return [...merged.values()];
    },
    waitServer,
    async restarted(index, times = 1, timeoutMs = 30_000) {
      const p = processes[index]!;
      const deadline = Date.now() + timeoutMs;
      while (p.restarts < times || !running(p.process)) {
        if (Date.now() > deadline) throw new Error(`edge-${index} was not started again within ${timeoutMs} ms`);
        await Bun.sleep(50);
      }
      await waitAllUp(p, current, Math.max(1, deadline - Date.now()));
    },
    async stop() {
      stopping = true;
      for (const p of processes) if (p.process && running(p.process)) p.process.kill("SIGTERM");
      await Promise.all(processes.map((p) => p.process && Promise.race([p.process.exited, Bun.sleep(5_000)])));
      for (const p of processes) if (p.process && running(p.process)) p.process.kill("SIGKILL");
    },
  };

  try {
    for (const p of processes) {
      await write(p, servers);
      p.process = spawnHaproxy(p.configFile, p.logFile);
    }
    await Promise.all(processes.map((p) => waitAllUp(p, servers)));
    for (const p of processes) {
      supervised.add(p);
      supervise(p, 0);
    }
  } catch (e) {
    await edge.stop();
    throw e;
  }
  return edge;
}
