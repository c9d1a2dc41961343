/**
 * Flag statuses through the flags app (memory store, clock passed in): LaunchDarkly's three
 * representations, each status as usage and time move, `_links.parent` naming the flag, the `env`
 * filter, 404s and the read permission.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { getFlagStatus } from "@vexil/flags/domain/flags/flag-statuses";
import type { FlagsContext } from "@vexil/flags/domain/context";
import type { FlagUsageReport } from "@vexil/flags/storage/flag-usage-store";
import type { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { admin, memoryApp, rejection, type Answer } from "../memory-context.ts";

const DAY = 24 * 60 * 60 * 1000;
const START = 1_760_000_000_000;
const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";

let now = START;
let call: (method: string, path: string, body?: unknown, contentType?: string) => Promise<Answer>;
let store: MemoryFlagStore;
let ctx: FlagsContext;

const served = (key: string, at: number, variations: number[], reported?: { value: unknown }): FlagUsageReport => ({
  key,
  lastRequested: at,
  evaluations: variations.length,
  variations: Object.fromEntries(variations.map((v) => [String(v), { count: 1, lastRequested: at }])),
  ...(reported ? { reportedDefault: reported } : {}),
});
const environmentId = async (key: string) => (await call("GET", `/api/v2/projects/shop/environments/${key}`)).body._id as string;
const report = async (envKey: string, ...flags: FlagUsageReport[]) => store.recordUsage({ environmentId: await environmentId(envKey), flags });

beforeEach(async () => {
  now = START;
  ({ call, store, ctx } = await memoryApp(() => now));
  for (const key of ["checkout", "banner"]) expect((await call("POST", "/api/v2/flags/shop", { key, name: key })).status).toBe(201);
});

test("a flag no SDK has requested is new: no lastRequested, no default, both links", async () => {
  expect(await call("GET", "/api/v2/flag-statuses/shop/production/checkout")).toEqual({
    status: 200,
    body: {
      name: "new",
      _links: {
        parent: { href: "/api/v2/flags/shop/checkout", type: "application/json" },
        self: { href: "/api/v2/flag-statuses/shop/production/checkout", type: "application/json" },
      },
    },
  });
});

test("the list has every flag in key order, each named only by _links.parent", async () => {
  await report("production", served("checkout", START + 1_000, [1], { value: false }));
  const list = await call("GET", "/api/v2/flag-statuses/shop/production");
  expect(list).toEqual({
    status: 200,
    body: {
      _links: { self: { href: "/api/v2/flag-statuses/shop/production", type: "application/json" } },
      items: [
        {
          name: "new",
          _links: { parent: { href: "/api/v2/flags/shop/banner", type: "application/json" }, self: { href: "/api/v2/flag-statuses/shop/production/banner", type: "application/json" } },
        },
        {
          name: "active",
          lastRequested: new Date(START + 1_000).toISOString(),
          default: false,
          _links: { parent: { href: "/api/v2/flags/shop/checkout", type: "application/json" }, self: { href: "/api/v2/flag-statuses/shop/production/checkout", type: "application/json" } },
        },
      ],
    },
  });
});

test("over time: new, then active when requested, launched a week after the last change, active again on a change, inactive a week after the last request", async () => {
  const status = async () => (await call("GET", "/api/v2/flag-statuses/shop/production/checkout")).body.name;
  // Created off; turned on now.
  expect((await call("PATCH", "/api/v2/flags/shop/checkout", { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC)).status).toBe(200);
  expect(await status()).toBe("new");
  await report("production", served("checkout", now, [0]));
  expect(await status()).toBe("active");
  now = START + 7 * DAY + 1;
  await report("production", served("checkout", now, [0]));
  expect(await status()).toBe("launched");
  // Another variation served too: active until it has been out of the window for a week.
  await report("production", served("checkout", now, [1]));
  expect(await status()).toBe("active");
  now += 7 * DAY;
  await report("production", served("checkout", now, [0]));
  expect(await status()).toBe("launched");
  // Turned off: active while requested.
  expect((await call("PATCH", "/api/v2/flags/shop/checkout", { environmentKey: "production", instructions: [{ kind: "turnFlagOff" }] }, SEMANTIC)).status).toBe(200);
  expect(await status()).toBe("active");
  now += 7 * DAY;
  expect(await status()).toBe("inactive");
  // The other environment saw none of it.
  expect((await call("GET", "/api/v2/flag-statuses/shop/test/checkout")).body).toMatchObject({ name: "inactive" });
  expect((await call("GET", "/api/v2/flag-statuses/shop/test/checkout")).body.lastRequested).toBeUndefined();
});

test("across environments: every environment, or those env names", async () => {
  await report("test", served("checkout", START, [0], { value: null }));
  expect(await call("GET", "/api/v2/flag-status/shop/checkout")).toEqual({
    status: 200,
    body: {
      key: "checkout",
      environments: { production: { name: "new" }, test: { name: "active", lastRequested: new Date(START).toISOString(), default: null } },
      _links: { parent: { href: "/api/v2/flag-status", type: "application/json" }, self: { href: "/api/v2/flag-status/shop/checkout", type: "application/json" } },
    },
  });
  const filtered = await call("GET", "/api/v2/flag-status/shop/checkout?env=test");
  expect(Object.keys(filtered.body.environments)).toEqual(["test"]);
  expect(filtered.body._links.self.href).toBe("/api/v2/flag-status/shop/checkout?env=test");
  expect(Object.keys((await call("GET", "/api/v2/flag-status/shop/checkout?env=test,production")).body.environments).sort()).toEqual(["production", "test"]);
});

describe("refusals", () => {
  test.each([
    ["/api/v2/flag-statuses/nope/production", "Project \"nope\""],
    ["/api/v2/flag-statuses/shop/nope", "Environment \"nope\""],
    ["/api/v2/flag-statuses/nope/production/checkout", "Project \"nope\""],
    ["/api/v2/flag-statuses/shop/nope/checkout", "Environment \"nope\""],
    ["/api/v2/flag-statuses/shop/production/nope", "Flag \"nope\""],
    ["/api/v2/flag-status/nope/checkout", "Project \"nope\""],
    ["/api/v2/flag-status/shop/nope", "Flag \"nope\""],
    ["/api/v2/flag-status/shop/checkout?env=nope", "Environment \"nope\""],
  ])("GET %s is a 404", async (path, what) => {
    const answer = await call("GET", path);
    expect(answer.status).toBe(404);
    expect(answer.body.code).toBe("not_found");
    expect(answer.body.message).toContain(what);
  });

  test("a caller without read access is refused", async () => {
    const nobody = { ...admin, grants: [{ base: "no_access" as const, statements: [] }] };
    expect((await rejection(getFlagStatus(ctx, nobody, "shop", "production", "checkout"))).code).toBe("forbidden");
  });
});
