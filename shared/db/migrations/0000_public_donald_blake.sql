CREATE TABLE "access_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"selector" text NOT NULL,
	"verifier" text NOT NULL,
	"last4" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"owner_id" text NOT NULL,
	"member_id" text NOT NULL,
	"role" text NOT NULL,
	"service_token" boolean DEFAULT false NOT NULL,
	"default_api_version" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"last_modified" bigint NOT NULL,
	"last_used" bigint,
	"expires_at" bigint,
	CONSTRAINT "access_tokens_selector_unique" UNIQUE("selector")
);
--> statement-breakpoint
CREATE TABLE "environment_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"environment_id" text NOT NULL,
	"kind" text NOT NULL,
	"selector" text NOT NULL,
	"verifier" text NOT NULL,
	"last4" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint,
	CONSTRAINT "environment_keys_selector_unique" UNIQUE("selector")
);
--> statement-breakpoint
CREATE TABLE "members" (
	"id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"first_name" text,
	"last_name" text,
	"role" text NOT NULL,
	"password_hash" text,
	"created_at" bigint NOT NULL,
	CONSTRAINT "members_email_unique" UNIQUE("email")
);
--> statement-breakpoint
CREATE TABLE "environments" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"color" text NOT NULL,
	"default_ttl" integer NOT NULL,
	"secure_mode" boolean NOT NULL,
	"default_track_events" boolean NOT NULL,
	"require_comments" boolean NOT NULL,
	"confirm_changes" boolean NOT NULL,
	"tags" jsonb NOT NULL,
	"critical" boolean NOT NULL,
	"sdk_key_last4" text NOT NULL,
	"mobile_key_last4" text NOT NULL,
	"created_at" bigint NOT NULL,
	"version" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "flags_bootstrap" (
	"name" text PRIMARY KEY NOT NULL,
	"done_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "projects" (
	"id" text PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"tags" jsonb NOT NULL,
	"include_in_snippet_by_default" boolean NOT NULL,
	"csa_using_environment_id" boolean NOT NULL,
	"csa_using_mobile_key" boolean NOT NULL,
	"created_at" bigint NOT NULL,
	"version" integer NOT NULL,
	CONSTRAINT "projects_key_unique" UNIQUE("key")
);
--> statement-breakpoint
ALTER TABLE "environments" ADD CONSTRAINT "environments_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "access_tokens_member_idx" ON "access_tokens" USING btree ("member_id");--> statement-breakpoint
CREATE INDEX "environment_keys_environment_idx" ON "environment_keys" USING btree ("environment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "environments_project_key_idx" ON "environments" USING btree ("project_id","key");--> statement-breakpoint
CREATE INDEX "environments_project_idx" ON "environments" USING btree ("project_id");