/**
 * The compat use cases over the memory store: a project, environment or flag the route names that
 * does not exist is a 404 naming it, and nothing changes.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import type { FlagsContext } from "@vexil/flags/domain/context";
import { featureProbeTargeting, patchFeatureProbeTargeting, unleashToggle } from "@vexil/flags/domain/compat/compat";
import type { FpTargeting } from "@vexil/flags/domain/compat/featureprobe";
import { createFlag } from "@vexil/flags/domain/flags/flags";
import type { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { admin, memoryContext, reader, rejection } from "../memory-context.ts";

const TARGETING: FpTargeting = {
  disabled: false,
  content: {
    rules: [],
    disabledServe: { select: 1 },
    defaultServe: { select: 0 },
    variations: [{ value: "true" }, { value: "false" }],
  },
};

let ctx: FlagsContext;
let store: MemoryFlagStore;

beforeEach(async () => {
  ({ ctx, store } = await memoryContext());
  await createFlag(ctx, admin, "shop", { key: "toggle", name: "Toggle" });
});

/** Each route, given a project, environment and flag key. */
const ROUTES: Array<[string, (p: string, e: string, f: string) => Promise<unknown>]> = [
  ["GET FeatureProbe targeting", (p, e, f) => featureProbeTargeting(ctx, admin, p, e, f)],
  ["PATCH FeatureProbe targeting", (p, e, f) => patchFeatureProbeTargeting(ctx, admin, p, e, f, TARGETING)],
  ["Unleash toggle on", (p, e, f) => unleashToggle(ctx, admin, p, e, f, true)],
];

async function notFound(route: string, work: Promise<unknown>, message: string) {
  const before = { audit: store.audit.length, outbox: store.outbox.length };
  const error = await rejection(work);
  expect({ route, code: error.code, status: error.status, message: error.message }).toEqual({ route, code: "not_found", status: 404, message });
  expect({ audit: store.audit.length, outbox: store.outbox.length }).toEqual(before);
}

describe("what the route names must exist", () => {
  test("an unknown environment is a 404 naming it", async () => {
    for (const [route, call] of ROUTES) await notFound(route, call("shop", "staging", "toggle"), 'Environment "staging" in project "shop" not found');
  });

  test("an unknown project or flag is a 404 naming it", async () => {
    for (const [route, call] of ROUTES) {
      await notFound(route, call("nope", "production", "toggle"), 'Project "nope" not found');
      await notFound(route, call("shop", "production", "nope"), 'Flag "nope" in project "shop" not found');
    }
  });

  test("the project first, then the environment, then the flag", async () => {
    for (const [route, call] of ROUTES) {
      await notFound(route, call("nope", "staging", "nope"), 'Project "nope" not found');
      await notFound(route, call("shop", "staging", "nope"), 'Environment "staging" in project "shop" not found');
    }
  });

  test("a caller without access learns nothing about what exists", async () => {
    const none = { ...reader, grants: [{ base: "no_access" as const, statements: [] }] };
    for (const work of [featureProbeTargeting(ctx, none, "shop", "staging", "toggle"), unleashToggle(ctx, none, "nope", "production", "toggle", true)]) {
      expect((await rejection(work)).code).toBe("forbidden");
    }
  });

  test("known ones work as before", async () => {
    expect(await featureProbeTargeting(ctx, admin, "shop", "production", "toggle")).toMatchObject({ disabled: true, content: { variations: [{ value: "true" }, { value: "false" }] } });
    expect(await patchFeatureProbeTargeting(ctx, admin, "shop", "test", "toggle", TARGETING)).toMatchObject({ disabled: false, content: { defaultServe: { select: 0 }, disabledServe: { select: 1 } } });
    expect(await unleashToggle(ctx, admin, "shop", "production", "toggle", true)).toMatchObject({ name: "toggle", enabled: true, environments: [{ name: "production", enabled: true }, { name: "test", enabled: true }] });
  });
});
