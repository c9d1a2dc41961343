/**
 * What the flag and segment validators share: JSON type checks that fail with a 400 naming the
 * path of the value, and the checks of what flags and segments have alike (keys, tags, the
 * clauses of a rule). Each validator keeps its own document's rules.
 */
import { invalidRequest } from "@vexil/shared/errors";
import { CLAUSE_OPS } from "./flags/model.ts";

/** Keys and tags of flags and segments alike. */
export const KEY_AND_TAG_LIMITS = { key: 140, tags: 50, tag: 64 } as const;

/** The fields a clause may have, in a flag rule or a segment rule. */
export const CLAUSE_FIELDS = ["_id", "contextKind", "attribute", "op", "values", "negate"] as const;

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TAG = /^[A-Za-z0-9._:-]{1,64}$/;
const OPS: readonly string[] = CLAUSE_OPS;

export type Json = Record<string, unknown>;

export const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Deep equality of JSON values; key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

// JSON type checks that fail with the path of the value.

export function fail(path: string, reason: string): never {
  throw invalidRequest(`${path}: ${reason}`);
}

export function record(v: unknown, path: string): Json {
  if (!isRecord(v)) fail(path, "must be an object");
  return v;
}

export function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, "must be an array");
  return v;
}

export function string(v: unknown, path: string, min = 0, max = Infinity): string {
  if (typeof v !== "string") fail(path, "must be a string");
  if (v.length < min) fail(path, min === 1 ? "must not be empty" : `must be at least ${min} characters`);
  if (v.length > max) fail(path, `must be at most ${max} characters`);
  return v;
}

export function boolean(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") fail(path, "must be a boolean");
  return v;
}

export function integer(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v)) fail(path, "must be an integer");
  if (v < min || v > max) fail(path, `must be from ${min} to ${max}`);
  return v;
}

const NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The path of a field of the object at `path` (the document itself when empty); odd or long names quoted, cut at 100 characters. */
export function fieldPath(path: string, field: string): string {
  if (NAME.test(field) && field.length <= 100) return path ? `${path}.${field}` : field;
  return `${path}[${JSON.stringify(field.length > 100 ? `${field.slice(0, 100)}…` : field)}]`;
}

/** Refuses every field of `o` but `fields`, naming the first other one. */
export function knownFields(o: Json, path: string, fields: readonly string[]): void {
  for (const field of Object.keys(o)) if (!fields.includes(field)) fail(fieldPath(path, field), "unknown field");
}

/** Runs `check` unless the field is absent. */
export function optional<T>(v: unknown, check: (v: unknown) => T): T | undefined {
  return v === undefined ? undefined : check(v);
}

// Keys, tags and clauses.

/** A resource key: 1 to 140 letters, digits, '.', '_' and '-', starting with a letter or digit. */
export function checkKey(v: unknown, path = "key"): string {
  const key = string(v, path, 1, KEY_AND_TAG_LIMITS.key);
  if (!KEY.test(key)) fail(path, "must start with a letter or digit and hold only letters, digits, '.', '_' and '-'");
  return key;
}

export function checkTags(v: unknown) {
  const tags = array(v, "tags");
  if (tags.length > KEY_AND_TAG_LIMITS.tags) fail("tags", `must not have more than ${KEY_AND_TAG_LIMITS.tags} entries`);
  tags.forEach((t, i) => {
    const tag = string(t, `tags[${i}]`);
    if (!TAG.test(tag)) fail(`tags[${i}]`, `must be 1 to ${KEY_AND_TAG_LIMITS.tag} letters, digits, '.', '_', ':' or '-'`);
    if (tags.indexOf(tag) !== i) fail(`tags[${i}]`, `"${tag}" is listed twice`);
  });
}

/** The clauses of one rule, of a flag or a segment (their ids are unique within the rule: `flags/ids.ts`). */
export function checkClauses(v: unknown, path: string) {
  array(v, path).forEach((c, j) => {
    const cat = `${path}[${j}]`;
    const clause = record(c, cat);
    knownFields(clause, cat, CLAUSE_FIELDS);
    string(clause._id, `${cat}._id`, 1);
    optional(clause.contextKind, (k) => string(k, `${cat}.contextKind`));
    string(clause.attribute, `${cat}.attribute`, 1);
    if (typeof clause.op !== "string" || !OPS.includes(clause.op)) fail(`${cat}.op`, `must be one of ${CLAUSE_OPS.join(", ")}`);
    array(clause.values, `${cat}.values`);
    boolean(clause.negate, `${cat}.negate`);
  });
}
