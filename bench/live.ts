/**
 * The live feed: how long a committed change takes to reach the open feeds (`GET /api/v2/live`).
 *
 *   bun bench/live.ts [--feeds 1,200] [--rate 20] [--seconds 10] [--flags 20] [--json FILE]
 *
 * A fresh cluster (infra/launcher.ts: 1 gateway, 1 auth, 2 flags instances, no streaming) over a
 * throwaway Postgres and nats-server. For each feed count, that many feeds are opened with the admin
 * token, then flag changes are sent open-loop at --rate for --seconds (a JSON Patch of one flag's
 * description, the flags in turn) and each change is matched with its event on every feed by flag
 * key and version. Reported, as p50, p99 and max over every change and feed: commit → event (from the
 * write's answer to the event's arrival on a feed; 0 when the event came first, counted in
 * beforeAnswer), sent → event (from the write's request, so it includes the write), and events missing.
 * Feeds are opened by this process's fetch, which keeps at most 256 connections to one host (Bun's
 * default): more feeds than that would wait for a connection and never open.
 */
import { cpus, totalmem } from "node:os";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createParser } from "eventsource-parser";
import { launchCluster } from "../infra/launcher.ts";

const TOKEN = `live-bench-${crypto.randomUUID()}`;
const log = (m: string) => process.stderr.write(`[live] ${m}\n`);
const { values } = parseArgs({
  options: {
    feeds: { type: "string", default: "1,200" },
    rate: { type: "string", default: "20" },
    seconds: { type: "string", default: "10" },
    flags: { type: "string", default: "20" },
    json: { type: "string" },
  },
});
const feedCounts = values.feeds!.split(",").map(Number);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const flagCount = Number(values.flags);

const pct = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);

const cluster = await launchCluster({ counts: { gateway: 1, auth: 1, flags: 2, streaming: 0 }, adminToken: TOKEN });
const base = cluster.gateways[0]!;
const call = (method: string, path: string, body?: unknown) =>
  fetch(base + path, { method, headers: { authorization: TOKEN, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
const results: Array<Record<string, number>> = [];
try {
  for (let i = 0; i < flagCount; i++) {
    const res = await call("POST", "/api/v2/flags/default", { key: `f${i}`, name: `f${i}`, variations: [{ value: true }, { value: false }] });
    if (res.status !== 201) throw new Error(`flag not created: ${res.status}`);
  }
  for (const n of feedCounts) {
    // Arrivals per feed: `key:version` → time.
    const arrivals: Array<Map<string, number>> = [];
    const aborts: AbortController[] = [];
    await Promise.all(
      Array.from({ length: n }, async () => {
        const abort = new AbortController();
        aborts.push(abort);
        const seen = new Map<string, number>();
        arrivals.push(seen);
        const res = await fetch(`${base}/api/v2/live?project=default`, { headers: { authorization: TOKEN }, signal: abort.signal });
        if (res.status !== 200) throw new Error(`feed refused: ${res.status}`);
        const parser = createParser({
          onEvent: (e) => {
            if (e.event !== "change") return;
            const d = JSON.parse(e.data) as { key: string; version: number };
            seen.set(`${d.key}:${d.version}`, performance.now());
          },
        });
        const decoder = new TextDecoder();
        void (async () => {
          try {
            for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }));
          } catch {
            // Aborted at the end.
          }
        })();
      }),
    );
    log(`${n} feeds open; ${rate} changes/s for ${seconds} s`);
    const committed = new Map<string, { sent: number; answered: number }>();
    const writes: Promise<void>[] = [];
    const start = performance.now();
    for (let i = 0; i < rate * seconds; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      const key = `f${i % flagCount}`;
      const sent = performance.now();
      writes.push(
        call("PATCH", `/api/v2/flags/default/${key}`, [{ op: "replace", path: "/description", value: `change ${i}` }]).then(async (res) => {
          const at = performance.now();
          const body = (await res.json()) as { _version?: number };
          if (res.status === 200) committed.set(`${key}:${body._version}`, { sent, answered: at });
        }),
      );
    }
    await Promise.all(writes);
    await Bun.sleep(2_000);
    const lags: number[] = [];
    const fromSent: number[] = [];
    let early = 0;
    let missing = 0;
    for (const seen of arrivals) {
      for (const [id, t] of committed) {
        const got = seen.get(id);
        if (got === undefined) missing++;
        else {
          if (got < t.answered) early++;
          lags.push(Math.max(0, got - t.answered));
          fromSent.push(got - t.sent);
        }
      }
    }
    for (const a of aborts) a.abort();
    lags.sort((a, b) => a - b);
    fromSent.sort((a, b) => a - b);
    const row = {
      feeds: n,
      changes: committed.size,
      p50: Math.round(pct(lags, 50)),
      p99: Math.round(pct(lags, 99)),
      max: Math.round(lags.at(-1) ?? NaN),
      beforeAnswer: early,
      sentP50: Math.round(pct(fromSent, 50)),
      sentP99: Math.round(pct(fromSent, 99)),
      sentMax: Math.round(fromSent.at(-1) ?? NaN),
      missing,
    };
    results.push(row);
    log(JSON.stringify(row));
  }
} finally {
  await cluster.stop();
}
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, bun: Bun.version, date: new Date().toISOString() };
console.log(JSON.stringify({ machine, rate, seconds, results }, null, 2));
if (values.json) writeFileSync(values.json, JSON.stringify({ machine, rate, seconds, results }, null, 2));
