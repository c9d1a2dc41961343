import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { decodeJson, encodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { requestJson, serveJson } from "@vexil/shared/bus/rpc";
import { callerDeadline, commitDeadline, deadlinePassed, withDeadline } from "@vexil/shared/deadline";
import { VexilError } from "@vexil/shared/errors";
import { createLogger, silentLogger } from "@vexil/shared/logger";

let bus: MemoryBus;
beforeEach(() => {
  bus = new MemoryBus();
});
afterEach(async () => {
  await bus.drain();
});

async function vexilError(work: Promise<unknown>): Promise<VexilError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VexilError);
  return error as VexilError;
}

describe("serveJson + requestJson", () => {
  test("a JSON request gets the handler's JSON answer in an ok envelope", async () => {
    serveJson<{ a: number; b: number }, { sum: number }>(bus, "rpc.add", "q", silentLogger, async ({ a, b }) => ({ sum: a + b }));
    expect(await requestJson(bus, "rpc.add", { a: 2, b: 3 }, 1_000)).toEqual({ sum: 5 });
    const raw = await bus.request("rpc.add", encodeJson({ a: 1, b: 1 }), { timeoutMs: 1_000 });
    expect(decodeJson(raw.data)).toEqual({ ok: { sum: 2 } });
  });

  test("a VexilError travels with its code and message", async () => {
    serveJson(bus, "rpc.refuse", "q", silentLogger, async () => {
      throw new VexilError("conflict", "The key is taken");
    });
    const error = await vexilError(requestJson(bus, "rpc.refuse", {}, 1_000));
    expect(error).toMatchObject({ code: "conflict", status: 409, message: "The key is taken" });
  });

  test("any other failure is logged and answered as internal_error without its text", async () => {
    const lines: string[] = [];
    serveJson(bus, "rpc.crash", "q", createLogger("error", {}, (l) => lines.push(l)), async () => {
      throw new Error("secret internals");
    });
    const error = await vexilError(requestJson(bus, "rpc.crash", {}, 1_000));
    expect(error.code).toBe("internal_error");
    expect(error.message).not.toContain("secret internals");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ subject: "rpc.crash", error: { message: "secret internals" } });
  });

  test("nobody serving is service_unavailable; a slow handler is gateway_timeout", async () => {
    expect((await vexilError(requestJson(bus, "rpc.nobody", {}, 1_000))).code).toBe("service_unavailable");
    serveJson(bus, "rpc.slow", "q", silentLogger, async () => {
      await Bun.sleep(300);
      return {};
    });
    expect((await vexilError(requestJson(bus, "rpc.slow", {}, 50))).code).toBe("gateway_timeout");
  });

  test("serves in the given queue group", async () => {
    const served = [0, 0];
    for (const i of [0, 1]) {
      serveJson(bus, "rpc.shared", "workers", silentLogger, async () => {
        served[i]!++;
        return i;
      });
    }
    for (let i = 0; i < 6; i++) await requestJson(bus, "rpc.shared", {}, 1_000);
    expect(served[0]! + served[1]!).toBe(6);
    expect(served[0]).toBeGreaterThan(0);
    expect(served[1]).toBeGreaterThan(0);
  });
});

describe("deadlines on JSON requests", () => {
  const seeing = () =>
    serveJson(bus, "rpc.deadline", "q", silentLogger, async () => {
      await Bun.sleep(1);
      return { caller: callerDeadline() ?? null };
    });

  test("a request carries the instant its sender stops waiting, and the handler runs inside it", async () => {
    seeing();
    const before = Date.now();
    const { caller } = await requestJson<{ caller: number }>(bus, "rpc.deadline", {}, 3_000);
    expect(caller).toBeGreaterThanOrEqual(before + 3_000);
    expect(caller).toBeLessThanOrEqual(Date.now() + 3_000);
  });

  test("made while handling a request, it waits no longer than that request's time to commit", async () => {
    seeing();
    await withDeadline(Date.now() + 10_000, async () => {
      const { caller } = await requestJson<{ caller: number }>(bus, "rpc.deadline", {}, 60_000);
      expect(caller).toBe(commitDeadline()!);
    });
  });

  test("past the request's deadline it is not sent at all", async () => {
    let handled = 0;
    serveJson(bus, "rpc.count", "q", silentLogger, async () => ++handled);
    const error = await withDeadline(Date.now() - 1, () => vexilError(requestJson(bus, "rpc.count", {}, 1_000)));
    expect(error).toMatchObject({ code: "gateway_timeout", status: 504 });
    expect(handled).toBe(0);
  });

  test("a handler's refusal past its deadline travels as gateway_timeout, even wrapped by a driver error", async () => {
    const lines: string[] = [];
    serveJson(bus, "rpc.late", "q", createLogger("error", {}, (l) => lines.push(l)), async () => {
      throw new Error("Failed query", { cause: deadlinePassed() });
    });
    expect((await vexilError(requestJson(bus, "rpc.late", {}, 1_000))).code).toBe("gateway_timeout");
    expect(lines).toEqual([]);
  });

  test("in process, a handler does not inherit the sender's deadline: only the header's", async () => {
    let published: number | null | undefined;
    bus.subscribe("rpc.event", () => {
      published = callerDeadline() ?? null;
    });
    await withDeadline(Date.now() - 1, async () => {
      bus.publish("rpc.event", new Uint8Array());
      await bus.flush();
    });
    await Bun.sleep(1);
    expect(published).toBeNull();
  });
});
