/** Tables owned by the auth service. Secrets are never stored: only selectors, SHA-256 verifiers and last four characters. */
import { bigint, boolean, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import type { Statement } from "@vexil/shared/policy";

export const members = pgTable("members", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  firstName: text("first_name"),
  lastName: text("last_name"),
  role: text("role").notNull(),
  /** Keys of custom roles. */
  customRoles: jsonb("custom_roles").$type<string[]>().notNull().default([]),
  passwordHash: text("password_hash"),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
  lastSeen: bigint("last_seen", { mode: "number" }),
  version: integer("version").notNull().default(1),
});

export const customRoles = pgTable("custom_roles", {
  id: text("id").primaryKey(),
  key: text("key").notNull().unique(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  policy: jsonb("policy").$type<Statement[]>().notNull(),
  basePermissions: text("base_permissions").notNull().default("reader"),
  createdAt: bigint("created_at", { mode: "number" }).notNull(),
  version: integer("version").notNull().default(1),
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
    customRoleIds: jsonb("custom_role_ids").$type<string[]>().notNull().default([]),
    inlineRole: jsonb("inline_role").$type<Statement[] | null>(),
    serviceToken: boolean("service_token").notNull().default(false),
    defaultApiVersion: integer("default_api_version").notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    lastModified: bigint("last_modified", { mode: "number" }).notNull(),
    lastUsed: bigint("last_used", { mode: "number" }),
    expiresAt: bigint("expires_at", { mode: "number" }),
    version: integer("version").notNull().default(1),
  },
  (t) => [index("access_tokens_member_idx").on(t.memberId)],
);

/** Earlier secrets of a reset token that keep working until `expiresAt`. */
export const retiredTokenSecrets = pgTable(
  "retired_token_secrets",
  {
    selector: text("selector").primaryKey(),
    tokenId: text("token_id")
      .notNull()
      .references(() => accessTokens.id, { onDelete: "cascade" }),
    verifier: text("verifier").notNull(),
    expiresAt: bigint("expires_at", { mode: "number" }).notNull(),
  },
  (t) => [index("retired_token_secrets_token_idx").on(t.tokenId)],
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

/** Browser sessions: the cookie's JWT names a row here, so logging out ends it everywhere. */
export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    memberId: text("member_id")
      .notNull()
      .references(() => members.id, { onDelete: "cascade" }),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    expiresAt: bigint("expires_at", { mode: "number" }).notNull(),
  },
  (t) => [index("sessions_member_idx").on(t.memberId)],
);
