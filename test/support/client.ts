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
