/**
 * Refuses text Postgres cannot store — a NUL character or an unpaired UTF-16 surrogate — anywhere in
 * a request's path parameters, query or JSON body (keys included), with a 400 naming where, before
 * any handler runs.
 */
import { Elysia } from "elysia";
import { invalidRequest } from "../errors.ts";

const BAD = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The path of the first unstorable string in `value`, or undefined. */
export function findUnstorableText(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === "string") return BAD.test(value) ? path : undefined;
  if (value === null || typeof value !== "object" || depth > 64) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    if (BAD.test(k)) return `${path} (a key)`;
    const found = findUnstorableText(v, `${path}.${k}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export function textGuard() {
  return new Elysia({ name: "vexil-text-guard" }).onBeforeHandle({ as: "global" }, ({ params, query, body }) => {
    const where = findUnstorableText(params, "path") ?? findUnstorableText(query, "query") ?? findUnstorableText(body, "body");
    if (where) throw invalidRequest(`${where} contains a NUL character or an unpaired surrogate, which cannot be stored`);
  });
}
