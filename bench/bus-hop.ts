/**
 * What the bus hop costs on its own, apart from the services' work: one answer of the size of a
 * flag's representation (3,995 bytes), served three ways in interleaved rounds.
 *
 *   bun bench/bus-hop.ts [--connections 32] [--duration 10] [--warmup 3] [--rounds 3]
 *   bun run bench --only bus-hop -- --rounds 5      (the same, through bench/run.ts)
 *
 * Targets, each a `Bun.serve` process answering `GET /`:
 *   direct   answers itself (what the all-in-one process does around its work)
 *   bare     asks a responder process over nats-server (the bus's `request`, `serve`), and
 *            answers the bytes it gets: the hop with nothing of the HTTP request on it
 *   framed   forwards the request as the gateway does (`forwardedOf` with the headers the gateway
 *            sets, `busServiceClient`) to a responder serving it as a service does
 *            (`serveHttpOverBus`: the frame, the deadline, the Response and its headers)
 * The distributed deployment's read is `framed` plus the gateway's and the service's own work; the
 * all-in-one's is `direct` plus the same work. CPU per request is read from /proc for each process
 * (bench/load.mjs), so the hop's cost shows per part: front, responder and nats-server.
 */
import { cpus } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { connectNatsBus } from "@vexil/shared/bus/nats-bus";
import { CALLER_HEADER } from "@vexil/shared/caller";
import { silentLogger } from "@vexil/shared/logger";
import { busServiceClient, forwardedOf, serveHttpOverBus } from "@vexil/shared/transport/http-over-bus";
import { WITHHELD_WHEN_VERIFIED } from "@vexil/gateway/app";
import { freePort } from "../infra/local/ports.ts";
import { startNats } from "../infra/local/nats.ts";
import { median, type LoadResult } from "./load-result.ts";

const ROOT = resolve(import.meta.dir, "..");
const TARGETS = ["direct", "bare", "framed"] as const;
type TargetName = (typeof TARGETS)[number];
const BARE_SUBJECT = "bench.bus-hop.bare";
/** A JSON body of a flag's size. */
const BODY = new TextEncoder().encode(JSON.stringify({ data: "x".repeat(3_995 - 11) }));
const HEADERS = { "content-type": "application/json", etag: '"bench-1"' };
/** The size of an admin token's caller assertion (a signed JWT of 475 characters). */
const ASSERTION = `${"h".repeat(36)}.${"p".repeat(394)}.${"s".repeat(43)}`;

const log = (m: string) => process.stderr.write(`[bus-hop] ${m}\n`);

/** One process of a target: `bun bench/bus-hop.ts --role <role> <port>`, with NATS_URL; prints "ready" once it serves. */
async function role(name: string, port: number): Promise<void> {
  const serve = (fetch: (request: Request) => Response | Promise<Response>) => Bun.serve({ port, hostname: "127.0.0.1", idleTimeout: 0, fetch });
  if (name === "direct") {
    serve(() => new Response(BODY, { headers: HEADERS }));
  } else {
    const bus = await connectNatsBus(process.env.NATS_URL!, `bench-${name}`, silentLogger);
    if (name === "bare-front") serve(async (request) => new Response((await bus.request(BARE_SUBJECT, new TextEncoder().encode(request.url), { timeoutMs: 5_000 })).data, { headers: HEADERS }));
    if (name === "bare-back") bus.serve(BARE_SUBJECT, () => ({ data: BODY }), { queue: "bench" });
    if (name === "framed-front") {
      const client = busServiceClient(bus, "flags", 5_000);
      serve((request) => client.handle(forwardedOf(request, new URL(request.url).pathname, undefined, WITHHELD_WHEN_VERIFIED, [["x-request-id", crypto.randomUUID()], [CALLER_HEADER, ASSERTION]])));
    }
    // The body kept as a Blob, as the flags service keeps a flag's answer (`jsonAnswer`).
    const kept = new Blob([BODY], { type: "application/json" });
    if (name === "framed-back") serveHttpOverBus(bus, "flags", () => new Response(kept, { headers: { etag: '"bench-1"' } }), silentLogger);
    await bus.flush();
  }
  process.stdout.write("ready\n");
  process.on("SIGTERM", () => process.exit(0));
}

