/**
 * Evaluation contexts as server SDKs accept them: single-kind (`{kind, key, ...attributes}`),
 * multi-kind (`{kind: "multi", user: {...}, org: {...}}`), and legacy users (no `kind`; `custom`
 * attributes and the seven built-in top-level ones, everything else dropped). The raw object is
 * read in place, never cloned, except where SDKs themselves build a new one (legacy users and
 * one-kind multi contexts), so an evaluation sees exactly the attributes an SDK would.
 */
import { attributeValue, isKindReference, type AttributeReference } from "./attribute-reference.ts";

const KIND_PATTERN = /^(\w|\.|-)+$/;
const validKind = (kind: unknown): kind is string => typeof kind === "string" && KIND_PATTERN.test(kind) && kind !== "kind";
const validKey = (key: unknown) => typeof key === "string" && key !== "";
const isObject = (value: unknown): value is Record<string, unknown> => !!value && typeof value === "object" && !Array.isArray(value);

const LEGACY_BUILT_INS = ["name", "ip", "firstName", "lastName", "email", "avatar", "country"] as const;

export class EvaluationContext {
  private constructor(
    /** The context kinds, in the order SDKs report them. */
    readonly kinds: readonly string[],
    private readonly kind: string,
    /** Single kind: the attributes object. Multi-kind: attributes objects by kind. */
    private readonly attributesOrByKind: Record<string, unknown>,
    readonly isMulti: boolean,
  ) {}

  static single(kind: string, attributes: Record<string, unknown>) {
    return new EvaluationContext([kind], kind, attributes, false);
  }

  static multi(byKind: Record<string, unknown>) {
    return new EvaluationContext(Object.keys(byKind), "multi", byKind, true);
  }

  /** The attributes object of one kind, if the context has it. */
  attributes(kind: string): unknown {
    if (this.isMulti) return this.attributesOrByKind[kind];
    return this.kind === kind ? this.attributesOrByKind : undefined;
  }

  key(kind: string): unknown {
    return (this.attributes(kind) as { key?: unknown } | undefined)?.key;
  }

  /** The value `ref` names in the `kind` part; the `kind` attribute is the list of kinds. */
  value(ref: AttributeReference, kind: string): unknown {
    if (isKindReference(ref)) return this.kinds;
    return attributeValue(ref, this.attributes(kind));
  }
}

export type ParsedContext = { ok: true; context: EvaluationContext } | { ok: false; message: string };

function legacyUser(user: Record<string, unknown>): Record<string, unknown> {
  // Spread as SDKs do: a non-object `custom` contributes whatever spreading it yields.
  const attributes: Record<string, unknown> = { ...((user.custom || []) as object), kind: "user", key: String(user.key) };
  if (user.anonymous !== null && user.anonymous !== undefined) {
    delete attributes.anonymous;
    attributes.anonymous = !!user.anonymous;
  }
  for (const name of LEGACY_BUILT_INS) if (user[name] !== null && user[name] !== undefined) attributes[name] = user[name];
  if (user.privateAttributeNames !== null && user.privateAttributeNames !== undefined) attributes._meta = { privateAttributes: user.privateAttributeNames };
  return attributes;
}

function multiKind(raw: Record<string, unknown>): ParsedContext {
  const kinds = Object.keys(raw).filter((k) => k !== "kind");
  if (kinds.length === 0) return { ok: false, message: "A multi-kind context must contain at least one kind" };
  if (!kinds.every(validKind)) return { ok: false, message: "Context contains invalid kinds" };
  const byKind: Record<string, unknown> = {};
  for (const kind of kinds) {
    const part = raw[kind];
    if (!isObject(part)) return { ok: false, message: "Context contained contexts that were not objects" };
    byKind[kind] = part;
  }
  if (!Object.values(byKind).every((part) => validKey((part as Record<string, unknown>).key))) return { ok: false, message: "Context contained invalid keys" };
  if (kinds.length === 1) {
    const kind = kinds[0]!;
    return { ok: true, context: EvaluationContext.single(kind, { ...(byKind[kind] as object), kind }) };
  }
  return { ok: true, context: EvaluationContext.multi(byKind) };
}

/** Validates a context the way server SDKs do; an invalid one evaluates to USER_NOT_SPECIFIED. */
export function parseContext(raw: unknown): ParsedContext {
  if (!raw) return { ok: false, message: "No context specified" };
  if (typeof raw !== "object") return { ok: false, message: "The context is not an object" };
  const object = raw as Record<string, unknown>;
  const hasKind = "kind" in object;
  const kind = object.kind;
  if (hasKind && typeof kind === "string" && kind !== "multi") {
    if (!validKind(kind)) return { ok: false, message: "The kind was not valid for the context" };
    if (!validKey(object.key)) return { ok: false, message: "The key for the context was not valid" };
    return { ok: true, context: EvaluationContext.single(kind, object) };
  }
  if (kind === "multi") return multiKind(object);
  if (!hasKind || kind === null || kind === undefined) {
    if (object.key === null || object.key === undefined) return { ok: false, message: "The key for the context was not valid" };
    return { ok: true, context: EvaluationContext.single("user", legacyUser(object)) };
  }
  return { ok: false, message: "Context was not of a valid kind" };
}
