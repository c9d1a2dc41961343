import { describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import { anyOfStrings, equalsString, linkQuery, listQuery, oneOf, pipeList, plusList, text } from "@vexil/shared/http/list-query";

/** The 400 a parse throws, with its message. */
function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (e) {
    expect(e).toBeInstanceOf(VexilError);
    expect((e as VexilError).code).toBe("invalid_request");
    expect((e as VexilError).status).toBe(400);
    return (e as VexilError).message;
  }
  throw new Error("expected a 400");
}

const things = listQuery({
  filters: { query: text, tags: plusList, keys: pipeList, state: oneOf("live", "deprecated", "archived") },
  sorts: ["key", "name", "createdOn"],
  expands: ["environments", "members"],
});

describe("listQuery with name:value filters", () => {
  test("nothing given: the first page of 20, no filters, no sort, nothing expanded", () => {
    expect(things.parse({})).toEqual({ page: { limit: 20, offset: 0 }, filters: {}, sort: undefined, expand: new Set() });
  });

  test("every part read into its typed value", () => {
    const parsed = things.parse({ limit: "5", offset: "10", filter: "query:a b,tags:x+y z,keys:k1|k2|,state:deprecated", sort: "-createdOn", expand: "members, environments" });
    expect(parsed.page).toEqual({ limit: 5, offset: 10 });
    expect(parsed.filters).toEqual({ query: "a b", tags: ["x", "y", "z"], keys: ["k1", "k2"], state: "deprecated" });
    expect(parsed.sort).toEqual({ field: "createdOn", descending: true });
    expect([...parsed.expand]).toEqual(["members", "environments"]);
    expect(things.parse({ sort: "name" }).sort).toEqual({ field: "name", descending: false });
  });

  test("a value keeps its colons; a filter given twice keeps the last; empty parts and a blank filter are skipped", () => {
    expect(things.parse({ filter: "query:a:b" }).filters).toEqual({ query: "a:b" });
    expect(things.parse({ filter: "query:first,query:second" }).filters).toEqual({ query: "second" });
    expect(things.parse({ filter: ",,query:x, ," }).filters).toEqual({ query: "x" });
    expect(things.parse({ filter: "" }).filters).toEqual({});
  });

  test("a list of separators only is an empty list (stores decide what it matches)", () => {
    expect(things.parse({ filter: "keys:|" }).filters).toEqual({ keys: [] });
    expect(things.parse({ filter: "tags:+" }).filters).toEqual({ tags: [] });
  });

  test("unknown names and bad values are 400s naming them", () => {
    expect(refusal(() => things.parse({ filter: "owner:me" }))).toBe('Unknown filter "owner"; filters here are query, tags, keys, state');
    expect(refusal(() => things.parse({ filter: "query" }))).toBe('The filter "query" needs a value');
    for (const inherited of ["__proto__", "constructor", "toString"]) expect(refusal(() => things.parse({ filter: `${inherited}:x` }))).toContain(`Unknown filter "${inherited}"`);
    expect(refusal(() => things.parse({ filter: "tags:" }))).toBe('The filter "tags" needs a value');
    expect(refusal(() => things.parse({ filter: "state:maybe" }))).toBe("state must be live, deprecated or archived");
    expect(refusal(() => things.parse({ sort: "color" }))).toBe('Unknown sort "color"; sort by key, name, createdOn (prefix - for descending)');
    expect(refusal(() => things.parse({ sort: "--key" }))).toContain('Unknown sort "--key"');
    expect(refusal(() => things.parse({ sort: "" }))).toContain('Unknown sort ""');
    expect(refusal(() => things.parse({ expand: "environments,flags" }))).toBe('Unknown expand "flags"; expand environments, members');
    expect(refusal(() => things.parse({ limit: "0" }))).toBe("limit must be a whole number from 1 to 100");
    expect(refusal(() => things.parse({ offset: "-1" }))).toContain("offset");
  });

  test("oneOf with two values says 'a or b'", () => {
    expect(refusal(() => listQuery({ filters: { type: oneOf("temporary", "permanent") } }).parse({ filter: "type:forever" }))).toBe("type must be temporary or permanent");
  });

  test("a part the endpoint does not declare is not read", () => {
    const pagesOnly = listQuery({});
    expect(pagesOnly.parse({ filter: "anything:1", sort: "whatever", expand: "all" })).toEqual({ page: { limit: 20, offset: 0 }, filters: {}, sort: undefined, expand: new Set() });
    const expandsNothing = listQuery({ expands: [] });
    expect(refusal(() => expandsNothing.parse({ expand: "environments" }))).toBe('Unknown expand "environments"; expand nothing here');
  });

  test("an endpoint's own page size", () => {
    expect(listQuery({ defaultLimit: 5 }).parse({}).page).toEqual({ limit: 5, offset: 0 });
  });
});

describe("listQuery with name operator value filters", () => {
  const segments = listQuery({ filters: { query: equalsString, tags: anyOfStrings }, sorts: ["key", "name"] });

  test("JSON values, commas inside them kept", () => {
    expect(segments.parse({ filter: 'query equals "a, b",tags anyOf ["x","y"]' }).filters).toEqual({ query: "a, b", tags: ["x", "y"] });
    expect(segments.parse({ filter: ' tags anyOf [] ' }).filters).toEqual({ tags: [] });
  });

  test("unknown filters, unreadable parts, bad JSON and values of the wrong type are 400s", () => {
    expect(refusal(() => segments.parse({ filter: "unbounded equals true" }))).toBe('Unknown filter "unbounded equals"; filters here are query equals, tags anyOf');
    expect(refusal(() => segments.parse({ filter: 'query anyOf ["a"]' }))).toContain('Unknown filter "query anyOf"');
    expect(refusal(() => segments.parse({ filter: "nonsense" }))).toBe('Cannot read the filter "nonsense"; each is name operator value (query equals, tags anyOf)');
    expect(refusal(() => segments.parse({ filter: "query equals nope" }))).toBe("The filter value nope is not JSON");
    expect(refusal(() => segments.parse({ filter: "query equals 5" }))).toBe('The filter "query equals" needs a JSON string');
    expect(refusal(() => segments.parse({ filter: 'tags anyOf ["a",1]' }))).toBe('The filter "tags anyOf" needs a JSON array of strings');
  });

  test("a table mixing the two grammars is a programming error", () => {
    expect(() => listQuery({ filters: { query: text, tags: anyOfStrings } as never })).toThrow(/all name:value or all name operator value/);
  });
});

describe("linkQuery", () => {
  test("repeats filter, sort and expand, leaving out empty ones and the page", () => {
    expect(linkQuery({ limit: "5", filter: "query:x", sort: "", expand: "environments" })).toEqual({ filter: "query:x", sort: undefined, expand: "environments" });
  });
});
