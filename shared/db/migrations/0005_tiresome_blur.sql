ALTER TABLE "environment_sequences" DROP CONSTRAINT "environment_sequences_environment_id_environments_id_fk";
--> statement-breakpoint
ALTER TABLE "outbox" ALTER COLUMN "seq" DROP NOT NULL;