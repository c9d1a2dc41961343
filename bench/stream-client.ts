/**
 * The load client of `bench/streams.ts`, its own process (a process may hold 20,000 open files).
 * It opens SSE connections to `/all` as raw sockets (so reading 10,000 streams costs little of the
 * machine it measures), waits for every `put`, prints `ready`, and on `go` (stdin) makes one flag
 * change per environment and round through the admin API, timing each connection's `patch` from
 * the PATCH response (and from the PATCH request), and per change its first event. Prints one JSON
 * object at the end. With `rounds: 0` it only holds the streams until `go` (bench/stream-memory.ts);
 * with `putBytes` a stream counts as ready once that many bytes of it arrived (the whole `put`, not
 * its first chunk).
 *
 * With `streamUrls` the connections take those URLs in turn (several streaming instances, or an
 * edge in front of them). With `coordinated` the changes are made by the orchestrator, not here
 * (several load processes share one set of changes, bench/streams-cluster.ts): after `go`, each
 * `round` line resets the connections and is answered `{"armed":true}`; the client then waits until
 * every open connection has its `patch` (or `patchTimeoutMs`) and prints, per environment, when each
 * arrived (milliseconds since the epoch, as `performance.timeOrigin + performance.now()`, so
 * processes compare). `exit` ends it.
 *
 * With `localAddress` (an address of 127.0.0.0/8) the connections leave from it: one source address
 * reaches one destination (an edge's single port) through at most the ephemeral port range (about
 * 28,000 ports), so load processes that share such a port between them take an address each.
 *
 * With `paced` each batch of `batch` connections (default 250) waits for its `put`s before the next
 * opens: at most that many streams are being set up at once per load process, as when SDKs start
 * over minutes rather than all in one instant.
 *
 * Input (argv[2], JSON): { streamUrl, streamUrls?, localAddress?, paced?, batch?, adminUrl, token, project, flag, rounds,
 *   putBytes?, coordinated?, readyTimeoutMs?, patchTimeoutMs?, environments: [{ key, sdkKey, connections }] }
 */

export {};

interface Config {
  streamUrl: string;
  adminUrl: string;
  token: string;
  project: string;
  flag: string;
  rounds: number;
  putBytes?: number;
  streamUrls?: string[];
  localAddress?: string;
  paced?: boolean;
  batch?: number;
  coordinated?: boolean;
  readyTimeoutMs?: number;
  patchTimeoutMs?: number;
  environments: Array<{ key: string; sdkKey: string; connections: number }>;
}

const config = JSON.parse(process.argv[2]!) as Config;
const streams = (config.streamUrls ?? [config.streamUrl]).map((u) => new URL(u));
let turn = 0;
const PUT = Buffer.from("event: put");
const PATCH = Buffer.from("event: patch");

interface Conn {
  env: number;
  sawPut: boolean;
  gotPut: boolean;
  /** Bytes received until the whole `put` is in (when `putBytes` is given). */
  bytes: number;
  /** When the patch of the current round arrived (performance.now()), or undefined. */
  patchAt: number | undefined;
  closed: boolean;
}

const conns: Conn[] = [];
let errors = 0;

function open(env: number, sdkKey: string): Promise<void> {
  const stream = streams[turn++ % streams.length]!;
  const conn: Conn = { env, sawPut: false, gotPut: false, bytes: 0, patchAt: undefined, closed: false };
  conns.push(conn);
  return new Promise((resolve) => {
    // `localAddress` binds the socket before it connects (Bun passes it on; its types do not list it).
    Bun.connect({
      hostname: stream.hostname,
      port: Number(stream.port),
      ...(config.localAddress ? ({ localAddress: config.localAddress } as object) : {}),
      socket: {
        open(s) {
          s.write(`GET /all HTTP/1.1\r\nHost: ${stream.host}\r\nAuthorization: ${sdkKey}\r\nAccept: text/event-stream\r\n\r\n`);
          resolve();
        },
        data(_s, data) {
          if (!conn.gotPut) {
            conn.bytes += data.length;
            conn.sawPut ||= data.indexOf(PUT) >= 0;
            // The response head comes before the put, so the put is whole once its size has arrived.
            conn.gotPut = conn.sawPut && conn.bytes >= (config.putBytes ?? 0);
          } else if (conn.patchAt === undefined && data.indexOf(PATCH) >= 0) conn.patchAt = performance.now();
        },
        close() {
          conn.closed = true;
        },
        error() {
          errors++;
          conn.closed = true;
        },
        connectError() {
          errors++;
          conn.closed = true;
          resolve();
        },
      },
    }).catch(() => {
      errors++;
      conn.closed = true;
      resolve();
    });
  });
}

async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await Bun.sleep(5);
  }
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);

