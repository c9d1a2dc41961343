/**
 * The gateway's live feed over the in-process bus, with a verifier the test controls: events in the
 * order they were heard even when a verification is slow, each change once, nothing once the
 * credential stops working (and the feed ends), nothing unchecked while authentication is unreachable.
 */
import { afterEach, expect, test } from "bun:test";
import { encodeJson, type Bus } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { serveJson } from "@vexil/shared/bus/rpc";
import type { Caller } from "@vexil/shared/caller";
import { livePosition, type LiveEvent, type LiveReplay, type LiveReplayRequest } from "@vexil/shared/live";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import type { CallerVerifier, Checked, Credential } from "@vexil/gateway/caller-verifier";
import { createLiveFeed, type LiveFeed } from "@vexil/gateway/live";

const reader: Caller = { kind: "token", tokenId: "t1", tokenName: "t", memberId: null, memberEmail: null, role: "reader", serviceToken: true, grants: [{ base: "reader", statements: [] }] };
const credential: Credential = { token: "api-x" };

/** The answer of the next verifications: a verdict, a delay, or a failure to answer. */
let verdict: () => Promise<Checked> = async () => ({ ok: true, caller: reader, assertion: "a", cached: true });
const verifier: CallerVerifier = { verify: () => verdict(), isKnownGood: () => true };

let feed: LiveFeed | undefined;
afterEach(() => feed?.close());

const event = (id: string, project = "shop"): LiveEvent => ({ v: 1, id, kind: "flag", project, environment: "production", key: `f-${id}`, version: 1 });

async function open(bus: Bus, query = "", headers: Record<string, string> = {}) {
  feed = createLiveFeed({ bus, verifier, logger: silentLogger, heartbeatMs: 60_000, replayTimeoutMs: 500 });
  const response = feed.open(new Request(`http://vexil.test/api/v2/live${query}`, { headers }), credential, reader, "req");
  expect(response.status).toBe(200);
  const body = response.body!.getReader();
  let text = "";
  const decoder = new TextDecoder();
  const ids = () => [...text.matchAll(/^event: change\nid: (.+)$/gm)].map((m) => m[1]);
  let ended = false;
  (async () => {
    for (;;) {
      const { done, value } = await body.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    ended = true;
  })();
  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 400 && !ok(); i++) await Bun.sleep(5);
    expect(ok()).toBe(true);
  };
  return { ids, until, ended: () => ended, text: () => text, publish: (e: LiveEvent) => bus.publish(subjects.live, encodeJson(e)) };
}

test("events keep the order they were heard in, though the first one's verification is slow; each change once", async () => {
  const s = await open(new MemoryBus(), "?project=shop");
  let first = true;
  verdict = async () => {
    if (first) {
      first = false;
      await Bun.sleep(100);
    }
    return { ok: true, caller: reader, assertion: "a", cached: false };
  };
  s.publish(event("a"));
  s.publish(event("b"));
  s.publish(event("a"));
  s.publish(event("other", "elsewhere"));
  s.publish(event("c"));
  await s.until(() => s.ids().length >= 3);
  await Bun.sleep(20);
  expect(s.ids()).toEqual(["a", "b", "c"]);
});

test("repeats are dropped among the last 4,096 events heard; an event older than that is news again", async () => {
  const s = await open(new MemoryBus(), "?project=shop");
  const ids = Array.from({ length: 4_100 }, (_, i) => `e${i}`);
  for (const id of ids) s.publish(event(id));
  // Repeats of the newest 4,096 are dropped, however many events came since the set filled.
  for (const id of ids.slice(-4_096)) s.publish(event(id));
  // The first four were forgotten to make room: heard again, one is sent again, and the oldest
  // remembered (e4) is forgotten for it, while the next (e5) is still a repeat.
  s.publish(event("e0"));
  s.publish(event("e5"));
  s.publish(event("e4"));
  // Thousands of events, each written after its own check: longer than `until` waits on a busy machine.
  for (let i = 0; i < 2_000 && s.ids().length < 4_102; i++) await Bun.sleep(5);
  await Bun.sleep(20);
  expect(s.ids()).toEqual([...ids, "e0", "e4"]);
});

test("once the credential stops working nothing more is sent and the feed ends; while auth is unreachable nothing is sent unchecked", async () => {
  const s = await open(new MemoryBus());
  verdict = async () => ({ ok: true, caller: reader, assertion: "a", cached: true });
  s.publish(event("1"));
  await s.until(() => s.ids().length === 1);
  verdict = async () => {
    throw new Error("auth is not answering");
  };
  s.publish(event("2"));
  await Bun.sleep(20);
  expect(s.ended()).toBe(false);
  verdict = async () => ({ ok: false, reason: "revoked" });
  s.publish(event("3"));
  await s.until(() => s.ended());
  expect(s.ids()).toEqual(["1"]);
  expect(feed!.size).toBe(0);
});

test("a caller who may read nothing is refused; a malformed project is a 400", () => {
  feed = createLiveFeed({ bus: new MemoryBus(), verifier, logger: silentLogger });
  const nothing: Caller = { ...reader, grants: [{ base: "no_access", statements: [] }] };
  expect(() => feed!.open(new Request("http://vexil.test/api/v2/live"), credential, nothing, "req")).toThrow("Forbidden");
  expect(feed.open(new Request("http://vexil.test/api/v2/live?project=-x"), credential, reader, "req").status).toBe(400);
});

