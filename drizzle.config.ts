import { defineConfig } from "drizzle-kit";

/** Each service owns its tables (`services/<name>/storage/schema.ts`); one journal of migrations for the cluster. */
export default defineConfig({
  dialect: "postgresql",
  schema: ["./shared/audit/schema.ts", "./services/auth/storage/schema.ts", "./services/flags/storage/schema.ts", "./services/webhooks/storage/schema.ts"],
  out: "./shared/db/migrations",
});
