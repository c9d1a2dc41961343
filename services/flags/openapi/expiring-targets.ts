/** The documented bodies and answers of expiring targets (`domain/expiring/representation.ts` builds them). */
import { Type as T, type TSchema } from "@sinclair/typebox";
import { LinkRep, Ref } from "@vexil/shared/http/openapi";
import { EXPIRING_CONTEXT_KINDS, EXPIRING_USER_KINDS, MAX_EXPIRING_INSTRUCTIONS } from "../domain/expiring/instructions.ts";

const closed = { additionalProperties: false } as const;
const Millis = (description: string) => T.Integer({ description: `${description} (epoch milliseconds)` });

const ResourceId = T.Object(
  {
    environmentKey: T.String(),
    key: T.String({ description: "The flag's or the segment's key" }),
    kind: T.Union([T.Literal("flag"), T.Literal("segment")]),
    projectKey: T.String(),
    flagKey: T.Optional(T.String({ description: "Deprecated: the same as `key`, for flags" })),
  },
  closed,
);

const common = {
  _id: T.String(),
  _version: T.Integer({ description: "Raised by every update; `version` in `update…` instructions must equal it when given" }),
  expirationDate: Millis("When the context is removed"),
  variationId: T.Optional(T.String({ description: "Flags: the variation that targets the context" })),
  targetType: T.Optional(T.Union([T.Literal("included"), T.Literal("excluded")], { description: "Segments: the list the context is in" })),
  _resourceId: ResourceId,
};

export const ExpiringTargetRep = T.Object({ ...common, contextKind: T.String(), contextKey: T.String() }, closed);
export const ExpiringUserTargetRep = T.Object({ ...common, userKey: T.String() }, closed);

const ErrorItem = T.Object({ instructionIndex: T.Integer({ minimum: 0 }), message: T.String() }, closed);
const links = T.Object({ self: LinkRep }, closed);
const got = (item: string, description: string) => T.Object({ items: T.Array(Ref(item), { description }), _links: links }, closed);
const patched = (item: string) =>
  T.Object(
    {
      items: T.Array(Ref(item), { description: "Every expiring target after the request, by date" }),
      _links: links,
      totalInstructions: T.Integer({ minimum: 0 }),
      successfulInstructions: T.Integer({ minimum: 0 }),
      failedInstructions: T.Integer({ minimum: 0 }),
      errors: T.Array(ErrorItem, { description: "The instructions that failed; the others were applied" }),
    },
    closed,
  );

export const expiringTargetComponents = {
  ExpiringTarget: ExpiringTargetRep,
  ExpiringUserTargetItem: ExpiringUserTargetRep,
  ExpiringTargetGetResponse: got("ExpiringTarget", "By date"),
  ExpiringTargetPatchResponse: patched("ExpiringTarget"),
  ExpiringUserTargetGetResponse: got("ExpiringUserTargetItem", "By date; user contexts only"),
  ExpiringUserTargetPatchResponse: patched("ExpiringUserTargetItem"),
};

/** The semantic-patch body of an expiring-target PATCH, with its kinds and what names the context. */
export function expiringPatchBody(kinds: readonly string[], parameters: Record<string, TSchema>, description: string) {
  return T.Object(
    {
      comment: T.Optional(T.String({ maxLength: 4096 })),
      instructions: T.Array(T.Object({ kind: T.Union(kinds.map((k) => T.Literal(k))), ...parameters, value: T.Optional(Millis("The removal date, for `add…` and `update…`")), version: T.Optional(T.Integer()) }, { additionalProperties: false }), {
        minItems: 1,
        maxItems: MAX_EXPIRING_INSTRUCTIONS,
      }),
    },
    { description },
  );
}

const s = T.String();
export const PATCH_BODIES = {
  flagContexts: expiringPatchBody(EXPIRING_CONTEXT_KINDS, { variationId: s, contextKey: s, contextKind: T.Optional(s) }, "`addExpiringTarget`, `updateExpiringTarget`, `removeExpiringTarget`"),
  flagUsers: expiringPatchBody(EXPIRING_USER_KINDS, { variationId: s, userKey: s }, "`addExpireUserTargetDate`, `updateExpireUserTargetDate`, `removeExpireUserTargetDate`"),
  segmentContexts: expiringPatchBody(EXPIRING_CONTEXT_KINDS, { targetType: T.Union([T.Literal("included"), T.Literal("excluded")]), contextKey: s, contextKind: T.Optional(s) }, "`addExpiringTarget`, `updateExpiringTarget`, `removeExpiringTarget`"),
  segmentUsers: expiringPatchBody(EXPIRING_USER_KINDS, { targetType: T.Union([T.Literal("included"), T.Literal("excluded")]), userKey: s }, "`addExpireUserTargetDate`, `updateExpireUserTargetDate`, `removeExpireUserTargetDate`"),
  users: expiringPatchBody(EXPIRING_USER_KINDS, { flagKey: s, variationId: s }, "`addExpireUserTargetDate`, `updateExpireUserTargetDate`, `removeExpireUserTargetDate`, each naming its flag"),
};

export const EXPIRING_DOCS = {
  get: "The removal dates of individually targeted contexts, by date. A context is removed at its date as an ordinary change that SDKs see, and its record goes; removing the target by hand removes its date too.",
  patch: [
    "A semantic patch (the `Content-Type` must say so; 400 otherwise). Each instruction is applied on its own: a well-formed request whose instructions fail answers 200 with them in `errors` and the others applied.",
    "`add…` needs the context individually targeted there and a date in the future; one date per context per flag and environment (per segment); `update…` with `version` applies only to that `_version`; `remove…` cancels the date and leaves the context targeted.",
    "Instructions that are not objects of a known kind, or more than 1000, make the whole request a 400. Takes `updateExpiringTargets`.",
  ].join(" "),
  users: "The user's removal dates on every flag of the project in the environment (deprecated in LaunchDarkly). A PATCH's instructions each name their flag (`flagKey`); an instruction whose flag does not exist or may not be changed fails alone.",
};
