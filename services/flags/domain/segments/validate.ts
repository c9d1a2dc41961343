/**
 * One check of a whole segment document, the last step of every write path. As with flags, the
 * document may come from a JSON Patch a user wrote: each field's JSON type is checked before its
 * meaning, a field the document does not have is refused at every level (the segment, its
 * targets, rules and clauses; it would be stored and served to SDKs), and the only error is a 400
 * naming the first problem by its path.
 *
 * Targets: a context is identified by its kind and key; user keys count from `included` /
 * `excluded` and from `includedContexts` / `excludedContexts` entries of kind `user` alike.
 * No context may be both included and excluded. Rule and clause ids are assigned, and refused when
 * duplicated, by `ids.ts` just before.
 */
import { TOTAL_WEIGHT } from "../flags/model.ts";
import { array, boolean, checkClauses, checkKey, checkTags, fail, integer, knownFields, optional, record, string } from "../validation.ts";
import type { Segment } from "./model.ts";

export const SEGMENT_LIMITS = { name: 256, description: 8192, rules: 1000, targets: 10_000 } as const;

/** The fields each object of a segment document may have (clauses are checked as flags' are). */
export const SEGMENT_FIELDS = {
  segment: ["key", "name", "description", "tags", "creationDate", "lastModifiedDate", "included", "excluded", "includedContexts", "excludedContexts", "rules", "version", "deleted", "generation", "unbounded", "unboundedContextKind", "salt"],
  target: ["contextKind", "values"],
  rule: ["_id", "clauses", "weight", "rolloutContextKind", "bucketBy", "description"],
} as const satisfies Record<string, readonly string[]>;

type Json = Record<string, unknown>;
type Side = "included" | "excluded";
/** Where a context is first listed on one side. */
interface Listed {
  kind: string;
  key: string;
  path: string;
}

export function validateSegment(segment: Segment): void {
  const s = record(segment as unknown, "segment");
  knownFields(s, "", SEGMENT_FIELDS.segment);
  checkKey(s.key);
  string(s.name, "name", 1, SEGMENT_LIMITS.name);
  string(s.description, "description", 0, SEGMENT_LIMITS.description);
  checkTags(s.tags);
  integer(s.creationDate, "creationDate");
  integer(s.lastModifiedDate, "lastModifiedDate");
  const included = checkSide(s, "included");
  const excluded = checkSide(s, "excluded");
  for (const [id, { kind, key, path }] of excluded) {
    const other = included.get(id);
    if (other) fail(path, `${kind} "${key}" is also included by ${other.path}`);
  }
  checkRules(s.rules);
  integer(s.version, "version");
  boolean(s.deleted, "deleted");
  integer(s.generation, "generation");
  boolean(s.unbounded, "unbounded");
  optional(s.unboundedContextKind, (k) => string(k, "unboundedContextKind", 1));
  string(s.salt, "salt", 1);
}

/**
 * `included` (or `excluded`) and its `…Contexts`: returns where each context of the side is first
 * listed, keyed by `JSON.stringify([kind, key])`.
 */
function checkSide(s: Json, side: Side): Map<string, Listed> {
  const seen = new Map<string, Listed>();
  const note = (kind: string, key: string, path: string) => {
    const id = JSON.stringify([kind, key]);
    if (!seen.has(id)) seen.set(id, { kind, key, path });
  };
  checkKeys(s[side], side).forEach((key, i) => note("user", key, `${side}[${i}]`));
  const path = `${side}Contexts`;
  const kinds = new Set<string>();
  array(s[path], path).forEach((t, i) => {
    const at = `${path}[${i}]`;
    const target = record(t, at);
    knownFields(target, at, SEGMENT_FIELDS.target);
    const kind = string(target.contextKind, `${at}.contextKind`, 1);
    if (kinds.has(kind)) fail(`${at}.contextKind`, `"${kind}" is listed twice`);
    kinds.add(kind);
    checkKeys(target.values, `${at}.values`).forEach((key, j) => note(kind, key, `${at}.values[${j}]`));
  });
  return seen;
}

/** A list of context keys: strings, each once, at most 10,000. */
function checkKeys(v: unknown, path: string): string[] {
  const keys = array(v, path);
  if (keys.length > SEGMENT_LIMITS.targets) fail(path, `must not have more than ${SEGMENT_LIMITS.targets} entries`);
  const seen = new Set<string>();
  return keys.map((k, i) => {
    const key = string(k, `${path}[${i}]`);
    if (seen.has(key)) fail(`${path}[${i}]`, `"${key}" is listed twice`);
    seen.add(key);
    return key;
  });
}

function checkRules(v: unknown) {
  const rules = array(v, "rules");
  if (rules.length > SEGMENT_LIMITS.rules) fail("rules", `must not have more than ${SEGMENT_LIMITS.rules} entries`);
  rules.forEach((r, i) => {
    const at = `rules[${i}]`;
    const rule = record(r, at);
    knownFields(rule, at, SEGMENT_FIELDS.rule);
    string(rule._id, `${at}._id`, 1);
    checkClauses(rule.clauses, `${at}.clauses`);
    optional(rule.weight, (w) => integer(w, `${at}.weight`, 0, TOTAL_WEIGHT));
    optional(rule.rolloutContextKind, (k) => string(k, `${at}.rolloutContextKind`, 1));
    optional(rule.bucketBy, (b) => string(b, `${at}.bucketBy`));
    optional(rule.description, (d) => string(d, `${at}.description`));
  });
}
