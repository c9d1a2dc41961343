/** The documented answers of the audit log (`entryRep` and `detailRep` in `domain/audit-log.ts` build them). */
import { Type as T } from "@sinclair/typebox";
import { Ref } from "@vexil/shared/http/openapi";

const Link = (description?: string) => T.Object({ href: T.String(), type: T.String() }, { additionalProperties: false, ...(description ? { description } : {}) });

const entryFields = {
  _links: T.Object({ self: Link(), parent: Link("The audit log") }, { additionalProperties: false }),
  _id: T.String(),
  _accountId: T.String({ description: "Always empty: there is one account" }),
  date: T.Integer({ description: "Unix milliseconds" }),
  accesses: T.Array(
    T.Object(
      { action: T.String({ description: "The policy action taken, e.g. `updateOn`, `createSegment`" }), resource: T.String({ description: "The resource specifier it was taken on" }) },
      { additionalProperties: false },
    ),
  ),
  kind: T.String({ description: "The kind of resource changed: `project`, `environment`, `flag`, `segment`, `token`, `member`, `role`, …" }),
  name: T.String({ description: "The changed resource's name" }),
  description: T.String(),
  shortDescription: T.String({ description: "The same as `title`" }),
  comment: T.Optional(T.String({ description: "The comment given with the change; absent when none was" })),
  member: T.Optional(
    T.Object(
      { _id: T.String(), email: T.Optional(T.String()), _links: T.Object({ self: Link() }, { additionalProperties: false }) },
      { additionalProperties: false, description: "The member who made the change, directly or through a personal token" },
    ),
  ),
  token: T.Optional(
    T.Object(
      { _id: T.String(), name: T.Optional(T.String()), serviceToken: T.Boolean() },
      { additionalProperties: false, description: "The access token the change was made with; absent for sessions" },
    ),
  ),
  title: T.String({ description: "Who did what, e.g. `token \"ci\" updated the flag Checkout`" }),
  target: T.Object({ name: T.String(), resources: T.Array(T.String(), { description: "The changed resource's specifier, e.g. `proj/p:env/e:flag/k`" }) }, { additionalProperties: false }),
};

export const AuditLogEntryListingRep = T.Object(entryFields, { additionalProperties: false });

export const AuditLogEntryRep = T.Object(
  {
    ...entryFields,
    delta: T.Optional(T.Unknown({ description: "What made the change: the JSON Patch, merge patch, semantic patch instructions or body" })),
    previousVersion: T.Optional(T.Unknown({ description: "The resource's representation before the change; absent for creations" })),
    currentVersion: T.Optional(T.Unknown({ description: "The resource's representation after the change; absent for deletions" })),
    _previousVersionNumber: T.Optional(T.Integer({ description: "The resource's version before the change, where it has one" })),
    _currentVersionNumber: T.Optional(T.Integer({ description: "The resource's version after the change, where it has one" })),
  },
  { additionalProperties: false },
);

export const AuditLogEntries = T.Object(
  {
    items: T.Array(Ref("AuditLogEntryListing"), { description: "Newest first" }),
    _links: T.Object(
      { self: Link(), next: T.Optional(Link("The next (older) page, when there is one: the same filters with `before` the date of this page's last entry")) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: "A page of entries; the log has no total count" },
);

export const auditLogComponents = {
  AuditLogEntries,
  AuditLogEntryListing: AuditLogEntryListingRep,
  AuditLogEntry: AuditLogEntryRep,
};
