/** `listen`: the one way Vexil serves HTTP, in production mode with a JSON error hook. */
import { describe, expect, test } from "bun:test";
import { listen } from "@vexil/shared/lifecycle";
import { createLogger } from "@vexil/shared/logger";
import { rawRequest } from "../support/raw-http.ts";

describe("listen", () => {
  test("a handler that throws or rejects gives a JSON 500 with an id, logged under that id, and no stack", async () => {
    const lines: string[] = [];
    const logger = createLogger("error", {}, (line) => lines.push(line));
    const server = listen({
      port: 0,
      host: "127.0.0.1",
      logger,
      fetch: (r) => {
        if (new URL(r.url).pathname === "/sync") throw new Error(`failed reading ${import.meta.dir}/secret.ts`);
        return Promise.reject(new TypeError("null is not an object"));
      },
    });
    try {
      for (const path of ["/sync", "/async"]) {
        const response = await rawRequest(server.port!, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        expect(response.status).toBe(500);
        expect(response.text).not.toContain(import.meta.dir);
        expect(response.text).not.toContain("null is not an object");
        const body = JSON.parse(response.body);
        expect(body.code).toBe("internal_error");
        expect(lines.some((l) => l.includes(body.id) && l.includes("unhandled request failure"))).toBe(true);
      }
    } finally {
      server.stop(true);
    }
  });
});
