/** A small JSON client over one or more base URLs (round robin), or over an in-process `handle`. */
export type Fetcher = (request: Request) => Promise<Response>;

export interface Result<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface Client {
  call<T = any>(method: string, path: string, options?: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null }): Promise<Result<T>>;
  /** The same client with another default token. */
  as(token: string | null): Client;
}

export function makeClient(bases: string[], token: string | null, fetcher: Fetcher = (r) => fetch(r)): Client {
  let turn = 0;
  return {
    async call(method, path, options = {}) {
      const base = bases[turn++ % bases.length]!;
      const headers: Record<string, string> = { ...options.headers };
      const auth = options.token === undefined ? token : options.token;
      if (auth) headers.authorization ??= auth;
      let body: string | undefined;
      if (options.raw !== undefined) body = options.raw;
      else if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers["content-type"] ??= "application/json";
      }
      const res = await fetcher(new Request(base + path, { method, headers, body }));
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      return { status: res.status, headers: res.headers, body: parsed as any, text };
    },
    as(other) {
      return makeClient(bases, other, fetcher);
    },
  };
}

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** A flag or a segment, read from any of several flags instances. */
const ITEM = /^\/api\/v2\/(flags\/[^/?]+\/[^/?]+|segments\/[^/?]+\/[^/?]+\/[^/?]+)$/;

/**
 * `client` for a cluster of several flags instances, whose reads come from each instance's memory:
 * a read on another instance than the one that wrote shows the write once its commit notice
 * arrives there (a few milliseconds). After a write of a flag or segment answered 2xx, this client
 * reads the item until several reads in a row (over instances chosen by the bus) show the write,
 * so that a scenario written for one instance holds on several.
 */
export function settlingClient(client: Client): Client {
  return {
    async call(method, path, options = {}) {
      const result = await client.call(method, path, options);
      const item = ITEM.exec(path.split("?")[0]!)?.[0];
      if (!WRITES.has(method.toUpperCase()) || result.status >= 300 || !item) return result;
      const version = (result.body as { _version?: unknown } | undefined)?._version;
      const shows = (r: Result) => (method.toUpperCase() === "DELETE" ? r.status === 404 : typeof version !== "number" || (r.status === 200 && (r.body as { _version?: number })._version! >= version));
      let inRow = 0;
      for (const until = Date.now() + 5_000; inRow < 5 && Date.now() < until; await Bun.sleep(10)) {
        inRow = shows(await client.call("GET", item, { token: options.token })) ? inRow + 1 : 0;
      }
      return result;
    },
    as(other) {
      return settlingClient(client.as(other));
    },
  };
}
