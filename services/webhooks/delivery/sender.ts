/**
 * One delivery attempt over HTTP. The destination is resolved and checked again now
 * (`resolveDestination`), and the request goes to the address that passed the check — the URL's
 * host is kept in `Host` and, for https, as the TLS server name the certificate is verified against
 * — so a name that resolves elsewhere between the check and the connection (DNS rebinding) cannot
 * move the request. Redirects are not followed (a 3xx is a failure). The whole attempt, connection
 * to the last byte read, has `timeoutMs`; at most `maxResponseBytes` of the answer are read and the
 * first `keepResponseChars` kept for the log.
 */
import { DestinationRefused, resolveDestination, type Lookup } from "../domain/destination.ts";
import type ipaddr from "ipaddr.js";

export interface SendOptions {
  timeoutMs: number;
  allowed: ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
  lookup: Lookup;
  maxResponseBytes?: number;
  keepResponseChars?: number;
}

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  response: string | null;
  latencyMs: number;
}

const MAX_RESPONSE_BYTES = 64 * 1024;
const KEEP_RESPONSE_CHARS = 1024;

async function readCapped(body: ReadableStream<Uint8Array> | null, cap: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < cap) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    // Whatever is left is not read: the connection is closed instead.
    void reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(Math.min(size, cap));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, Math.min(c.byteLength, out.length - at));
    out.set(part, at);
    at += part.byteLength;
    if (at >= out.length) break;
  }
  return out;
}

export async function sendAttempt(url: string, body: string, headers: Record<string, string>, options: SendOptions): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const destination = await Promise.race([
      resolveDestination(url, options.allowed, options.lookup),
      new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })),
    ]);
    const target = new URL(destination.url.href);
    const host = destination.url.host;
    target.hostname = destination.address.includes(":") ? `[${destination.address}]` : destination.address;
    const response = await fetch(target.href, {
      method: "POST",
      headers: { ...headers, host },
      body,
      redirect: "manual",
      signal,
      tls: destination.url.protocol === "https:" ? { serverName: destination.url.hostname } : undefined,
      keepalive: false,
    } as RequestInit);
    const bytes = await readCapped(response.body, options.maxResponseBytes ?? MAX_RESPONSE_BYTES);
    const text = new TextDecoder().decode(bytes).slice(0, options.keepResponseChars ?? KEEP_RESPONSE_CHARS);
    const ok = response.status >= 200 && response.status < 300;
    return { ok, statusCode: response.status, error: ok ? null : response.status >= 300 && response.status < 400 ? "redirects are not followed" : null, response: text || null, latencyMs: elapsed() };
  } catch (e) {
    const error =
      e instanceof DestinationRefused
        ? e.message
        : signal.aborted
          ? `no complete answer within ${options.timeoutMs} ms`
          : `${(e as Error)?.name ?? "Error"}: ${String((e as Error)?.message ?? e).slice(0, 200)}`;
    return { ok: false, statusCode: null, error, response: null, latencyMs: elapsed() };
  }
}
