/** The status rules, with the clock passed in: each status, the 7-day boundaries, and what keeps a requested flag `active`. */
import { describe, expect, test } from "bun:test";
import { flagStatusName, STATUS_WINDOW_MS, variationsServedSince, type StatusFacts } from "@vexil/flags/domain/flags/statuses";
import type { FlagUsage } from "@vexil/flags/storage/flag-usage-store";

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_760_000_000_000;
const WEEK_AGO = NOW - 7 * DAY;

/** Usage in which each `[variation, lastRequested]` was served. */
const usage = (...served: Array<[number, number]>): FlagUsage => ({
  lastRequested: Math.max(...served.map(([, at]) => at)),
  evaluations: served.length,
  variations: Object.fromEntries(served.map(([v, at]) => [String(v), { count: 1, lastRequested: at }])),
});

/** Created a month ago, on, unchanged for a month, serving variation 0 an hour ago: launched. */
const launched: StatusFacts = { createdAt: NOW - 30 * DAY, on: true, lastModified: NOW - 30 * DAY, usage: usage([0, NOW - 60_000]) };
const status = (over: Partial<StatusFacts>) => flagStatusName({ ...launched, ...over }, NOW);

test("the window is 7 days", () => {
  expect(STATUS_WINDOW_MS).toBe(7 * DAY);
});

describe("never requested, or not within 7 days", () => {
  test("new when created less than 7 days ago", () => {
    expect(status({ createdAt: NOW - DAY, lastModified: NOW - DAY, usage: undefined })).toBe("new");
    expect(status({ createdAt: NOW, lastModified: NOW, usage: undefined })).toBe("new");
  });

  test("inactive when created 7 days ago or more", () => {
    expect(status({ usage: undefined })).toBe("inactive");
    expect(status({ createdAt: WEEK_AGO, usage: undefined })).toBe("inactive");
    expect(status({ createdAt: WEEK_AGO + 1, usage: undefined })).toBe("new");
  });

  test("a request exactly 7 days ago is outside the window; a millisecond later is inside", () => {
    expect(status({ usage: usage([0, WEEK_AGO]) })).toBe("inactive");
    expect(status({ createdAt: NOW - DAY, usage: usage([0, WEEK_AGO - DAY]) })).toBe("new");
    expect(status({ usage: usage([0, WEEK_AGO + 1]) })).toBe("launched");
  });

  test("whether on or off, and however many variations were once served", () => {
    expect(status({ on: false, usage: usage([0, NOW - 8 * DAY], [1, NOW - 9 * DAY]) })).toBe("inactive");
  });
});

describe("requested within 7 days", () => {
  test("launched: on, one variation served, no change to the targeting within 7 days", () => {
    expect(status({})).toBe("launched");
    expect(status({ lastModified: WEEK_AGO })).toBe("launched");
  });

  test("active when the flag is off, even serving one variation", () => {
    expect(status({ on: false })).toBe("active");
  });

  test("active when the targeting changed within 7 days, to the millisecond", () => {
    expect(status({ lastModified: WEEK_AGO + 1 })).toBe("active");
    expect(status({ lastModified: NOW })).toBe("active");
  });

  test("a flag created within 7 days and requested is active (its targeting is that new too)", () => {
    expect(status({ createdAt: NOW - DAY, lastModified: NOW - DAY })).toBe("active");
  });

  test("active when two variations were served within 7 days", () => {
    expect(status({ usage: usage([0, NOW - 60_000], [1, NOW - 2 * DAY]) })).toBe("active");
  });

  test("a variation last served 7 days ago or earlier no longer counts", () => {
    expect(status({ usage: usage([0, NOW - 60_000], [1, WEEK_AGO]) })).toBe("launched");
    expect(status({ usage: usage([0, NOW - 60_000], [1, WEEK_AGO + 1]) })).toBe("active");
  });

  test("evaluations answered with the application's default value are another outcome, never a launch", () => {
    expect(status({ usage: usage([0, NOW - 60_000], [-1, NOW - 60_000]) })).toBe("active");
    expect(status({ usage: usage([-1, NOW - 60_000]) })).toBe("active");
  });

  test("requested but no variation known within the window (none reported) is active", () => {
    expect(status({ usage: { lastRequested: NOW - 60_000, evaluations: 0, variations: {} } })).toBe("active");
  });
});

test("variationsServedSince lists the variations with an evaluation after the instant", () => {
  expect(variationsServedSince(usage([0, 10], [1, 20], [-1, 30]), 15).sort()).toEqual([-1, 1]);
});
