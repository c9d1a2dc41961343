/** Containment of postgres.js's own failures (`shared/db/driver-failures.ts`), in child processes over real Postgres. */
import { describe, expect, test } from "bun:test";
import { driverFailureOf } from "@vexil/shared/db/driver-failures";
import { testDatabaseUrl } from "../../support/postgres.ts";
import { ROOT } from "../../support/process.ts";

async function runFixture(mode: "cut" | "fault" | "other") {
  const url = await testDatabaseUrl();
  const proc = Bun.spawn(["bun", "test/shared/db/fixtures/driver-fault.ts", mode], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, UPSTREAM_PORT: new URL(url).port },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

describe("containDriverFailures", () => {
  test("a connection cut mid-transaction: the transaction fails as closed, the process lives, queries are answered again", async () => {
    const { stdout, stderr, code } = await runFixture("cut");
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(result.txError).toBe("CONNECTION_CLOSED");
    expect(result.after).toBe(42);
    expect(result.types).toEqual({ at: "string", doc: "object" });
  }, 30_000);

  test("an error raised in the driver's source outside any query is contained, the pool renewed, queries answered again", async () => {
    const { stdout, stderr, code } = await runFixture("fault");
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(result.contained).toBe(1);
    expect(result.after).toBe(42);
    expect(result.types).toEqual({ at: "string", doc: "object" });
    expect(stderr).toContain("database driver failure contained");
  }, 30_000);

  test("any other uncaught exception still ends the process with exit code 1, logged", async () => {
    const { code, stderr } = await runFixture("other");
    expect(code).toBe(1);
    const line = JSON.parse(stderr.trim().split("\n").find((l) => l.includes('"uncaught exception"'))!);
    expect(line.error).toEqual({ name: "TypeError", message: "a failure of the application's own" });
    expect(line.frames.length).toBeGreaterThan(0);
  }, 30_000);
});

describe("driverFailureOf", () => {
  const withStack = <E extends Error>(error: E, top: string) => {
    error.stack = `${error.name}: ${error.message}\n    at ${top}\n    at processImmediate (node:timers:1:1)`;
    return error;
  };

  test("a runtime error raised in the driver's source is a fault, wherever the package is installed", () => {
    for (const path of [
      "/app/node_modules/postgres/src/connection.js:255:15",
      "/app/node_modules/.bun/postgres@3.4.9/node_modules/postgres/src/connection.js:255:15",
      "/app/node_modules/postgres/cjs/src/connection.js:255:22",
    ]) {
      expect(driverFailureOf(withStack(new TypeError("null is not an object (evaluating 'socket.write')"), `nextWrite (${path})`))).toBe("fault");
    }
  });

  test("an error the driver rejected a query with is an orphan (an outage, not a fault)", () => {
    const rejected = Object.defineProperties(new Error("read ECONNRESET"), { query: { value: "select 1" }, parameters: { value: [] } });
    expect(driverFailureOf(rejected)).toBe("orphan");
    expect(driverFailureOf(withStack(new Error("terminating connection"), "ErrorResponse (/app/node_modules/postgres/src/connection.js:815:30)"))).toBe("orphan");
  });

  test("anything else is not the driver's", () => {
    expect(driverFailureOf(new TypeError("null is not an object"))).toBeUndefined();
    expect(driverFailureOf(withStack(new TypeError("x"), "handler (/app/services/flags/app.ts:10:5)"))).toBeUndefined();
    expect(driverFailureOf(withStack(new TypeError("x"), "f (/app/node_modules/postgres-array/index.js:3:1)"))).toBeUndefined();
    expect(driverFailureOf("socket.write")).toBeUndefined();
    expect(driverFailureOf(Object.assign(new Error("x"), { query: "select 1" }))).toBeUndefined();
  });
});
