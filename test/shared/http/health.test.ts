import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import { healthRoutes, readiness, type Readiness } from "@vexil/shared/http/health";
import { silentLogger } from "@vexil/shared/logger";

const ok = async () => {};
const failing = (message: string) => async () => {
  throw new Error(message);
};

function app(r: Readiness) {
  return new Elysia({ normalize: false }).use(errorsPlugin(silentLogger)).use(healthRoutes(r));
}

const get = (a: ReturnType<typeof app>, path: string, headers: Record<string, string> = {}) => a.handle(new Request(`http://localhost${path}`, { headers }));

describe("healthRoutes", () => {
  test("/healthz is 200 whatever the checks say", async () => {
    const response = await get(app({ checks: { database: failing("down") }, isShuttingDown: () => true }), "/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  test("/readyz is 200 when every check passes", async () => {
    const response = await get(app({ checks: { database: ok, bus: ok }, isShuttingDown: () => false }), "/readyz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready", checks: { database: "ok", bus: "ok" } });
  });

  test("/readyz is 200 with no checks at all", async () => {
    const response = await get(app({ checks: {}, isShuttingDown: () => false }), "/readyz");
    expect(response.status).toBe(200);
  });

  test("/readyz is 503 with a JSON reason naming the failing check", async () => {
    const response = await get(
      app({ checks: { database: ok, bus: failing("no connection to nats") }, isShuttingDown: () => false }),
      "/readyz",
      { "x-request-id": "ready-req-01" },
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      code: "not_ready",
      message: "Not ready (bus: no connection to nats)",
      id: "ready-req-01",
      checks: { database: "ok", bus: "no connection to nats" },
    });
    expect(body.message).not.toContain("database");
  });

  test("/readyz names every failing check", async () => {
    const response = await get(app({ checks: { database: failing("db gone"), bus: failing("bus gone") }, isShuttingDown: () => false }), "/readyz");
    expect(response.status).toBe(503);
    const { message } = (await response.json()) as { message: string };
    expect(message).toContain("database: db gone");
    expect(message).toContain("bus: bus gone");
  });

  test("a check that throws a non-Error is reported as unreachable", async () => {
    const response = await get(
      app({
        checks: {
          cache: async () => {
            throw "nope";
          },
        },
        isShuttingDown: () => false,
      }),
      "/readyz",
    );
    expect(response.status).toBe(503);
    expect(((await response.json()) as { message: string }).message).toBe("Not ready (cache: unreachable)");
  });

  test("/readyz is 503 while shutting down, even with passing checks", async () => {
    let shuttingDown = false;
    const a = app({ checks: { database: ok }, isShuttingDown: () => shuttingDown });
    expect((await get(a, "/readyz")).status).toBe(200);
    shuttingDown = true;
    const response = await get(a, "/readyz");
    expect(response.status).toBe(503);
    expect(((await response.json()) as { message: string }).message).toBe("Not ready (shutting down)");
  });
});

describe("readiness", () => {
  test("runs the checks concurrently and reports each", async () => {
    let running = 0;
    let maxRunning = 0;
    const slow = async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await Bun.sleep(20);
      running--;
    };
    const result = await readiness({ checks: { a: slow, b: slow, c: failing("c failed") }, isShuttingDown: () => false });
    expect(result).toEqual({ ready: false, checks: { a: "ok", b: "ok", c: "c failed" } });
    expect(maxRunning).toBe(2);
  });
});
