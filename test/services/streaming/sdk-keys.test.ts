/**
 * SDK keys checked by auth over the bus, and what a streaming instance does while auth cannot
 * answer: a key it found working keeps working (its revocation would have been heard), a key it has
 * not seen, a refused one, a revoked one or one whose verdict predates a bus reconnect gets a 503,
 * never a 401. Auth is played by a responder on an in-process bus.
 */
import { describe, expect, test } from "bun:test";
import { encodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { issueCredential } from "@vexil/shared/secrets";
import { subjects } from "@vexil/shared/subjects";
import { busKeyVerifier } from "@vexil/streaming/sdk-keys";

const ENV = "env-1";

/** An in-process bus whose reconnects the test makes happen. */
class ReconnectingBus extends MemoryBus {
  private readonly reconnectListeners: Array<() => void> = [];
  override onReconnect(listener?: () => void): void {
    if (listener) this.reconnectListeners.push(listener);
  }
  reconnected(): void {
    for (const l of this.reconnectListeners) l();
  }
}

/** A stand-in for auth: the keys it knows, and whether its database answers. */
function authService(bus: MemoryBus, known: Set<string>) {
  const state = { down: false, silent: false, asked: 0 };
  bus.serve(subjects.authVerifyEnvironmentKey, async (msg) => {
    state.asked++;
    if (state.silent) await new Promise(() => {});
    if (state.down) return { data: encodeJson({ error: { code: "service_unavailable", message: "The database is not reachable right now" } }) };
    const { key } = JSON.parse(new TextDecoder().decode(msg.data)) as { key: string };
    return { data: encodeJson({ ok: known.has(key) ? { v: 1, ok: true, environmentId: ENV, kind: "sdk" } : { v: 1, ok: false, reason: "Invalid SDK key" } }) };
  });
  return state;
}

describe("SDK keys while auth cannot answer", () => {
  test("a key found working keeps working past its verdict's time, for a while; a key never seen gets a 503", async () => {
    const bus = new ReconnectingBus();
    const good = issueCredential("sdk");
    const auth = authService(bus, new Set([good.value]));
    const keys = busKeyVerifier(bus, { timeoutMs: 100, ttlMs: 10, negativeTtlMs: 10, staleMs: 200 });
    expect(await keys.verify(good.value, "sdk")).toMatchObject({ environmentId: ENV, selector: good.selector });
    await Bun.sleep(20);
    auth.down = true;
    expect(await keys.verify(good.value, "sdk")).toMatchObject({ environmentId: ENV });
    expect(auth.asked).toBe(2);
    // Auth not answering at all (a timeout) is a 503 as well.
    auth.silent = true;
    expect(await keys.verify(good.value, "sdk")).toMatchObject({ environmentId: ENV });
    await expect(keys.verify(issueCredential("sdk").value, "sdk")).rejects.toMatchObject({ code: "service_unavailable", status: 503 });
    auth.silent = false;
    // Not for longer than `staleMs` past the verdict's time.
    await Bun.sleep(220);
    await expect(keys.verify(good.value, "sdk")).rejects.toMatchObject({ code: "service_unavailable" });
    auth.down = false;
    expect(await keys.verify(good.value, "sdk")).toMatchObject({ environmentId: ENV });
    keys.stop();
  });

  test("a refused key, a revoked key and a verdict from before a bus reconnect are not used", async () => {
    const bus = new ReconnectingBus();
    const good = issueCredential("sdk");
    const revoked = issueCredential("sdk");
    const unknown = issueCredential("sdk");
    const auth = authService(bus, new Set([good.value, revoked.value]));
    const keys = busKeyVerifier(bus, { timeoutMs: 100, ttlMs: 10, negativeTtlMs: 10, staleMs: 60_000 });
    expect(await keys.verify(unknown.value, "sdk")).toBeUndefined();
    expect(await keys.verify(revoked.value, "sdk")).toBeDefined();
    bus.publish(subjects.authEnvironmentKeysRevoked, encodeJson({ v: 1, environmentId: ENV, kind: "sdk", selectors: [revoked.selector], at: 0 }));
    await bus.flush();
    await Bun.sleep(20);
    auth.down = true;
    await expect(keys.verify(unknown.value, "sdk")).rejects.toMatchObject({ code: "service_unavailable" });
    await expect(keys.verify(revoked.value, "sdk")).rejects.toMatchObject({ code: "service_unavailable" });

    auth.down = false;
    expect(await keys.verify(good.value, "sdk")).toBeDefined();
    bus.reconnected();
    await Bun.sleep(20);
    auth.down = true;
    await expect(keys.verify(good.value, "sdk")).rejects.toMatchObject({ code: "service_unavailable" });
    // Checked again once auth answers, it works again through the next outage.
    auth.down = false;
    expect(await keys.verify(good.value, "sdk")).toBeDefined();
    await Bun.sleep(20);
    auth.down = true;
    expect(await keys.verify(good.value, "sdk")).toBeDefined();
    keys.stop();
  });
});
