/**
 * OFREP, the OpenFeature Remote Evaluation Protocol: `POST /ofrep/v1/evaluate/flags/{key}` evaluates
 * one flag, `POST /ofrep/v1/evaluate/flags` every flag of the environment (with an ETag). The
 * credential is an SDK key in `Authorization` (bare or `Bearer`) or in `X-API-Key`.
 *
 * Answers agree with LaunchDarkly's OpenFeature provider running the server SDK against the same
 * environment: the OpenFeature context is translated as that provider translates it, the variant is
 * the variation index as a string, and the reason is the evaluation reason's kind as it stands
 * (`TARGET_MATCH`, `RULE_MATCH`, `FALLTHROUGH`, `OFF`, `PREREQUISITE_FAILED`), which is what that
 * provider reports. The reason's details (rule index and id, experiment, prerequisite) go in `metadata`.
 *
 * Failures have OFREP's shape, `{key, errorCode, errorDetails}` (bulk: without `key`), so the
 * OpenFeature OFREP provider maps them to its error codes; credentials and overload keep Vexil's
 * `{code, message, id}`. No input, however malformed, is a 500.
 */
import { createHash } from "node:crypto";
import { Elysia } from "elysia";
import { VexilError, errorResponse } from "@vexil/shared/errors";
import { parseContext, type Evaluation, type EvaluationContext, type EvaluationReason } from "@vexil/shared/evaluation/evaluate";
import { requestIdOf } from "@vexil/shared/http/errors-plugin";
import type { Logger } from "@vexil/shared/logger";
import { availableTo, clientFeed } from "./client-sdk.ts";
import { evaluateIn } from "./evaluations.ts";
import type { Feed, FeedHub } from "./feeds.ts";
import { presentedCredential } from "@vexil/shared/http/credentials";
import { parseCredential } from "@vexil/shared/secrets";
import { requireGrant, type KeyVerifier } from "./sdk-keys.ts";
import { matchesEtag } from "./server-sdk.ts";

export interface OfrepParts {
  keys: KeyVerifier;
  feeds: FeedHub;
  logger: Logger;
}

/** A request body (`{"context": {...}}`) is at most this many bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

export type OfrepErrorCode = "PARSE_ERROR" | "TARGETING_KEY_MISSING" | "INVALID_CONTEXT" | "GENERAL" | "FLAG_NOT_FOUND";

/** A failure OFREP describes: its status, its error code and a sentence for people. */
export class OfrepError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: OfrepErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "OfrepError";
  }
}

export type OfrepMetadata = Record<string, string | number | boolean>;

export interface OfrepSuccess {
  key: string;
  value: unknown;
  reason: string;
  variant?: string;
  metadata: OfrepMetadata;
}

export interface OfrepFailure {
  key: string;
  errorCode: OfrepErrorCode;
  errorDetails: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

// ---- Context translation ---------------------------------------------------------------------

/** Attributes LaunchDarkly keeps only with their own type; any other type drops them. */
const BUILT_IN_TYPES: Record<string, "string" | "boolean"> = { name: "string", anonymous: "boolean" };

/**
 * One context kind's attributes: `targetingKey` (else `key`) becomes `key`, `privateAttributes`
 * becomes `_meta.privateAttributes`, `kind` is dropped, `name` and `anonymous` of another type are
 * dropped, everything else is kept. Objects are built from entries so that a `__proto__` attribute
 * stays an ordinary attribute.
 */
function translateKind(attributes: Record<string, unknown>, targetingKey: unknown): Record<string, unknown> {
  const entries: Array<[string, unknown]> = [["key", targetingKey ?? attributes.key]];
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "targetingKey" || name === "key" || name === "kind") continue;
    if (name === "privateAttributes") entries.push(["_meta", { privateAttributes: value }]);
    else if (name in BUILT_IN_TYPES) {
      if (typeof value === BUILT_IN_TYPES[name]) entries.push([name, value]);
    } else entries.push([name, value]);
  }
  return Object.fromEntries(entries);
}

/**
 * An OpenFeature evaluation context as LaunchDarkly's OpenFeature provider turns it into a
 * LaunchDarkly context: `kind` defaults to `user` (a `kind` that is not a string counts as absent),
 * and `kind: "multi"` makes every object-valued attribute a context kind of its own, each with its
 * own `targetingKey`; other top-level values of a multi-kind context are dropped.
 */
export function translateContext(context: Record<string, unknown>): Record<string, unknown> {
  if (context.kind === "multi") {
    const entries: Array<[string, unknown]> = [];
    for (const [name, value] of Object.entries(context)) {
      if (name === "kind") entries.push([name, value]);
      else if (isObject(value)) entries.push([name, translateKind(value, value.targetingKey)]);
    }
    return Object.fromEntries(entries);
  }
  const kind = typeof context.kind === "string" ? context.kind : "user";
  return { kind, ...translateKind(context, context.targetingKey) };
}

