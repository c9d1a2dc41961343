/**
 * The audit log. Every service that changes something writes its entry in the same transaction
 * as the change, so the table is shared; the flags service serves it (`/api/v2/auditlog`).
 */
import { sql } from "drizzle-orm";
import { bigint, index, integer, json, jsonb, pgTable, text, boolean, uniqueIndex } from "drizzle-orm/pg-core";

export interface AuditAccess {
  action: string;
  resource: string;
}

/** The unique index on `operation_id`, named so a violation of it can be told from any other. */
export const OPERATION_ID_INDEX = "audit_log_operation_id_idx";

export const auditLog = pgTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    date: bigint("date", { mode: "number" }).notNull(),
    /** project, environment, flag, segment, token, member, role, … */
    kind: text("kind").notNull(),
    /** Resource specifier of the changed resource, e.g. `proj/p:env/e:flag/k`. */
    spec: text("spec").notNull(),
    name: text("name").notNull(),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    comment: text("comment"),
    accesses: jsonb("accesses").$type<AuditAccess[]>().notNull(),
    memberId: text("member_id"),
    memberEmail: text("member_email"),
    tokenId: text("token_id"),
    tokenName: text("token_name"),
    serviceToken: boolean("service_token").notNull().default(false),
    /*
     * The patch and the representations are `json`, kept as the text written, not `jsonb`: an entry
     * is written with every change (kilobytes of representation) and read whole, never searched
     * inside, so Postgres only checks the text instead of converting it (which cost a third of its
     * time per flag write).
     */
    /** The patch, instructions or body that made the change. */
    delta: json("delta"),
    previousVersion: integer("previous_version"),
    currentVersion: integer("current_version"),
    /** The representation before the change; null when `previous_delta` holds it. */
    previous: json("previous"),
    current: json("current"),
    /** JSON Patch that turns `current` into the representation before the change (usually a few operations, where the whole would be kilobytes). */
    previousDelta: json("previous_delta"),
    /**
     * Set on the entry of an operation that must happen at most once (the execution of a scheduled
     * item): a second entry with the same id fails on the unique index, and so does the change written
     * with it, which is how a repeated execution is recognised as already applied. The index holds
     * only such entries: the others (nearly all) cost no index entry.
     */
    operationId: text("operation_id"),
  },
  (t) => [index("audit_log_date_idx").on(t.date), index("audit_log_spec_idx").on(t.spec), uniqueIndex(OPERATION_ID_INDEX).on(t.operationId).where(sql`${t.operationId} is not null`)],
);
