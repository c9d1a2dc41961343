/** Failed authentications per address per window. */
import { describe, expect, test } from "bun:test";
import { createFailureLimiter } from "@vexil/gateway/failure-limiter";

describe("createFailureLimiter", () => {
  test("an address is limited from its Nth failure in a window on", () => {
    const limiter = createFailureLimiter(3);
    expect(limiter.retryAfter("a")).toBe(0);
    limiter.fail("a");
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(0);
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(60);
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(60);
  });

  test("addresses are counted apart", () => {
    const limiter = createFailureLimiter(1);
    limiter.fail("192.0.2.1");
    expect(limiter.retryAfter("192.0.2.1")).toBeGreaterThan(0);
    expect(limiter.retryAfter("192.0.2.2")).toBe(0);
  });

  test("Retry-After is the whole seconds left in the window, at least one", async () => {
    const limiter = createFailureLimiter(1, 1_500);
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(2);
    await Bun.sleep(600);
    expect(limiter.retryAfter("a")).toBe(1);
  });

  test("a new window starts fresh", async () => {
    const limiter = createFailureLimiter(2, 40);
    limiter.fail("a");
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(1);
    await Bun.sleep(50);
    expect(limiter.retryAfter("a")).toBe(0);
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(0);
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(1);
  });

  test("failures do not carry over from an expired window", async () => {
    const limiter = createFailureLimiter(2, 40);
    limiter.fail("a");
    await Bun.sleep(50);
    limiter.fail("a");
    expect(limiter.retryAfter("a")).toBe(0);
  });

  test("past maxAddresses the table starts over rather than grow without bound", () => {
    const limiter = createFailureLimiter(1, 60_000, 3);
    for (const a of ["a", "b", "c"]) limiter.fail(a);
    expect(["a", "b", "c"].map((a) => limiter.retryAfter(a) > 0)).toEqual([true, true, true]);
    limiter.fail("d");
    expect(["a", "b", "c", "d"].map((a) => limiter.retryAfter(a) > 0)).toEqual([false, false, false, true]);
  });
});
