CREATE TABLE "flag_usage" (
	"environment_id" text NOT NULL,
	"flag_id" text NOT NULL,
	"last_requested" bigint NOT NULL,
	"evaluations" bigint NOT NULL,
	"variations" jsonb NOT NULL,
	"default_value" jsonb,
	CONSTRAINT "flag_usage_environment_id_flag_id_pk" PRIMARY KEY("environment_id","flag_id")
);
--> statement-breakpoint
ALTER TABLE "flag_usage" ADD CONSTRAINT "flag_usage_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flag_usage" ADD CONSTRAINT "flag_usage_flag_id_flags_id_fk" FOREIGN KEY ("flag_id") REFERENCES "public"."flags"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "flag_usage_flag_idx" ON "flag_usage" USING btree ("flag_id");