/**
 * One contract for both Bus implementations: the in-process MemoryBus and NatsBus on a real
 * nats-server. Each test gets a "serving" bus and a "requesting" bus: for NATS two separate
 * connections, for memory the same instance (there is only one process).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { BusError, type Bus, type BusMessage } from "@vexil/shared/bus/bus";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { connectNatsBus } from "@vexil/shared/bus/nats-bus";
import { silentLogger } from "@vexil/shared/logger";
import { startNats, type NatsServer } from "../../support/nats.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (s: string) => encoder.encode(s);
const str = (data: Uint8Array) => decoder.decode(data);

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

async function busErrorOf(work: Promise<unknown>): Promise<BusError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BusError);
  return error as BusError;
}

/**
 * Resolves once everything `from` published before the call has reached the subscriptions of `to`:
 * a marker is published after them, and messages from one connection to another keep their order.
 */
async function delivered(from: Bus, to: Bus, prefix: string): Promise<void> {
  let seen = false;
  const sub = to.subscribe(`${prefix}.marker`, () => {
    seen = true;
  });
  await to.ping();
  from.publish(`${prefix}.marker`, new Uint8Array(0));
  await waitFor(() => seen, "the marker");
  sub.unsubscribe();
}

let nats: NatsServer | undefined;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.destroy();
});

interface Pair {
  serving: Bus;
  requesting: Bus;
}

const implementations: Array<[string, () => Promise<Pair>]> = [
  [
    "memory",
    async () => {
      const bus = new MemoryBus();
      return { serving: bus, requesting: bus };
    },
  ],
  [
    "nats",
    async () => ({
      serving: await connectNatsBus(nats!.url, "contract-serving", silentLogger),
      requesting: await connectNatsBus(nats!.url, "contract-requesting", silentLogger),
    }),
  ],
];

let n = 0;

