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
