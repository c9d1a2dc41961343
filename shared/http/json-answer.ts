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
 * `keptJson` for a value whose parts are frozen elsewhere, or changed by nobody: only its top level
 * is frozen (freezing an answer of kilobytes all through costs more than encoding it).
 */
export function keptJsonShallow<T extends object>(value: T): T {
  texts.set(value, JSON.stringify(value));
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