for (const [name, make] of implementations) {
  describe(`Bus contract: ${name}`, () => {
    let serving: Bus;
    let requesting: Bus;
    let p: string;

    beforeEach(async () => {
      ({ serving, requesting } = await make());
      p = `contract.${name}.t${++n}`;
    });

    afterEach(async () => {
      await Promise.allSettled([serving.drain(), requesting.drain()]);
    });

    test("reports its kind and answers ping", async () => {
      expect(serving.kind).toBe(name as Bus["kind"]);
      await serving.ping();
      await requesting.ping();
    });

    test("publish reaches subscribers by exact subject and by * and > wildcards, with headers", async () => {
      const got: Record<string, BusMessage[]> = { exact: [], star: [], rest: [], other: [] };
      serving.subscribe(`${p}.x.a`, (m) => void got.exact!.push(m));
      serving.subscribe(`${p}.x.*`, (m) => void got.star!.push(m));
      serving.subscribe(`${p}.x.>`, (m) => void got.rest!.push(m));
      serving.subscribe(`${p}.y.*`, (m) => void got.other!.push(m));
      await serving.ping();

      requesting.publish(`${p}.x.a`, text("one"), { "x-trace": "abc" });
      requesting.publish(`${p}.x.a.b`, text("two"));
      requesting.publish(`${p}.z`, text("three"));
      await delivered(requesting, serving, p);

      expect(got.exact!.map((m) => [m.subject, str(m.data), m.headers])).toEqual([[`${p}.x.a`, "one", { "x-trace": "abc" }]]);
      expect(got.star!.map((m) => str(m.data))).toEqual(["one"]);
      expect(got.rest!.map((m) => [m.subject, str(m.data)])).toEqual([
        [`${p}.x.a`, "one"],
        [`${p}.x.a.b`, "two"],
      ]);
      expect(got.rest![1]!.headers).toEqual({});
      expect(got.other).toEqual([]);
    });

    test("binary payloads arrive byte for byte", async () => {
      const bytes = new Uint8Array(256).map((_, i) => i);
      let received: Uint8Array | undefined;
      serving.subscribe(`${p}.bin`, (m) => {
        received = new Uint8Array(m.data);
      });
      await serving.ping();
      requesting.publish(`${p}.bin`, bytes);
      await waitFor(() => received !== undefined, "the binary message");
      expect(received).toEqual(bytes);
    });

    test("a queue group delivers each message to exactly one member; plain subscribers get all", async () => {
      const members = [0, 0];
      let plain = 0;
      serving.subscribe(`${p}.work`, () => void members[0]!++, { queue: "workers" });
      serving.subscribe(`${p}.work`, () => void members[1]!++, { queue: "workers" });
      serving.subscribe(`${p}.work`, () => void plain++);
      await serving.ping();

      for (let i = 0; i < 40; i++) requesting.publish(`${p}.work`, text(String(i)));
      await delivered(requesting, serving, p);

      expect(members[0]! + members[1]!).toBe(40);
      expect(members[0]).toBeGreaterThan(0);
      expect(members[1]).toBeGreaterThan(0);
      expect(plain).toBe(40);
    });

    test("two different queue groups on one subject each get every message once", async () => {
      const groups = { a: 0, b: 0 };
      serving.subscribe(`${p}.evt`, () => void groups.a++, { queue: "group-a" });
      serving.subscribe(`${p}.evt`, () => void groups.a++, { queue: "group-a" });
      serving.subscribe(`${p}.evt`, () => void groups.b++, { queue: "group-b" });
      await serving.ping();
      for (let i = 0; i < 10; i++) requesting.publish(`${p}.evt`, text(String(i)));
      await delivered(requesting, serving, p);
      expect(groups).toEqual({ a: 10, b: 10 });
    });

    test("every plain subscriber receives every message, in order", async () => {
      const received: string[][] = [[], [], []];
      for (const list of received) serving.subscribe(`${p}.fan`, (m) => void list.push(str(m.data)));
      await serving.ping();
      const sent = Array.from({ length: 10 }, (_, i) => `m${i}`);
      for (const m of sent) requesting.publish(`${p}.fan`, text(m));
      await delivered(requesting, serving, p);
      expect(received).toEqual([sent, sent, sent]);
    });

    test("unsubscribe stops delivery", async () => {
      let count = 0;
      const sub = serving.subscribe(`${p}.once`, () => void count++);
      await serving.ping();
      requesting.publish(`${p}.once`, text("1"));
      await delivered(requesting, serving, p);
      sub.unsubscribe();
      await serving.ping();
      requesting.publish(`${p}.once`, text("2"));
      await delivered(requesting, serving, p);
      expect(count).toBe(1);
    });

    test("a failing subscriber does not stop later deliveries", async () => {
      const seen: string[] = [];
      serving.subscribe(`${p}.flaky`, (m) => {
        seen.push(str(m.data));
        if (str(m.data) === "bad") throw new Error("handler failure");
      });
      await serving.ping();
      requesting.publish(`${p}.flaky`, text("bad"));
      requesting.publish(`${p}.flaky`, text("good"));
      await delivered(requesting, serving, p);
      expect(seen).toEqual(["bad", "good"]);
    });

    test("serve and request round-trip with headers both ways", async () => {
      serving.serve(`${p}.echo`, async (m) => ({
        data: text(str(m.data).toUpperCase()),
        headers: { "x-seen": m.headers["x-request"] ?? "none", "x-subject": m.subject },
      }));
      await serving.ping();
      const reply = await requesting.request(`${p}.echo`, text("hello"), { timeoutMs: 2_000, headers: { "x-request": "r-42" } });
      expect(str(reply.data)).toBe("HELLO");
      expect(reply.subject).toBe(`${p}.echo`);
      expect(reply.headers).toEqual({ "x-seen": "r-42", "x-subject": `${p}.echo` });
    });

    test("a reply without headers has empty headers, and a responder may answer synchronously", async () => {
      serving.serve(`${p}.plain`, (m) => ({ data: m.data }));
      await serving.ping();
      const reply = await requesting.request(`${p}.plain`, text("same"), { timeoutMs: 2_000 });
      expect(str(reply.data)).toBe("same");
      expect(reply.headers).toEqual({});
    });

    test("requests made together each get their own reply, whatever order the replies come in", async () => {
      serving.serve(`${p}.shuffle`, async (m) => {
        const n = Number(str(m.data));
        await Bun.sleep((n * 7) % 5);
        return { data: text(`reply to ${n}`) };
      });
      await serving.ping();
      const asked = Array.from({ length: 40 }, (_, n) => n);
      const replies = await Promise.all(asked.map((n) => requesting.request(`${p}.shuffle`, text(String(n)), { timeoutMs: 2_000 })));
      expect(replies.map((r) => str(r.data))).toEqual(asked.map((n) => `reply to ${n}`));
    });

    test("a wildcard responder answers concrete subjects", async () => {
      serving.serve(`${p}.svc.*`, (m) => ({ data: text(m.subject) }));
      await serving.ping();
      const reply = await requesting.request(`${p}.svc.flags`, new Uint8Array(0), { timeoutMs: 2_000 });
      expect(str(reply.data)).toBe(`${p}.svc.flags`);
    });

    test("responders in a queue group answer each request exactly once", async () => {
      const answered = [0, 0];
      for (const i of [0, 1]) {
        serving.serve(
          `${p}.rpc`,
          (m) => {
            answered[i]!++;
            return { data: m.data };
          },
          { queue: "responders" },
        );
      }
      await serving.ping();
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) => requesting.request(`${p}.rpc`, text(String(i)), { timeoutMs: 2_000 })),
      );
      expect(replies.map((r) => str(r.data))).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
      await delivered(requesting, serving, p);
      expect(answered[0]! + answered[1]!).toBe(20);
      expect(answered[0]).toBeGreaterThan(0);
      expect(answered[1]).toBeGreaterThan(0);
    });

    test("a request nobody serves fails with no_responders", async () => {
      const error = await busErrorOf(requesting.request(`${p}.nobody`, text("?"), { timeoutMs: 2_000 }));
      expect(error.kind).toBe("no_responders");
    });

    test("a plain subscriber is not a responder", async () => {
      serving.subscribe(`${p}.listen`, () => {});
      await serving.ping();
      const error = await busErrorOf(requesting.request(`${p}.listen`, text("?"), { timeoutMs: 300 }));
      // NATS reports no responders only when nobody at all listens; a plain subscriber never replies.
      expect(["no_responders", "timeout"]).toContain(error.kind);
    });

    test("a responder slower than timeoutMs fails the request with timeout", async () => {
      serving.serve(`${p}.slow`, async (m) => {
        await Bun.sleep(300);
        return { data: m.data };
      });
      await serving.ping();
      const error = await busErrorOf(requesting.request(`${p}.slow`, text("late"), { timeoutMs: 50 }));
      expect(error.kind).toBe("timeout");
    });

    test("a responder that throws sends no reply and keeps serving", async () => {
      serving.serve(`${p}.throws`, (m) => {
        if (str(m.data) === "fail") throw new Error("responder failure");
        return { data: text("fine") };
      });
      await serving.ping();
      const error = await busErrorOf(requesting.request(`${p}.throws`, text("fail"), { timeoutMs: 200 }));
      expect(error.kind).toBe("timeout");
      const reply = await requesting.request(`${p}.throws`, text("ok"), { timeoutMs: 2_000 });
      expect(str(reply.data)).toBe("fine");
    });

    test("drain lets an in-flight responder's reply arrive", async () => {
      let started = false;
      let finished = false;
      serving.serve(`${p}.drain`, async (m) => {
        started = true;
        await Bun.sleep(200);
        finished = true;
        return { data: text(`done:${str(m.data)}`) };
      });
      await serving.ping();
      const pending = requesting.request(`${p}.drain`, text("x"), { timeoutMs: 5_000 });
      await Bun.sleep(50);
      await waitFor(() => started, "the responder to start");
      expect(finished).toBe(false);
      await serving.drain();
      expect(finished).toBe(true);
      const reply = await pending;
      expect(str(reply.data)).toBe("done:x");
    });

    test("gather asks every responder, one per queue group, and answers every reply", async () => {
      serving.serve(`${p}.many`, (m) => ({ data: text(`a:${str(m.data)}`) }));
      serving.serve(`${p}.many`, (m) => ({ data: text(`b:${str(m.data)}`), headers: { "x-from": "b" } }));
      serving.serve(`${p}.many`, () => ({ data: text("q1") }), { queue: "group" });
      serving.serve(`${p}.many`, () => ({ data: text("q2") }), { queue: "group" });
      await serving.ping();
      const replies = await requesting.gather(`${p}.many`, text("x"), { timeoutMs: 5_000, quietMs: 1_000 });
      const bodies = replies.map((r) => str(r.data)).sort();
      expect(bodies).toHaveLength(3);
      expect(bodies.slice(0, 2)).toEqual(["a:x", "b:x"]);
      expect(["q1", "q2"]).toContain(bodies[2]!);
      expect(replies.find((r) => str(r.data) === "b:x")!.headers["x-from"]).toBe("b");
    });

    test("gather with nobody serving answers no replies, without waiting for the limit", async () => {
      // The limit is past this test's own: waiting for it would fail the test.
      expect(await requesting.gather(`${p}.nobody`, text("x"), { timeoutMs: 120_000, quietMs: 120_000 })).toEqual([]);
    }, 10_000);

    test("gather leaves out a responder that answers after the time limit", async () => {
      serving.serve(`${p}.slow`, () => ({ data: text("fast") }));
      serving.serve(`${p}.slow`, async () => {
        await Bun.sleep(1_500);
        return { data: text("slow") };
      });
      await serving.ping();
      const replies = await requesting.gather(`${p}.slow`, text("x"), { timeoutMs: 500, quietMs: 400 });
      expect(replies.map((r) => str(r.data))).toEqual(["fast"]);
    });

    test("a drained bus refuses publish, request and ping with closed", async () => {
      await requesting.drain();
      expect(() => requesting.publish(`${p}.closed`, text("x"))).toThrow(BusError);
      try {
        requesting.publish(`${p}.closed`, text("x"));
      } catch (e) {
        expect((e as BusError).kind).toBe("closed");
      }
      expect((await busErrorOf(requesting.request(`${p}.closed`, text("x"), { timeoutMs: 500 }))).kind).toBe("closed");
      expect((await busErrorOf(requesting.ping())).kind).toBe("closed");
    });

    // With one in-process bus the requester is drained too: the test above covers it.
    if (name === "nats") {
      test("a drained bus no longer answers requests from other connections", async () => {
        serving.serve(`${p}.gone`, (m) => ({ data: m.data }));
        await serving.ping();
        expect(str((await requesting.request(`${p}.gone`, text("x"), { timeoutMs: 2_000 })).data)).toBe("x");
        await serving.drain();
        const error = await busErrorOf(requesting.request(`${p}.gone`, text("x"), { timeoutMs: 1_000 }));
        expect(error.kind).toBe("no_responders");
      });
    }
  });
}

