/** Runs a Vexil entry point as a child process and captures what it prints. */
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { waitReady } from "../../infra/launcher.ts";

export const ROOT = resolve(import.meta.dir, "../..");

export interface Running {
  url: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stdout(): Promise<string>;
  stderr(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export function spawnEntry(entry: string, env: Record<string, string | undefined>) {
  return Bun.spawn(["bun", entry], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "info", ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
}

export async function startEntry(entry: string, port: number, env: Record<string, string | undefined>): Promise<Running> {
  const proc = spawnEntry(entry, { PORT: String(port), HOST: "127.0.0.1", ...env });
  const stdout = new Response(proc.stdout).text();
  const stderr = new Response(proc.stderr).text();
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, 30_000, proc);
  } catch (e) {
    proc.kill("SIGKILL");
    throw new Error(`${entry} did not start: ${String(e)}\n${await stderr}`);
  }
  return {
    url,
    proc,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      return proc.exited;
    },
  };
}
