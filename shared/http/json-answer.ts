/**
 * JSON answers. A frozen value is an answer kept and served many times (a flag's representation is
 * built once per version): its JSON is encoded once too, the first time it is served, and every
 * later answer shares those bytes.
 */
const encoded = new WeakMap<object, Blob>();
const JSON_TYPE = "application/json";

export function jsonAnswer(value: object, status = 200): Response {
  let body = encoded.get(value);
  if (body === undefined) {
    body = new Blob([JSON.stringify(value)], { type: JSON_TYPE });
    if (Object.isFrozen(value)) encoded.set(value, body);
  }
  return new Response(body, { status });
}
