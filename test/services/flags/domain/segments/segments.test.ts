/**
 * Segment use cases over the memory store: every way of writing a segment (create, JSON Patch,
 * merge patch, semantic patch) ends in the one whole-document check, and a refused change leaves
 * the segment, the audit log and the change events as they were.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { auditEntry } from "@vexil/shared/audit/audit";
import type { FlagsContext } from "@vexil/flags/domain/context";
import { createSegment, getSegment, patchSegment } from "@vexil/flags/domain/segments/segments";
import type { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";
import { admin, memoryContext, rejection } from "../memory-context.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const JSON_TYPE = "application/json";

let ctx: FlagsContext;
let store: MemoryFlagStore;

/** What a refused change must leave alone. */
async function state() {
  const env = await ctx.store.environmentByKey((await ctx.store.projectByKey("shop"))!.id, "production");
  return { segment: await ctx.segments.segmentByKey(env!.id, "beta"), audit: store.audit.length, outbox: store.outbox.length };
}

/** A 400 naming `field`, and nothing changed. */
async function refused(body: unknown, contentType: string | null, field: string) {
  const before = await state();
  const error = await rejection(patchSegment(ctx, admin, "shop", "production", "beta", body, contentType));
  expect({ code: error.code, status: error.status, message: error.message }).toEqual({ code: "invalid_request", status: 400, message: `${field}: unknown field` });
  expect(await state()).toEqual(before);
}

beforeEach(async () => {
  ({ ctx, store } = await memoryContext());
  await createSegment(ctx, admin, "shop", "production", { key: "beta", name: "Beta" });
  const rule = { _id: "r1", clauses: [{ _id: "c1", contextKind: "user", attribute: "country", op: "in", values: ["SE"], negate: false }], weight: 50_000, rolloutContextKind: "user", bucketBy: "key", description: "EU" };
  await patchSegment(
    ctx,
    admin,
    "shop",
    "production",
    "beta",
    [
      { op: "add", path: "/rules/-", value: rule },
      { op: "add", path: "/includedContexts/-", value: { contextKind: "device", values: ["d1"] } },
      { op: "add", path: "/excludedContexts/-", value: { contextKind: "org", values: ["o1"] } },
    ],
    JSON_TYPE,
  );
});

describe("unknown fields below the top level", () => {
  test("JSON Patch: in a rule, a clause, an included or excluded target", async () => {
    await refused([{ op: "add", path: "/rules/0/foo", value: 1 }], JSON_TYPE, "rules[0].foo");
    await refused([{ op: "add", path: "/includedContexts/0/extra", value: 1 }], JSON_TYPE, "includedContexts[0].extra");
    await refused([{ op: "add", path: "/rules/0/clauses/0/bar", value: 1 }], JSON_TYPE, "rules[0].clauses[0].bar");
    await refused([{ op: "add", path: "/excludedContexts/0/x", value: 1 }], JSON_TYPE, "excludedContexts[0].x");
    await refused({ comment: "why", patch: [{ op: "add", path: "/rules/-", value: { _id: "r2", clauses: [], weight: 1, extra: true } }] }, JSON_TYPE, "rules[1].extra");
  });

  test("JSON Patch: at the top level, even when no known field changes", async () => {
    await refused([{ op: "add", path: "/foo", value: 1 }], JSON_TYPE, "foo");
  });

  test("merge patch: a whole rules list carrying one", async () => {
    const { segment } = await state();
    const rules = [{ ...segment!.doc.rules[0]!, clauses: [{ ...segment!.doc.rules[0]!.clauses[0]!, bar: 1 }] }];
    await refused({ rules }, "application/merge-patch+json", "rules[0].clauses[0].bar");
    await refused({ merge: { includedContexts: [{ contextKind: "device", values: ["d1"], extra: 1 }] } }, JSON_TYPE, "includedContexts[0].extra");
  });

  test("semantic patch: the result is checked whole, so a field stored before this check blocks it until removed", async () => {
    const { segment } = await state();
    const doc = { ...segment!.doc, rules: [{ ...segment!.doc.rules[0]!, foo: 1 }] };
    const scope = (await ctx.flags.projectScope("shop"))!;
    await ctx.segments.writeSegment({ ...scope, segment: segment! }, {
      kind: "update",
      segment: { ...segment!, doc },
      audit: auditEntry({ caller: admin, kind: "segment", spec: "proj/shop:env/production:segment/beta", name: "Beta", verb: "stored", actions: [] }),
      changes: [],
    });
    await refused({ environmentKey: "production", instructions: [{ kind: "updateName", value: "Renamed" }] }, SEMANTIC, "rules[0].foo");
    const fixed = await patchSegment(ctx, admin, "shop", "production", "beta", [{ op: "remove", path: "/rules/0/foo" }, { op: "replace", path: "/name", value: "Renamed" }], JSON_TYPE);
    expect(fixed.name).toBe("Renamed");
    expect(fixed.rules[0]).not.toHaveProperty("foo");
  });

  test("known fields, the optional ones included, still pass and reach SDKs", async () => {
    const outbox = store.outbox.length;
    const patched = await patchSegment(ctx, admin, "shop", "production", "beta", [{ op: "add", path: "/rules/-", value: { _id: "r2", clauses: [{ _id: "c2", attribute: "plan", op: "in", values: ["pro"], negate: true }] } }], JSON_TYPE);
    expect(patched.rules.map((r) => r._id)).toEqual(["r1", "r2"]);
    expect(store.outbox.length).toBe(outbox + 1);
    expect(store.outbox.at(-1)).toMatchObject({ kind: "segment", key: "beta", data: { rules: [{ id: "r1" }, { id: "r2", clauses: [{ attribute: "plan", negate: true }] }] } });
  });
});

describe("create", () => {
  test("unboundedContextKind is refused, not dropped: big segments are not supported", async () => {
    const audit = store.audit.length;
    for (const post of [{ unboundedContextKind: "user" }, { unbounded: false, unboundedContextKind: "device" }]) {
      const error = await rejection(createSegment(ctx, admin, "shop", "production", { key: "big", name: "Big", ...post }));
      expect({ code: error.code, status: error.status }).toEqual({ code: "invalid_request", status: 400 });
      expect(error.message).toStartWith("unboundedContextKind: ");
    }
    expect(store.audit.length).toBe(audit);
    expect((await rejection(getSegment(ctx, admin, "shop", "production", "big"))).code).toBe("not_found");
  });

  test("the fields a new segment takes are all kept", async () => {
    const created = await createSegment(ctx, admin, "shop", "production", { key: "kept", name: "Kept", description: "All of it", tags: ["a", "b"], unbounded: false });
    expect(created).toMatchObject({ key: "kept", name: "Kept", description: "All of it", tags: ["a", "b"], unbounded: false });
    expect(created).not.toHaveProperty("unboundedContextKind");
    expect(await getSegment(ctx, admin, "shop", "production", "kept")).toEqual(created);
  });
});
