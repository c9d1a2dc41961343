import { describe, expect, test } from "bun:test";
import { DEFAULT_LIMIT, MAX_LIMIT, link, pageLinks } from "@vexil/shared/http/links";

const hrefs = (links: Record<string, { href: string; type: string }>) => Object.fromEntries(Object.entries(links).map(([k, v]) => [k, v.href]));

describe("link", () => {
  test("defaults to application/json", () => {
    expect(link("/api/v2/projects")).toEqual({ href: "/api/v2/projects", type: "application/json" });
    expect(link("/x", "text/html")).toEqual({ href: "/x", type: "text/html" });
  });

  test("page size limits", () => {
    expect(DEFAULT_LIMIT).toBe(20);
    expect(MAX_LIMIT).toBe(100);
  });
});

describe("pageLinks", () => {
  const path = "/api/v2/projects";

  test("the first page has self, next and last but no first or prev", () => {
    expect(hrefs(pageLinks(path, {}, { limit: 20, offset: 0 }, 45))).toEqual({
      self: `${path}?limit=20&offset=0`,
      next: `${path}?limit=20&offset=20`,
      last: `${path}?limit=20&offset=40`,
    });
  });

  test("a middle page has all four", () => {
    expect(hrefs(pageLinks(path, {}, { limit: 20, offset: 20 }, 45))).toEqual({
      self: `${path}?limit=20&offset=20`,
      first: `${path}?limit=20&offset=0`,
      prev: `${path}?limit=20&offset=0`,
      next: `${path}?limit=20&offset=40`,
      last: `${path}?limit=20&offset=40`,
    });
  });

  test("the last page has no next or last", () => {
    expect(hrefs(pageLinks(path, {}, { limit: 20, offset: 40 }, 45))).toEqual({
      self: `${path}?limit=20&offset=40`,
      first: `${path}?limit=20&offset=0`,
      prev: `${path}?limit=20&offset=20`,
    });
  });

  test("a total that fills whole pages ends on the last full page", () => {
    expect(hrefs(pageLinks(path, {}, { limit: 10, offset: 0 }, 30)).last).toBe(`${path}?limit=10&offset=20`);
    expect(pageLinks(path, {}, { limit: 10, offset: 20 }, 30).next).toBeUndefined();
  });

  test("an empty collection has only self", () => {
    expect(hrefs(pageLinks(path, {}, { limit: 20, offset: 0 }, 0))).toEqual({ self: `${path}?limit=20&offset=0` });
  });

  test("a single page has only self", () => {
    expect(hrefs(pageLinks(path, {}, { limit: 20, offset: 0 }, 20))).toEqual({ self: `${path}?limit=20&offset=0` });
  });

  test("prev from an unaligned offset never goes below zero", () => {
    const links = hrefs(pageLinks(path, {}, { limit: 20, offset: 5 }, 45));
    expect(links.prev).toBe(`${path}?limit=20&offset=0`);
    expect(links.next).toBe(`${path}?limit=20&offset=25`);
    expect(links.last).toBe(`${path}?limit=20&offset=40`);
  });

  test("query keys are sorted alphabetically and URL-encoded", () => {
    const links = pageLinks(path, { sort: "-name", filter: "query:a b&c=d", expand: "environments" }, { limit: 5, offset: 5 }, 12);
    expect(links.self!.href).toBe(`${path}?expand=environments&filter=query%3Aa%20b%26c%3Dd&limit=5&offset=5&sort=-name`);
    expect(links.next!.href).toBe(`${path}?expand=environments&filter=query%3Aa%20b%26c%3Dd&limit=5&offset=10&sort=-name`);
  });

  test("keys are encoded too", () => {
    expect(pageLinks(path, { "a key": "v/w" }, { limit: 1, offset: 0 }, 1).self!.href).toBe(`${path}?a%20key=v%2Fw&limit=1&offset=0`);
  });

  test("every filter is carried over to every link; undefined ones are dropped", () => {
    const links = hrefs(pageLinks(path, { filter: "tags:x", summary: "true", missing: undefined }, { limit: 10, offset: 10 }, 35));
    for (const href of Object.values(links)) {
      expect(href).toContain("filter=tags%3Ax");
      expect(href).toContain("summary=true");
      expect(href).not.toContain("missing");
    }
    expect(Object.keys(links).sort()).toEqual(["first", "last", "next", "prev", "self"]);
  });

  test("limit and offset in the query are replaced by the page's", () => {
    const links = hrefs(pageLinks(path, { limit: "999", offset: "7", q: "x" }, { limit: 10, offset: 10 }, 25));
    expect(links).toEqual({
      self: `${path}?limit=10&offset=10&q=x`,
      first: `${path}?limit=10&offset=0&q=x`,
      prev: `${path}?limit=10&offset=0&q=x`,
      next: `${path}?limit=10&offset=20&q=x`,
      last: `${path}?limit=10&offset=20&q=x`,
    });
    for (const href of Object.values(links)) {
      expect(href.match(/limit=/g)).toHaveLength(1);
      expect(href.match(/offset=/g)).toHaveLength(1);
    }
  });

  test("every link is typed application/json", () => {
    for (const l of Object.values(pageLinks(path, {}, { limit: 1, offset: 1 }, 3))) expect(l.type).toBe("application/json");
  });
});
