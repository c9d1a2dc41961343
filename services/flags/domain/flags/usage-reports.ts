/**
 * The streaming service's evaluation counts (`EvaluationsEvent`, version 2) read into a batch of
 * flag usage to store. Its figures come from SDK reports, which anyone holding an SDK key writes:
 * what does not have the message's shape is left out (a flag entry, a variation), never stored.
 */
import type { EvaluationsEvent } from "@vexil/shared/evaluations-event";
import type { FlagUsageReport, UsageBatch, VariationUsage } from "../../storage/flag-usage-store.ts";

const MAX_KEY = 140;
/** As many as one streaming instance sends for one flag (`maxVariationsPerFlag`), with room. */
const MAX_VARIATIONS = 256;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isTime = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const VARIATION_INDEX = /^(-1|0|[1-9]\d{0,3})$/;

function variationsOf(raw: unknown): Record<string, VariationUsage> | undefined {
  if (!isObject(raw)) return undefined;
  const entries = Object.entries(raw);
  if (entries.length > MAX_VARIATIONS) return undefined;
  const out: Record<string, VariationUsage> = {};
  for (const [index, v] of entries) {
    if (!VARIATION_INDEX.test(index) || !isObject(v) || !isCount(v.count) || !isTime(v.lastRequested)) return undefined;
    out[index] = { count: v.count, lastRequested: v.lastRequested };
  }
  return out;
}

function flagReportOf(key: string, raw: unknown): FlagUsageReport | undefined {
  if (key.length === 0 || key.length > MAX_KEY || !isObject(raw) || !isCount(raw.count) || !isTime(raw.lastRequested)) return undefined;
  const variations = variationsOf(raw.variations);
  if (!variations) return undefined;
  const report: FlagUsageReport = { key, lastRequested: raw.lastRequested, evaluations: raw.count, variations };
  if ("default" in raw) report.reportedDefault = { value: raw.default };
  return report;
}

/** The batch a message carries; undefined when it is not a version 2 evaluations event. */
export function usageBatchOf(message: unknown): UsageBatch | undefined {
  if (!isObject(message) || message.v !== 2 || typeof message.environmentId !== "string" || message.environmentId.length > MAX_KEY || !isObject(message.flags)) return undefined;
  const event = message as unknown as EvaluationsEvent;
  const flags: FlagUsageReport[] = [];
  for (const [key, raw] of Object.entries(event.flags)) {
    const report = flagReportOf(key, raw);
    if (report) flags.push(report);
  }
  return { environmentId: event.environmentId, flags };
}
