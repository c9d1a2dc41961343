/** This instance's SDK connections: who an SDK says it is, streams grouped per SDK, polling SDKs in their window. */
import { describe, expect, test } from "bun:test";
import { connectionsReplyOf } from "@vexil/shared/sdk-connections";
import { SdkConnections, identityOf, sdkOf } from "@vexil/streaming/sdk-connections";

describe("what an SDK calls itself", () => {
  test("the first product of the header, kept short and printable", () => {
    expect(identityOf("NodeJSClient/9.7.1")).toEqual({ name: "NodeJSClient", version: "9.7.1" });
    expect(identityOf("Mozilla/5.0 (X11; Linux x86_64) Chrome/120")).toEqual({ name: "Mozilla", version: "5.0" });
    expect(identityOf("JSClient")).toEqual({ name: "JSClient", version: null });
    expect(identityOf("Go/<script>")).toEqual({ name: "Go", version: null });
    expect(identityOf("a/b/c")).toBeUndefined();
    expect(identityOf("<b>x</b>")).toBeUndefined();
    expect(identityOf(`${"x".repeat(65)}/1`)).toBeUndefined();
    expect(identityOf("")).toBeUndefined();
    expect(identityOf(null)).toBeUndefined();
  });

  test("browser SDKs' own header wins over the browser's User-Agent; the wrapper is its own header", () => {
    const headers = new Headers({ "user-agent": "Mozilla/5.0 (X11)", "x-launchdarkly-user-agent": "JSClient/3.4.0", "x-launchdarkly-wrapper": "react-client-sdk/3.0.1" });
    expect(sdkOf(headers)).toEqual({ sdk: { name: "JSClient", version: "3.4.0" }, wrapper: { name: "react-client-sdk", version: "3.0.1" } });
    expect(sdkOf(new Headers())).toEqual({ sdk: { name: "unknown", version: null }, wrapper: null });
  });
});

describe("connections of an instance", () => {
  test("streams grouped per kind and SDK: count, oldest, lowest sequence number; closed ones gone", () => {
    let now = 1_000;
    const connections = new SdkConnections({ now: () => now });
    const node = new Headers({ "user-agent": "NodeJSClient/9.7.1" });
    const a = connections.opened("env", "server-stream", node, 4);
    now = 2_000;
    const b = connections.opened("env", "server-stream", node, 5);
    const c = connections.opened("env", "client-stream", new Headers({ "x-launchdarkly-user-agent": "JSClient/3.4.0" }), 5);
    connections.opened("other", "server-stream", node, 1);
    a.connection.seq = 6;
    expect(connections.report("env")).toEqual([
      { kind: "server-stream", sdk: { name: "NodeJSClient", version: "9.7.1" }, wrapper: null, count: 2, connectedSince: 1_000, lastEventSeq: 5, lastSeen: 2_000 },
      { kind: "client-stream", sdk: { name: "JSClient", version: "3.4.0" }, wrapper: null, count: 1, connectedSince: 2_000, lastEventSeq: 5, lastSeen: 2_000 },
    ]);
    b.closed();
    b.closed();
    c.closed();
    expect(connections.report("env").map((g) => [g.kind, g.count, g.lastEventSeq])).toEqual([["server-stream", 1, 6]]);
    expect(connections.streamCount("env")).toBe(1);
    expect(connections.streamCount("other")).toBe(1);
  });

  test("polling SDKs: requests in the window, first and last seen; forgotten after the window", () => {
    let now = 10_000;
    const connections = new SdkConnections({ now: () => now, pollingWindowMs: 60_000 });
    const go = new Headers({ "user-agent": "GoClient/7.0.0" });
    connections.polled("env", "server-polling", go, 3);
    now = 20_000;
    connections.polled("env", "server-polling", go, 4);
    connections.polled("env", "mobile-polling", new Headers({ "user-agent": "iOS/9.1.0" }), 4);
    expect(connections.report("env")).toEqual([
      { kind: "server-polling", sdk: { name: "GoClient", version: "7.0.0" }, wrapper: null, count: 2, connectedSince: 10_000, lastEventSeq: 4, lastSeen: 20_000 },
      { kind: "mobile-polling", sdk: { name: "iOS", version: "9.1.0" }, wrapper: null, count: 1, connectedSince: 20_000, lastEventSeq: 4, lastSeen: 20_000 },
    ]);
    // Past the window since the last request: gone; a request after that starts a new window.
    now = 80_001;
    expect(connections.report("env")).toEqual([]);
    connections.polled("env", "server-polling", go, 9);
    expect(connections.report("env").map((g) => [g.count, g.connectedSince])).toEqual([[1, 80_001]]);
  });

  test("polling SDKs per environment are bounded: the least recently seen go first", () => {
    const connections = new SdkConnections({ pollingPerEnvironment: 3 });
    for (const name of ["a", "b", "c", "a", "d"]) connections.polled("env", "server-polling", new Headers({ "user-agent": `${name}/1` }), 1);
    expect(connections.report("env").map((g) => g.sdk.name).sort()).toEqual(["a", "c", "d"]);
  });
});

describe("a streaming instance's reply", () => {
  const reply = { v: 1, instance: "host:1", environmentId: "env", environmentSeq: 3, pollingWindowMs: 300_000, groups: [{ kind: "server-stream", sdk: { name: "Node", version: null }, wrapper: null, count: 1, connectedSince: 1, lastEventSeq: 3, lastSeen: 1 }] };

  test("is taken only whole and for the environment asked about", () => {
    expect(connectionsReplyOf(reply, "env")).toEqual(reply as never);
    expect(connectionsReplyOf(reply, "other")).toBeUndefined();
    expect(connectionsReplyOf({ ...reply, v: 2 }, "env")).toBeUndefined();
    expect(connectionsReplyOf({ ...reply, groups: [{ ...reply.groups[0], kind: "carrier-pigeon" }] }, "env")).toBeUndefined();
    expect(connectionsReplyOf({ ...reply, groups: [{ ...reply.groups[0], count: -1 }] }, "env")).toBeUndefined();
    expect(connectionsReplyOf({ ...reply, environmentSeq: null }, "env")?.environmentSeq).toBeNull();
    expect(connectionsReplyOf("nonsense", "env")).toBeUndefined();
  });
});
