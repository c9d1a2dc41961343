/**
 * The OpenAPI document, built from the routes themselves. A route states what it answers in its
 * `detail` (made by `operation`): the success bodies, the errors it can give, its examples. Each
 * service turns its Elysia app into a part (`servicePart`: paths from the routes' `t` schemas
 * through `@elysiajs/openapi`, bodies from the details, named schemas as components), serves it on
 * `PART_PATH`, and the gateway joins the parts into one document (`joinParts`).
 */
import type { toOpenAPISchema } from "@elysiajs/openapi";
import { Type as T, type TSchema } from "@sinclair/typebox";
import type { DocumentDecoration } from "elysia";

/** Where a service answers its part of the document (internal: not in the gateway's route table). */
export const PART_PATH = "/_internal/openapi.json";

export const ERROR_SCHEMA = "Error";

/** `{code, message, id}`: every error of the API. */
export const ErrorRep = T.Object(
  {
    code: T.String({ description: "Machine-readable error code, e.g. `not_found`, `invalid_request`, `optimistic_locking_error`" }),
    message: T.String({ description: "What went wrong, for people" }),
    id: T.String({ description: "The request's id; it is also in the server's log line for the request" }),
  },
  { examples: [{ code: "not_found", message: "Flag not found", id: "3f2c0f9e6a1b4c7d" }] },
);

const ERROR_TEXT: Record<number, string> = {
  400: "Invalid request",
  401: "Invalid or missing access token",
  403: "Forbidden: the caller's role does not allow this action, or a beta resource without `LD-API-Version: beta`",
  404: "No such resource",
  405: "Method not allowed on this path",
  409: "Conflict: the resource exists, or a version check failed",
  413: "Body over 1 MiB",
  415: "Body is not JSON",
  422: "The patch cannot be applied",
  429: "Rate limited",
  500: "Server error",
  503: "A service or the database is unavailable",
  504: "A service did not answer in time",
};

/** A body: a schema, the name of a component schema, or `null` for none. */
export type Body = TSchema | string | null;

export interface OperationSpec {
  /** The operation's id; LaunchDarkly's where the operation is theirs (`getFeatureFlag`). */
  id: string;
  summary: string;
  tag: string;
  description?: string;
  /** Success statuses and their bodies. */
  ok: Record<number, Body>;
  /** Error statuses the operation itself gives (the gateway's own are added to every operation). */
  errors?: number[];
  /** Request bodies by content type, when the route's `body` schema does not say all (patches). */
  request?: Record<string, Body>;
  /** Examples: of the request body, and of the first success body. */
  requestExample?: unknown;
  example?: unknown;
  /** Answered without a credential. */
  public?: boolean;
  /** `LD-API-Version: beta` required. */
  beta?: boolean;
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function schemaOf(body: Body): unknown {
  if (body === null) return undefined;
  return typeof body === "string" ? ref(body) : plain(body);
}

/** A TypeBox schema as plain JSON Schema (its symbols dropped). */
export function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema));
}

function content(body: Body, example: unknown, type = "application/json") {
  if (body === null) return undefined;
  return { [type]: { schema: schemaOf(body), ...(example === undefined ? {} : { example }) } };
}

/** Errors every authenticated call through the gateway can give. */
const GATEWAY_ERRORS = [400, 401, 429];

/** The `detail` of a route: its OpenAPI operation, less what the route's schemas give. */
export function operation(spec: OperationSpec): DocumentDecoration {
  const responses: Record<string, unknown> = {};
  for (const [status, body] of Object.entries(spec.ok)) {
    const text = status === "204" ? "No content" : status === "201" ? "Created" : status === "202" ? "Accepted" : "Success";
    responses[status] = { description: text, ...(body === null ? {} : { content: content(body, spec.example) }) };
  }
  const errors = new Set([...(spec.public ? [400] : GATEWAY_ERRORS), ...(spec.beta ? [403] : []), ...(spec.errors ?? [])]);
  for (const status of [...errors].sort()) {
    responses[String(status)] = { description: ERROR_TEXT[status] ?? "Error", content: { "application/json": { schema: ref(ERROR_SCHEMA) } } };
  }
  const request = spec.request
    ? {
        required: true,
        content: Object.fromEntries(
          Object.entries(spec.request).map(([type, body], i) => [type, { schema: schemaOf(body), ...(i === 0 && spec.requestExample !== undefined ? { example: spec.requestExample } : {}) }]),
        ),
      }
    : undefined;
  return {
    operationId: spec.id,
    summary: spec.summary,
    tags: [spec.tag],
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.public ? { security: [] } : {}),
    responses,
    ...(request ? { "x-request-body": request } : {}),
    ...(spec.requestExample !== undefined && !request ? { "x-request-example": spec.requestExample } : {}),
    ...(spec.beta ? { "x-beta": true } : {}),
  } as DocumentDecoration;
}

export type ServicePart = { paths: Record<string, Record<string, Record<string, unknown>>>; components: { schemas: Record<string, unknown> } };
type AnyApp = Parameters<typeof toOpenAPISchema>[0];

/**
 * One service's part: the paths of its documented routes and the component schemas they name.
 * A route without an `operation` detail is left out (internal routes). The generator is loaded
 * here, on the first request for the document, not with the service: it is a large module that a
 * running service otherwise never needs.
 */
