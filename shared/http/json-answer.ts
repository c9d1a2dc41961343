/**
 * JSON answers. A frozen value is an answer kept and served many times (a flag's representation is
 * built once per version): its JSON is encoded once too, the first time it is served or stored, and
 * every later use shares that text (a flag's answer to a change is also its audit entry's current
 * representation, and the answer to reads of that version).
 */
import { deepFreeze } from "../json-clone.ts";

const texts = new WeakMap<object, string>();
const bodies = new WeakMap<object, Blob>();
const JSON_TYPE = "application/json";

/** `JSON.stringify(value)`, kept for a frozen object or array. */
export function jsonText(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    if (Object.isFrozen(value)) texts.set(value, text);
  }
  return text;
}

/**
 * Freezes a value to be kept and served many times (`deepFreeze`), its JSON encoded first:
 * `JSON.stringify` takes a slower path through frozen objects.
 */
export function keptJson<T extends object>(value: T): T {
  const text = JSON.stringify(value);
  deepFreeze(value);
  texts.set(value, text);
  return value;
}

/**
 * `JSON.stringify(value)` put together from the texts of its parts: down to `depth` levels of plain
 * objects, a field whose value is a frozen object or array is written as its kept text (encoded
 * once, the first time: `jsonText`), anything else as `JSON.stringify` writes it. A change shares
 * the parts it leaves alone with the version before (a flag's rules and targets, a representation's
 * other environments), so their text is not encoded again for each version, nor for each document
 * that holds them (the answer, the targeting row, the audit entry).
 */
export function composedJson(value: unknown, depth: number): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  const kept = texts.get(value);
  if (kept !== undefined) return kept;
  if (Object.isFrozen(value)) return jsonText(value);
  if (depth === 0 || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return JSON.stringify(value);
  let text = "{";
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    let part: string;
    switch (typeof field) {
      case "boolean":
        part = field ? "true" : "false";
        break;
      case "number":
        part = Number.isFinite(field) ? String(field) : "null";
        break;
      case "object":
        part = composedJson(field, depth - 1);
        break;
      case "string":
      case "bigint":
        part = JSON.stringify(field);
        break;
      default:
        continue;
    }
    text += `${text.length > 1 ? "," : ""}${keyText(key)}:${part}`;
  }
  return `${text}}`;
}

/** Object keys as JSON strings: the same few keys are written over and over. */
const keyTexts = new Map<string, string>();
function keyText(key: string): string {
  let text = keyTexts.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (keyTexts.size < 10_000) keyTexts.set(key, text);
  }
  return text;
}

/**
 * `keptJson` for a value whose parts are frozen elsewhere, or changed by nobody: only its top level
 * is frozen (freezing an answer of kilobytes all through costs more than encoding it). Its text is
 * put together from its frozen parts' (`composedJson`, three levels down: a flag's representation,
 * its environments, each environment's fields).
 */
export function keptJsonShallow<T extends object>(value: T): T {
  texts.set(value, composedJson(value, 3));
  return Object.freeze(value);
}

export function jsonAnswer(value: object, status = 200): Response {
  let body = bodies.get(value);
  if (body === undefined) {
    body = new Blob([jsonText(value)], { type: JSON_TYPE });
    if (Object.isFrozen(value)) bodies.set(value, body);
  }
  return new Response(body, { status });
}
