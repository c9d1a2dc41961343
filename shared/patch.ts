/**
 * PATCH bodies: JSON Patch (RFC 6902, raw array or `{comment, patch}`) through `fast-json-patch`,
 * JSON Merge Patch (RFC 7386, `{comment, merge}`, `application/merge-patch+json` or any other
 * object) through `json-merge-patch`. The patched document is then checked whole against the
 * resource's rules: read-only fields untouched, no unknown fields, every editable field valid.
 */
import { cloneJson } from "./json-clone.ts";
import { type TObject } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import jsonPatch, { type Operation } from "fast-json-patch";
import mergePatch from "json-merge-patch";
import { VexilError, invalidRequest } from "./errors.ts";

export type PatchRequest =
  | { format: "json-patch"; operations: unknown[]; comment?: string }
  | { format: "merge"; merge: Record<string, unknown>; comment?: string }
  | { format: "semantic"; instructions: unknown[]; environmentKey?: string; comment?: string };

const SEMANTIC = /domain-model\s*=\s*"?launchdarkly\.semanticpatch"?/i;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function commentOf(body: Record<string, unknown>): string | undefined {
  if (body.comment === undefined) return undefined;
  if (typeof body.comment !== "string" || body.comment.length > 4096) throw invalidRequest("comment must be a string of at most 4096 characters");
  return body.comment;
}

/** Names that reach an object's prototype machinery rather than its data. */
const RESERVED = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Keys in `names` anywhere in a body: `__proto__` everywhere (JSON.parse makes it an ordinary key,
 * which copying and merging do not treat as one), and in merge patches all three (the merge library
 * stops at them silently, leaving the keys after them unapplied and unchecked).
 */
function refuseKeys(value: unknown, names: ReadonlySet<string>, depth = 0): void {
  if (depth > 100 || typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) refuseKeys(item, names, depth + 1);
    return;
  }
  for (const key of Object.keys(value)) {
    if (names.has(key)) throw invalidRequest(`The key "${key}" is not allowed in ${names === RESERVED ? "a merge patch" : "a request body"}`);
    refuseKeys((value as Record<string, unknown>)[key], names, depth + 1);
  }
}

const PROTO = new Set(["__proto__"]);
const OPERATIONS = new Set(["add", "remove", "replace", "move", "copy", "test"]);

function merge(doc: Record<string, unknown>, comment?: string): PatchRequest {
  refuseKeys(doc, RESERVED);
  return { format: "merge", merge: doc, ...(comment === undefined ? {} : { comment }) };
}

/** Tells the format of a PATCH body from its content type and shape. */
export function parsePatchRequest(body: unknown, contentType: string | null): PatchRequest {
  refuseKeys(body, PROTO);
  if (contentType && SEMANTIC.test(contentType)) {
    if (!isObject(body) || !Array.isArray(body.instructions)) throw invalidRequest("A semantic patch needs an instructions array");
    if (body.environmentKey !== undefined && typeof body.environmentKey !== "string") throw invalidRequest("environmentKey must be a string");
    return { format: "semantic", instructions: body.instructions, environmentKey: body.environmentKey as string | undefined, comment: commentOf(body) };
  }
  if (Array.isArray(body)) return { format: "json-patch", operations: body };
  if (!isObject(body)) throw invalidRequest("A patch must be a JSON Patch array or a JSON object");
  if (contentType?.toLowerCase().startsWith("application/merge-patch+json")) return merge(body);
  if ("instructions" in body) throw invalidRequest("This looks like a semantic patch: send it with Content-Type: application/json; domain-model=launchdarkly.semanticpatch");
  if ("patch" in body) {
    if (!Array.isArray(body.patch)) throw invalidRequest("patch must be an array of JSON Patch operations");
    return { format: "json-patch", operations: body.patch, comment: commentOf(body) };
  }
  if ("merge" in body) {
    if (!isObject(body.merge)) throw invalidRequest("merge must be a JSON object");
    return merge(body.merge, commentOf(body));
  }
  return merge(body);
}

/** Applies a JSON Patch or merge patch to a copy of `doc`. `test` failures are optimistic-locking conflicts. */
export function applyPatch<T>(doc: T, request: PatchRequest): unknown {
  const copy = cloneJson(doc);
  if (request.format === "merge") return mergePatch.apply(copy, cloneJson(request.merge));
  if (request.format === "semantic") throw invalidRequest("Semantic patch is not supported on this resource; use JSON Patch or JSON Merge Patch");
  if (request.operations.length > 1000) throw invalidRequest("A patch may hold at most 1000 operations");
  request.operations.forEach((op, index) => {
    const name = (op as Record<string, unknown> | null)?.op;
    // The library also runs an internal "_get" operation; only RFC 6902's six are operations of a patch.
    if (typeof name !== "string" || !OPERATIONS.has(name)) throw invalidRequest(`Invalid patch, operation ${index}: op must be one of ${[...OPERATIONS].join(", ")}`);
    for (const field of ["path", "from"] as const) {
      const pointer = (op as Record<string, unknown> | null)?.[field];
      if (typeof pointer === "string" && pointer.split("/").some((segment) => RESERVED.has(segment.replace(/~1/g, "/").replace(/~0/g, "~")))) {
        throw invalidRequest(`Invalid patch, operation ${index}: "${pointer.slice(0, 100)}" names no field of the resource`);
      }
    }
  });
  try {
    const invalid = jsonPatch.validate(request.operations as Operation[], copy);
    if (invalid) throw describePatchError(invalid);
    // One operation at a time, so each array index is checked against the array as it is then.
    let doc: unknown = copy;
    request.operations.forEach((op, index) => {
      const o = op as { op: string; path: string; from?: string };
      const inserts = o.op === "add" || o.op === "move" || o.op === "copy";
      checkArrayIndexes(doc, o.path, inserts, index);
      if (typeof o.from === "string") checkArrayIndexes(doc, o.from, false, index);
      doc = jsonPatch.applyOperation(doc, op as Operation, false, true, true, index).newDocument;
    });
    return doc;
  } catch (e) {
    if (e instanceof VexilError) throw e;
    throw describePatchError(e);
  }
}

