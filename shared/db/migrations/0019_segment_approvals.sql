ALTER TABLE "approval_requests" ALTER COLUMN "flag_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "approval_requests" ALTER COLUMN "flag_key" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "approval_requests" ADD COLUMN "segment_id" text;--> statement-breakpoint
ALTER TABLE "approval_requests" ADD COLUMN "segment_key" text;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "segment_approval_settings" jsonb;--> statement-breakpoint
ALTER TABLE "approval_requests" ADD CONSTRAINT "approval_requests_segment_id_segments_id_fk" FOREIGN KEY ("segment_id") REFERENCES "public"."segments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "approval_requests_segment_idx" ON "approval_requests" USING btree ("segment_id");