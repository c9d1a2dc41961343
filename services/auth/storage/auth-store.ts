/**
 * The auth service's storage, as its domain code sees it. Implementations: drizzle (runtime) and
 * memory (tests); one contract suite runs both. Every change takes its audit entry and writes it
 * in the same transaction.
 */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { Statement } from "@vexil/shared/policy";

export interface MemberRecord {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  role: string;
  customRoles: string[];
  passwordHash: string | null;
  createdAt: number;
  lastSeen: number | null;
  version: number;
}

export interface TokenRecord {
  id: string;
  selector: string;
  verifier: string;
  last4: string;
  name: string;
  description: string;
  ownerId: string;
  memberId: string;
  role: string;
  customRoleIds: string[];
  inlineRole: Statement[] | null;
  serviceToken: boolean;
  defaultApiVersion: number;
  createdAt: number;
  lastModified: number;
  lastUsed: number | null;
  expiresAt: number | null;
  version: number;
}

/** An earlier secret of a reset token, still accepted until `expiresAt`. */
export interface RetiredSecret {
  selector: string;
  tokenId: string;
  verifier: string;
  expiresAt: number;
}

export interface RoleRecord {
  id: string;
  key: string;
  name: string;
  description: string;
  policy: Statement[];
  basePermissions: "reader" | "no_access";
  createdAt: number;
  version: number;
}

export interface EnvironmentKeyRecord {
  id: string;
  environmentId: string;
  kind: "sdk" | "mob";
  selector: string;
  verifier: string;
  last4: string;
  createdAt: number;
  expiresAt: number | null;
}

export interface SessionRecord {
  id: string;
  memberId: string;
  createdAt: number;
  expiresAt: number;
}

export interface Page {
  limit: number;
  offset: number;
}

/** What members are listed by. */
export type MemberSortField = "displayName" | "email";

export interface MemberQuery extends Page {
  /** Substring of email or name, case-insensitive. */
  query?: string;
  roles?: string[];
  ids?: string[];
  emails?: string[];
  /**
   * Byte order of the email (the default), or of the display name: first and last name joined by
   * a space, leaving out unset and empty ones, or the email when neither is left. Equal display
   * names go by email in the same direction, so `descending` is the exact reverse.
   */
  sort?: { field: MemberSortField; descending: boolean };
}

export interface Listed<T> {
  items: T[];
  total: number;
}

export interface AuthStore {
  /** Creates the owner and the first token if, and only if, no member exists yet; true when it did. */
  bootstrap(owner: MemberRecord, token: TokenRecord): Promise<boolean>;

  listMembers(q: MemberQuery): Promise<Listed<MemberRecord>>;
  memberById(id: string): Promise<MemberRecord | undefined>;
  memberByEmail(email: string): Promise<MemberRecord | undefined>;
  /** All or nothing; a taken email is a `conflict`. */
  insertMembers(members: MemberRecord[], audit: AuditEntry[]): Promise<void>;
  updateMember(member: MemberRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean>;
  /** Deletes the member with their personal tokens and sessions; returns the deleted token ids, or undefined if absent. */
  deleteMember(id: string, audit: AuditEntry): Promise<string[] | undefined>;
  countOwners(): Promise<number>;
  touchMembers(seen: Map<string, number>): Promise<void>;

  listRoles(page: Page): Promise<Listed<RoleRecord>>;
  roleByKeyOrId(keyOrId: string): Promise<RoleRecord | undefined>;
  rolesByKeysOrIds(keysOrIds: string[]): Promise<RoleRecord[]>;
  insertRole(role: RoleRecord, audit: AuditEntry): Promise<void>;
  updateRole(role: RoleRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean>;
  /** Refused with a `conflict` while members or tokens use the role. */
  deleteRole(role: RoleRecord, audit: AuditEntry): Promise<boolean>;

  listTokens(memberId: string | undefined, page: Page): Promise<Listed<TokenRecord>>;
  tokenById(id: string): Promise<TokenRecord | undefined>;
  tokenBySelector(selector: string): Promise<TokenRecord | undefined>;
  retiredSecret(selector: string): Promise<RetiredSecret | undefined>;
  insertToken(token: TokenRecord, audit: AuditEntry): Promise<void>;
  /** Writes the token if still at `expectedVersion`; a reset also keeps the old secret in `retired` until it expires. */
  updateToken(token: TokenRecord, expectedVersion: number, audit: AuditEntry, retired?: RetiredSecret): Promise<boolean>;
  deleteToken(id: string, audit: AuditEntry): Promise<boolean>;
  touchTokens(used: Map<string, number>): Promise<void>;

  insertEnvironmentKeys(keys: EnvironmentKeyRecord[]): Promise<void>;
  environmentKeyBySelector(selector: string): Promise<EnvironmentKeyRecord | undefined>;
  /** Live keys of one kind of an environment (not yet expired at `now`). */
  liveEnvironmentKeys(environmentId: string, kind: "sdk" | "mob", now: number): Promise<EnvironmentKeyRecord[]>;
  /** Adds `key` and makes the environment's other live keys of its kind expire at `oldExpireAt`. */
  rotateEnvironmentKey(key: EnvironmentKeyRecord, oldExpireAt: number, audit: AuditEntry): Promise<void>;
  deleteEnvironmentKeys(environmentIds: string[]): Promise<number>;

  insertSession(session: SessionRecord): Promise<void>;
  sessionById(id: string): Promise<SessionRecord | undefined>;
  deleteSession(id: string): Promise<boolean>;

  /** For tests and the audit API of this service's own changes. */
  auditEntries(limit: number): Promise<AuditEntry[]>;
}
