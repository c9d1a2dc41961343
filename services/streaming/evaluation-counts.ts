/**
 * What SDKs report in their analytics events, reduced to what flag statuses need: per environment
 * and flag, how many evaluations and when it was last requested. Bounded: past the limits new
 * environments or flags are not counted until the next flush. Reports are read after the answer
 * has gone (never on the request path), and the counts go out on the bus periodically.
 */
import { gunzipSync } from "node:zlib";
import { encodeJson, type Bus } from "@vexil/shared/bus/bus";
import type { Logger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";

export interface FlagCount {
  count: number;
  lastRequested: number;
}

/** Published on `vexil.streaming.evaluations` (version 1). */
export interface EvaluationsEvent {
  v: 1;
  environmentId: string;
  flags: Record<string, FlagCount>;
}

export interface EvaluationCountsOptions {
  maxEnvironments?: number;
  maxFlagsPerEnvironment?: number;
  flushMs?: number;
}

interface SummaryEvent {
  kind?: unknown;
  startDate?: unknown;
  endDate?: unknown;
  features?: Record<string, { counters?: Array<{ count?: unknown; unknown?: unknown }> }>;
}

export class EvaluationCounts {
  private counts = new Map<string, Map<string, FlagCount>>();
  /** Armed by the first report after a flush: no timer runs while nothing is counted. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly flushMs: number;
  private stopped = false;
  private readonly maxEnvironments: number;
  private readonly maxFlags: number;

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
    options: EvaluationCountsOptions = {},
  ) {
    this.maxEnvironments = options.maxEnvironments ?? 10_000;
    this.maxFlags = options.maxFlagsPerEnvironment ?? 5_000;
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
    const at = typeof event.endDate === "number" ? event.endDate : Date.now();
    for (const [key, feature] of Object.entries(event.features)) {
      let n = 0;
      for (const c of feature?.counters ?? []) if (c && c.unknown !== true && typeof c.count === "number" && c.count > 0) n += c.count;
      if (n === 0) continue;
      let flag = env.get(key);
      if (!flag) {
        if (env.size >= this.maxFlags) continue;
        flag = { count: 0, lastRequested: 0 };
        env.set(key, flag);
      }
      flag.count += n;
      flag.lastRequested = Math.max(flag.lastRequested, at);
    }
  }

  /** The counts since the last flush (for tests and the flush). */
  peek(environmentId: string): Record<string, FlagCount> {
    return Object.fromEntries(this.counts.get(environmentId) ?? []);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const counts = this.counts;
    this.counts = new Map();
    for (const [environmentId, flags] of counts) {
      const event: EvaluationsEvent = { v: 1, environmentId, flags: Object.fromEntries(flags) };
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
