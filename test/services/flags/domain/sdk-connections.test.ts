/** An environment's SDK connections from the streaming instances' replies: merged, ordered, totalled; refusals first. */
import { describe, expect, test } from "bun:test";
import type { Caller } from "@vexil/shared/caller";
import type { SdkConnectionGroup, SdkConnectionsReply } from "@vexil/shared/sdk-connections";
import { getSdkConnections } from "@vexil/flags/domain/sdk-connections";
import { admin, memoryContext, reader, rejection } from "./memory-context.ts";

const group = (kind: SdkConnectionGroup["kind"], name: string, count: number, lastEventSeq = 7): SdkConnectionGroup => ({
  kind,
  sdk: { name, version: "1.0.0" },
  wrapper: null,
  count,
  connectedSince: 1_000,
  lastEventSeq,
  lastSeen: 2_000,
});

async function contextWith(replies: (environmentId: string) => SdkConnectionsReply[]) {
  const { ctx } = await memoryContext();
  const asked: string[] = [];
  ctx.sdkConnections = {
    gather: async (environmentId) => {
      asked.push(environmentId);
      return replies(environmentId);
    },
  };
  return { ctx, asked };
}

describe("SDK connections of an environment", () => {
  test("the replies of every instance, streams first by kind then polling, the largest first; totals and instances", async () => {
    const reply = (instance: string, groups: SdkConnectionGroup[], environmentId: string): SdkConnectionsReply => ({ v: 1, instance, environmentId, environmentSeq: 7, pollingWindowMs: 300_000, groups });
    const { ctx, asked } = await contextWith((id) => [
      reply("b:2", [group("server-polling", "Go", 5), group("server-stream", "Node", 1), group("client-stream", "JSClient", 4)], id),
      reply("a:1", [group("server-stream", "Node", 3, 6), group("mobile-stream", "iOS", 2)], id),
    ]);
    const answer = await getSdkConnections(ctx, reader, "shop", "production");
    const production = (await ctx.store.environmentByKey((await ctx.store.projectByKey("shop"))!.id, "production"))!;
    expect(asked).toEqual([production.id]);
    expect(answer.items.map((i) => [i.instance, i.kind, i.sdk.name, i.count])).toEqual([
      ["a:1", "server-stream", "Node", 3],
      ["b:2", "server-stream", "Node", 1],
      ["b:2", "client-stream", "JSClient", 4],
      ["a:1", "mobile-stream", "iOS", 2],
      ["b:2", "server-polling", "Go", 5],
    ]);
    expect(answer.totals).toEqual({ streams: 10, serverStreams: 4, clientStreams: 4, mobileStreams: 2, pollingRequests: 5, sdks: 4 });
    expect(answer.instancesAnswered).toBe(2);
    expect(answer.instances).toEqual([
      { instance: "a:1", environmentSeq: 7, streams: 5 },
      { instance: "b:2", environmentSeq: 7, streams: 5 },
    ]);
    expect(answer.pollingWindowMs).toBe(300_000);
    expect(answer._links.self.href).toBe("/api/v2/projects/shop/environments/production/sdk-connections");
  });

  test("no streaming instance answering: an empty answer that says so", async () => {
    const { ctx } = await contextWith(() => []);
    expect(await getSdkConnections(ctx, admin, "shop", "test")).toMatchObject({ items: [], instancesAnswered: 0, instances: [], pollingWindowMs: null, totals: { streams: 0, sdks: 0 } });
  });

  test("unknown project or environment: 404; a caller who may read nothing: 403; the instances are not asked", async () => {
    const { ctx, asked } = await contextWith(() => []);
    expect((await rejection(getSdkConnections(ctx, admin, "nope", "production"))).code).toBe("not_found");
    expect((await rejection(getSdkConnections(ctx, admin, "shop", "nope"))).code).toBe("not_found");
    const nobody: Caller = { ...reader, grants: [{ base: "no_access", statements: [] }] };
    expect((await rejection(getSdkConnections(ctx, nobody, "shop", "production"))).code).toBe("forbidden");
    expect(asked).toEqual([]);
  });
});