const fmt = (n: number, digits: number) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: "string", default: "32" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      rounds: { type: "string", default: "3" },
    },
  });
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const nats = await startNats();
  const natsPid = Bun.spawnSync(["pgrep", "-f", `nats-server -a 127.0.0.1 -p ${nats.port} `]).stdout.toString().trim().split("\n")[0];
  const processes: Array<Bun.Subprocess<"ignore", "pipe", "inherit">> = [];
  const start = async (name: string, port = 0) => {
    const proc = Bun.spawn(["bun", "bench/bus-hop.ts", "--role", name, String(port)], { cwd: ROOT, env: { ...process.env, NATS_URL: nats.url }, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    processes.push(proc);
    const first = await proc.stdout.getReader().read();
    if (!new TextDecoder().decode(first.value).startsWith("ready")) throw new Error(`${name} did not start`);
    return proc.pid;
  };
  try {
    const targets: Array<{ name: TargetName; port: number; servers: Array<[string, number]> }> = [];
    for (const name of TARGETS) {
      const port = freePort();
      const servers: Array<[string, number]> = name === "direct" ? [["front", await start("direct", port)]] : [["responder", await start(`${name}-back`)], ["front", await start(`${name}-front`, port)]];
      targets.push({ name, port, servers });
    }
    const runs = new Map<TargetName, LoadResult[]>(TARGETS.map((t) => [t, []]));
    for (let round = 1; round <= Number(values.rounds); round++) {
      for (const target of targets) {
        const args = ["bench/load.mjs", "--url", `http://127.0.0.1:${target.port}/`, "--connections", values.connections!, "--duration", values.duration!, "--warmup", values.warmup!];
        for (const [label, pid] of target.servers) args.push("--server", `${label}:${pid}`);
        if (natsPid && target.name !== "direct") args.push("--infra", `nats-server:${natsPid}`);
        const load = Bun.spawnSync(["node", ...args], { cwd: ROOT, stderr: "inherit" });
        if (load.exitCode !== 0) throw new Error(`the load client failed on ${target.name}`);
        const result = JSON.parse(load.stdout.toString()) as LoadResult;
        if (result.status.non2xx > 0 || result.errors > 0) throw new Error(`${target.name}: ${result.status.non2xx} non-2xx answers, ${result.errors} errors`);
        runs.get(target.name)!.push(result);
        log(`round ${round}: ${target.name} ${fmt(result.requests.perSecond, 0)} req/s`);
      }
    }
    const direct = median(runs.get("direct")!.map((r) => r.requests.perSecond));
    const part = (rs: LoadResult[], label: string) => median(rs.map((r) => r.cpu.msPerRequest.byLabel[label] ?? 0));
    const lines = [
      `### The bus hop alone — ${date}`,
      "",
      "| target | req/s | × direct | p50 (ms) | p99 (ms) | front | responder | nats-server | load client | total | busy cores |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...TARGETS.map((name) => {
        const rs = runs.get(name)!;
        const rps = median(rs.map((r) => r.requests.perSecond));
        const cell = (label: string) => (name === "direct" && label !== "front" ? "—" : fmt(part(rs, label), 4));
        return `| ${name} | ${fmt(rps, 0)} | ${fmt(rps / direct, 2)} | ${fmt(median(rs.map((r) => r.latencyMs.p50)), 2)} | ${fmt(median(rs.map((r) => r.latencyMs.p99)), 2)} | ${cell("front")} | ${cell("responder")} | ${cell("nats-server")} | ${fmt(median(rs.map((r) => r.cpu.msPerRequest.client)), 4)} | ${fmt(median(rs.map((r) => r.cpu.msPerRequest.total)), 4)} | ${fmt(median(rs.map((r) => r.cpu.busyCores)), 2)} |`;
      }),
      "",
      "CPU columns: milliseconds of one core per request, from /proc, medians of the rounds; total includes the rest of the machine.",
      "",
      `- command: \`bun bench/bus-hop.ts --connections ${values.connections} --duration ${values.duration} --warmup ${values.warmup} --rounds ${values.rounds}\``,
      `- machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "?"}, bun ${Bun.version}`,
      `- date: ${date}`,
    ];
    process.stdout.write(`\n${lines.join("\n")}\n`);
  } finally {
    for (const p of processes) p.kill();
    await Promise.all(processes.map((p) => p.exited));
    await nats.destroy();
  }
}

if (process.argv[2] === "--role") await role(process.argv[3]!, Number(process.argv[4]));
else await main();
