CREATE TABLE "flag_configs" (
	"flag_id" text NOT NULL,
	"environment_id" text NOT NULL,
	"config" jsonb NOT NULL,
	CONSTRAINT "flag_configs_flag_id_environment_id_pk" PRIMARY KEY("flag_id","environment_id")
);
--> statement-breakpoint
CREATE TABLE "flags" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"key" text NOT NULL,
	"doc" jsonb NOT NULL,
	"version" integer NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "flag_configs" ADD CONSTRAINT "flag_configs_flag_id_flags_id_fk" FOREIGN KEY ("flag_id") REFERENCES "public"."flags"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flag_configs" ADD CONSTRAINT "flag_configs_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flags" ADD CONSTRAINT "flags_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "flag_configs_environment_idx" ON "flag_configs" USING btree ("environment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "flags_project_key_idx" ON "flags" USING btree ("project_id","key");