test("the feeds of one credential share a verification per event", async () => {
  const bus = new MemoryBus();
  let calls = 0;
  verdict = async () => {
    calls++;
    await Bun.sleep(10);
    return { ok: true, caller: reader, assertion: "a", cached: false };
  };
  feed = createLiveFeed({ bus, verifier, logger: silentLogger, heartbeatMs: 60_000 });
  const bodies = [1, 2, 3].map(() => feed!.open(new Request("http://vexil.test/api/v2/live"), credential, reader, "req").body!.getReader());
  for (const body of bodies) await body.read(); // the preamble
  bus.publish(subjects.live, encodeJson(event("x")));
  const texts = await Promise.all(bodies.map(async (body) => new TextDecoder().decode((await body.read()).value)));
  for (const text of texts) expect(text).toContain("id: x");
  expect(calls).toBe(1);
});

/** A flags instance answering replays with `answer`, recording what it was asked. */
function replaying(bus: Bus, answer: (request: LiveReplayRequest) => Promise<LiveReplay>) {
  const asked: LiveReplayRequest[] = [];
  serveJson(bus, subjects.liveReplay, "flags", silentLogger, async (request: LiveReplayRequest) => {
    asked.push(request);
    return answer(request);
  });
  return asked;
}

test("a new feed starts with a position; a reconnecting one gets what it missed first, then what is heard meanwhile", async () => {
  const fresh = await open(new MemoryBus());
  await fresh.until(() => /^id: [0-9a-f]{24}$/m.test(fresh.text()));
  feed!.close();

  const bus = new MemoryBus();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const position = livePosition(Date.now() - 1_000);
  const asked = replaying(bus, async () => {
    await held;
    return { events: [event("missed-1"), event("missed-2")] };
  });
  const s = await open(bus, "?project=shop", { "last-event-id": position });
  await Bun.sleep(10);
  s.publish(event("new"));
  await Bun.sleep(10);
  expect(s.ids()).toEqual([]);
  release();
  await s.until(() => s.ids().length === 3);
  expect(s.ids()).toEqual(["missed-1", "missed-2", "new"]);
  expect(asked).toEqual([{ after: position, project: "shop" }]);
});

test("a page that opens a new feed passes its position as lastEventId", async () => {
  const bus = new MemoryBus();
  const asked = replaying(bus, async () => ({ events: [event("m")] }));
  const position = livePosition(Date.now());
  const s = await open(bus, `?lastEventId=${position}`);
  await s.until(() => s.ids().length === 1);
  expect(asked).toEqual([{ after: position }]);
});

test("reset, to read everything again: beyond the bound, for a position that is not one, when no flags instance answers, and when a flags instance missed notices", async () => {
  const bus = new MemoryBus();
  replaying(bus, async () => ({ reset: true }));
  const beyond = await open(bus, "", { "last-event-id": livePosition(0) });
  await beyond.until(() => beyond.text().includes("event: reset\n"));
  feed!.close();

  const garbage = await open(new MemoryBus(), "", { "last-event-id": "not-a-position" });
  await garbage.until(() => garbage.text().includes("event: reset\n"));
  feed!.close();

  const silent = await open(new MemoryBus(), "", { "last-event-id": livePosition(Date.now()) });
  await silent.until(() => silent.text().includes("event: reset\n"));
  expect(silent.text()).toMatch(/event: reset\nid: [0-9a-f]{24}\ndata: \{\}/);
  feed!.close();

  const missed = new MemoryBus();
  const s = await open(missed);
  missed.publish(subjects.liveReset, encodeJson({ v: 1 }));
  await s.until(() => s.text().includes("event: reset\n"));
  expect(s.ended()).toBe(false);
});

/** An in-process bus whose reconnection the test makes happen. */
function reconnectingBus() {
  const listeners: Array<() => void> = [];
  const bus: Bus = Object.assign(new MemoryBus(), { onReconnect: (listener: () => void) => void listeners.push(listener) });
  return { bus, reconnected: () => listeners.forEach((listener) => listener()) };
}

test("after the gateway's own bus connection comes back, what was committed since the last event it heard is sent, repeats dropped; or reset", async () => {
  const { bus, reconnected } = reconnectingBus();
  const heard = livePosition(Date.now()).slice(0, 12) + "00000000000a";
  const missed = livePosition(Date.now() + 1).slice(0, 12) + "00000000000b";
  const asked = replaying(bus, async () => ({ events: [event(heard), event(missed)] }));
  const s = await open(bus);
  s.publish(event(heard));
  await s.until(() => s.ids().length === 1);
  reconnected();
  await s.until(() => s.ids().length === 2);
  await Bun.sleep(20);
  expect(s.ids()).toEqual([heard, missed]);
  expect(asked).toEqual([{ after: heard }]);
  feed!.close();

  const lost = reconnectingBus();
  replaying(lost.bus, async () => ({ reset: true }));
  const r = await open(lost.bus);
  lost.reconnected();
  await r.until(() => r.text().includes("event: reset\n"));
});
