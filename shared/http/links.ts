/** `_links` and paginated collections, in the LaunchDarkly shape. */
import { invalidRequest } from "../errors.ts";
export interface Link {
  href: string;
  type: string;
}

export const link = (href: string, type = "application/json"): Link => ({ href, type });

export interface Page {
  limit: number;
  offset: number;
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

/** Query keys sorted alphabetically and encoded, every filter carried over. */
function href(path: string, query: Record<string, string | undefined>, page?: Page): string {
  const entries = Object.entries({ ...query, ...(page ? { limit: String(page.limit), offset: String(page.offset) } : {}) })
    .filter((e): e is [string, string] => e[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return path;
  return `${path}?${entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")}`;
}

/** `self`, and `first`/`prev`/`next`/`last` where those pages exist. */
export function pageLinks(path: string, query: Record<string, string | undefined>, page: Page, total: number): Record<string, Link> {
  const { limit, offset } = page;
  const rest = { ...query, limit: undefined, offset: undefined };
  const links: Record<string, Link> = { self: link(href(path, rest, page)) };
  const lastOffset = total === 0 ? 0 : Math.floor((total - 1) / limit) * limit;
  if (offset > 0) {
    links.first = link(href(path, rest, { limit, offset: 0 }));
    links.prev = link(href(path, rest, { limit, offset: Math.max(0, offset - limit) }));
  }
  if (offset + limit < total) {
    links.next = link(href(path, rest, { limit, offset: offset + limit }));
    links.last = link(href(path, rest, { limit, offset: lastOffset }));
  }
  return links;
}

/** `limit` and `offset` from a query; a bad value is a 400 naming it. */
export function parsePage(params: { limit?: string; offset?: string }, defaultLimit = DEFAULT_LIMIT, maxLimit = MAX_LIMIT): Page {
  const read = (name: "limit" | "offset", fallback: number, min: number, max: number) => {
    const raw = params[name];
    if (raw === undefined || raw === "") return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw invalidRequest(`${name} must be a whole number from ${min} to ${max}`);
    return Number(raw);
  };
  return { limit: read("limit", defaultLimit, 1, maxLimit), offset: read("offset", 0, 0, 1_000_000_000) };
}
