/** Evaluation counts: summary events read after the answer, counted in bounded memory, published in batches. */
import { expect, test } from "bun:test";
import { decodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { EvaluationCounts, type EvaluationsEvent } from "@vexil/streaming/evaluation-counts";

const report = (features: Record<string, number[]>, endDate = 1_000) =>
  new TextEncoder().encode(
    JSON.stringify([
      { kind: "index", context: { key: "a" } },
      { kind: "summary", startDate: 1, endDate, features: Object.fromEntries(Object.entries(features).map(([k, counts]) => [k, { counters: counts.map((count) => ({ count, value: true })) }])) },
    ]),
  );
const settle = () => new Promise((r) => setImmediate(r));

test("counts evaluations per flag from summary events, plain or gzip, and ignores what is not a report", async () => {
  const counts = new EvaluationCounts(new MemoryBus(), silentLogger, { flushMs: 60_000 });
  counts.accept("env", report({ a: [2, 3], b: [1] }, 500), false);
  counts.accept("env", Bun.gzipSync(report({ a: [5] }, 900)), true);
  counts.accept("env", new TextEncoder().encode("{not json"), false);
  counts.accept("env", new TextEncoder().encode(JSON.stringify([{ kind: "summary", features: { c: { counters: [{ count: 4, unknown: true }] } } }])), false);
  // Nothing is read on the caller's path.
  expect(counts.peek("env")).toEqual({});
  await settle();
  expect(counts.peek("env")).toEqual({ a: { count: 10, lastRequested: 900 }, b: { count: 1, lastRequested: 500 } });
  counts.stop();
});

test("memory is bounded: past the limits new environments and flags are not counted", async () => {
  const counts = new EvaluationCounts(new MemoryBus(), silentLogger, { maxEnvironments: 1, maxFlagsPerEnvironment: 2, flushMs: 60_000 });
  counts.accept("one", report({ a: [1], b: [1], c: [1] }), false);
  counts.accept("two", report({ a: [1] }), false);
  await settle();
  expect(Object.keys(counts.peek("one")).sort()).toEqual(["a", "b"]);
  expect(counts.peek("two")).toEqual({});
  counts.stop();
});

test("a flush publishes each environment's counts and starts over", async () => {
  const bus = new MemoryBus();
  const seen: EvaluationsEvent[] = [];
  bus.subscribe(subjects.streamingEvaluations, (msg) => void seen.push(decodeJson<EvaluationsEvent>(msg.data)));
  const counts = new EvaluationCounts(bus, silentLogger, { flushMs: 60_000 });
  counts.accept("env", report({ a: [7] }), false);
  await settle();
  counts.flush();
  await bus.flush();
  await settle();
  expect(seen).toEqual([{ v: 1, environmentId: "env", flags: { a: { count: 7, lastRequested: 1_000 } } }]);
  expect(counts.peek("env")).toEqual({});
  counts.stop();
});
