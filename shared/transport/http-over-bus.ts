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

/** What the gateway holds for each service: something that answers a Request. */
export interface ServiceClient {
  /** Answers `request`, which is the client's from then on (it may set headers on it). */
  handle(request: Request): Promise<Response>;
}

type Handle = (request: Request) => Response | Promise<Response>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INTERNAL_ORIGIN = "http://vexil.internal";

function frame(meta: unknown, body: Uint8Array): Uint8Array {
  const head = encoder.encode(JSON.stringify(meta) + "\n");
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
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

/** The request's frame; `deadline` (unix ms), when given, replaces any deadline header the request had. */
export async function encodeRequest(request: Request, deadline?: number): Promise<Uint8Array> {
  const url = new URL(request.url);
  const body = request.body ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array(0);
  const headers = [...request.headers];
  const framed = deadline === undefined ? headers : [...headers.filter(([name]) => name !== DEADLINE_HEADER), [DEADLINE_HEADER, String(deadline)] as [string, string]];
  return frame({ method: request.method, path: url.pathname + url.search, headers: framed } satisfies RequestMeta, body);
}

export function decodeRequest(data: Uint8Array): Request {
  const { meta, body } = unframe<RequestMeta>(data);
  const hasBody = meta.method !== "GET" && meta.method !== "HEAD" && body.length > 0;
  return new Request(INTERNAL_ORIGIN + meta.path, { method: meta.method, headers: meta.headers, body: hasBody ? body : undefined });
}

export async function encodeResponse(response: Response): Promise<Uint8Array> {
  const body = new Uint8Array(await response.arrayBuffer());
  return frame({ status: response.status, headers: [...response.headers] } satisfies ResponseMeta, body);
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
      const id = acceptRequestId(request.headers.get("x-request-id"));
      try {
        const reply = await bus.request(subjects.http(service), await encodeRequest(request, Date.now() + timeoutMs), { timeoutMs });
        return decodeResponse(reply.data);
      } catch (e) {
        if (e instanceof BusError && e.kind === "timeout") return timedOut(service, id);
        return unavailable(service, id);
      }
    },
  };
}

/**
 * Gateway side, all-in-one mode: the app's `handle` in this process, with the same time limit,
 * given to the service as a deadline exactly as over the bus. The request is the caller's to give:
 * its headers get the deadline.
 */
export function inProcessServiceClient(service: string, handle: Handle, timeoutMs: number): ServiceClient {
  const handleInTime = handleWithDeadline(handle);
  // The caller's limit is met within a twentieth of it (at most 50 ms late).
  const limits = new TimeLimits(Math.max(1, Math.min(50, Math.floor(timeoutMs / 20))));
  return {
    handle(request) {
      const at = Date.now() + timeoutMs;
      request.headers.set(DEADLINE_HEADER, String(at));
      const { promise, resolve } = Promise.withResolvers<Response>();
      const entry = { at, expire: () => resolve(timedOut(service, acceptRequestId(request.headers.get("x-request-id")))) };
      const failed = () => {
        limits.delete(entry);
        resolve(errorResponse(500, "internal_error", `The ${service} service failed to answer`, acceptRequestId(request.headers.get("x-request-id"))));
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
