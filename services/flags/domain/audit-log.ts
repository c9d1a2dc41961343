/**
 * The audit log API: `GET /api/v2/auditlog` and `GET /api/v2/auditlog/{id}`. The list is newest
 * first, by date and then id, and pages by `before`: the next page's link carries the last entry's
 * date and, as `beforeId`, its id, so entries sharing that millisecond are neither lost nor
 * repeated across the boundary.
 */
import { auditEntryDetailRep as detailRep, auditEntryRep as entryRep, AUDIT_LOG_PATH } from "@vexil/shared/audit/representation";
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { invalidRequest, notFound } from "@vexil/shared/errors";
import { link } from "@vexil/shared/http/links";
import { parseSpecifier } from "@vexil/shared/policy";
import type { AuditReader } from "../storage/audit-reader.ts";

const PATH = AUDIT_LOG_PATH;

const time = (name: string, raw: string | undefined) => {
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw invalidRequest(`${name} must be a time in unix milliseconds`);
  return Number(raw);
};

/** A resource specifier as a LIKE pattern over stored specifiers (name globs; selectors are not stored). */
function specPattern(spec: string): string {
  parseSpecifier(spec.replace(/\s/g, ""));
  return spec
    .split(":")
    .map((scope) => scope.replace(/;.*$/, ""))
    .join(":")
    .replace(/[\\%_]/g, (c) => `\\${c}`)
    .replaceAll("*", "%");
}

/** An entry's id (`sortableId`): 24 lowercase hex digits. */
const ENTRY_ID = /^[0-9a-f]{24}$/;

export interface AuditListParams {
  before?: string;
  beforeId?: string;
  after?: string;
  q?: string;
  limit?: string;
  spec?: string;
}

export async function listAuditLog(reader: AuditReader, caller: Caller, params: AuditListParams) {
  authorizeRead(caller);
  const before = time("before", params.before);
  const after = time("after", params.after);
  let beforeId: string | undefined;
  if (params.beforeId !== undefined && params.beforeId !== "") {
    if (!ENTRY_ID.test(params.beforeId)) throw invalidRequest("beforeId must be the id of an audit log entry (24 hex digits)");
    if (before === undefined) throw invalidRequest("beforeId needs before: the date of the entry it names");
    beforeId = params.beforeId;
  }
  let limit = 10;
  if (params.limit !== undefined && params.limit !== "") {
    if (!/^\d+$/.test(params.limit) || Number(params.limit) < 1 || Number(params.limit) > 20) throw invalidRequest("limit must be a whole number from 1 to 20");
    limit = Number(params.limit);
  }
  let specLike: string | undefined;
  if (params.spec) {
    try {
      specLike = specPattern(params.spec);
    } catch (e) {
      throw invalidRequest(`spec: ${(e as Error).message}`);
    }
  }
  const entries = await reader.listAudit({ before, beforeId, after, q: params.q || undefined, specLike, limit: limit + 1 });
  const page = entries.slice(0, limit);
  const links: Record<string, ReturnType<typeof link>> = { self: link(PATH) };
  if (entries.length > limit) {
    const query = new URLSearchParams();
    if (after !== undefined) query.set("after", String(after));
    const last = page.at(-1)!;
    query.set("before", String(last.date));
    query.set("beforeId", last.id);
    query.set("limit", String(limit));
    if (params.q) query.set("q", params.q);
    if (params.spec) query.set("spec", params.spec);
    query.sort();
    links.next = link(`${PATH}?${query.toString()}`);
  }
  return { items: page.map(entryRep), _links: links };
}

export async function getAuditEntry(reader: AuditReader, caller: Caller, id: string) {
  authorizeRead(caller);
  const entry = await reader.auditById(id);
  if (!entry) throw notFound(`Audit log entry "${id}"`);
  return detailRep(entry);
}
