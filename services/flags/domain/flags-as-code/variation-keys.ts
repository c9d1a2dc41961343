/**
 * The keys variations have in a flags-as-code file. A stored variation has an id and a value; the
 * file names it by a key derived from what a person reads: its name, else its value (strings,
 * numbers, booleans), else its position. The derivation is deterministic, so an exported file is
 * stable, and unique within the flag (a clash gets the position appended).
 */
import { jsonEqual } from "../validation.ts";
import type { VariationRef } from "./file-format.ts";

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, 64);
}

export function variationKeys(variations: ReadonlyArray<{ name?: string; value: unknown }>): string[] {
  const taken = new Set<string>();
  return variations.map((v, i) => {
    const from = v.name ? v.name : ["string", "number", "boolean"].includes(typeof v.value) ? String(v.value) : "";
    let key = slug(from);
    // All digits would read as a position.
    if (/^\d+$/.test(key)) key = `v${key}`;
    if (key === "" || taken.has(key)) key = key === "" ? `variation-${i}` : `${key}-${i}`;
    taken.add(key);
    return key;
  });
}

/** The position a reference names among variations with these keys, or -1. */
export function refIndex(keys: readonly string[], ref: VariationRef): number {
  if (typeof ref === "number") return ref < keys.length ? ref : -1;
  return keys.indexOf(ref);
}

/**
 * Which stored variation each file variation is: the one with the same derived key, else one with
 * an equal value. -1 for a variation the file adds.
 */
export function matchVariations(file: ReadonlyArray<{ key: string; value: unknown }>, live: ReadonlyArray<{ name?: string; value: unknown }>): number[] {
  const liveKeys = variationKeys(live);
  const used = new Set<number>();
  const match = file.map((v) => {
    const i = liveKeys.indexOf(v.key);
    if (i >= 0) used.add(i);
    return i;
  });
  return match.map((m, f) => {
    if (m >= 0) return m;
    const i = live.findIndex((l, j) => !used.has(j) && jsonEqual(l.value, file[f]!.value));
    if (i >= 0) used.add(i);
    return i;
  });
}
