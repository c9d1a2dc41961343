/**
 * HAProxy as a child process for the local launcher: the configuration rendered for the instances'
 * ports, reloaded in place (SIGUSR2 to its master process) when instances are added, its request log
 * (one JSON object a line) in a file the tests read.
 */
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../local/ports.ts";
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

export interface Edge {
  url: string;
  port: number;
  /** `/stats` (add `;csv`) and `/metrics` of the edge itself. */
  statsUrl: string;
  configFile: string;
  logFile: string;
  process: Subprocess;
  /** Renders the configuration for these servers and reloads it without dropping connections. */
  reload(servers: EdgeServers): Promise<void>;
  /** Every request logged so far. */
  requests(): EdgeLogEntry[];
  servers(): Promise<EdgeServerState[]>;
  /** Resolves once the server's health checks put it in (`UP`) or out (`DOWN`) of the rotation. */
  waitServer(server: string, status: "UP" | "DOWN", timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function haproxyBinary(): string {
  const found = Bun.which("haproxy") ?? ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"].find((p) => existsSync(p));
  if (!found) throw new Error("haproxy is not installed (Debian: apt-get install haproxy)");
  return found;
}

export async function startEdge(servers: EdgeServers, dir: string): Promise<Edge> {
  const port = freePort();
  const statsPort = freePort();
  const configFile = join(dir, "haproxy.cfg");
  const logFile = join(dir, "edge.log");
  const write = (s: EdgeServers) => Bun.write(configFile, renderEdgeConfig({ bind: `127.0.0.1:${port}`, statsBind: `127.0.0.1:${statsPort}`, ...s }));
  await write(servers);
  const out = openSync(logFile, "a");
  let proc: Subprocess;
  try {
    proc = Bun.spawn([haproxyBinary(), "-f", configFile], { stdout: out, stderr: out, stdin: "ignore" });
  } finally {
    closeSync(out);
  }
  const url = `http://127.0.0.1:${port}`;
  const statsUrl = `http://127.0.0.1:${statsPort}`;

  const states = async (): Promise<EdgeServerState[]> => {
    const csv = await (await fetch(`${statsUrl}/stats;csv`)).text();
    const [header, ...rows] = csv.trim().split("\n");
    const columns = header!.replace(/^# /, "").split(",");
    const at = (name: string) => columns.indexOf(name);
    return rows
      .map((row) => row.split(","))
      .filter((cells) => cells[at("svname")] !== "FRONTEND" && cells[at("svname")] !== "BACKEND")
      .map((cells) => ({ backend: cells[at("pxname")]!, server: cells[at("svname")]!, status: cells[at("status")]!, current: Number(cells[at("scur")]) }));
  };

  const waitServer = async (server: string, status: "UP" | "DOWN", timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    let seen = "";
    for (;;) {
      try {
        seen = (await states()).find((s) => s.server === server)?.status ?? "absent";
        if (seen === status) return;
      } catch {
        // between two workers during a reload
      }
      if (proc.exitCode !== null) throw new Error(`haproxy exited with ${proc.exitCode}: ${readFileSync(logFile, "utf8").slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`edge: ${server} is ${seen}, not ${status}, after ${timeoutMs} ms`);
      await Bun.sleep(100);
    }
  };

  const edge: Edge = {
    url,
    port,
    statsUrl,
    configFile,
    logFile,
    process: proc,
    async reload(next) {
      await write(next);
      proc.kill("SIGUSR2");
      for (const s of [...next.gateways, ...next.streaming]) await waitServer(s.name, "UP");
    },
    requests() {
      const entries: EdgeLogEntry[] = [];
      for (const line of readFileSync(logFile, "utf8").split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          entries.push(JSON.parse(line) as EdgeLogEntry);
        } catch {
          // a path HAProxy could not escape for JSON: not one the tests look at
        }
      }
      return entries;
    },
    servers: states,
    waitServer,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await Promise.race([proc.exited, Bun.sleep(5_000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    },
  };
  try {
    for (const s of [...servers.gateways, ...servers.streaming]) await waitServer(s.name, "UP");
  } catch (e) {
    await edge.stop();
    throw e;
  }
  return edge;
}