// Open the connections, a batch at a time, environments interleaved.
const plan: Array<[number, string]> = [];
const most = Math.max(...config.environments.map((e) => e.connections));
for (let i = 0; i < most; i++) config.environments.forEach((e, env) => i < e.connections && plan.push([env, e.sdkKey]));
const openStarted = performance.now();
const batch = config.batch ?? 250;
for (let i = 0; i < plan.length; i += batch) {
  const from = conns.length;
  await Promise.all(plan.slice(i, i + batch).map(([env, key]) => open(env, key)));
  if (config.paced) {
    const opened = conns.slice(from);
    await until(() => opened.every((c) => c.gotPut || c.closed), config.readyTimeoutMs ?? 120_000, "a batch's puts");
  }
}
await until(() => conns.every((c) => c.gotPut || c.closed), config.readyTimeoutMs ?? 120_000, "every put");
const openMs = performance.now() - openStarted;
process.stdout.write(`${JSON.stringify({ ready: true, open: conns.filter((c) => !c.closed).length, errors, openMs })}\n`);

const stdin = console[Symbol.asyncIterator]();
// Wait for the orchestrator to have measured the idle server.
for (let line = await stdin.next(); !line.done; line = await stdin.next()) if (line.value.trim() === "go") break;

if (config.coordinated) {
  for (let line = await stdin.next(); !line.done && line.value.trim() !== "exit"; line = await stdin.next()) {
    if (line.value.trim() !== "round") continue;
    for (const c of conns) c.patchAt = undefined;
    process.stdout.write(`${JSON.stringify({ armed: true })}\n`);
    const open = conns.filter((c) => !c.closed);
    try {
      await until(() => open.every((c) => c.patchAt !== undefined || c.closed), config.patchTimeoutMs ?? 60_000, "every patch");
    } catch {
      // Counted as missing.
    }
    const arrivals: number[][] = config.environments.map(() => []);
    let missing = 0;
    for (const c of open) {
      if (c.patchAt === undefined) missing++;
      else arrivals[c.env]!.push(Math.round((performance.timeOrigin + c.patchAt) * 10) / 10);
    }
    process.stdout.write(`${JSON.stringify({ round: true, arrivals, missing, closed: conns.filter((c) => c.closed).length, errors })}\n`);
  }
  process.exit(0);
}

const fromResponse: number[] = [];
const fromRequest: number[] = [];
/** Per change: its first patch event, from the PATCH response (what the relay and the bus add, without the fan-out). */
const firstPerChange: number[] = [];
let missing = 0;
for (let round = 0; round < config.rounds; round++) {
  for (let env = 0; env < config.environments.length; env++) {
    const mine = conns.filter((c) => c.env === env && !c.closed);
    for (const c of mine) c.patchAt = undefined;
    // Every environment's flag starts off: on in even rounds, off in odd ones, so each PATCH changes it.
    const kind = round % 2 === 0 ? "turnFlagOn" : "turnFlagOff";
    const sent = performance.now();
    const res = await fetch(`${config.adminUrl}/api/v2/flags/${config.project}/${config.flag}`, {
      method: "PATCH",
      headers: { authorization: config.token, "content-type": "application/json; domain-model=launchdarkly.semanticpatch" },
      body: JSON.stringify({ environmentKey: config.environments[env]!.key, instructions: [{ kind }] }),
    });
    await res.arrayBuffer();
    const answered = performance.now();
    if (res.status !== 200) throw new Error(`PATCH answered ${res.status}`);
    try {
      await until(() => mine.every((c) => c.patchAt !== undefined || c.closed), 30_000, "every patch");
    } catch {
      // Counted below.
    }
    const arrived = mine.filter((c) => c.patchAt !== undefined).map((c) => c.patchAt!);
    if (arrived.length > 0) firstPerChange.push(Math.max(0, Math.min(...arrived) - answered));
    for (const c of mine) {
      if (c.patchAt === undefined) {
        missing++;
        continue;
      }
      // A patch can arrive before the PATCH response does; it counts as 0.
      fromResponse.push(Math.max(0, c.patchAt - answered));
      fromRequest.push(c.patchAt - sent);
    }
    await Bun.sleep(200);
  }
}
fromResponse.sort((a, b) => a - b);
fromRequest.sort((a, b) => a - b);
firstPerChange.sort((a, b) => a - b);
const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p90: percentile(xs, 90), p99: percentile(xs, 99), max: xs.at(-1) ?? NaN });
process.stdout.write(
  `${JSON.stringify({
    done: true,
    samples: fromResponse.length,
    missing,
    closed: conns.filter((c) => c.closed).length,
    errors,
    fromResponse: stats(fromResponse),
    fromRequest: stats(fromRequest),
    firstPerChange: stats(firstPerChange),
  })}\n`,
);
process.exit(0);
