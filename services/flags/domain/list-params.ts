/**
 * Query parameters of list endpoints: `limit`/`offset`, `filter` (`query:x,tags:a+b,keys:a|b`),
 * `sort` (`name`, `-createdOn`, …) and `expand`. An unknown value is a 400 naming it.
 */
import { invalidRequest } from "@vexil/shared/errors";
import { parsePage } from "@vexil/shared/http/links";
import type { ListQuery, SortField } from "../storage/project-store.ts";

export interface ListParams {
  limit?: string;
  offset?: string;
  filter?: string;
  sort?: string;
  expand?: string;
}

export interface ListOptions {
  filters: ReadonlyArray<"query" | "tags" | "keys">;
  sorts: readonly SortField[];
  expands: readonly string[];
}

export function parseListParams(params: ListParams, options: ListOptions): { query: ListQuery; expand: Set<string> } {
  const query: ListQuery = { ...parsePage(params), sort: { field: "key", descending: false } };
  if (params.filter) {
    for (const part of params.filter.split(",")) {
      const colon = part.indexOf(":");
      const field = (colon < 0 ? part : part.slice(0, colon)).trim();
      const value = colon < 0 ? "" : part.slice(colon + 1);
      if (!options.filters.includes(field as never)) {
        throw invalidRequest(`Unknown filter "${field}"; filters here are ${options.filters.join(", ")}`);
      }
      if (value === "") throw invalidRequest(`The filter "${field}" needs a value`);
      if (field === "query") query.query = value;
      // "+" arrives as a space when the client did not encode it.
      if (field === "tags") query.tags = value.split(/[+ ]/).filter(Boolean);
      if (field === "keys") query.keys = value.split("|").filter(Boolean);
    }
  }
  if (params.sort) {
    const descending = params.sort.startsWith("-");
    const field = (descending ? params.sort.slice(1) : params.sort) as SortField;
    if (!options.sorts.includes(field)) throw invalidRequest(`Unknown sort "${params.sort}"; sort by ${options.sorts.join(", ")} (prefix - for descending)`);
    query.sort = { field, descending };
  }
  const expand = new Set<string>();
  if (params.expand) {
    for (const e of params.expand.split(",").map((s) => s.trim()).filter(Boolean)) {
      if (!options.expands.includes(e)) throw invalidRequest(`Unknown expand "${e}"; expand ${options.expands.join(", ") || "nothing here"}`);
      expand.add(e);
    }
  }
  return { query, expand };
}

/** The query to repeat in pagination links. */
export function linkQuery(params: ListParams): Record<string, string | undefined> {
  return { filter: params.filter || undefined, sort: params.sort || undefined, expand: params.expand || undefined };
}