describe("NatsBus without echo", () => {
  test("a connection without echo does not hear its own messages; others hear them, and it hears theirs and its replies", async () => {
    const quiet = await connectNatsBus(nats!.url, "no-echo", silentLogger, { echo: false });
    const other = await connectNatsBus(nats!.url, "echo", silentLogger);
    try {
      const heard = { quiet: [] as string[], other: [] as string[] };
      quiet.subscribe("echo.test", (m) => void heard.quiet.push(str(m.data)));
      other.subscribe("echo.test", (m) => void heard.other.push(str(m.data)));
      other.serve("echo.answer", (m) => ({ data: m.data }));
      await Promise.all([quiet.ping(), other.ping()]);
      quiet.publish("echo.test", text("from quiet"));
      other.publish("echo.test", text("from other"));
      expect(str((await quiet.request("echo.answer", text("asked"), { timeoutMs: 2_000 })).data)).toBe("asked");
      await waitFor(() => heard.other.length === 2 && heard.quiet.length === 1, "both messages to arrive", 2_000);
      await Promise.all([quiet.ping(), other.ping()]);
      // Two connections' messages reach the server in either order.
      expect({ quiet: heard.quiet, other: heard.other.sort() }).toEqual({ quiet: ["from other"], other: ["from other", "from quiet"] });
    } finally {
      await Promise.allSettled([quiet.drain(), other.drain()]);
    }
  });
});

