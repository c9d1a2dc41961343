/** `_links` and paginated collections, in the LaunchDarkly shape. */
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
