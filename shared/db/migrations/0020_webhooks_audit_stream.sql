CREATE TABLE "webhook_stream_cursor" (
	"id" integer PRIMARY KEY NOT NULL,
	"planned_through" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_stream_dead" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"audit_id" text,
	"error" text NOT NULL,
	"deliveries" integer NOT NULL,
	"at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_stream_planned" (
	"seq" bigint PRIMARY KEY NOT NULL
);
