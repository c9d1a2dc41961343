CREATE TABLE "audit_log" (
	"id" text PRIMARY KEY NOT NULL,
	"date" bigint NOT NULL,
	"kind" text NOT NULL,
	"spec" text NOT NULL,
	"name" text NOT NULL,
	"title" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"comment" text,
	"accesses" jsonb NOT NULL,
	"member_id" text,
	"member_email" text,
	"token_id" text,
	"token_name" text,
	"service_token" boolean DEFAULT false NOT NULL,
	"delta" jsonb,
	"previous_version" integer,
	"current_version" integer,
	"previous" jsonb,
	"current" jsonb
);
--> statement-breakpoint
CREATE TABLE "custom_roles" (
	"id" text PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"policy" jsonb NOT NULL,
	"base_permissions" text DEFAULT 'reader' NOT NULL,
	"created_at" bigint NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "custom_roles_key_unique" UNIQUE("key")
);
--> statement-breakpoint
CREATE TABLE "retired_token_secrets" (
	"selector" text PRIMARY KEY NOT NULL,
	"token_id" text NOT NULL,
	"verifier" text NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"member_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "access_tokens" ADD COLUMN "custom_role_ids" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "access_tokens" ADD COLUMN "inline_role" jsonb;--> statement-breakpoint
ALTER TABLE "access_tokens" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "members" ADD COLUMN "custom_roles" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "members" ADD COLUMN "last_seen" bigint;--> statement-breakpoint
ALTER TABLE "members" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "retired_token_secrets" ADD CONSTRAINT "retired_token_secrets_token_id_access_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "public"."access_tokens"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_member_id_members_id_fk" FOREIGN KEY ("member_id") REFERENCES "public"."members"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_date_idx" ON "audit_log" USING btree ("date");--> statement-breakpoint
CREATE INDEX "audit_log_spec_idx" ON "audit_log" USING btree ("spec");--> statement-breakpoint
CREATE INDEX "retired_token_secrets_token_idx" ON "retired_token_secrets" USING btree ("token_id");--> statement-breakpoint
CREATE INDEX "sessions_member_idx" ON "sessions" USING btree ("member_id");