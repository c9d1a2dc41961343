/**
 * Scrapes `/metrics` and reads it with a real parser of the Prometheus text format
 * (`parse-prometheus-text-format`, prom2json's output), so a test sees what Prometheus would.
 */
import { expect } from "bun:test";
import parsePrometheusTextFormat, { type Family } from "parse-prometheus-text-format";

export interface Scrape {
  text: string;
  families: Map<string, Family>;
  /** The sum of the samples of `name` whose labels include `labels`: values, or observation counts for histograms. */
  value(name: string, labels?: Record<string, string>): number;
  /** Every value of one label across the samples of `name`. */
  labelValues(name: string, label: string): string[];
}

export async function scrape(baseUrl: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return parseScrape(await res.text());
}

/**
 * The parser folds a histogram's samples into one set of buckets and drops the labelled `_count`
 * and `_sum` lines, so a histogram's observation counts are read from a second parse of the same
 * text in which histograms and summaries are declared untyped: there each `_count` is a family
 * of its own, with its labels (split into runs where the lines of other names come between, which
 * `byName` joins again).
 */
export function parseScrape(text: string): Scrape {
  const families = byName(parsePrometheusTextFormat(text));
  const untyped = byName(parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) (histogram|summary)$/gm, "# TYPE $1 untyped")));
  const matching = (from: Map<string, Family>, name: string, labels: Record<string, string>) =>
    (from.get(name)?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return {
    text,
    families,
    value(name, labels = {}) {
      const type = families.get(name)?.type;
      const samples = type === "HISTOGRAM" || type === "SUMMARY" ? matching(untyped, `${name}_count`, labels) : matching(families, name, labels);
      return samples.reduce((sum, m) => sum + Number(m.value), 0);
    },
    labelValues(name, label) {
      const type = families.get(name)?.type;
      const samples = type === "HISTOGRAM" || type === "SUMMARY" ? matching(untyped, `${name}_count`, {}) : matching(families, name, {});
      return [...new Set(samples.flatMap((m) => (m.labels?.[label] === undefined ? [] : [m.labels[label]!])))];
    },
  };
}

function byName(parsed: Family[]): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const family of parsed) {
    const seen = out.get(family.name);
    if (seen) seen.metrics.push(...family.metrics);
    else out.set(family.name, family);
  }
  return out;
}

/** Scrapes until `ok` holds (metrics move as work finishes, a moment after the answer that caused it). */
export async function scrapeUntil(baseUrl: string, ok: (s: Scrape) => boolean, token?: string, timeoutMs = 15_000): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await scrape(baseUrl, token);
    if (ok(s)) return s;
    if (Date.now() > deadline) return s;
    await Bun.sleep(50);
  }
}