describe("NatsBus across a server restart", () => {
  test("reconnect listeners fire and request/reply works again", async () => {
    const server = nats!;
    const serving = await connectNatsBus(server.url, "restart-serving", silentLogger);
    const requesting = await connectNatsBus(server.url, "restart-requesting", silentLogger);
    try {
      const reconnects = { serving: 0, requesting: 0 };
      serving.onReconnect(() => void reconnects.serving++);
      requesting.onReconnect(() => void reconnects.requesting++);
      serving.serve("restart.echo", (m) => ({ data: m.data, headers: { "x-from": "serving" } }));
      await serving.ping();
      expect(str((await requesting.request("restart.echo", text("before"), { timeoutMs: 2_000 })).data)).toBe("before");

      await server.stop();
      await server.start();
      await waitFor(() => reconnects.serving > 0 && reconnects.requesting > 0, "both connections to come back", 15_000);
      await serving.ping(5_000);

      const reply = await requesting.request("restart.echo", text("after"), { timeoutMs: 2_000 });
      expect(str(reply.data)).toBe("after");
      expect(reply.headers).toEqual({ "x-from": "serving" });
      expect(reconnects).toEqual({ serving: 1, requesting: 1 });
    } finally {
      await Promise.allSettled([serving.drain(), requesting.drain()]);
    }
  });
});
