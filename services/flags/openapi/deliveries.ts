/** The documented answer of a flag's delivery receipts (`domain/flags/deliveries.ts` builds it) and its operation's prose. */
import { Type as T } from "@sinclair/typebox";
import { LinkRep, Ref } from "@vexil/shared/http/openapi";

const closed = { additionalProperties: false } as const;
const ms = (description: string) => T.Number({ minimum: 0, description });

export const deliveryComponents = {
  FlagChangeDelivery: T.Object(
    {
      environmentKey: T.String(),
      version: T.Integer({ description: "The flag's version in the environment after the change" }),
      committedAt: T.Integer({ description: "When the change was written (epoch ms)" }),
      streams: T.Integer({ minimum: 0, description: "SDK streams the change was written to, on every streaming instance together" }),
      instances: T.Array(
        T.Object(
          {
            instance: T.String({ description: "The streaming instance (`host:pid`)" }),
            streams: T.Integer({ minimum: 0 }),
            deliveredAt: T.Integer({ description: "When the instance had written the change to all those streams (epoch ms)" }),
            lagMs: ms("deliveredAt − committedAt"),
          },
          closed,
        ),
      ),
      lagMs: T.Optional(T.Object({ p50: ms("Median over the streams"), p99: ms("99th percentile over the streams"), max: ms("The slowest stream") }, { ...closed, description: "Over every stream reached, each at its instance's lag; absent when no stream was reached" })),
    },
    closed,
  ),
  FlagDeliveries: T.Object({ items: T.Array(Ref("FlagChangeDelivery"), { description: "Newest change first" }), _links: T.Object({ parent: LinkRep, self: LinkRep }, closed) }, closed),
};

export const deliveriesOperation = {
  summary: "Get how a flag's recent changes reached SDK streams",
  description: [
    "For each recent change of the flag (the last 20 per environment that this flags instance heard of since it started), the streaming instances' receipts:",
    "how many SDK streams each wrote the change to and when, and the delivery lag from the change's commit over all those streams.",
    "Instances with no stream of the environment send no receipt. `env` (comma-separated or repeated) keeps only those environments; an unknown one is a 404.",
  ].join(" "),
};
