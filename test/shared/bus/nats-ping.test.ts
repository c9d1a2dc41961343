/**
 * The readiness ping of NatsBus on a real nats-server: an event loop held busy longer than the ping's
 * timeout (thousands of streams being set up) is not taken for a bus that does not answer, while a
 * bus that really does not answer (the server frozen) still fails the ping.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { BusError } from "@vexil/shared/bus/bus";
import { connectNatsBus, type NatsBus } from "@vexil/shared/bus/nats-bus";
import { silentLogger } from "@vexil/shared/logger";
import { startNats, type NatsServer } from "../../support/nats.ts";

let nats: NatsServer;
let bus: NatsBus;

beforeAll(async () => {
  nats = await startNats();
  bus = await connectNatsBus(nats.url, "ping-test", silentLogger);
});

afterAll(async () => {
  await bus?.drain().catch(() => undefined);
  await nats?.destroy();
});

/** Keeps this process's event loop from running anything for `ms`. */
function holdLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else runs, neither timers nor socket reads
  }
}

test("a ping whose timer fires late because the loop was busy still reads the server's answer", async () => {
  for (let i = 0; i < 5; i++) {
    const ping = bus.ping(100);
    holdLoop(400);
    await ping;
  }
});

/** The nats-server's process id, from the socket listening on its port. */
function serverPid(port: number): number {
  const listing = Bun.spawnSync(["ss", "-ltnpH", `sport = :${port}`]).stdout.toString();
  const pid = Number(/pid=(\d+)/.exec(listing)?.[1]);
  if (!Number.isInteger(pid)) throw new Error(`no process listens on ${port}: ${listing}`);
  return pid;
}

/** Resolves once every thread of the process is stopped (state `T` in /proc). */
async function stopped(pid: number): Promise<void> {
  const state = (task: string) => /\) (\S)/.exec(readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8"))?.[1];
  for (let i = 0; i < 200; i++) {
    if (readdirSync(`/proc/${pid}/task`).every((task) => state(task) === "T")) return;
    await Bun.sleep(10);
  }
  throw new Error(`process ${pid} did not stop`);
}

test("a ping to a frozen server, with the loop free, still times out", async () => {
  const pid = serverPid(nats.port);
  process.kill(pid, "SIGSTOP");
  try {
    // A signal reaches every thread of the server a moment later; until then one may still answer.
    await stopped(pid);
    const error = await bus.ping(200).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BusError);
    expect((error as BusError).kind).toBe("timeout");
  } finally {
    process.kill(pid, "SIGCONT");
  }
  await bus.ping(2_000);
});
