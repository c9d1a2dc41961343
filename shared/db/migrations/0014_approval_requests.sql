CREATE TABLE "approval_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"environment_id" text NOT NULL,
	"flag_id" text NOT NULL,
	"project_key" text NOT NULL,
	"environment_key" text NOT NULL,
	"flag_key" text NOT NULL,
	"kind" text NOT NULL,
	"version" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"requestor" jsonb NOT NULL,
	"description" text NOT NULL,
	"comment" text,
	"instructions" jsonb NOT NULL,
	"source" jsonb,
	"copy_actions" jsonb,
	"notify_member_ids" jsonb NOT NULL,
	"notify_team_keys" jsonb NOT NULL,
	"execution_date" bigint,
	"operating_on_id" text,
	"integration_config" jsonb,
	"reviews" jsonb NOT NULL,
	"status" text NOT NULL,
	"applied_date" bigint,
	"applied_by" jsonb,
	"scheduled_change_id" text,
	"baseline" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "approval_settings" jsonb;--> statement-breakpoint
ALTER TABLE "scheduled_items" ADD COLUMN "approval" jsonb;--> statement-breakpoint
ALTER TABLE "approval_requests" ADD CONSTRAINT "approval_requests_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approval_requests" ADD CONSTRAINT "approval_requests_flag_id_flags_id_fk" FOREIGN KEY ("flag_id") REFERENCES "public"."flags"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "approval_requests_flag_idx" ON "approval_requests" USING btree ("flag_id","environment_id");--> statement-breakpoint
CREATE INDEX "approval_requests_created_idx" ON "approval_requests" USING btree ("created_at","id");