import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { decodeJson, encodeJson } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { requestJson, serveJson } from "@vexil/shared/bus/rpc";
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
