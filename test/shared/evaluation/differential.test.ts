/**
 * The real LaunchDarkly server SDK as the oracle: random flags and segments go to the SDK through
 * a local stream (`event: put`, as a Vexil streaming service sends them) and to `evaluate`, and
 * every (flag, context) pair must give the same value, variationIndex and reason.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { init, type LDClient, type LDEvaluationDetail } from "@launchdarkly/node-server-sdk";
import { evaluate, type SdkFlag, type SdkSegment } from "@vexil/shared/evaluation/evaluate";
import { generateCases, type Case } from "./case-generator.ts";

// Fixed, so a failure reproduces; DIFF_SEED and DIFF_CASES explore further without editing.
const SEED = Number(process.env.DIFF_SEED ?? 0x5eed_2024);
const CASES = Number(process.env.DIFF_CASES ?? 12_000);
const BATCHES = 4;
const BATCH_FLAG = "__batch";

const encoder = new TextEncoder();
let server: ReturnType<typeof Bun.serve>;
let client: LDClient;
let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
let latestPut = "";

function put(payload: string) {
  latestPut = `event: put\ndata: {"path":"/","data":${payload}}\n\n`;
  stream?.enqueue(encoder.encode(latestPut));
}

beforeAll(async () => {
  put(JSON.stringify({ flags: { [BATCH_FLAG]: batchFlag(-1) }, segments: {} }));
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch(req) {
      if (new URL(req.url).pathname !== "/all") return new Response(null, { status: 202 });
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          stream = controller;
          controller.enqueue(encoder.encode(latestPut));
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  const silent = { error() {}, warn() {}, info() {}, debug() {} };
  client = init("sdk-differential-test", { streamUri: base, baseUri: base, eventsUri: base, sendEvents: false, diagnosticOptOut: true, logger: silent });
  await client.waitForInitialization({ timeout: 10 });
});

afterAll(() => {
  client?.close();
  server?.stop(true);
});

function batchFlag(batch: number): SdkFlag {
  return { key: BATCH_FLAG, version: 1, on: true, salt: "", variations: [batch], fallthrough: { variation: 0 }, targets: [], rules: [], prerequisites: [] };
}

/** Resolves once the SDK has applied the `put` of `batch`. */
async function sdkHasBatch(batch: number) {
  for (let tries = 0; tries < 2_000; tries++) {
    if ((await client.variationDetail(BATCH_FLAG, { key: "probe" }, null)).value === batch) return;
    await Bun.sleep(5);
  }
  throw new Error(`the SDK never applied batch ${batch}`);
}

function sdkDetail(c: Case): Promise<LDEvaluationDetail> {
  const ctx = c.context as Parameters<LDClient["variationDetail"]>[1];
  switch (c.expectedType) {
    case "boolean":
      return client.boolVariationDetail(c.flagKey, ctx, c.defaultValue as boolean);
    case "number":
      return client.numberVariationDetail(c.flagKey, ctx, c.defaultValue as number);
    case "string":
      return client.stringVariationDetail(c.flagKey, ctx, c.defaultValue as string);
    default:
      return client.variationDetail(c.flagKey, ctx, c.defaultValue);
  }
}

