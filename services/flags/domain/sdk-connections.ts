/**
 * The SDK connections of an environment (`GET /api/v2/projects/{projectKey}/environments/
 * {environmentKey}/sdk-connections`): the open streams and recently polling SDKs every streaming
 * instance serves for it, grouped per instance, kind and SDK, with totals and how many instances
 * answered. The streaming instances are asked at once, with a short time limit
 * (`sdk-connections-client.ts`); one that did not answer in time is not in the answer, which says so
 * by its count. Credentials and client addresses are never part of it.
 */
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { notFound } from "@vexil/shared/errors";
import { link } from "@vexil/shared/http/links";
import type { SdkConnectionKind, SdkConnectionsReply } from "@vexil/shared/sdk-connections";
import type { FlagsContext } from "./context.ts";
import { environmentPath } from "./representations.ts";

/** Asks every streaming instance about one environment; answers the replies that came back in time. */
export interface SdkConnectionSource {
  gather(environmentId: string): Promise<SdkConnectionsReply[]>;
}

const KIND_ORDER: Record<SdkConnectionKind, number> = { "server-stream": 0, "client-stream": 1, "mobile-stream": 2, "server-polling": 3, "client-polling": 4, "mobile-polling": 5 };
const isStream = (kind: SdkConnectionKind) => kind.endsWith("-stream");

export async function getSdkConnections(ctx: FlagsContext, caller: Caller, projectKey: string, envKey: string) {
  authorizeRead(caller);
  const project = await ctx.store.projectByKey(projectKey);
  if (!project) throw notFound(`Project "${projectKey}"`);
  const env = await ctx.store.environmentByKey(project.id, envKey);
  if (!env) throw notFound(`Environment "${envKey}" in project "${project.key}"`);
  const replies = ((await ctx.sdkConnections?.gather(env.id)) ?? []).sort((a, b) => a.instance.localeCompare(b.instance));
  const items = replies
    .flatMap((r) => r.groups.map((g) => ({ instance: r.instance, ...g })))
    .sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || b.count - a.count || a.sdk.name.localeCompare(b.sdk.name) || a.instance.localeCompare(b.instance));
  const streamsOf = (kind: SdkConnectionKind) => items.filter((i) => i.kind === kind).reduce((n, i) => n + i.count, 0);
  const sdks = new Set(items.map((i) => JSON.stringify([i.sdk, i.wrapper])));
  const self = `${environmentPath(project.key, env.key)}/sdk-connections`;
  return {
    items,
    totals: {
      streams: items.filter((i) => isStream(i.kind)).reduce((n, i) => n + i.count, 0),
      serverStreams: streamsOf("server-stream"),
      clientStreams: streamsOf("client-stream"),
      mobileStreams: streamsOf("mobile-stream"),
      pollingRequests: items.filter((i) => !isStream(i.kind)).reduce((n, i) => n + i.count, 0),
      sdks: sdks.size,
    },
    instancesAnswered: replies.length,
    instances: replies.map((r) => ({ instance: r.instance, environmentSeq: r.environmentSeq, streams: r.groups.filter((g) => isStream(g.kind)).reduce((n, g) => n + g.count, 0) })),
    pollingWindowMs: replies[0]?.pollingWindowMs ?? null,
    _links: { parent: link(environmentPath(project.key, env.key)), self: link(self) },
  };
}
