/** Routes of `/api/v2/auditlog`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { getAuditEntry, listAuditLog } from "../domain/audit-log.ts";
import type { AuditReader } from "../storage/audit-reader.ts";

const Query = t.Object(
  { before: t.Optional(t.String()), after: t.Optional(t.String()), q: t.Optional(t.String({ maxLength: 256 })), limit: t.Optional(t.String()), spec: t.Optional(t.String({ maxLength: 1024 })) },
  { additionalProperties: true },
);

export function auditLogRoutes(reader: AuditReader, assertions: Assertions) {
  return new Elysia({ normalize: false })
    .get("/api/v2/auditlog", async ({ request, query }) => listAuditLog(reader, await assertions.callerOf(request), query), { query: Query })
    .get("/api/v2/auditlog/:id", async ({ request, params }) => getAuditEntry(reader, await assertions.callerOf(request), params.id), {
      params: t.Object({ id: t.String({ maxLength: 64 }) }),
    });
}
