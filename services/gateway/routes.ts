/** Which service owns which public path. */
export interface Route {
  service: "auth" | "flags";
}

const prefixes: Array<[RegExp, Route["service"]]> = [
  [/^\/api\/v2\/projects(\/|$)/, "flags"],
  [/^\/api\/v2\/caller-identity$/, "auth"],
];

export function routeOf(pathname: string): Route | undefined {
  for (const [pattern, service] of prefixes) if (pattern.test(pathname)) return { service };
  return undefined;
}
