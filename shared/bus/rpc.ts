/**
 * JSON request/reply on the bus, with failures carried as `{error: {code, message}}`. A request
 * carries its deadline in the `x-vexil-deadline` header, as HTTP over the bus does: made while
 * handling a request, it waits no longer than that request's time to commit, and the handler
 * runs inside the deadline it was given.
 */
import { DEADLINE_HEADER, deadlineFromHeader, deadlinePassed, outgoingDeadline, withDeadline } from "../deadline.ts";
import { VexilError, vexilErrorOf, type ErrorCode } from "../errors.ts";
import { BusError, decodeJson, encodeJson, type Bus, type Reply, type Subscription } from "./bus.ts";
import type { Logger } from "../logger.ts";
import { isDatabaseUnavailable } from "../db/connector.ts";

interface Envelope<T> {
  ok?: T;
  error?: { code: string; message: string };
}

export async function requestJson<T>(bus: Bus, subject: string, body: unknown, timeoutMs: number): Promise<T> {
  const deadline = outgoingDeadline(timeoutMs);
  const waitMs = deadline - Date.now();
  if (waitMs <= 0) throw deadlinePassed();
  let reply;
  try {
    reply = await bus.request(subject, encodeJson(body), { timeoutMs: waitMs, headers: { [DEADLINE_HEADER]: String(deadline) } });
  } catch (e) {
    if (e instanceof BusError && e.kind === "timeout") throw new VexilError("gateway_timeout", `No answer on ${subject} in time`);
    throw new VexilError("service_unavailable", `Nobody answers on ${subject}`);
  }
  const envelope = decodeJson<Envelope<T>>(reply.data);
  if (envelope.error) throw new VexilError(envelope.error.code as ErrorCode, envelope.error.message);
  return envelope.ok as T;
}

export function serveJson<In, Out>(
  bus: Bus,
  subject: string,
  queue: string,
  logger: Logger,
  handler: (body: In) => Promise<Out>,
): Subscription {
  return bus.serve(
    subject,
    async (msg): Promise<Reply> => {
      try {
        const body = decodeJson<In>(msg.data);
        return { data: encodeJson({ ok: await withDeadline(deadlineFromHeader(msg.headers[DEADLINE_HEADER]), () => handler(body)) }) };
      } catch (e) {
        const known = vexilErrorOf(e);
        if (known) return { data: encodeJson({ error: { code: known.code, message: known.message } }) };
        if (isDatabaseUnavailable(e)) return { data: encodeJson({ error: { code: "service_unavailable", message: "The database is not reachable right now" } }) };
        logger.error("bus handler failed", { subject, error: e });
        return { data: encodeJson({ error: { code: "internal_error", message: "The handler failed" } }) };
      }
    },
    { queue },
  );
}
