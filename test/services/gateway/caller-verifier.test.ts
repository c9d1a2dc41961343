/** Verdicts from auth over the bus: cached briefly with their assertion, dropped on revocation, usage reported. */
import { afterEach, describe, expect, test } from "bun:test";
import type { UsageEvent, Verdict, VerifyRequest } from "@vexil/shared/auth-messages";
import { createAssertions } from "@vexil/shared/assertion";
import { decodeJson, encodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { serveJson } from "@vexil/shared/bus/rpc";
import { CALLER_HEADER, type Caller } from "@vexil/shared/caller";
import { VexilError } from "@vexil/shared/errors";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { busCallerVerifier, type Checked, type VerifierOptions } from "@vexil/gateway/caller-verifier";

const caller = (tokenId: string | null, memberId: string | null, kind: Caller["kind"] = "token"): Caller => ({
  kind,
  tokenId,
  tokenName: tokenId,
  memberId,
  memberEmail: memberId ? `${memberId}@example.com` : null,
  role: "writer",
  serviceToken: memberId === null,
  grants: [{ base: "reader", statements: [] }],
});

/** Credentials auth knows, and the verdict for each. */
const KNOWN: Record<string, Verdict> = {
  "token:alpha": { v: 1, ok: true, caller: caller("t-alpha", "m1") },
  "token:beta": { v: 1, ok: true, caller: caller("t-beta", "m1") },
  "token:gamma": { v: 1, ok: true, caller: caller("t-gamma", "m2") },
  "token:service": { v: 1, ok: true, caller: caller("t-service", null) },
  "session:s-one": { v: 1, ok: true, caller: caller(null, "m1", "session"), sessionId: "sid-1" },
  "session:s-two": { v: 1, ok: true, caller: caller(null, "m2", "session"), sessionId: "sid-2" },
};

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

function setup(options: Partial<VerifierOptions> = {}) {
  const bus = new MemoryBus();
  const asked: VerifyRequest[] = [];
  serveJson<VerifyRequest, Verdict>(bus, subjects.authVerify, "vexil-auth", silentLogger, async (request) => {
    asked.push(request);
    const key = request.token !== undefined ? `token:${request.token}` : `session:${request.session}`;
    return KNOWN[key] ?? { v: 1, ok: false, reason: "Invalid access token" };
  });
  const assertions = createAssertions(crypto.getRandomValues(new Uint8Array(32)));
  const verifier = busCallerVerifier(bus, { timeoutMs: 200, assertions, ...options });
  stops.push(verifier.stop);
  const revoke = async (event: Record<string, unknown>) => {
    bus.publish(subjects.authRevoked, encodeJson({ v: 1, ...event }));
    await Bun.sleep(2);
  };
  return { bus, asked, assertions, verifier, revoke };
}

const ok = (checked: Checked) => {
  if (!checked.ok) throw new Error(`refused: ${checked.reason}`);
  return checked;
};

describe("verify", () => {
  test("asks auth once, signs an assertion of the caller, and reuses both", async () => {
    const { asked, assertions, verifier } = setup();
    const first = ok(await verifier.verify({ token: "alpha" }));
    expect(first.cached).toBe(false);
    expect(first.caller).toEqual(caller("t-alpha", "m1"));
    expect(asked).toEqual([{ v: 1, token: "alpha" }]);
    const request = new Request("http://svc", { headers: { [CALLER_HEADER]: first.assertion } });
    expect(await assertions.callerOf(request)).toEqual(first.caller);

    const second = ok(await verifier.verify({ token: "alpha" }));
    expect(second).toEqual({ ...first, cached: true });
    expect(asked).toHaveLength(1);
  });

  test("sends a session as a session, and never mixes it up with a token of the same text", async () => {
    const { asked, verifier } = setup();
    expect(ok(await verifier.verify({ session: "s-one" })).caller.kind).toBe("session");
    expect((await verifier.verify({ token: "s-one" })).ok).toBe(false);
    expect(asked).toEqual([
      { v: 1, session: "s-one" },
      { v: 1, token: "s-one" },
    ]);
  });

  test("a refusal is remembered only briefly", async () => {
    const { asked, verifier } = setup({ negativeTtlMs: 30 });
    expect(await verifier.verify({ token: "nope" })).toEqual({ ok: false, reason: "Invalid access token" });
    expect(await verifier.verify({ token: "nope" })).toEqual({ ok: false, reason: "Invalid access token" });
    expect(asked).toHaveLength(1);
    await Bun.sleep(40);
    await verifier.verify({ token: "nope" });
    expect(asked).toHaveLength(2);
  });

  test("a positive verdict expires after its time to live", async () => {
    const { asked, verifier } = setup({ ttlMs: 30 });
    await verifier.verify({ token: "alpha" });
    await verifier.verify({ token: "alpha" });
    expect(asked).toHaveLength(1);
    await Bun.sleep(40);
    expect(ok(await verifier.verify({ token: "alpha" })).cached).toBe(false);
    expect(asked).toHaveLength(2);
  });

  test("the cache holds at most maxEntries, dropping the oldest", async () => {
    const { asked, verifier } = setup({ maxEntries: 2 });
    await verifier.verify({ token: "alpha" });
    await verifier.verify({ token: "beta" });
    await verifier.verify({ token: "gamma" });
    expect(verifier.size()).toBe(2);
    await verifier.verify({ token: "gamma" });
    await verifier.verify({ token: "beta" });
    expect(asked).toHaveLength(3);
    await verifier.verify({ token: "alpha" });
    expect(asked).toHaveLength(4);
  });

  test("when nobody answers the error says so", async () => {
    const bus = new MemoryBus();
    const verifier = busCallerVerifier(bus, { timeoutMs: 50, assertions: createAssertions(new Uint8Array(32)) });
    stops.push(verifier.stop);
    const error = await verifier.verify({ token: "alpha" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VexilError);
    expect((error as VexilError).code).toBe("service_unavailable");
  });
});

describe("isKnownGood", () => {
  test("true only for a live positive verdict, without asking auth", async () => {
    const { asked, verifier, revoke } = setup();
    expect(verifier.isKnownGood({ token: "alpha" })).toBe(false);
    await verifier.verify({ token: "alpha" });
    await verifier.verify({ token: "nope" });
    expect(verifier.isKnownGood({ token: "alpha" })).toBe(true);
    expect(verifier.isKnownGood({ session: "alpha" })).toBe(false);
    expect(verifier.isKnownGood({ token: "nope" })).toBe(false);
    await revoke({ tokenIds: ["t-alpha"] });
    expect(verifier.isKnownGood({ token: "alpha" })).toBe(false);
    expect(asked).toHaveLength(2);
  });
});

describe("revocation", () => {
  async function everyone() {
    const s = setup();
    for (const c of [{ token: "alpha" }, { token: "beta" }, { token: "gamma" }, { token: "service" }, { session: "s-one" }, { session: "s-two" }]) await s.verifier.verify(c);
    expect(s.verifier.size()).toBe(6);
    const good = () => ({
      alpha: s.verifier.isKnownGood({ token: "alpha" }),
      beta: s.verifier.isKnownGood({ token: "beta" }),
      gamma: s.verifier.isKnownGood({ token: "gamma" }),
      service: s.verifier.isKnownGood({ token: "service" }),
      one: s.verifier.isKnownGood({ session: "s-one" }),
      two: s.verifier.isKnownGood({ session: "s-two" }),
    });
    return { ...s, good };
  }

  test("by token ids drops exactly those tokens' verdicts", async () => {
    const { revoke, good, verifier } = await everyone();
    await revoke({ tokenIds: ["t-alpha", "t-service", "t-unknown"] });
    expect(good()).toEqual({ alpha: false, beta: true, gamma: true, service: false, one: true, two: true });
    expect(verifier.size()).toBe(4);
  });

  test("by member ids drops the member's tokens and sessions", async () => {
    const { revoke, good } = await everyone();
    await revoke({ memberIds: ["m1"] });
    expect(good()).toEqual({ alpha: false, beta: false, gamma: true, service: true, one: false, two: true });
  });

  test("by session ids drops those sessions only", async () => {
    const { revoke, good } = await everyone();
    await revoke({ sessionIds: ["sid-2"] });
    expect(good()).toEqual({ alpha: true, beta: true, gamma: true, service: true, one: true, two: false });
  });

  test("all drops everything", async () => {
    const { revoke, good, verifier } = await everyone();
    await revoke({ all: true });
    expect(Object.values(good())).toEqual([false, false, false, false, false, false]);
    expect(verifier.size()).toBe(0);
  });

  test("several lists in one event all apply; a later verify asks auth again", async () => {
    const { revoke, good, asked, verifier } = await everyone();
    await revoke({ tokenIds: ["t-gamma"], sessionIds: ["sid-1"] });
    expect(good()).toEqual({ alpha: true, beta: true, gamma: false, service: true, one: false, two: true });
    const before = asked.length;
    expect(ok(await verifier.verify({ token: "gamma" })).cached).toBe(false);
    expect(asked.length).toBe(before + 1);
  });
});

describe("usage", () => {
  async function collect(bus: MemoryBus) {
    const events: UsageEvent[] = [];
    bus.subscribe(subjects.authUsage, (m) => void events.push(decodeJson<UsageEvent>(m.data)));
    return events;
  }

  /** Every batch so far, merged: a flush may fall between two verifications. */
  const merged = (events: UsageEvent[]) => ({
    tokens: Object.assign({}, ...events.map((e) => e.tokens)) as Record<string, number>,
    members: Object.assign({}, ...events.map((e) => e.members)) as Record<string, number>,
  });

  test("token and member timestamps go to auth in batches on vexil.auth.usage, cached hits included", async () => {
    const { bus, verifier } = setup({ usageFlushMs: 20 });
    const events = await collect(bus);
    const started = Date.now();
    await verifier.verify({ token: "alpha" });
    await verifier.verify({ session: "s-two" });
    await verifier.verify({ token: "service" });
    await verifier.verify({ token: "nope" });
    await Bun.sleep(50);
    expect(subjects.authUsage).toBe("vexil.auth.usage");
    expect(events.length).toBeGreaterThanOrEqual(1);
    for (const e of events) expect(e.v).toBe(1);
    const all = merged(events);
    expect(Object.keys(all.tokens).sort()).toEqual(["t-alpha", "t-service"]);
    expect(Object.keys(all.members).sort()).toEqual(["m1", "m2"]);
    for (const at of [...Object.values(all.tokens), ...Object.values(all.members)]) {
      expect(at).toBeGreaterThanOrEqual(started);
      expect(at).toBeLessThanOrEqual(Date.now());
    }

    // Quiet periods publish nothing; a cached hit counts as use.
    const quiet = events.length;
    await Bun.sleep(50);
    expect(events).toHaveLength(quiet);
    await verifier.verify({ token: "alpha" });
    await Bun.sleep(50);
    expect(events).toHaveLength(quiet + 1);
    const last = events.at(-1)!;
    expect(Object.keys(last.tokens)).toEqual(["t-alpha"]);
    expect(Object.keys(last.members)).toEqual(["m1"]);
  });

  test("stop sends what is pending at once", async () => {
    const { bus, verifier } = setup({ usageFlushMs: 60_000 });
    const events = await collect(bus);
    await verifier.verify({ token: "gamma" });
    verifier.stop();
    await Bun.sleep(2);
    expect(events).toHaveLength(1);
    expect(Object.keys(events[0]!.tokens)).toEqual(["t-gamma"]);
  });

  test("a bus that is down drops the batch without throwing", async () => {
    const { bus, verifier } = setup({ usageFlushMs: 60_000 });
    await verifier.verify({ token: "alpha" });
    await bus.drain();
    expect(() => verifier.stop()).not.toThrow();
  });
});
