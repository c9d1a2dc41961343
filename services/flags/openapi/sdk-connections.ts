/** The documented answer of an environment's SDK connections (`domain/sdk-connections.ts` builds it) and its operation's prose. */
import { Type as T } from "@sinclair/typebox";
import { LinkRep, Ref } from "@vexil/shared/http/openapi";
import { CONNECTION_KINDS } from "@vexil/shared/sdk-connections";

const closed = { additionalProperties: false } as const;
const count = (description: string) => T.Integer({ minimum: 0, description });
const Identity = (what: string) => T.Object({ name: T.String({ description: `The ${what}'s name, as it gives it` }), version: T.Union([T.String(), T.Null()]) }, closed);

export const sdkConnectionComponents = {
  SdkConnectionGroup: T.Object(
    {
      instance: T.String({ description: "The streaming instance (`host:pid`)" }),
      kind: T.Union(
        CONNECTION_KINDS.map((k) => T.Literal(k)),
        { description: "Open streams of server-side, client-side or mobile SDKs, or polling SDKs seen in the polling window" },
      ),
      sdk: Identity("SDK"),
      wrapper: T.Union([Identity("wrapper"), T.Null()], { description: "From `X-LaunchDarkly-Wrapper`, when sent" }),
      count: count("Open streams; for polling, requests in the polling window"),
      connectedSince: T.Integer({ description: "When the oldest stream opened; for polling, the first request in the window (epoch ms)" }),
      lastEventSeq: T.Integer({ minimum: 0, description: "The environment's change sequence number every stream of the group is up to date with (the lowest of them); for polling, that of the last data served" }),
      lastSeen: T.Integer({ description: "The latest stream opened or polling request (epoch ms)" }),
    },
    closed,
  ),
  SdkConnections: T.Object(
    {
      items: T.Array(Ref("SdkConnectionGroup"), { description: "Per instance, kind and SDK: streams first (server, client, mobile), then polling; the largest first" }),
      totals: T.Object(
        {
          streams: count("Open streams on every instance that answered"),
          serverStreams: count("Of them, server-side SDKs' `/all` streams"),
          clientStreams: count("Client-side SDKs' `eval` streams"),
          mobileStreams: count("Mobile SDKs' `meval` streams"),
          pollingRequests: count("Polling requests in the polling window"),
          sdks: count("Distinct SDKs (name, version and wrapper)"),
        },
        closed,
      ),
      instancesAnswered: count("Streaming instances that answered in time; connections of others are not in this answer"),
      instances: T.Array(
        T.Object(
          {
            instance: T.String(),
            environmentSeq: T.Union([T.Integer({ minimum: 0 }), T.Null()], { description: "The sequence number of the environment's data the instance holds; null when it holds none" }),
            streams: count("Open streams of the environment on the instance"),
          },
          closed,
        ),
      ),
      pollingWindowMs: T.Union([T.Integer({ minimum: 0 }), T.Null()], { description: "How long a polling SDK stays listed after its last request; null when no instance answered" }),
      _links: T.Object({ parent: LinkRep, self: LinkRep }, closed),
    },
    closed,
  ),
};

export const sdkConnectionsOperation = {
  summary: "List the SDKs connected to an environment",
  description: [
    "The environment's open SDK streams and recently polling SDKs, as every streaming instance reports them right now, grouped per instance, kind and SDK",
    "(the SDK's `X-LaunchDarkly-User-Agent` or `User-Agent` and its `X-LaunchDarkly-Wrapper`), with totals.",
    "The instances are asked at once and the answer waits about a second at most: `instancesAnswered` says how many answered in time.",
    "No SDK key, mobile key or client address is ever shown. Needs read access.",
  ].join(" "),
};
