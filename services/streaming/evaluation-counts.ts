/**
 * What SDKs report in their analytics events, reduced to what flag statuses need: per environment
 * and flag, how many evaluations got each variation and when, and the default value the
 * application passed. Bounded: past the limits new environments, flags or variations are not
 * counted until the next flush. Reports are read after the answer has gone (never on the request
 * path), and the counts go out on the bus periodically (`EvaluationsEvent`).
 */
import { gunzipSync } from "node:zlib";
import { encodeJson, type Bus } from "@vexil/shared/bus/bus";
import { NO_VARIATION, type EvaluationsEvent, type FlagEvaluations } from "@vexil/shared/evaluations-event";
import type { Logger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";

export interface EvaluationCountsOptions {
  maxEnvironments?: number;
  maxFlagsPerEnvironment?: number;
  maxVariationsPerFlag?: number;
  /** How often the counts go out (ms). */
  flushMs?: number;
}

/** A default value longer than this as JSON is not passed on: statuses show it, they do not archive it. */
const MAX_DEFAULT_JSON = 8 * 1024;
/** Variation indexes above this are not a flag's (the flags service refuses more variations long before). */
const MAX_VARIATION = 9_999;

interface Counter {
  count?: unknown;
  unknown?: unknown;
  variation?: unknown;
}

interface SummaryEvent {
  kind?: unknown;
  endDate?: unknown;
  features?: Record<string, { default?: unknown; counters?: Counter[] } | null>;
}

/** The variation a counter counts: an index, `NO_VARIATION` when the SDK served the caller's default, undefined when it is not a counter SDKs send. */
function variationOf(c: Counter): number | undefined {
  if (c.variation === undefined || c.variation === null) return NO_VARIATION;
  return Number.isInteger(c.variation) && (c.variation as number) >= 0 && (c.variation as number) <= MAX_VARIATION ? (c.variation as number) : undefined;
}

function defaultOf(feature: { default?: unknown }): { value: unknown } | undefined {
  if (!("default" in feature)) return undefined;
  const json = JSON.stringify(feature.default);
  return json !== undefined && json.length <= MAX_DEFAULT_JSON ? { value: feature.default } : undefined;
}

export class EvaluationCounts {
  private counts = new Map<string, Map<string, FlagEvaluations>>();
  /** Armed by the first report after a flush: no timer runs while nothing is counted. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly flushMs: number;
  private stopped = false;
  private readonly maxEnvironments: number;
  private readonly maxFlags: number;
  private readonly maxVariations: number;

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
    options: EvaluationCountsOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxEnvironments = options.maxEnvironments ?? 10_000;
    this.maxFlags = options.maxFlagsPerEnvironment ?? 5_000;
    this.maxVariations = options.maxVariationsPerFlag ?? 64;
    this.flushMs = options.flushMs ?? 30_000;
  }

  /** Takes a report body (raw bytes, maybe gzip) to read later. */
  accept(environmentId: string, body: Uint8Array, gzip: boolean): void {
    setImmediate(() => {
      try {
        const text = new TextDecoder().decode(gzip ? gunzipSync(body) : body);
        const events = JSON.parse(text) as unknown;
        if (Array.isArray(events)) for (const e of events) this.add(environmentId, e as SummaryEvent);
        if (!this.timer && !this.stopped && this.counts.size > 0) {
          this.timer = setTimeout(() => this.flush(), this.flushMs);
          this.timer.unref?.();
        }
      } catch {
        // A report that is not what SDKs send counts for nothing.
      }
    });
  }

  private add(environmentId: string, event: SummaryEvent): void {
    if (!event || event.kind !== "summary" || typeof event.features !== "object" || event.features === null) return;
    let env = this.counts.get(environmentId);
    if (!env) {
      if (this.counts.size >= this.maxEnvironments) return;
      env = new Map();
      this.counts.set(environmentId, env);
    }
    // The report's end, never later than now: an SDK's clock ahead of ours must not keep a flag
    // "requested" for days to come.
    const now = this.now();
    const at = typeof event.endDate === "number" && Number.isFinite(event.endDate) ? Math.min(event.endDate, now) : now;
    for (const [key, feature] of Object.entries(event.features)) {
      if (!feature || typeof feature !== "object") continue;
      // Counters of a flag the SDK did not have (`unknown`) say nothing about the flag.
      const counted: Array<[number, number]> = [];
      for (const c of Array.isArray(feature.counters) ? feature.counters : []) {
        if (!c || c.unknown === true || typeof c.count !== "number" || !Number.isInteger(c.count) || c.count <= 0) continue;
        const variation = variationOf(c);
        if (variation !== undefined) counted.push([variation, c.count]);
      }
      if (counted.length === 0) continue;
      let flag = env.get(key);
      if (!flag) {
        if (env.size >= this.maxFlags) continue;
        flag = { count: 0, lastRequested: 0, variations: {} };
        env.set(key, flag);
      }
      for (const [variation, n] of counted) {
        let v = flag.variations[variation];
        if (!v) {
          if (Object.keys(flag.variations).length >= this.maxVariations) continue;
          v = flag.variations[variation] = { count: 0, lastRequested: 0 };
        }
        v.count += n;
        v.lastRequested = Math.max(v.lastRequested, at);
        flag.count += n;
      }
      // The default of the latest report wins: it is what the application passes now.
      const reported = defaultOf(feature);
      if (reported && at >= flag.lastRequested) flag.default = reported.value;
      flag.lastRequested = Math.max(flag.lastRequested, at);
    }
  }

  /** The counts since the last flush (for tests and the flush). */
  peek(environmentId: string): Record<string, FlagEvaluations> {
    return Object.fromEntries(this.counts.get(environmentId) ?? []);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const counts = this.counts;
    this.counts = new Map();
    for (const [environmentId, flags] of counts) {
      const event: EvaluationsEvent = { v: 2, environmentId, flags: Object.fromEntries(flags) };
      try {
        this.bus.publish(subjects.streamingEvaluations, encodeJson(event));
      } catch (e) {
        this.logger.warn("evaluation counts not published", { error: e });
        return;
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.flush();
  }
}
