/**
 * A deep copy of JSON data (plain objects, arrays, strings, numbers, booleans, null): what every
 * change works on before it is validated. About ten times faster than `structuredClone`, which
 * also handles what JSON documents never hold (cycles, dates, maps, typed arrays).
 */
export function cloneJson<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  const copy: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = cloneJson((value as Record<string, unknown>)[key]);
    // A "__proto__" key (JSON.parse makes it an own property) stays a property, not a prototype.
    if (key === "__proto__") Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    else copy[key] = item;
  }
  return copy as T;
}

/**
 * Freezes JSON data and everything in it, in place, and returns it: a value kept and handed out to
 * many readers (a cached record, an answer built once per version) that nobody can change. A part
 * already frozen is passed over: JSON data is frozen only here, children before their parent, so
 * whatever is frozen is frozen all through (a changed flag shares its unchanged parts this way).
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
