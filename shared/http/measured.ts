/**
 * HTTP metrics of an app: each request counted and timed under its route template (the path as
 * registered, `/api/v2/flags/:projectKey/:flagKey`), found with Elysia's own router (memoirist)
 * over the app's route table, so the label set is the table's and no raw path becomes a label.
 * A service behind the gateway also tells the gateway the template in `x-vexil-route`, so the
 * gateway labels what it forwarded the same way; the gateway removes it before answering.
 */
import { Memoirist } from "memoirist";
import { httpRecorder, pathOf } from "../metrics.ts";

export const ROUTE_HEADER = "x-vexil-route";
/** The label of a request no route matched. */
export const UNMATCHED = "unmatched";

type Handle = (request: Request) => Response | Promise<Response>;

/** The template of the route that answers `method` on `path`, from a route table; a path with no route of that method takes any method's (preflights). */
export function routeTemplates(routes: ReadonlyArray<{ method: string; path: string }>): (method: string, path: string) => string | undefined {
  const router = new Memoirist<string>();
  const any = new Memoirist<string>();
  for (const { method, path } of routes) {
    router.add(method === "ALL" ? "*" : method, path, path, { ignoreError: true });
    any.add("*", path, path, { ignoreError: true });
  }
  return (method, path) => router.find(method, path)?.store ?? router.find("*", path)?.store ?? any.find("*", path)?.store;
}

/** `handle`, counted and timed as `service`'s requests; with `report`, the matched template goes back in `x-vexil-route`. */
export function measuredHandle(service: string, routes: ReadonlyArray<{ method: string; path: string }>, handle: Handle, { report = true } = {}): (request: Request) => Promise<Response> {
  const templateOf = routeTemplates(routes);
  const recorder = httpRecorder(service);
  return async (request) => {
    const started = performance.now();
    const route = templateOf(request.method, pathOf(request.url)) ?? UNMATCHED;
    let status = 500;
    try {
      const response = await handle(request);
      status = response.status;
      if (report) {
        try {
          response.headers.set(ROUTE_HEADER, route);
        } catch {
          // An immutable response (none of ours): the gateway then labels it itself.
        }
      }
      return response;
    } finally {
      recorder.record(route, request.method, status, (performance.now() - started) / 1000);
    }
  };
}
