/**
 * An audit entry as the API shows it (LaunchDarkly's `AuditLogEntryRep`): the summary of the audit
 * log list, and the detail of `GET /api/v2/auditlog/{id}`, which is also the body of a webhook
 * delivery.
 */
import { link } from "../http/links.ts";
import { previousOf, type AuditEntry } from "./audit.ts";

export const AUDIT_LOG_PATH = "/api/v2/auditlog";

export function auditEntryRep(e: AuditEntry) {
  return {
    _links: { self: link(`${AUDIT_LOG_PATH}/${e.id}`), parent: link(AUDIT_LOG_PATH) },
    _id: e.id,
    _accountId: "",
    date: e.date,
    accesses: e.accesses,
    kind: e.kind,
    name: e.name,
    description: e.description,
    shortDescription: e.title,
    comment: e.comment ?? undefined,
    member: e.memberId ? { _id: e.memberId, email: e.memberEmail ?? undefined, _links: { self: link(`/api/v2/members/${e.memberId}`) } } : undefined,
    token: e.tokenId ? { _id: e.tokenId, name: e.tokenName ?? undefined, serviceToken: e.serviceToken } : undefined,
    title: e.title,
    target: { name: e.name, resources: [e.spec] },
  };
}

export function auditEntryDetailRep(e: AuditEntry) {
  return {
    ...auditEntryRep(e),
    delta: e.delta ?? undefined,
    previousVersion: previousOf(e) ?? undefined,
    currentVersion: e.current ?? undefined,
    _previousVersionNumber: e.previousVersion ?? undefined,
    _currentVersionNumber: e.currentVersion ?? undefined,
  };
}
