/** Tables owned by the auth service. Secrets are never stored: only selectors, SHA-256 verifiers and last four characters. */
import { bigint, boolean, index, integer, pgTable, text } from "drizzle-orm/pg-core";

export const members = pgTable("members", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  firstName: text("first_name"),
  lastName: text("last_name"),
  role: text("role").notNull(),
  passwordHash: text("password_hash"),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
});

export const accessTokens = pgTable(
  "access_tokens",
  {
    id: text("id").primaryKey(),
    selector: text("selector").notNull().unique(),
    verifier: text("verifier").notNull(),
    last4: text("last4").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    ownerId: text("owner_id").notNull(),
    memberId: text("member_id").notNull(),
    role: text("role").notNull(),
    serviceToken: boolean("service_token").notNull().default(false),
    defaultApiVersion: integer("default_api_version").notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    lastModified: bigint("last_modified", { mode: "number" }).notNull(),
    lastUsed: bigint("last_used", { mode: "number" }),
    expiresAt: bigint("expires_at", { mode: "number" }),
  },
  (t) => [index("access_tokens_member_idx").on(t.memberId)],
);

/** SDK keys (`sdk`) and mobile keys (`mob`) of environments; several may be live during a key rotation. */
export const environmentKeys = pgTable(
  "environment_keys",
  {
    id: text("id").primaryKey(),
    environmentId: text("environment_id").notNull(),
    kind: text("kind").notNull(),
    selector: text("selector").notNull().unique(),
    verifier: text("verifier").notNull(),
    last4: text("last4").notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    expiresAt: bigint("expires_at", { mode: "number" }),
  },
  (t) => [index("environment_keys_environment_idx").on(t.environmentId)],
);
