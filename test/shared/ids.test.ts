import { describe, expect, test } from "bun:test";
import { acceptRequestId, requestId, resourceId } from "@vexil/shared/ids";

describe("resourceId", () => {
  test("is 24 lower-case hex characters, unique, starting with the creation second", () => {
    const before = Math.floor(Date.now() / 1000);
    const ids = Array.from({ length: 1000 }, () => resourceId());
    const after = Math.floor(Date.now() / 1000);
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{24}$/);
      const seconds = Number.parseInt(id.slice(0, 8), 16);
      expect(seconds).toBeGreaterThanOrEqual(before);
      expect(seconds).toBeLessThanOrEqual(after);
    }
  });
});

describe("request ids", () => {
  test("requestId is a UUID", () => {
    expect(requestId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(requestId()).not.toBe(requestId());
  });

  test.each(["abcdefgh", "req-0001.gw_A", "x".repeat(64), "0123e4567-e89b-12d3-a456-426614174000"])("keeps a plain caller id %s", (id) => {
    expect(acceptRequestId(id)).toBe(id);
  });

  test.each([null, "", "short", "x".repeat(65), "has space 123", "semi;colon123", "new\nline-123", "ünïcode-123"])("replaces an unusable id %p", (id) => {
    const accepted = acceptRequestId(id);
    expect(accepted).not.toBe(id);
    expect(accepted).toMatch(/^[0-9a-f-]{36}$/);
  });
});