/**
 * RFC 6901 array indexes: digits without leading zeros, within the array (one past its end, or `-`,
 * where an operation inserts). The library reads any text as a number (`~~key`), so `/tags/4294967296`
 * or `/tags/` would silently mean index 0.
 */
function checkArrayIndexes(doc: unknown, pointer: string, inserts: boolean, index: number): void {
  const parts = pointer.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  let node = doc;
  for (let i = 0; i < parts.length; i++) {
    const key = parts[i]!;
    const last = i === parts.length - 1;
    if (Array.isArray(node)) {
      const ok = key === "-" ? last && inserts : /^(0|[1-9]\d{0,8})$/.test(key) && Number(key) < node.length + (last && inserts ? 1 : 0);
      if (!ok) throw invalidRequest(`Invalid patch, operation ${index}: "${pointer.slice(0, 100)}" is not an index of the array there`);
      node = node[Number(key)];
    } else if (typeof node === "object" && node !== null) node = (node as Record<string, unknown>)[key];
    else return;
  }
}

function describePatchError(e: unknown): VexilError {
  if (e instanceof jsonPatch.JsonPatchError) {
    const op = e.operation as { op?: unknown; path?: unknown } | undefined;
    const where = `operation ${e.index ?? 0}${typeof op?.path === "string" ? ` (${String(op.op)} ${op.path})` : ""}`;
    if (e.name === "TEST_OPERATION_FAILED") {
      return new VexilError("optimistic_locking_error", `Conflict: the test in ${where} did not hold; the resource has changed`);
    }
    return invalidRequest(`Invalid patch, ${where}: ${e.message.split("\n")[0]}`);
  }
  return invalidRequest("Invalid patch");
}

export interface DocumentRules {
  /** Fields the patch may not change. */
  readOnly: readonly string[];
  /** Fields the patch may change, and what they must look like afterwards. */
  editable: TObject;
}

/** Checks a patched document against `rules`; returns the editable fields. */
export function checkPatchedDocument<E>(original: Record<string, unknown>, patched: unknown, rules: DocumentRules): E {
  if (!isObject(patched)) throw invalidRequest("The patch must leave an object");
  const editable = Object.keys(rules.editable.properties);
  for (const key of Object.keys(patched)) {
    if (!rules.readOnly.includes(key) && !editable.includes(key)) throw invalidRequest(`Unknown field "${key}"`);
  }
  for (const key of rules.readOnly) {
    if (!Bun.deepEquals(original[key], patched[key], true)) throw invalidRequest(`"${key}" is read-only and cannot be changed`);
  }
  const candidate = Object.fromEntries(editable.filter((k) => k in patched).map((k) => [k, patched[k]]));
  // A field the patch took away (a merge patch's null, a `remove`) is cleared: null where the field
  // may be null, absent where it may be absent, refused where it must have a value.
  const required = rules.editable.required ?? [];
  for (const key of editable) {
    if (key in patched || !required.includes(key)) continue;
    if (!Value.Check(rules.editable.properties[key]!, null)) throw invalidRequest(`Invalid ${key}: it is required and cannot be removed or set to null`);
    candidate[key] = null;
  }
  const error = Value.Errors(rules.editable, candidate).First();
  if (error) {
    const field = error.path.replace(/^\//, "").replaceAll("/", ".") || "document";
    throw invalidRequest(`Invalid ${field}: ${error.message}`);
  }
  return candidate as E;
}

/** What a patch request changes, as the audit log records it. */
export function patchDelta(request: PatchRequest): unknown {
  if (request.format === "semantic") return { instructions: request.instructions, environmentKey: request.environmentKey };
  return request.format === "merge" ? request.merge : request.operations;
}

/** A write kept losing to concurrent ones, or a `test` did not hold. */
export const optimisticLockError = () => new VexilError("optimistic_locking_error", "Conflict. Optimistic lock error. Try again later.");

/** How many times a change is re-read and re-applied when concurrent writes keep moving the version. */
export const WRITE_ATTEMPTS = 5;

/**
 * Runs `attempt` until it gives a result. An attempt reads, applies and writes from the version it
 * read, and gives undefined when a concurrent write moved that version; after WRITE_ATTEMPTS of
 * those, 409.
 */
export async function untilWritten<T>(attempt: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < WRITE_ATTEMPTS; i++) {
    const result = await attempt();
    if (result !== undefined) return result;
  }
  throw optimisticLockError();
}