/** JSON with sorted keys, so key order and absent-vs-undefined never count as differences. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

test(`evaluate agrees with @launchdarkly/node-server-sdk on ${CASES} random cases`, async () => {
  const cases = generateCases(SEED, CASES);
  const mismatches: unknown[] = [];
  const seen = new Map<string, number>();
  const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);
  const perBatch = Math.ceil(CASES / BATCHES);

  for (let batch = 0; batch < BATCHES; batch++) {
    const slice = cases.slice(batch * perBatch, (batch + 1) * perBatch);
    const flags: Record<string, SdkFlag> = { [BATCH_FLAG]: batchFlag(batch) };
    const segments: Record<string, SdkSegment> = {};
    for (const c of slice) {
      Object.assign(flags, c.flags);
      Object.assign(segments, c.segments);
    }
    const payload = JSON.stringify({ flags, segments });
    // Both sides read the same JSON, so nothing that JSON drops can make a difference.
    const data = JSON.parse(payload) as { flags: Record<string, SdkFlag>; segments: Record<string, SdkSegment> };
    const store = {
      flag: (key: string) => (Object.hasOwn(data.flags, key) ? data.flags[key] : undefined),
      segment: (key: string) => (Object.hasOwn(data.segments, key) ? data.segments[key] : undefined),
    };
    put(payload);
    await sdkHasBatch(batch);

    const sdkResults = await Promise.all(slice.map(sdkDetail));
    slice.forEach((c, i) => {
      const sdk = sdkResults[i]!;
      const ours = evaluate(store.flag(c.flagKey), c.context, store, { defaultValue: c.defaultValue, ...(c.expectedType ? { expectedType: c.expectedType } : {}) });
      const expected = canonical({ value: sdk.value, variationIndex: sdk.variationIndex ?? null, reason: sdk.reason });
      const actual = canonical({ value: ours.value, variationIndex: ours.variationIndex, reason: ours.reason });
      const reason = ours.reason as Record<string, unknown>;
      count(`${reason.kind}${reason.errorKind ? `/${reason.errorKind}` : ""}`);
      if (reason.inExperiment) count("inExperiment");
      if (reason.bigSegmentsStatus) count("bigSegmentsStatus");
      if (ours.prerequisites.length) count("prerequisites evaluated");
      if (reason.kind === "RULE_MATCH") {
        for (const clause of data.flags[c.flagKey]!.rules![reason.ruleIndex as number]!.clauses ?? []) count(`matched ${clause.negate ? "not " : ""}${clause.op}`);
      }
      const ctx = c.context as Record<string, unknown> | null;
      count(`context: ${!ctx || !("kind" in ctx) || ctx.kind == null ? "legacy or none" : ctx.kind === "multi" ? "multi" : "single"}`);
      if (expected !== actual) mismatches.push({ case: c, sdk: JSON.parse(expected), ours: JSON.parse(actual) });
    });
  }

  if (mismatches.length) {
    console.error(`${mismatches.length} mismatches; the first ones in full:`);
    for (const m of mismatches.slice(0, 4)) console.error(JSON.stringify(m, null, 2));
    // The rest in one line each, to show whether they share a cause.
    for (const m of mismatches.slice(4, 40) as { case: Case; sdk: unknown; ours: unknown }[]) console.error(`case ${m.case.id}: sdk ${JSON.stringify(m.sdk)}, ours ${JSON.stringify(m.ours)}`);
  }
  expect(mismatches).toHaveLength(0);

  // The generator must keep reaching every outcome and every operator (matching, and matching
  // when negated), or the comparison would prove less than it claims.
  const operators = ["in", "endsWith", "startsWith", "matches", "contains", "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual", "before", "after", "semVerEqual", "semVerLessThan", "semVerGreaterThan", "segmentMatch"];
  const required: [string, number][] = [
    ...["OFF", "FALLTHROUGH", "TARGET_MATCH", "RULE_MATCH", "PREREQUISITE_FAILED", "inExperiment", "bigSegmentsStatus", "prerequisites evaluated"].map((o): [string, number] => [o, 20]),
    ...["MALFORMED_FLAG", "FLAG_NOT_FOUND", "USER_NOT_SPECIFIED", "WRONG_TYPE"].map((e): [string, number] => [`ERROR/${e}`, 20]),
    ...["legacy or none", "multi", "single"].map((k): [string, number] => [`context: ${k}`, 1_000]),
    ...operators.flatMap((op): [string, number][] => [[`matched ${op}`, 1], [`matched not ${op}`, 1]]),
  ];
  const gaps = required.filter(([what, least]) => (seen.get(what) ?? 0) < least).map(([what]) => what);
  if (gaps.length || process.env.DIFF_VERBOSE) console.info("outcomes:", Object.fromEntries([...seen].sort()));
  expect(gaps).toEqual([]);
}, 60_000);
