/**
 * The query of a list endpoint, read in one place for every service: `limit`/`offset`
 * (`parsePage`), `filter`, `sort` and `expand`. An endpoint declares what it accepts once —
 * `listQuery({ filters, sorts, expands })`, one line per filter saying how its value is read — and
 * `parse` gives a typed result. Every unknown name and bad value is a 400 naming it. A part the
 * endpoint does not declare is not read: its parameter stays the endpoint's own business (flags
 * accept `expand` and ignore it, as before).
 *
 * `filter` comes in LaunchDarkly's two grammars, chosen by the kind of filters in the table:
 * `name:value,name:value` (flags, projects, environments, members) and `name operator value`
 * with a JSON value (segments: `query equals "x",tags anyOf ["a","b"]`). A filter given twice
 * keeps its last value.
 */
import { invalidRequest } from "../errors.ts";
import { parsePage, type Page } from "./links.ts";

/** The query parameters read here; an endpoint may have others. */
export interface ListParams {
  limit?: string;
  offset?: string;
  filter?: string;
  sort?: string;
  expand?: string;
}

/** A `name:value` filter: how its text is read. */
export interface TextFilter<T> {
  readonly operator?: undefined;
  read(value: string, name: string): T;
}

/** A `name operator value` filter: its operator, and how its (parsed) JSON value is read. */
export interface JsonFilter<T> {
  readonly operator: string;
  /** Also take a bare word (no spaces, quotes or brackets) as a string: LaunchDarkly writes ids unquoted in some filters. */
  readonly bare?: boolean;
  read(value: unknown, name: string): T;
}

export type FilterTable = Readonly<Record<string, TextFilter<unknown>>> | Readonly<Record<string, JsonFilter<unknown>>>;

/** The value of each filter the request gave. */
export type FilterValues<F extends FilterTable> = { [K in keyof F]?: F[K] extends { read(value: never, name: string): infer T } ? T : never };

export interface Sort<S extends string> {
  field: S;
  descending: boolean;
}

export interface ListQuerySpec<F extends FilterTable, S extends string, E extends string> {
  filters?: F;
  /** Fields to sort by; `-field` sorts descending. */
  sorts?: readonly S[];
  expands?: readonly E[];
  /** The page size when `limit` is absent (`parsePage`'s default otherwise). */
  defaultLimit?: number;
}

export interface ParsedListQuery<F extends FilterTable, S extends string, E extends string> {
  page: Page;
  filters: FilterValues<F>;
  /** Absent when the request named none: the endpoint's default order applies. */
  sort: Sort<S> | undefined;
  expand: Set<E>;
}

export interface ListQueryParser<F extends FilterTable, S extends string, E extends string> {
  parse(params: ListParams): ParsedListQuery<F, S, E>;
}

// Filter values.

/** The text as given. */
export const text: TextFilter<string> = { read: (value) => value };

/** Items split on `separator`, empty ones dropped (so `a|` is `a`, and `|` matches no item). */
export const list = (separator: RegExp | string): TextFilter<string[]> => ({ read: (value) => value.split(separator).filter(Boolean) });

/** `a+b`; a `+` the client did not encode arrives as a space, so a space separates too. */
export const plusList = list(/[+ ]/);

/** `a|b`. */
export const pipeList = list("|");

/** One of `values`; anything else is a 400 listing them ("state must be live, deprecated or archived"). */
export function oneOf<const V extends string>(...values: V[]): TextFilter<V> {
  const choices = values.length > 1 ? `${values.slice(0, -1).join(", ")} or ${values.at(-1)}` : String(values[0]);
  return {
    read: (value, name) => {
      if (!(values as string[]).includes(value)) throw invalidRequest(`${name} must be ${choices}`);
      return value as V;
    },
  };
}

/** `name equals "text"`: a JSON string. */
export const equalsString: JsonFilter<string> = {
  operator: "equals",
  read: (value, name) => {
    if (typeof value !== "string") throw invalidRequest(`The filter "${name}" needs a JSON string`);
    return value;
  },
};

/** `name anyOf ["a","b"]`: a JSON array of strings. */
export const anyOfStrings: JsonFilter<string[]> = {
  operator: "anyOf",
  read: (value, name) => {
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw invalidRequest(`The filter "${name}" needs a JSON array of strings`);
    return value as string[];
  },
};

// The parser.

