import { expect, test } from "bun:test";
import { liveEventOf, parseLiveNotice } from "@vexil/shared/live";

test("the notices of migration 0017 read back as events naming the resource", () => {
  expect(parseLiveNotice("a1:flag:3:proj/shop:env/production:flag/new-checkout")).toEqual({ v: 1, id: "a1", kind: "flag", project: "shop", environment: "production", key: "new-checkout", version: 3 });
  expect(parseLiveNotice("a2:flag:1:proj/shop:env/*:flag/x")).toMatchObject({ environment: null, key: "x" });
  expect(parseLiveNotice("a3:segment:-1:proj/shop:env/test:segment/beta")).toMatchObject({ kind: "segment", environment: "test", key: "beta", version: null });
  expect(parseLiveNotice("a4:environment:2:proj/shop:env/test")).toMatchObject({ kind: "environment", environment: "test", key: null });
  expect(parseLiveNotice("a5:project:2:proj/shop")).toMatchObject({ kind: "project", project: "shop", environment: null, key: null });
});

test("anything else is not an event", () => {
  for (const payload of ["", "a1", "a1:token:1:member/x:token/y", "a1:flag:x:proj/a:env/b:flag/c", "a1:flag:1:proj/a:env/b", "a1:environment:1:proj/a", "a1:flag:1:env/b:flag/c", "a1:flag:01:proj/a:env/b:flag/c"]) {
    expect(parseLiveNotice(payload)).toBeUndefined();
  }
  expect(liveEventOf({ v: 1, id: "a", kind: "flag", project: "p", environment: null, key: "k", version: 1 })).toBeDefined();
  for (const bad of [null, "x", { v: 2 }, { v: 1, id: "a", kind: "member", project: "p", environment: null, key: null, version: null }, { v: 1, id: "a", kind: "flag", project: "p", environment: 1, key: "k", version: 1 }]) {
    expect(liveEventOf(bad)).toBeUndefined();
  }
});
