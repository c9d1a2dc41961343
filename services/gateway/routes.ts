/** Which service owns which public path, and which calls need no credential. */
export interface Route {
  service: "auth" | "flags" | "webhooks";
  /** Answered without a verified caller (signing in and out). */
  public?: boolean;
}

const table: Array<[RegExp, Route["service"]]> = [
  [/^\/api\/v2\/projects(\/|$)/, "flags"],
  [/^\/api\/v2\/flags\/[^/]+(\/|$)/, "flags"],
  [/^\/api\/v2\/flag-status(es)?\/[^/]+(\/|$)/, "flags"],
  [/^\/api\/v2\/auditlog(\/|$)/, "flags"],
  [/^\/api\/v2\/approval-requests(\/|$)/, "flags"],
  [/^\/api\/v2\/segments\/[^/]+\/[^/]+(\/|$)/, "flags"],
  // A user's removal dates on flags (expiring targets).
  [/^\/api\/v2\/users\/[^/]+\/[^/]+\/expiring-user-targets\/[^/]+$/, "flags"],
  // The seeds' own shapes: Unleash's admin toggles and FeatureProbe's toggle targeting.
  [/^\/api\/admin\/(features|projects)\//, "flags"],
  [/^\/api\/projects\/[^/]+\/environments\/[^/]+\/toggles\//, "flags"],
  [/^\/api\/v2\/webhooks(\/|$)/, "webhooks"],
  [/^\/api\/v2\/caller-identity$/, "auth"],
  [/^\/api\/v2\/tokens(\/|$)/, "auth"],
  [/^\/api\/v2\/members(\/|$)/, "auth"],
  [/^\/api\/v2\/roles(\/|$)/, "auth"],
  [/^\/api\/v2\/sessions$/, "auth"],
];

export function routeOf(pathname: string, method = "GET"): Route | undefined {
  for (const [pattern, service] of table) {
    if (pattern.test(pathname)) return pathname === "/api/v2/sessions" && (method === "POST" || method === "DELETE") ? { service, public: true } : { service };
  }
  return undefined;
}
