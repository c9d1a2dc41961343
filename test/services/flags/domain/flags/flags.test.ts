/**
 * Flag use cases over the memory store: a JSON Patch or merge patch that adds a field the flag
 * does not have, at any level, is refused by the whole-document check and changes nothing.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import type { FlagsContext } from "@vexil/flags/domain/context";
import { createFlag, getFlag, patchFlag } from "@vexil/flags/domain/flags/flags";
import type { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { admin, memoryContext, rejection } from "../memory-context.ts";

const JSON_TYPE = "application/json";

let ctx: FlagsContext;
let store: MemoryFlagStore;

async function state() {
  return { flag: await getFlag(ctx, admin, "shop", "checkout", {}), audit: store.audit.length, outbox: store.outbox.length };
}

async function refused(body: unknown, contentType: string | null, field: string) {
  const before = await state();
  const error = await rejection(patchFlag(ctx, admin, "shop", "checkout", body, contentType));
  expect({ code: error.code, status: error.status, message: error.message }).toEqual({ code: "invalid_request", status: 400, message: `${field}: unknown field` });
  expect(await state()).toEqual(before);
}

beforeEach(async () => {
  ({ ctx, store } = await memoryContext());
  await createFlag(ctx, admin, "shop", { key: "checkout", name: "Checkout" });
  await patchFlag(
    ctx,
    admin,
    "shop",
    "checkout",
    [
      { op: "add", path: "/environments/production/targets/-", value: { contextKind: "user", values: ["alice"], variation: 0 } },
      {
        op: "add",
        path: "/environments/production/rules/-",
        value: { _id: "r1", clauses: [{ _id: "c1", attribute: "country", op: "in", values: ["SE"], negate: false }], trackEvents: false, rollout: { variations: [{ variation: 0, weight: 100_000 }, { variation: 1, weight: 0 }] } },
      },
    ],
    JSON_TYPE,
  );
});

describe("unknown fields below the top level", () => {
  test("JSON Patch: in a rule, a variation, a target, a clause, a rollout", async () => {
    await refused([{ op: "add", path: "/environments/production/rules/0/foo", value: 1 }], JSON_TYPE, "environments.production.rules[0].foo");
    await refused([{ op: "add", path: "/variations/0/extra", value: 1 }], JSON_TYPE, "variations[0].extra");
    await refused([{ op: "add", path: "/environments/production/targets/0/x", value: 1 }], JSON_TYPE, "environments.production.targets[0].x");
    await refused([{ op: "add", path: "/environments/production/rules/0/clauses/0/bar", value: 1 }], JSON_TYPE, "environments.production.rules[0].clauses[0].bar");
    await refused([{ op: "add", path: "/environments/production/rules/0/rollout/variations/1/y", value: 1 }], JSON_TYPE, "environments.production.rules[0].rollout.variations[1].y");
    await refused([{ op: "add", path: "/environments/production/fallthrough/z", value: 1 }], JSON_TYPE, "environments.production.fallthrough.z");
    await refused([{ op: "add", path: "/defaults/w", value: 1 }], JSON_TYPE, "defaults.w");
  });

  test("JSON Patch: at the top level and of an environment", async () => {
    await refused([{ op: "add", path: "/foo", value: 1 }], JSON_TYPE, "foo");
    await refused([{ op: "add", path: "/environments/test/foo", value: 1 }], JSON_TYPE, "environments.test.foo");
  });

  test("merge patch: a variation list carrying one", async () => {
    const { flag } = await state();
    await refused({ variations: [{ ...flag.variations[0]!, extra: 1 }, flag.variations[1]!] }, "application/merge-patch+json", "variations[0].extra");
    await refused({ comment: "why", merge: { clientSideAvailability: { usingMobileKey: true, usingEnvironmentId: false, usingCookies: true } } }, JSON_TYPE, "clientSideAvailability.usingCookies");
  });

  test("known fields still pass", async () => {
    const patched = await patchFlag(ctx, admin, "shop", "checkout", [{ op: "add", path: "/environments/production/rules/0/description", value: "Sweden" }], JSON_TYPE);
    expect((patched!.environments as Record<string, { rules: Array<{ description?: string }> }>).production!.rules[0]!.description).toBe("Sweden");
  });
});
