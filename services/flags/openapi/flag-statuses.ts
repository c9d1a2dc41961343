/** The documented answers of flag statuses (`domain/flags/flag-statuses.ts` builds them) and their operations' prose. */
import { Type as T } from "@sinclair/typebox";
import { LinkRep, Ref } from "@vexil/shared/http/openapi";
import { STATUS_NAMES } from "../domain/flags/statuses.ts";

const closed = { additionalProperties: false } as const;

const statusFields = {
  name: T.Union(
    STATUS_NAMES.map((n) => T.Literal(n)),
    { description: "`new`, `inactive`, `active` or `launched` (see the operation)" },
  ),
  lastRequested: T.Optional(T.String({ format: "date-time", description: "When SDKs last reported evaluating the flag here (ISO-8601); absent if never" })),
  default: T.Optional(T.Unknown({ description: "The default value SDKs last reported passing for the flag; absent if none did" })),
};

export const FlagStatusRep = T.Object(
  {
    ...statusFields,
    _links: T.Object({ parent: LinkRep, self: LinkRep }, { ...closed, description: "`parent` is the flag: clients read the flag's key from it" }),
  },
  closed,
);

export const flagStatusComponents = {
  FlagStatusRep,
  FeatureFlagStatuses: T.Object({ _links: T.Object({ self: LinkRep }, closed), items: T.Array(Ref("FlagStatusRep"), { description: "One per flag of the project (archived flags left out), in key order" }) }, closed),
  FeatureFlagStatus: T.Object(statusFields, closed),
  FeatureFlagStatusAcrossEnvironments: T.Object(
    {
      key: T.String(),
      environments: T.Record(T.String(), Ref("FeatureFlagStatus"), { description: "By environment key" }),
      _links: T.Object({ parent: LinkRep, self: LinkRep }, closed),
    },
    closed,
  ),
};

const RULES = [
  "Decided per environment over the last 7 days from what SDKs report in their analytics events.",
  "Not requested in that time: `new` if the flag was created in it, otherwise `inactive`.",
  "Requested: `launched` if the flag is on, every evaluation reported in that time got the same variation, and its targeting in the environment did not change in that time; otherwise `active`.",
  "Reports reach the statuses in batches (every 30 s by default).",
].join(" ");

export const statusOperations = {
  list: { summary: "List a project's flag statuses in one environment", description: `${RULES} Items carry no flag key: it is the last segment of \`_links.parent\`.` },
  one: { summary: "Get a flag's status in one environment", description: RULES },
  across: { summary: "Get a flag's status in every environment", description: `${RULES} \`env\` (comma-separated or repeated) keeps only those environments; an unknown one is a 404.` },
};
