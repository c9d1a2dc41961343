/** Parses `application/merge-patch+json` and `application/json-patch+json` bodies as JSON, like `application/json`. */
import { Elysia } from "elysia";

const JSON_VARIANTS = /^application\/(merge-patch\+json|json-patch\+json)/i;

export function jsonVariants() {
  return new Elysia({ name: "vexil-json-variants" }).onParse({ as: "global" }, ({ request, contentType }) => {
    if (JSON_VARIANTS.test(contentType)) return request.json();
  });
}
