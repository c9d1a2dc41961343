/**
 * A throwaway nats-server (JetStream on, its own store) on a free port; stoppable and
 * restartable on the same port to inject faults. With NATS_URL set and no need to stop it,
 * tests may use that server instead.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, waitForPort } from "./ports.ts";
import { registerThrowaway } from "./registry.ts";

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startNats(): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), "vexil-nats-"));
  const port = freePort();
  let proc: Subprocess | undefined;
  const server: NatsServer = {
    port,
    url: `nats://127.0.0.1:${port}`,
    async start() {
      proc = Bun.spawn(["nats-server", "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdout: "ignore", stderr: "ignore" });
      await waitForPort(port);
    },
    async stop() {
      if (!proc) return;
      proc.kill("SIGKILL");
      await proc.exited;
      proc = undefined;
    },
    async destroy() {
      unregister();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const unregister = registerThrowaway(() => server.destroy());
  await server.start();
  process.once("exit", () => proc?.kill("SIGKILL"));
  return server;
}

export interface NatsNode extends NatsServer {
  readonly name: string;
  /** The port of the node's monitoring endpoint (`/routez`, `/varz`). */
  readonly monitorPort: number;
  /** Whether the node's process is running. */
  running(): boolean;
  /** Freezes the node (SIGSTOP): its connections stay open and answer nothing, as a hung server's do. */
  freeze(): void;
  /** Lets a frozen node run again (SIGCONT). */
  thaw(): void;
}

export interface NatsCluster {
  readonly nodes: NatsNode[];
  /** Every node's client URL, comma-separated: what a client given no preference connects with. */
  readonly url: string;
  /** The client URLs with node `index` first: a client connects there and fails over to the others. */
  urlFor(index: number): string;
  /** Resolves once every running node has a route to every other running node. */
  waitRouted(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * `size` nats-servers in one cluster (routes between every pair), each with JetStream on and its
 * own store, each stoppable and restartable on its ports. A message published on any node reaches
 * subscribers on every other.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const name = `vexil-${crypto.randomUUID().slice(0, 8)}`;
  const specs = Array.from({ length: size }, (_, i) => ({ index: i, port: freePort(), clusterPort: freePort(), monitorPort: freePort(), dir: mkdtempSync(join(tmpdir(), `vexil-nats-${i}-`)) }));
  const routes = specs.map((s) => `nats-route://127.0.0.1:${s.clusterPort}`).join(",");
  const nodes: NatsNode[] = specs.map((spec) => {
    let proc: Subprocess | undefined;
    const node: NatsNode = {
      name: `${name}-${spec.index}`,
      port: spec.port,
      monitorPort: spec.monitorPort,
      url: `nats://127.0.0.1:${spec.port}`,
      running: () => proc !== undefined,
      freeze: () => proc?.kill("SIGSTOP"),
      thaw: () => proc?.kill("SIGCONT"),
      async start() {
        if (proc) return;
        proc = Bun.spawn(
          [
            "nats-server", "-a", "127.0.0.1", "-p", String(spec.port), "-m", String(spec.monitorPort),
            "-n", node.name, "-js", "-sd", spec.dir,
            "--cluster_name", name, "--cluster", `nats://127.0.0.1:${spec.clusterPort}`, "--routes", routes,
          ],
          { stdout: "ignore", stderr: "ignore" },
        );
        await waitForPort(spec.port);
      },
      async stop() {
        if (!proc) return;
        proc.kill("SIGKILL");
        proc.kill("SIGCONT");
        await proc.exited;
        proc = undefined;
      },
      async destroy() {
        await node.stop();
        rmSync(spec.dir, { recursive: true, force: true });
      },
    };
    return node;
  });
  const cluster: NatsCluster = {
    nodes,
    url: nodes.map((n) => n.url).join(","),
    urlFor: (index) => [nodes[index % size]!, ...nodes.filter((_, i) => i !== index % size)].map((n) => n.url).join(","),
    async waitRouted(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = nodes.filter((n) => n.running());
        const counts = await Promise.all(
          live.map((n) =>
            fetch(`http://127.0.0.1:${n.monitorPort}/routez`)
              .then((r) => r.json() as Promise<{ routes?: Array<{ remote_id: string }> }>)
              .then((r) => new Set((r.routes ?? []).map((x) => x.remote_id)).size)
              .catch(() => -1),
          ),
        );
        if (counts.every((c) => c >= live.length - 1)) return;
        if (Date.now() > deadline) throw new Error(`nats cluster not routed after ${timeoutMs} ms (routes per node: ${counts.join(", ")})`);
        await Bun.sleep(100);
      }
    },
    async destroy() {
      unregister();
      await Promise.all(nodes.map((n) => n.destroy()));
    },
  };
  const unregister = registerThrowaway(() => cluster.destroy());
  process.once("exit", () => {
    for (const n of nodes) if (n.running()) void n.stop();
  });
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await cluster.waitRouted();
  } catch (e) {
    await cluster.destroy();
    throw e;
  }
  return cluster;
}
