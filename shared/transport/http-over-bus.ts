/**
 * Carries HTTP requests and responses over the bus, unchanged: status, headers and body.
 * Frame: one line of JSON metadata, a newline, then the raw body bytes.
 *
 * Every request carries its deadline (`x-vexil-deadline`, unix ms): the instant the gateway stops
 * waiting and answers 504 itself. The service handles the request inside that deadline
 * (`shared/deadline.ts`), so nothing it does commits after the caller was told it failed.
 */
import { BusError, type Bus, type Subscription } from "../bus/bus.ts";
import { DEADLINE_HEADER, deadlineFromHeader, deadlinePassed, remainingMs, withDeadline } from "../deadline.ts";
import { errorResponse } from "../errors.ts";
import { acceptRequestId } from "../ids.ts";
import type { Logger } from "../logger.ts";
import { queueGroup, subjects, type ServiceName } from "../subjects.ts";
import { TimeLimits } from "../time-limits.ts";

/**
 * A request as the gateway hands it to a service: nothing of the caller's connection, only what the
 * service sees. Plain data, so that over the bus it is framed as it is, with no Request built for it.
 */
export interface Forwarded {
  method: string;
  /** Path and query string. */
  path: string;
  headers: [string, string][];
  body?: Uint8Array;
}

/** What the gateway holds for each service: something that answers a forwarded request. */
export interface ServiceClient {
  handle(request: Forwarded): Promise<Response>;
}

type Handle = (request: Request) => Response | Promise<Response>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INTERNAL_ORIGIN = "http://vexil.internal";
const EMPTY = new Uint8Array(0);

function frame(meta: unknown, body: Uint8Array): Uint8Array {
  const head = JSON.stringify(meta);
  // One buffer of the exact size, the head encoded in place: no view of a larger one.
  const headBytes = Buffer.byteLength(head);
  const out = new Uint8Array(headBytes + 1 + body.length);
  encoder.encodeInto(head, out);
  out[headBytes] = 10;
  out.set(body, headBytes + 1);
  return out;
}

function unframe<T>(data: Uint8Array): { meta: T; body: Uint8Array } {
  const nl = data.indexOf(10);
  if (nl < 0) throw new Error("malformed frame");
  return { meta: JSON.parse(decoder.decode(data.subarray(0, nl))) as T, body: data.subarray(nl + 1) };
}

interface RequestMeta {
  method: string;
  path: string;
  headers: [string, string][];
}

interface ResponseMeta {
  status: number;
  headers: [string, string][];
}

const NOTHING_WITHHELD: ReadonlySet<string> = new Set();

/** `request` as it is forwarded to `path` (path and query): its headers but those named in `withheld`, then `added`, and `body`. */
export function forwardedOf(request: Request, path: string, body?: Uint8Array, withheld = NOTHING_WITHHELD, added: [string, string][] = []): Forwarded {
  const headers: [string, string][] = [];
  for (const header of request.headers) if (!withheld.has(header[0])) headers.push(header);
  for (const header of added) headers.push(header);
  return { method: request.method, path, headers, body };
}

/** The value of a forwarded request's header (names are lower case, as `Headers` gives them). */
function headerOf(request: Forwarded, name: string): string | null {
  for (const [key, value] of request.headers) if (key === name) return value;
  return null;
}

/** Its headers with `deadline` (unix ms) as the deadline, in place of any it had. */
function withDeadlineHeader(request: Forwarded, deadline: number): [string, string][] {
  const headers = request.headers.filter(([name]) => name !== DEADLINE_HEADER);
  headers.push([DEADLINE_HEADER, String(deadline)]);
  return headers;
}

/** The Request a service handles for a forwarded one, with `headers` in place of the request's own. */
function requestOf(request: Forwarded, headers = request.headers): Request {
  const hasBody = request.method !== "GET" && request.method !== "HEAD" && request.body !== undefined && request.body.length > 0;
  return new Request(INTERNAL_ORIGIN + request.path, { method: request.method, headers, body: hasBody ? request.body : undefined });
}

/** The request's frame, with `deadline` (unix ms) as its deadline. */
export function encodeRequest(request: Forwarded, deadline: number): Uint8Array {
  const meta: RequestMeta = { method: request.method, path: request.path, headers: withDeadlineHeader(request, deadline) };
  return frame(meta, request.body ?? EMPTY);
}

export function decodeRequest(data: Uint8Array): Request {
  const { meta, body } = unframe<RequestMeta>(data);
  return requestOf({ ...meta, body });
}

