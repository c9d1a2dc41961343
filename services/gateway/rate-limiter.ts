/**
 * Rate limits of the REST API, per caller: one budget for all its calls (global) and one per route
 * (method and path pattern), over fixed 10-second windows. The limit holds across gateway
 * instances: each gateway counts what it admits and tells the others on the bus
 * (`vexil.gateway.rate`, batched every few milliseconds), and admits a call only while its own count
 * plus the others' stays under the limit. What two gateways can admit beyond the limit is what both
 * admit within one exchange of counts (a few milliseconds); the bus needs no storage for this and
 * the database is never on the request path. Without a bus peer (all-in-one) the count is exact.
 */
import { decodeJson, encodeJson, type Bus } from "@vexil/shared/bus/bus";
import { subjects } from "@vexil/shared/subjects";

export const WINDOW_MS = 10_000;

export interface RateLimits {
  /** Calls per caller per window, all routes together; 0: no limit. */
  global: number;
  /** Calls per caller per route per window; 0: no limit. */
  route: number;
}

export interface Verdict {
  ok: boolean;
  headers: Record<string, string>;
  /** Seconds until the window ends, when refused. */
  retryAfter?: number;
}

interface Exchange {
  v: 1;
  from: string;
  window: number;
  counts: Record<string, number>;
}

/** Path segments that name resources rather than identify them: a route is the method and the path with identifiers as `*`. */
const WORDS = new Set([
  "api", "v2", "projects", "environments", "flags", "segments", "tokens", "members", "roles", "auditlog", "copy", "apiKey", "mobileKey", "reset",
  "toggles", "targeting", "features", "admin", "toggle", "on", "off", "caller-identity", "sessions", "versions", "flag-defaults",
]);

export function routeKey(method: string, pathname: string): string {
  // Segment by segment, as every request is counted: no arrays made and thrown away.
  let key = `${method} `;
  for (let start = 0; ; ) {
    const end = pathname.indexOf("/", start);
    const segment = end < 0 ? pathname.slice(start) : pathname.slice(start, end);
    key += start === 0 || WORDS.has(segment) ? segment : "*";
    if (end < 0) return key;
    key += "/";
    start = end + 1;
  }
}

export interface RateLimiter {
  check(caller: string, method: string, pathname: string): Verdict;
  stop(): void;
}

export function createRateLimiter(limits: RateLimits, bus?: Bus, now: () => number = Date.now): RateLimiter {
  const self = crypto.randomUUID();
  let window = Math.floor(now() / WINDOW_MS);
  /** This gateway's admitted calls in the window, by counter key. */
  let mine = new Map<string, number>();
  /** The other gateways' counts in the window, by gateway, then key. */
  let theirs = new Map<string, Map<string, number>>();
  /** Keys counted here since the last exchange. */
  let dirty = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const roll = () => {
    const current = Math.floor(now() / WINDOW_MS);
    if (current === window) return;
    window = current;
    mine = new Map();
    theirs = new Map();
    dirty = new Set();
  };
  const total = (key: string) => {
    let n = mine.get(key) ?? 0;
    for (const peer of theirs.values()) n += peer.get(key) ?? 0;
    return n;
  };
  const publish = () => {
    timer = undefined;
    if (!bus || dirty.size === 0) return;
    const counts: Record<string, number> = {};
    for (const key of dirty) counts[key] = mine.get(key) ?? 0;
    dirty = new Set();
    try {
      bus.publish(subjects.gatewayRate, encodeJson({ v: 1, from: self, window, counts } satisfies Exchange));
    } catch {
      // Without the bus each gateway keeps its own count; the limit then holds per gateway.
    }
  };
  const subscription = bus?.subscribe(subjects.gatewayRate, (msg) => {
    const exchange = decodeJson<Exchange>(msg.data);
    roll();
    if (exchange.from === self || exchange.window !== window) return;
    let peer = theirs.get(exchange.from);
    if (!peer) theirs.set(exchange.from, (peer = new Map()));
    // Counts only rise within a window: the higher figure is the newer one.
    for (const [key, n] of Object.entries(exchange.counts)) if (n > (peer.get(key) ?? 0)) peer.set(key, n);
  });

  return {
    check(caller, method, pathname) {
      roll();
      const reset = (window + 1) * WINDOW_MS;
      const globalKey = `g ${caller}`;
      const routeKeyOf = `r ${caller} ${routeKey(method, pathname)}`;
      const globalUsed = total(globalKey);
      const routeUsed = total(routeKeyOf);
      const headers: Record<string, string> = { "x-ratelimit-reset": String(reset) };
      const refused = (limits.global > 0 && globalUsed >= limits.global) || (limits.route > 0 && routeUsed >= limits.route);
      if (limits.global > 0) headers["x-ratelimit-global-remaining"] = String(Math.max(0, limits.global - globalUsed - (refused ? 0 : 1)));
      if (limits.route > 0) headers["x-ratelimit-route-remaining"] = String(Math.max(0, limits.route - routeUsed - (refused ? 0 : 1)));
      if (refused) return { ok: false, headers, retryAfter: Math.max(1, Math.ceil((reset - now()) / 1000)) };
      for (const key of [globalKey, routeKeyOf]) {
        mine.set(key, (mine.get(key) ?? 0) + 1);
        dirty.add(key);
      }
      timer ??= setTimeout(publish, 2);
      return { ok: true, headers };
    },
    stop() {
      subscription?.unsubscribe();
      if (timer) clearTimeout(timer);
    },
  };
}