export async function servicePart(app: unknown, components: Record<string, TSchema>): Promise<ServicePart> {
  const { toOpenAPISchema } = await import("@elysiajs/openapi");
  const generated = toOpenAPISchema(app as AnyApp) as unknown as ServicePart;
  // The routes' body schemas, read from the routes themselves: the generator leaves a body's
  // content empty when the app parses bodies itself (every app here does, for JSON variants).
  const bodies = new Map<string, TSchema>();
  for (const route of (app as { routes: Array<{ method: string; path: string; hooks?: { body?: TSchema } }> }).routes) {
    if (route.hooks?.body) bodies.set(`${route.method.toLowerCase()} ${route.path.replace(/:([^/]+)/g, "{$1}")}`, route.hooks.body);
  }
  const paths: ServicePart["paths"] = {};
  for (const [path, methods] of Object.entries(generated.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!op.responses) continue;
      const own = op["x-request-body"] as { content: Record<string, unknown> } | undefined;
      const example = op["x-request-example"];
      delete op["x-request-body"];
      delete op["x-request-example"];
      delete op.requestBody;
      const body = bodies.get(`${method} ${path}`);
      if (own) op.requestBody = own;
      else if (body) op.requestBody = { required: true, content: { "application/json": { schema: plain(body), ...(example === undefined ? {} : { example }) } } };
      (paths[path] ??= {})[method] = op;
    }
  }
  const schemas: Record<string, unknown> = { [ERROR_SCHEMA]: plain(ErrorRep) };
  for (const [name, schema] of Object.entries(components)) schemas[name] = plain(schema);
  return { paths, components: { schemas } };
}

/** Parts of one service (an app and the apps it hands requests to) as one part. */
export function mergeParts(...parts: ServicePart[]): ServicePart {
  const paths: ServicePart["paths"] = {};
  for (const part of parts) for (const [path, methods] of Object.entries(part.paths)) Object.assign((paths[path] ??= {}), methods);
  return { paths, components: { schemas: Object.assign({}, ...parts.map((p) => p.components.schemas)) } };
}

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
}

/** The whole document: the parts' paths and schemas, the security scheme, the tags. */
export function joinParts(info: DocumentInfo, parts: ServicePart[]) {
  const paths: ServicePart["paths"] = {};
  const schemas: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [path, methods] of Object.entries(part.paths)) Object.assign((paths[path] ??= {}), methods);
    Object.assign(schemas, part.components.schemas);
  }
  const tags = [...new Set(Object.values(paths).flatMap((methods) => Object.values(methods).flatMap((op) => (op.tags as string[] | undefined) ?? [])))].sort();
  return {
    openapi: "3.1.0",
    info,
    servers: [{ url: "/", description: "This server" }],
    security: [{ ApiKey: [] }],
    tags: tags.map((name) => ({ name })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        ApiKey: {
          type: "apiKey",
          in: "header",
          name: "Authorization",
          description: "An access token (`api-…`), raw or after `Bearer `. Browsers may use the session cookie instead.",
        },
      },
    },
  };
}

/** A reference to a component schema, usable inside other TypeBox schemas. */
export const Ref = (name: string) => T.Unsafe<unknown>(ref(name));

export const LinkRep = T.Object({ href: T.String(), type: T.String() });
export const Links = T.Record(T.String(), LinkRep, { description: "Related resources: `self`, `parent`, and for pages `first`, `prev`, `next`, `last`" });

/** A page of a collection: `items`, `totalCount` and page links. */
export const Collection = (item: TSchema, description?: string) =>
  T.Object({ items: T.Array(item), totalCount: T.Integer({ minimum: 0 }), _links: Links }, description ? { description } : {});

const PatchOperation = T.Object(
  {
    op: T.Union(["add", "remove", "replace", "move", "copy", "test"].map((o) => T.Literal(o))),
    path: T.String({ description: "JSON Pointer (RFC 6901)" }),
    from: T.Optional(T.String()),
    value: T.Optional(T.Unknown()),
  },
  { additionalProperties: false },
);
const JsonPatch = T.Array(PatchOperation, { description: "JSON Patch (RFC 6902); `test` of the version (`/_version` on flags, `/version` on segments) is an optimistic-concurrency check" });
const Comment = T.String({ maxLength: 4096, description: "Kept in the audit log entry of the change" });

/** The ways a resource can be patched (LaunchDarkly's): by content type. */
export function patchRequest(semanticKinds?: readonly string[]): Record<string, Body> {
  const bodies: Record<string, Body> = {
    "application/json": T.Union([JsonPatch, T.Object({ comment: T.Optional(Comment), patch: JsonPatch }), T.Object({ comment: T.Optional(Comment), merge: T.Record(T.String(), T.Unknown()) })], {
      description: "A JSON Patch, a JSON Patch with a comment (`{comment, patch}`), or a JSON Merge Patch with a comment (`{comment, merge}`, RFC 7386)",
    }),
    "application/merge-patch+json": T.Record(T.String(), T.Unknown(), { description: "A JSON Merge Patch (RFC 7386)" }),
  };
  if (semanticKinds) {
    bodies["application/json; domain-model=launchdarkly.semanticpatch"] = T.Object(
      {
        comment: T.Optional(Comment),
        environmentKey: T.Optional(T.String({ description: "The environment the instructions act in, where they act in one" })),
        instructions: T.Array(T.Object({ kind: T.Union(semanticKinds.map((k) => T.Literal(k))) }, { additionalProperties: true }), { minItems: 1 }),
      },
      { description: "A semantic patch: instructions applied in order, all or nothing; a failing one is named by its index" },
    );
  }
  return bodies;
}
