/** A database out of reach is a 503 to retry, not a 500. */
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import postgres from "postgres";
import { isDatabaseUnavailable } from "@vexil/shared/db/connector";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import { freePort } from "../../support/ports.ts";
import { silentLogger } from "@vexil/shared/logger";

describe("database unavailable", () => {
  test("a refused connection is recognised, wrapped or not; other errors are not", async () => {
    const sql = postgres(`postgres://postgres@127.0.0.1:${freePort()}/x`, { max: 1, connect_timeout: 2, onnotice: () => {} });
    const error = await sql`select 1`.catch((e: unknown) => e);
    await sql.end();
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(isDatabaseUnavailable(new Error("wrapped", { cause: error }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error("admin shutdown"), { code: "57P01" }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error("unique"), { code: "23505" }))).toBe(false);
    expect(isDatabaseUnavailable(new Error("plain"))).toBe(false);
  });

  test("the error plugin answers 503 with Retry-After", async () => {
    const app = new Elysia().use(errorsPlugin(silentLogger)).get("/x", () => {
      throw Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });
    });
    const res = await app.handle(new Request("http://localhost/x"));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(((await res.json()) as { code: string }).code).toBe("service_unavailable");
  });
});