export function listQuery<F extends FilterTable = Record<never, TextFilter<unknown>>, S extends string = never, E extends string = never>(
  spec: ListQuerySpec<F, S, E>,
): ListQueryParser<F, S, E> {
  const filters = Object.entries(spec.filters ?? {}) as Array<[string, TextFilter<unknown> | JsonFilter<unknown>]>;
  const operators = filters.filter(([, f]) => f.operator !== undefined);
  if (operators.length > 0 && operators.length < filters.length) throw new Error("listQuery: filters are all name:value or all name operator value");
  const readFilters = operators.length > 0 ? operatorFilters(operators as Array<[string, JsonFilter<unknown>]>) : colonFilters(filters as Array<[string, TextFilter<unknown>]>);
  return {
    parse(params) {
      const expand = new Set<E>();
      if (spec.expands && params.expand) {
        for (const e of params.expand.split(",").map((s) => s.trim()).filter(Boolean)) {
          if (!spec.expands.includes(e as E)) throw invalidRequest(`Unknown expand "${e}"; expand ${spec.expands.join(", ") || "nothing here"}`);
          expand.add(e as E);
        }
      }
      return {
        page: parsePage(params, spec.defaultLimit),
        filters: (spec.filters && params.filter ? readFilters(params.filter) : {}) as FilterValues<F>,
        sort: spec.sorts && params.sort !== undefined ? parseSort(params.sort, spec.sorts) : undefined,
        expand,
      };
    },
  };
}

/** `field` or `-field`; an empty sort names no field and is refused like any unknown one. */
function parseSort<S extends string>(raw: string, sorts: readonly S[]): Sort<S> {
  const descending = raw.startsWith("-");
  const field = (descending ? raw.slice(1) : raw) as S;
  if (!sorts.includes(field)) throw invalidRequest(`Unknown sort "${raw}"; sort by ${sorts.join(", ")} (prefix - for descending)`);
  return { field, descending };
}

type FilterReader = (filter: string) => Record<string, unknown>;

/** `name:value,…`; empty parts are skipped, a name without a value is refused. */
function colonFilters(table: Array<[string, TextFilter<unknown>]>): FilterReader {
  const known = new Map(table);
  const names = table.map(([name]) => name).join(", ");
  return (filter) => {
    const values: Record<string, unknown> = {};
    for (const part of filter.split(",")) {
      if (part.trim() === "") continue;
      const colon = part.indexOf(":");
      const name = (colon < 0 ? part : part.slice(0, colon)).trim();
      const value = colon < 0 ? "" : part.slice(colon + 1);
      const reader = known.get(name);
      if (!reader) throw invalidRequest(`Unknown filter "${name}"; filters here are ${names}`);
      if (value === "") throw invalidRequest(`The filter "${name}" needs a value`);
      values[name] = reader.read(value, name);
    }
    return values;
  };
}

/**
 * `name operator value,…` with JSON values. A value may hold commas, so parts are split only at a
 * comma followed by a name and one of the table's operators.
 */
function operatorFilters(table: Array<[string, JsonFilter<unknown>]>): FilterReader {
  const known = new Map(table.map(([name, f]) => [`${name} ${f.operator}`, { name, filter: f }]));
  const names = [...known.keys()].join(", ");
  const operators = [...new Set(table.map(([, f]) => f.operator))].map((o) => o.replace(/\W/g, "\\$&")).join("|");
  const boundary = new RegExp(`,(?=\\s*\\w+\\s+(?:${operators})\\b)`);
  return (filter) => {
    const values: Record<string, unknown> = {};
    for (const part of filter.split(boundary)) {
      const m = /^\s*(\w+)\s+(\w+)\s+(.+?)\s*$/.exec(part);
      if (!m) throw invalidRequest(`Cannot read the filter "${part}"; each is name operator value (${names})`);
      const entry = known.get(`${m[1]} ${m[2]}`);
      if (!entry) throw invalidRequest(`Unknown filter "${m[1]} ${m[2]}"; filters here are ${names}`);
      let value: unknown;
      try {
        value = JSON.parse(m[3]!);
      } catch {
        if (!entry.filter.bare || !/^[^\s"'[\]{}]+$/.test(m[3]!)) throw invalidRequest(`The filter value ${m[3]} is not JSON`);
        value = m[3];
      }
      values[entry.name] = entry.filter.read(value, `${m[1]} ${m[2]}`);
    }
    return values;
  };
}

/** The parameters read here, to repeat in pagination links; empty ones are left out. */
export function linkQuery(params: ListParams): Record<string, string | undefined> {
  return { filter: params.filter || undefined, sort: params.sort || undefined, expand: params.expand || undefined };
}
