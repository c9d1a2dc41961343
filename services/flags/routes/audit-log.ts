/** Routes of `/api/v2/auditlog`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { getAuditEntry, listAuditLog } from "../domain/audit-log.ts";
import type { AuditReader } from "../storage/audit-reader.ts";
import { operation } from "@vexil/shared/http/openapi";

const Query = t.Object(
  {
    before: t.Optional(t.String()),
    beforeId: t.Optional(t.String({ maxLength: 64, description: "With `before`: the `_id` of the last entry of the page before; entries of that same millisecond with a smaller id come next" })),
    after: t.Optional(t.String()),
    q: t.Optional(t.String({ maxLength: 256 })),
    limit: t.Optional(t.String()),
    spec: t.Optional(t.String({ maxLength: 1024 })),
  },
  { additionalProperties: true },
);

export function auditLogRoutes(reader: AuditReader, assertions: Assertions) {
  return new Elysia({ normalize: false })
    .get("/api/v2/auditlog", async ({ request, query }) => listAuditLog(reader, await assertions.callerOf(request), query), {
      query: Query,
      detail: operation({
        id: "getAuditLogEntries",
        tag: "Audit log",
        summary: "List audit log entries",
        description:
          "Every service's changes, newest first (entries of the same millisecond by `_id`, descending). `before` and `after` (unix ms) bound the dates, strictly; `beforeId` (an entry's `_id`, only with `before`) also lets through the entries at `before` whose `_id` is smaller; `q` finds text in the name, title or comment (case-insensitive); `spec` keeps the entries of matching resources (a resource specifier; `*` globs names, e.g. `proj/default:env/*:flag/*`); `limit` is 1–20 (default 10). `_links.next` is the next (older) page, when there is one: it carries `before` and `beforeId` of the page's last entry, so following it from the first page to the last gives every entry exactly once.",
        ok: { 200: "AuditLogEntries" },
        errors: [403],
      }),
    })
    .get("/api/v2/auditlog/:id", async ({ request, params }) => getAuditEntry(reader, await assertions.callerOf(request), params.id), {
      params: t.Object({ id: t.String({ maxLength: 64 }) }),
      detail: operation({
        id: "getAuditLogEntry",
        tag: "Audit log",
        summary: "Get an audit log entry",
        description: "With what made the change (`delta`) and the resource's representations before (`previousVersion`) and after (`currentVersion`) it.",
        ok: { 200: "AuditLogEntry" },
        errors: [403, 404],
      }),
    });
}