const keyMissing = (key: unknown) => key === undefined || key === null || key === "";

/** Where a translated context lacks a key, if it does. */
function missingKey(translated: Record<string, unknown>): string | undefined {
  if (translated.kind !== "multi") return keyMissing(translated.key) ? "context.targetingKey" : undefined;
  for (const [kind, part] of Object.entries(translated)) {
    if (kind !== "kind" && keyMissing((part as Record<string, unknown>).key)) return `context.${kind}.targetingKey`;
  }
  return undefined;
}

/** The evaluation context of a request body `{"context": {...}}`, translated and checked. */
export function contextOfBody(body: unknown): EvaluationContext {
  if (!isObject(body)) throw new OfrepError(400, "PARSE_ERROR", 'The body must be a JSON object: {"context": {...}}');
  const raw = body.context;
  if (raw === undefined || raw === null) throw new OfrepError(400, "TARGETING_KEY_MISSING", "The body has no context; a context with a targetingKey is required");
  if (!isObject(raw)) throw new OfrepError(400, "INVALID_CONTEXT", "context must be a JSON object");
  const translated = translateContext(raw);
  const missing = missingKey(translated);
  if (missing) throw new OfrepError(400, "TARGETING_KEY_MISSING", `${missing} is required and must be a non-empty string`);
  const parsed = parseContext(translated);
  if (!parsed.ok) throw new OfrepError(400, "INVALID_CONTEXT", parsed.message);
  return parsed.context;
}

// ---- Results ---------------------------------------------------------------------------------

/** The reason's details, as flat values OpenFeature's flag metadata can carry. */
function metadataOf(reason: EvaluationReason): OfrepMetadata {
  const metadata: OfrepMetadata = {};
  if (reason.kind === "RULE_MATCH") {
    metadata.ruleIndex = reason.ruleIndex;
    if (reason.ruleId !== undefined) metadata.ruleId = reason.ruleId;
  }
  if ((reason.kind === "RULE_MATCH" || reason.kind === "FALLTHROUGH") && reason.inExperiment) metadata.inExperiment = true;
  if (reason.kind === "PREREQUISITE_FAILED") metadata.prerequisiteKey = reason.prerequisiteKey;
  if (reason.bigSegmentsStatus) metadata.bigSegmentsStatus = reason.bigSegmentsStatus;
  return metadata;
}

/**
 * One evaluation in OFREP's terms. Evaluation errors are failures: an unknown flag is 404
 * FLAG_NOT_FOUND, a flag that cannot be evaluated is PARSE_ERROR (OpenFeature's code for a bad flag
 * configuration, to which LaunchDarkly's provider maps MALFORMED_FLAG too). A flag that yields no
 * variation (off without an off variation) answers `value: null` without a variant: the caller's
 * default applies.
 */
export function resultOf(key: string, evaluation: Evaluation): OfrepSuccess | OfrepError {
  const reason = evaluation.reason;
  if (reason.kind === "ERROR") {
    switch (reason.errorKind) {
      case "FLAG_NOT_FOUND":
        return new OfrepError(404, "FLAG_NOT_FOUND", `Flag "${key}" not found`);
      case "MALFORMED_FLAG":
        return new OfrepError(400, "PARSE_ERROR", `Flag "${key}" has a configuration that cannot be evaluated`);
      case "USER_NOT_SPECIFIED":
        return new OfrepError(400, "TARGETING_KEY_MISSING", "The context is not valid");
      default:
        return new OfrepError(400, "GENERAL", `Flag "${key}" could not be evaluated (${reason.errorKind})`);
    }
  }
  const variant = evaluation.variationIndex === null ? {} : { variant: String(evaluation.variationIndex) };
  return { key, value: evaluation.value, reason: reason.kind, ...variant, metadata: metadataOf(reason) };
}

const failureOf = (key: string, error: OfrepError): OfrepFailure => ({ key, errorCode: error.errorCode, errorDetails: error.message });

/** Which flags a credential may evaluate: every flag (an SDK key), or those available to client-side SDKs (a client-side ID). */
export type OfrepAudience = "server" | "client";

const visibleTo = (feed: Feed, key: string, audience: OfrepAudience) => {
  const item = feed.flags.get(key);
  return item !== undefined && (audience === "server" || availableTo(item, "client"));
};

/** One flag for one context; a flag the audience may not see does not exist for it. */
export function evaluateFlag(feed: Feed, key: string, context: EvaluationContext, audience: OfrepAudience = "server"): OfrepSuccess | OfrepError {
  if (!visibleTo(feed, key, audience)) return new OfrepError(404, "FLAG_NOT_FOUND", `Flag "${key}" not found`);
  return resultOf(key, evaluateIn(feed, key, context));
}

