/**
 * Attribute references: `/address/city` paths into a context, with `~1` for `/` and `~0` for `~`,
 * or plain names. A clause or rollout with a `contextKind` holds a reference; one without (the
 * pre-context format) holds a literal top-level attribute name, which is never parsed.
 *
 * Parsing follows the server SDKs to the character, odd corners included: a path component that
 * starts with `~` is kept unescaped, `~|` and `~^` pass validation, and `_meta` is not addressable.
 */

export interface AttributeReference {
  readonly valid: boolean;
  readonly components: readonly string[];
}

export const INVALID_REFERENCE: AttributeReference = { valid: false, components: [] };

// `//`, a bad escape in a path, or a trailing `~` make a reference invalid.
const MALFORMED = /\/\/|^\/.*~[^01|^]|~$/;

function unescapeComponent(component: string): string {
  // A component starting with `~` stays as written; SDKs only unescape when `~` comes later.
  return component.indexOf("~") === 0 ? component : component.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** A reference from `text`; with `literal`, `text` is one attribute name taken as written. */
export function attributeReference(text: string, literal: boolean): AttributeReference {
  if (literal) return text === "" ? INVALID_REFERENCE : { valid: true, components: [text] };
  if (text === "" || text === "/" || MALFORMED.test(text)) return INVALID_REFERENCE;
  let components: string[];
  if (!text.startsWith("/")) components = [text];
  else if (text.indexOf("/", 1) < 0) components = [unescapeComponent(text.slice(1))];
  else components = text.slice(1).split("/").map(unescapeComponent);
  return components[0] === "_meta" ? INVALID_REFERENCE : { valid: true, components };
}

/** The `key` reference rollouts bucket by when they name no attribute. */
export const KEY_REFERENCE: AttributeReference = { valid: true, components: ["key"] };

export const isKindReference = (ref: AttributeReference) => ref.components.length === 1 && ref.components[0] === "kind";

const hasOwn = Object.prototype.hasOwnProperty;

/** Walks `ref` into one kind's attributes; arrays are never indexed into. */
export function attributeValue(ref: AttributeReference, attributes: unknown): unknown {
  if (!attributes || !ref.valid) return undefined;
  const { components } = ref;
  // `anonymous` reads as a boolean even when absent.
  if (components.length === 1 && components[0] === "anonymous") return !!(attributes as { anonymous?: unknown }).anonymous;
  let current: unknown = attributes;
  for (const component of components) {
    if (current === null || typeof current !== "object" || Array.isArray(current) || !hasOwn.call(current, component)) return undefined;
    current = (current as Record<string, unknown>)[component];
  }
  return current;
}
