import { describe, expect, test } from "bun:test";
import {
  COMMIT_MARGIN_MS,
  callerDeadline,
  checkDeadline,
  commitDeadline,
  deadlineFromHeader,
  deadlinePassed,
  outgoingDeadline,
  remainingMs,
  untilCallerDeadline,
  withDeadline,
  withoutDeadline,
} from "@vexil/shared/deadline";
import { VexilError } from "@vexil/shared/errors";

const refusal = async (work: Promise<unknown>) => {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VexilError);
  expect(error).toMatchObject({ code: "gateway_timeout", status: 504 });
};

describe("deadline", () => {
  test("outside a request there is none: no limit, no refusal", () => {
    expect(callerDeadline()).toBeUndefined();
    expect(commitDeadline()).toBeUndefined();
    expect(remainingMs()).toBe(Infinity);
    expect(() => checkDeadline()).not.toThrow();
    expect(withDeadline(undefined, () => remainingMs())).toBe(Infinity);
  });

  test("the commit deadline is the caller's less the margin", () => {
    const caller = Date.now() + 10_000;
    withDeadline(caller, () => {
      expect(callerDeadline()).toBe(caller);
      expect(commitDeadline()).toBe(caller - COMMIT_MARGIN_MS);
      expect(remainingMs()).toBeGreaterThan(0);
      expect(remainingMs()).toBeLessThanOrEqual(10_000 - COMMIT_MARGIN_MS);
      expect(() => checkDeadline()).not.toThrow();
    });
  });

  test("with little time left the margin is a tenth of it, so the work still gets most of it", () => {
    const now = Date.now();
    withDeadline(now + 1_000, () => {
      const margin = callerDeadline()! - commitDeadline()!;
      expect(margin).toBeGreaterThan(0);
      expect(margin).toBeLessThanOrEqual(100);
    });
  });

  test("once the deadline has passed, checkDeadline refuses with 504 gateway_timeout", () => {
    withDeadline(Date.now() - 1, () => {
      expect(remainingMs()).toBe(0);
      expect(() => checkDeadline()).toThrow(VexilError);
      try {
        checkDeadline();
      } catch (e) {
        expect(e).toMatchObject({ code: "gateway_timeout", status: 504 });
      }
    });
  });

  test("the deadline follows the work through awaits and timers, and each request keeps its own", async () => {
    const seen = await Promise.all(
      [5_000, 7_000].map((ms) => {
        const deadline = Date.now() + ms;
        return withDeadline(deadline, async () => {
          await Bun.sleep(1);
          await new Promise((resolve) => setTimeout(resolve, 1));
          return callerDeadline() === deadline;
        });
      }),
    );
    expect(seen).toEqual([true, true]);
    expect(callerDeadline()).toBeUndefined();
  });

  test("withoutDeadline runs work free of the request's deadline", async () => {
    await withDeadline(Date.now() - 1, async () => {
      expect(() => checkDeadline()).toThrow();
      await withoutDeadline(async () => {
        await Bun.sleep(1);
        expect(callerDeadline()).toBeUndefined();
        expect(() => checkDeadline()).not.toThrow();
      });
      expect(callerDeadline()).toBeDefined();
    });
  });

  test("a header gives a deadline only when it is a plain number of milliseconds", () => {
    expect(deadlineFromHeader("1712345678901")).toBe(1712345678901);
    for (const bad of [null, undefined, "", "soon", "-5", "1.5", "1e12", " 17", "1".repeat(16)]) expect(deadlineFromHeader(bad)).toBeUndefined();
  });

  test("a request sent during the work gets the earlier of its own limit and the work's commit deadline", () => {
    const before = Date.now();
    expect(outgoingDeadline(2_000)).toBeGreaterThanOrEqual(before + 2_000);
    withDeadline(Date.now() + 10_000, () => {
      expect(outgoingDeadline(2_000)).toBeLessThan(commitDeadline()!);
      expect(outgoingDeadline(60_000)).toBe(commitDeadline()!);
    });
  });

  test("untilCallerDeadline passes the outcome through, and gives up at the caller's deadline", async () => {
    expect(await untilCallerDeadline(Promise.resolve(7))).toBe(7);
    await withDeadline(Date.now() + 5_000, async () => {
      expect(await untilCallerDeadline(Promise.resolve("in time"))).toBe("in time");
      await expect(untilCallerDeadline(Promise.reject(new Error("own failure")))).rejects.toThrow("own failure");
    });
    const never = new Promise(() => {});
    await withDeadline(Date.now() + 20, () => refusal(untilCallerDeadline(never)));
  });

  test("the refusal is a 504 that says nothing was changed", () => {
    const e = deadlinePassed();
    expect(e).toMatchObject({ code: "gateway_timeout", status: 504 });
    expect(e.message).toContain("nothing was changed");
  });
});
