import { describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { VexilError } from "@vexil/shared/errors";
import { describeValidation, errorsPlugin, requestIdOf } from "@vexil/shared/http/errors-plugin";
import { createLogger, silentLogger, type Logger } from "@vexil/shared/logger";

function makeApp(logger: Logger = silentLogger) {
  return new Elysia({ normalize: false })
    .use(errorsPlugin(logger))
    .post("/things", ({ body }) => ({ created: body.name }), { body: t.Object({ name: t.String(), count: t.Optional(t.Number()) }) })
    .get("/list", ({ query }) => ({ limit: query.limit }), { query: t.Object({ limit: t.Numeric({ minimum: 1 }) }) })
    .get("/conflict", () => {
      throw new VexilError("conflict", "The key alpha is taken");
    })
    .get("/teapot", () => {
      throw new VexilError("rate_limited", "Slow down", 418);
    })
    .get("/boom", () => {
      throw new Error("connection to db.internal:5432 refused");
    })
    .get("/id", ({ request }) => ({ id: requestIdOf(request), again: requestIdOf(request) }));
}

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  new Request(`http://localhost${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

async function errorOf(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/json");
  const body = (await response.json()) as { code: string; message: string; id: string };
  expect(Object.keys(body).sort()).toEqual(["code", "id", "message"]);
  expect(response.headers.get("x-request-id")).toBe(body.id);
  return body;
}

describe("errorsPlugin", () => {
  test("a route that succeeds is untouched", async () => {
    const response = await makeApp().handle(post("/things", JSON.stringify({ name: "alpha" })));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ created: "alpha" });
  });

  test("a VexilError becomes its status and {code, message, id}", async () => {
    const body = await errorOf(await makeApp().handle(new Request("http://localhost/conflict")), 409);
    expect(body.code).toBe("conflict");
    expect(body.message).toBe("The key alpha is taken");
    expect(body.id.length).toBeGreaterThanOrEqual(8);
  });

  test("a VexilError with its own status keeps it", async () => {
    const body = await errorOf(await makeApp().handle(new Request("http://localhost/teapot")), 418);
    expect(body.code).toBe("rate_limited");
  });

  test("a body validation error is a 400 invalid_request naming the field", async () => {
    const body = await errorOf(await makeApp().handle(post("/things", JSON.stringify({ name: 42 }))), 400);
    expect(body.code).toBe("invalid_request");
    expect(body.message).toContain("body.name");
  });

  test("a missing required field is named as well", async () => {
    const body = await errorOf(await makeApp().handle(post("/things", JSON.stringify({ count: 1 }))), 400);
    expect(body.message).toContain("body.name");
  });

  test("a value that is an object with its own toString key is a 400, not a 500 (Elysia fails describing it)", async () => {
    const logged: unknown[] = [];
    const logger = { ...silentLogger, error: (...args: unknown[]) => void logged.push(args) } as unknown as Logger;
    const body = await errorOf(await makeApp(logger).handle(post("/things", JSON.stringify({ name: { toString: 1 } }))), 400);
    expect(body.code).toBe("invalid_request");
    expect(logged).toEqual([]);
  });

  test("a query validation error names the query parameter", async () => {
    const body = await errorOf(await makeApp().handle(new Request("http://localhost/list?limit=abc")), 400);
    expect(body.code).toBe("invalid_request");
    expect(body.message).toContain("query.limit");
  });

  test("malformed JSON is a 400 invalid_request", async () => {
    const body = await errorOf(await makeApp().handle(post("/things", '{"name": "unterminated')), 400);
    expect(body.code).toBe("invalid_request");
    expect(body.message).toContain("JSON");
  });

  test("an unknown route is a 404 not_found", async () => {
    const body = await errorOf(await makeApp().handle(new Request("http://localhost/api/v2/nothing-here")), 404);
    expect(body.code).toBe("not_found");
  });

  test("an unexpected error is a 500 with an id, logged with that id, its text never shown", async () => {
    const lines: string[] = [];
    const app = makeApp(createLogger("error", {}, (l) => lines.push(l)));
    const response = await app.handle(new Request("http://localhost/boom"));
    const text = await response.clone().text();
    const body = await errorOf(response, 500);
    expect(body.code).toBe("internal_error");
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(text).not.toContain("db.internal");
    expect(text).not.toContain("refused");
    expect(lines).toHaveLength(1);
    const logged = JSON.parse(lines[0]!);
    expect(logged).toMatchObject({ level: "error", id: body.id });
    expect(JSON.stringify(logged)).toContain("connection to db.internal:5432 refused");
  });

  test("the x-request-id header is echoed as the id", async () => {
    const headers = { "x-request-id": "gw-req-0001" };
    expect((await errorOf(await makeApp().handle(new Request("http://localhost/boom", { headers })), 500)).id).toBe("gw-req-0001");
    expect((await errorOf(await makeApp().handle(new Request("http://localhost/conflict", { headers })), 409)).id).toBe("gw-req-0001");
    expect((await errorOf(await makeApp().handle(post("/things", "{}", headers)), 400)).id).toBe("gw-req-0001");
    expect((await errorOf(await makeApp().handle(new Request("http://localhost/missing", { headers })), 404)).id).toBe("gw-req-0001");
  });

  test("an unusable x-request-id is replaced by a fresh one", async () => {
    for (const bad of ["short", "has spaces in it", "x".repeat(65), "semi;colon-value"]) {
      const body = await errorOf(await makeApp().handle(new Request("http://localhost/conflict", { headers: { "x-request-id": bad } })), 409);
      expect(body.id).not.toBe(bad);
      expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe("requestIdOf", () => {
  test("is stable for one request and fresh for another", async () => {
    const app = makeApp();
    const one = (await (await app.handle(new Request("http://localhost/id"))).json()) as { id: string; again: string };
    const two = (await (await app.handle(new Request("http://localhost/id"))).json()) as { id: string; again: string };
    expect(one.id).toBe(one.again);
    expect(one.id).not.toBe(two.id);
  });

  test("keeps a plain caller-supplied id", () => {
    const request = new Request("http://localhost/", { headers: { "x-request-id": "abc.DEF_123-xyz" } });
    expect(requestIdOf(request)).toBe("abc.DEF_123-xyz");
  });
});

describe("describeValidation", () => {
  test.each([
    [{ type: "body", valueError: { path: "/name", summary: "Expected string" } }, "Invalid body.name: Expected string"],
    [{ type: "body", valueError: { path: "/rules/0/clauses", message: "Expected array" } }, "Invalid body.rules.0.clauses: Expected array"],
    [{ type: "query", all: [{ path: "/limit", summary: "Expected number" }] }, "Invalid query.limit: Expected number"],
    [{ type: "params", valueError: { path: "/key" } }, "Invalid path.key: is invalid"],
    [{ type: "headers", valueError: { path: "" } }, "Invalid headers: is invalid"],
    [{}, "Invalid request: is invalid"],
    [{ type: "body" }, "Invalid body: is invalid"],
  ])("%j → %s", (error, expected) => {
    expect(describeValidation(error)).toBe(expected);
  });
});
