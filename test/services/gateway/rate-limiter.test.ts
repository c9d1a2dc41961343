/** Rate limits: per caller and per route, 10-second windows, shared by gateways over the bus. */
import { describe, expect, test } from "bun:test";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { createRateLimiter, routeKey, WINDOW_MS } from "@vexil/gateway/rate-limiter";

const clock = (start = 5 * WINDOW_MS) => {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
};

describe("rate limits", () => {
  test("a route is the method and the path with identifiers as *", () => {
    expect(routeKey("GET", "/api/v2/flags/shop/checkout")).toBe("GET /api/v2/flags/*/*");
    expect(routeKey("PATCH", "/api/v2/flags/shop/checkout")).toBe("PATCH /api/v2/flags/*/*");
    expect(routeKey("POST", "/api/v2/projects/shop/environments/live/apiKey")).toBe("POST /api/v2/projects/*/environments/*/apiKey");
    expect(routeKey("GET", "/api/v2/projects")).toBe("GET /api/v2/projects");
  });

  test("the global budget counts every route of a caller; the route budget each route; both reset with the window", () => {
    const c = clock();
    const limiter = createRateLimiter({ global: 5, route: 3 }, undefined, c.now);
    const results = Array.from({ length: 4 }, () => limiter.check("t1", "GET", "/api/v2/projects/a"));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
    expect(results[0]!.headers).toEqual({ "x-ratelimit-reset": String(6 * WINDOW_MS), "x-ratelimit-global-remaining": "4", "x-ratelimit-route-remaining": "2" });
    expect(results[3]!).toMatchObject({ ok: false, retryAfter: 10, headers: { "x-ratelimit-route-remaining": "0" } });
    // Another project is the same route; another route has its own budget until the global one runs out.
    expect(limiter.check("t1", "GET", "/api/v2/projects/b").ok).toBe(false);
    expect(limiter.check("t1", "GET", "/api/v2/tokens").ok).toBe(true);
    expect(limiter.check("t1", "GET", "/api/v2/members").ok).toBe(true);
    const out = limiter.check("t1", "GET", "/api/v2/roles");
    expect(out).toMatchObject({ ok: false, headers: { "x-ratelimit-global-remaining": "0" } });
    // Other callers have budgets of their own.
    expect(limiter.check("t2", "GET", "/api/v2/projects/a").ok).toBe(true);
    c.advance(WINDOW_MS - 4_000);
    expect(limiter.check("t1", "GET", "/api/v2/roles").retryAfter).toBe(4);
    c.advance(4_000);
    expect(limiter.check("t1", "GET", "/api/v2/projects/a")).toMatchObject({ ok: true, headers: { "x-ratelimit-global-remaining": "4" } });
    limiter.stop();
  });

  test("gateways sharing a bus share the budget", async () => {
    // All in one window.
    const left = WINDOW_MS - (Date.now() % WINDOW_MS);
    if (left < 1_000) await Bun.sleep(left + 10);
    const bus = new MemoryBus();
    const a = createRateLimiter({ global: 10, route: 0 }, bus);
    const b = createRateLimiter({ global: 10, route: 0 }, bus);
    let admitted = 0;
    for (let i = 0; i < 30; i++) {
      if ((i % 2 === 0 ? a : b).check("t1", "GET", "/api/v2/projects").ok) admitted++;
      // Sequential callers: each call's count has reached the other gateway before the next call.
      await Bun.sleep(4);
    }
    expect(admitted).toBe(10);
    a.stop();
    b.stop();
  });
});