/** Every flag of the feed the audience may see, for one context, in key order: successes and per-flag failures. */
export function evaluateEnvironment(feed: Feed, context: EvaluationContext, audience: OfrepAudience = "server"): Array<OfrepSuccess | OfrepFailure> {
  const keys = [...feed.flags.keys()].filter((key) => visibleTo(feed, key, audience)).sort();
  const results: Array<OfrepSuccess | OfrepFailure> = [];
  for (const key of keys) {
    const result = resultOf(key, evaluateIn(feed, key, context));
    if (result instanceof OfrepError) {
      if (result.errorCode !== "FLAG_NOT_FOUND") results.push(failureOf(key, result));
    } else results.push(result);
  }
  return results;
}

// ---- HTTP ------------------------------------------------------------------------------------

const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { ...JSON_TYPE, ...headers } });

const FLAG_PATH = "/ofrep/v1/evaluate/flags/";

/** The flag key in the path, percent-decoded; as it stands when it is not valid percent-encoding. */
function flagKeyOf(request: Request): string {
  const raw = new URL(request.url).pathname.slice(FLAG_PATH.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The credential of an OFREP request: `Authorization` (bare or `Bearer`), else `X-API-Key`. */
export function ofrepKey(request: Request): string | undefined {
  return presentedCredential(request) || request.headers.get("x-api-key")?.trim() || undefined;
}

const WHERE = "the Authorization or X-API-Key header";

/**
 * The environment and audience of a credential: an SDK key (checked with auth), or a client-side ID
 * (an environment that exists). Anything of a generated credential's shape is a key, never an ID.
 */
async function accessOf(keys: KeyVerifier, feeds: FeedHub, request: Request): Promise<{ feed: Feed; audience: OfrepAudience }> {
  const presented = ofrepKey(request);
  if (presented === undefined || parseCredential(presented) || /^(api|sdk|mob)-/.test(presented)) {
    const grant = await requireGrant(keys, "sdk", presented, WHERE);
    return { feed: await feeds.get(grant.environmentId), audience: "server" };
  }
  try {
    return { feed: await clientFeed(feeds, presented), audience: "client" };
  } catch (e) {
    if (e instanceof VexilError && e.code === "not_found") throw new VexilError("unauthorized", `Invalid SDK key or client-side ID in ${WHERE}`);
    throw e;
  }
}

/** The body as JSON, read up to MAX_BODY_BYTES and no further. */
async function readJson(request: Request): Promise<unknown> {
  const tooLarge = () => new OfrepError(413, "PARSE_ERROR", `The request body is larger than ${MAX_BODY_BYTES} bytes`);
  const declared = Number(request.headers.get("content-length"));
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new OfrepError(400, "PARSE_ERROR", "The request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new OfrepError(400, "PARSE_ERROR", 'The request body is not valid JSON; send {"context": {...}}');
  }
}

export function ofrepRoutes(parts: OfrepParts) {
  const { keys, feeds, logger } = parts;

  /** Runs a handler; failures become OFREP's shape (with `key` when one flag was asked for) or Vexil's for credentials. */
  const answer = async (request: Request, key: string | undefined, handler: () => Promise<Response>): Promise<Response> => {
    try {
      return await handler();
    } catch (error) {
      if (error instanceof OfrepError) {
        const failure = { errorCode: error.errorCode, errorDetails: error.message };
        return json(error.status, key === undefined ? failure : { key, ...failure });
      }
      const id = requestIdOf(request);
      if (error instanceof VexilError) {
        const retry: Record<string, string> = error.status === 429 || error.status === 503 ? { "retry-after": "1" } : {};
        return errorResponse(error.status, error.code, error.message, id, retry);
      }
      logger.error("OFREP evaluation failed", { id, error });
      const failure = { errorCode: "GENERAL", errorDetails: `Something went wrong on our side; quote ${id} when reporting it` };
      return json(500, key === undefined ? failure : { key, ...failure }, { "x-request-id": id });
    }
  };

  /** Credential first (no body is read for a request without a working key), then the context. */
  const prepare = async (request: Request) => {
    const access = await accessOf(keys, feeds, request);
    const context = contextOfBody(await readJson(request));
    return { ...access, context };
  };

  return new Elysia({ normalize: false })
    .post(
      `${FLAG_PATH}:key`,
      ({ request }) => {
        const key = flagKeyOf(request);
        return answer(request, key, async () => {
          const { feed, context, audience } = await prepare(request);
          const result = evaluateFlag(feed, key, context, audience);
          if (result instanceof OfrepError) throw result;
          return json(200, result);
        });
      },
      { parse: "none" },
    )
    .post(
      "/ofrep/v1/evaluate/flags",
      ({ request }) =>
        answer(request, undefined, async () => {
          const { feed, context, audience } = await prepare(request);
          const body = JSON.stringify({ flags: evaluateEnvironment(feed, context, audience) });
          const etag = `"${createHash("sha1").update(body).digest("base64url")}"`;
          if (matchesEtag(request, etag)) return new Response(null, { status: 304, headers: { etag } });
          return new Response(body, { headers: { ...JSON_TYPE, etag, "cache-control": "no-cache" } });
        }),
      { parse: "none" },
    );
}