export async function encodeResponse(response: Response): Promise<Uint8Array> {
  const body = await response.bytes();
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => headers.push([name, value]));
  return frame({ status: response.status, headers } satisfies ResponseMeta, body);
}

export function decodeResponse(data: Uint8Array): Response {
  const { meta, body } = unframe<ResponseMeta>(data);
  const noBody = meta.status === 204 || meta.status === 304;
  return new Response(noBody ? null : body, { status: meta.status, headers: meta.headers });
}

/**
 * The service's side of a request's deadline: `handle` runs inside the deadline its header
 * carries; a request that arrives with no time left is refused without being handled (504, as
 * the gateway answers it anyway).
 */
export function handleWithDeadline(handle: Handle): (request: Request) => Promise<Response> {
  return (request) =>
    withDeadline(deadlineFromHeader(request.headers.get(DEADLINE_HEADER)), async () => {
      if (remainingMs() > 0) return handle(request);
      const refused = deadlinePassed();
      return errorResponse(refused.status, refused.code, refused.message, acceptRequestId(request.headers.get("x-request-id")));
    });
}

/** Service side: answer HTTP-over-bus requests with the app's own `handle`, in the service's queue group. */
export function serveHttpOverBus(
  bus: Bus,
  service: Exclude<ServiceName, "gateway">,
  handle: Handle,
  logger: Logger,
): Subscription {
  const handleInTime = handleWithDeadline(handle);
  return bus.serve(
    subjects.http(service),
    async (msg) => {
      let request: Request;
      try {
        request = decodeRequest(msg.data);
      } catch {
        return { data: await encodeResponse(errorResponse(400, "invalid_request", "Malformed request frame", acceptRequestId(null))) };
      }
      try {
        return { data: await encodeResponse(await handleInTime(request)) };
      } catch (e) {
        const id = acceptRequestId(request.headers.get("x-request-id"));
        logger.error("unhandled service error", { id, error: e });
        return { data: await encodeResponse(errorResponse(500, "internal_error", "The service failed to answer", id)) };
      }
    },
    { queue: queueGroup(service) },
  );
}

function unavailable(service: string, id: string): Response {
  return errorResponse(503, "service_unavailable", `The ${service} service is not available; try again shortly`, id, { "retry-after": "1" });
}

function timedOut(service: string, id: string): Response {
  return errorResponse(504, "gateway_timeout", `The ${service} service did not answer in time`, id);
}

/**
 * Gateway side, distributed mode: one request over NATS, load-balanced by the queue group, with the
 * instant this side stops waiting as its deadline.
 */
export function busServiceClient(bus: Bus, service: Exclude<ServiceName, "gateway">, timeoutMs: number): ServiceClient {
  return {
    async handle(request) {
      const id = acceptRequestId(headerOf(request, "x-request-id"));
      try {
        const reply = await bus.request(subjects.http(service), encodeRequest(request, Date.now() + timeoutMs), { timeoutMs });
        return decodeResponse(reply.data);
      } catch (e) {
        if (e instanceof BusError && e.kind === "timeout") return timedOut(service, id);
        return unavailable(service, id);
      }
    },
  };
}

/**
 * Gateway side, all-in-one mode: the app's `handle` in this process, given the Request it would get
 * over the bus, with the same time limit as its deadline.
 */
export function inProcessServiceClient(service: string, handle: Handle, timeoutMs: number): ServiceClient {
  const handleInTime = handleWithDeadline(handle);
  // The caller's limit is met within a twentieth of it (at most 50 ms late).
  const limits = new TimeLimits(Math.max(1, Math.min(50, Math.floor(timeoutMs / 20))));
  return {
    handle(forwarded) {
      const at = Date.now() + timeoutMs;
      const request = requestOf(forwarded, withDeadlineHeader(forwarded, at));
      const id = () => acceptRequestId(headerOf(forwarded, "x-request-id"));
      const { promise, resolve } = Promise.withResolvers<Response>();
      const entry = { at, expire: () => resolve(timedOut(service, id())) };
      const failed = () => {
        limits.delete(entry);
        resolve(errorResponse(500, "internal_error", `The ${service} service failed to answer`, id()));
      };
      limits.add(entry);
      try {
        handleInTime(request).then((response) => {
          limits.delete(entry);
          resolve(response);
        }, failed);
      } catch {
        failed();
      }
      return promise;
    },
  };
}
