CREATE TABLE "scheduled_items" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"project_id" text NOT NULL,
	"environment_id" text NOT NULL,
	"flag_id" text,
	"segment_id" text,
	"project_key" text NOT NULL,
	"environment_key" text NOT NULL,
	"resource_key" text NOT NULL,
	"due_at" bigint NOT NULL,
	"status" text NOT NULL,
	"version" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"creator" jsonb NOT NULL,
	"instructions" jsonb,
	"comment" text,
	"conflicts" jsonb,
	"context_kind" text,
	"context_key" text,
	"variation_id" text,
	"target_type" text,
	"failure" jsonb,
	"lease_token" text,
	"lease_until" bigint
);
--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "operation_id" text;--> statement-breakpoint
ALTER TABLE "scheduled_items" ADD CONSTRAINT "scheduled_items_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_items" ADD CONSTRAINT "scheduled_items_flag_id_flags_id_fk" FOREIGN KEY ("flag_id") REFERENCES "public"."flags"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_items" ADD CONSTRAINT "scheduled_items_segment_id_segments_id_fk" FOREIGN KEY ("segment_id") REFERENCES "public"."segments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "scheduled_items_due_idx" ON "scheduled_items" USING btree ("due_at") WHERE "scheduled_items"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "scheduled_items_flag_idx" ON "scheduled_items" USING btree ("flag_id","environment_id");--> statement-breakpoint
CREATE INDEX "scheduled_items_segment_idx" ON "scheduled_items" USING btree ("segment_id");--> statement-breakpoint
CREATE INDEX "scheduled_items_context_idx" ON "scheduled_items" USING btree ("environment_id","context_kind","context_key");--> statement-breakpoint
CREATE UNIQUE INDEX "scheduled_items_flag_target_idx" ON "scheduled_items" USING btree ("flag_id","environment_id","context_kind","context_key") WHERE "scheduled_items"."kind" = 'flagExpiry';--> statement-breakpoint
CREATE UNIQUE INDEX "scheduled_items_segment_target_idx" ON "scheduled_items" USING btree ("segment_id","context_kind","context_key") WHERE "scheduled_items"."kind" = 'segmentExpiry';--> statement-breakpoint
CREATE UNIQUE INDEX "audit_log_operation_id_idx" ON "audit_log" USING btree ("operation_id");