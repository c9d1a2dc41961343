/** Evaluation counts: summary events read after the answer, counted per variation in bounded memory, published in batches. */
import { expect, test } from "bun:test";
import { decodeJson } from "@vexil/shared/bus/bus";
import type { EvaluationsEvent } from "@vexil/shared/evaluations-event";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { EvaluationCounts } from "@vexil/streaming/evaluation-counts";

const NOW = 1_000_000;
const clock = () => NOW;

/** Counters as `[variation, count]` (variation `null`: the SDK served the caller's default). */
type Counters = Array<[number | null, number]>;

const report = (features: Record<string, Counters | { counters: Counters; default: unknown }>, endDate: unknown = 1_000) =>
  new TextEncoder().encode(
    JSON.stringify([
      { kind: "index", context: { key: "a" } },
      {
        kind: "summary",
        startDate: 1,
        endDate,
        features: Object.fromEntries(
          Object.entries(features).map(([k, f]) => {
            const counters = (Array.isArray(f) ? f : f.counters).map(([variation, count]) => (variation === null ? { count, value: "x" } : { variation, count, value: true, version: 1 }));
            return [k, Array.isArray(f) ? { counters } : { counters, default: f.default }];
          }),
        ),
      },
    ]),
  );
const settle = () => new Promise((r) => setImmediate(r));
const counting = (options = {}) => new EvaluationCounts(new MemoryBus(), silentLogger, { flushMs: 60_000, ...options }, clock);

test("counts evaluations per flag and variation from summary events, plain or gzip, and ignores what is not a report", async () => {
  const counts = counting();
  counts.accept("env", report({ a: [[0, 2], [1, 3]], b: [[0, 1]] }, 500), false);
  counts.accept("env", Bun.gzipSync(report({ a: [[1, 5]] }, 900)), true);
  counts.accept("env", new TextEncoder().encode("{not json"), false);
  counts.accept("env", new TextEncoder().encode(JSON.stringify([{ kind: "summary", features: { c: { counters: [{ count: 4, unknown: true }] } } }])), false);
  // Nothing is read on the caller's path.
  expect(counts.peek("env")).toEqual({});
  await settle();
  expect(counts.peek("env")).toEqual({
    a: { count: 10, lastRequested: 900, variations: { 0: { count: 2, lastRequested: 500 }, 1: { count: 8, lastRequested: 900 } } },
    b: { count: 1, lastRequested: 500, variations: { 0: { count: 1, lastRequested: 500 } } },
  });
  counts.stop();
});

test("an evaluation that got no variation counts under -1; a counter with a variation no flag has counts for nothing", async () => {
  const counts = counting();
  counts.accept("env", report({ a: [[null, 4], [0, 1], [-3, 7], [1.5, 7], [1_000_000, 7]] }), false);
  await settle();
  expect(counts.peek("env")).toEqual({ a: { count: 5, lastRequested: 1_000, variations: { "-1": { count: 4, lastRequested: 1_000 }, 0: { count: 1, lastRequested: 1_000 } } } });
  counts.stop();
});

test("the default value of the latest report is kept, null included; one too large is not", async () => {
  const counts = counting();
  counts.accept("env", report({ a: { counters: [[0, 1]], default: "late" } }, 900), false);
  counts.accept("env", report({ a: { counters: [[0, 1]], default: "early" } }, 500), false);
  counts.accept("env", report({ b: { counters: [[0, 1]], default: null } }), false);
  counts.accept("env", report({ c: { counters: [[0, 1]], default: "x".repeat(9_000) } }), false);
  counts.accept("env", report({ d: [[0, 1]] }), false);
  await settle();
  const seen = counts.peek("env");
  expect(seen.a!.default).toBe("late");
  expect("default" in seen.b! && seen.b!.default).toBeNull();
  expect("default" in seen.c!).toBe(false);
  expect("default" in seen.d!).toBe(false);
  counts.stop();
});

test("a report's end later than now, or missing, counts as now", async () => {
  const counts = counting();
  counts.accept("env", report({ a: [[0, 1]] }, NOW + 86_400_000), false);
  counts.accept("env", report({ b: [[0, 1]] }, "yesterday"), false);
  await settle();
  expect(counts.peek("env").a!.lastRequested).toBe(NOW);
  expect(counts.peek("env").b!.lastRequested).toBe(NOW);
  counts.stop();
});

test("memory is bounded: past the limits new environments, flags and variations are not counted", async () => {
  const counts = counting({ maxEnvironments: 1, maxFlagsPerEnvironment: 2, maxVariationsPerFlag: 2 });
  counts.accept("one", report({ a: [[0, 1], [1, 1], [2, 1]], b: [[0, 1]], c: [[0, 1]] }), false);
  counts.accept("two", report({ a: [[0, 1]] }), false);
  await settle();
  expect(Object.keys(counts.peek("one")).sort()).toEqual(["a", "b"]);
  expect(Object.keys(counts.peek("one").a!.variations).sort()).toEqual(["0", "1"]);
  expect(counts.peek("two")).toEqual({});
  counts.stop();
});

test("a flush publishes each environment's counts and starts over", async () => {
  const bus = new MemoryBus();
  const seen: EvaluationsEvent[] = [];
  bus.subscribe(subjects.streamingEvaluations, (msg) => void seen.push(decodeJson<EvaluationsEvent>(msg.data)));
  const counts = new EvaluationCounts(bus, silentLogger, { flushMs: 60_000 }, clock);
  counts.accept("env", report({ a: { counters: [[1, 7]], default: false } }), false);
  await settle();
  counts.flush();
  await bus.flush();
  await settle();
  expect(seen).toEqual([{ v: 2, environmentId: "env", flags: { a: { count: 7, lastRequested: 1_000, variations: { 1: { count: 7, lastRequested: 1_000 } }, default: false } } }]);
  expect(counts.peek("env")).toEqual({});
  counts.stop();
});
