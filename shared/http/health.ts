/** `GET /healthz` (the process is alive) and `GET /readyz` (its database and bus answer). */
import { Elysia } from "elysia";
import { requestIdOf } from "./errors-plugin.ts";

export type Check = () => Promise<void>;

export interface Readiness {
  checks: Record<string, Check>;
  /** Set while shutting down, so load balancers stop sending work. */
  isShuttingDown: () => boolean;
}

export async function readiness(r: Readiness): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const results: Record<string, string> = {};
  await Promise.all(
    Object.entries(r.checks).map(async ([name, check]) => {
      try {
        await check();
        results[name] = "ok";
      } catch (e) {
        results[name] = e instanceof Error ? e.message : "unreachable";
      }
    }),
  );
  const failing = Object.values(results).some((v) => v !== "ok");
  return { ready: !failing && !r.isShuttingDown(), checks: results };
}

export async function readyResponse(r: Readiness, request: Request): Promise<Response> {
  const { ready, checks } = await readiness(r);
  if (ready) return Response.json({ status: "ready", checks });
  const reasons = r.isShuttingDown()
    ? "shutting down"
    : Object.entries(checks)
        .filter(([, v]) => v !== "ok")
        .map(([k, v]) => `${k}: ${v}`)
        .join("; ");
  return Response.json(
    { code: "not_ready", message: `Not ready (${reasons})`, id: requestIdOf(request), checks },
    { status: 503, headers: { "retry-after": "1" } },
  );
}

export function healthRoutes(r: Readiness) {
  return new Elysia({ name: "vexil-health" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", ({ request }) => readyResponse(r, request));
}
