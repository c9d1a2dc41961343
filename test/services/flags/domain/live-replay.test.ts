/** Replays of the live feed from the audit log: oldest first, the overlap before the position, the project filter, the bounds. */
import { expect, test } from "bun:test";
import { auditEntry } from "@vexil/shared/audit/audit";
import type { Caller } from "@vexil/shared/caller";
import { LIVE_REPLAY_MAX_AGE_MS, LIVE_REPLAY_OVERLAP_MS, livePosition } from "@vexil/shared/live";
import { liveChangesSince } from "@vexil/flags/domain/live-replay";
import { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";

const T = 1_700_000_000_000;
const caller: Caller = { kind: "token", tokenId: "t1", tokenName: "ci", memberId: null, memberEmail: null, role: "admin", serviceToken: true, grants: [] };

function log() {
  const store = new MemoryFlagStore();
  const add = (now: number, kind: string, spec: string) => {
    const entry = { ...auditEntry({ caller, kind, spec, name: spec, verb: "changed", actions: ["x"], now }), currentVersion: 2 };
    store.audit.push(entry);
    return entry;
  };
  return { store, add };
}

test("the changes dated from the overlap before the position on, oldest first, of the project asked for, live kinds only", async () => {
  const { store, add } = log();
  const tooOld = add(T - LIVE_REPLAY_OVERLAP_MS - 10, "flag", "proj/shop:env/production:flag/old");
  const inOverlap = add(T - 1_000, "flag", "proj/shop:env/production:flag/a");
  const after = add(T + 5, "segment", "proj/shop:env/test:segment/beta");
  add(T + 6, "token", "token/t2");
  const elsewhere = add(T + 7, "flag", "proj/other:env/production:flag/b");
  const replay = await liveChangesSince(store, { after: livePosition(T), project: "shop" }, T + 10);
  expect(replay).toEqual({
    events: [
      { v: 1, id: inOverlap.id, kind: "flag", project: "shop", environment: "production", key: "a", version: 2 },
      { v: 1, id: after.id, kind: "segment", project: "shop", environment: "test", key: "beta", version: 2 },
    ],
  });
  const all = await liveChangesSince(store, { after: livePosition(T) }, T + 10);
  expect("events" in all && all.events.map((e) => e.id)).toEqual([inOverlap.id, after.id, elsewhere.id]);
  expect("events" in all && all.events.map((e) => e.id)).not.toContain(tooOld.id);
});

test("reset beyond the bounds: a position too old, more entries than the limit", async () => {
  const { store, add } = log();
  for (let i = 0; i < 4; i++) add(T + i, "flag", `proj/shop:env/production:flag/f${i}`);
  expect(await liveChangesSince(store, { after: livePosition(T - LIVE_REPLAY_MAX_AGE_MS - 1) }, T)).toEqual({ reset: true });
  expect(await liveChangesSince(store, { after: livePosition(T) }, T + 10, 3)).toEqual({ reset: true });
  expect(await liveChangesSince(store, { after: livePosition(T) }, T + 10, 4)).toMatchObject({ events: expect.any(Array) });
});

test("a position or project that is not one is refused", async () => {
  const { store } = log();
  await expect(liveChangesSince(store, { after: "nope" }, T)).rejects.toThrow("live feed position");
  await expect(liveChangesSince(store, { after: livePosition(T), project: "-x" }, T)).rejects.toThrow("project key");
});
