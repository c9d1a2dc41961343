DROP INDEX "audit_log_operation_id_idx";--> statement-breakpoint
ALTER TABLE "audit_log" ALTER COLUMN "delta" SET DATA TYPE json;--> statement-breakpoint
ALTER TABLE "audit_log" ALTER COLUMN "previous" SET DATA TYPE json;--> statement-breakpoint
ALTER TABLE "audit_log" ALTER COLUMN "current" SET DATA TYPE json;--> statement-breakpoint
ALTER TABLE "audit_log" ALTER COLUMN "previous_delta" SET DATA TYPE json;--> statement-breakpoint
ALTER TABLE "outbox" ALTER COLUMN "payload" SET DATA TYPE json;--> statement-breakpoint
CREATE UNIQUE INDEX "audit_log_operation_id_idx" ON "audit_log" USING btree ("operation_id") WHERE "audit_log"."operation_id" is not null;