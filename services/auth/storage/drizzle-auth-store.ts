import { and, asc, count, desc, eq, gt, inArray, isNull, or, sql, type SQL } from "drizzle-orm";
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import { likePattern, isUniqueViolation, type Db, type Executor } from "@vexil/shared/db/connector";
import { LOCK_NAMESPACE } from "@vexil/shared/db/migrate";
import { conflict } from "@vexil/shared/errors";
import type {
  AuthStore,
  EnvironmentKeyRecord,
  Listed,
  MemberQuery,
  MemberRecord,
  Page,
  RetiredSecret,
  RoleRecord,
  SessionRecord,
  TokenRecord,
} from "./auth-store.ts";
import { accessTokens, customRoles, environmentKeys, members, retiredTokenSecrets, sessions } from "./schema.ts";

const BOOTSTRAP_LOCK = 2;


function unique<T>(work: Promise<T>, message: string): Promise<T> {
  return work.catch((e: unknown) => {
    if (isUniqueViolation(e)) throw conflict(message);
    throw e;
  });
}

const asRole = (row: typeof customRoles.$inferSelect): RoleRecord => ({ ...row, basePermissions: row.basePermissions as RoleRecord["basePermissions"] });
const asKey = (row: typeof environmentKeys.$inferSelect): EnvironmentKeyRecord => ({ ...row, kind: row.kind as EnvironmentKeyRecord["kind"] });

async function writeAudit(tx: Executor, entries: AuditEntry[]): Promise<void> {
  if (entries.length > 0) await tx.insert(auditLog).values(entries);
}

/** Byte order ("C" collation), as the memory store sorts; see `MemberQuery.sort`. */
function memberOrder(q: MemberQuery): SQL[] {
  const dir = q.sort?.descending ? desc : asc;
  const byEmail = dir(sql`${members.email} collate "C"`);
  if (q.sort?.field !== "displayName") return [byEmail];
  const displayName = sql`coalesce(nullif(concat_ws(' ', nullif(${members.firstName}, ''), nullif(${members.lastName}, '')), ''), ${members.email})`;
  return [dir(sql`${displayName} collate "C"`), byEmail];
}

export class DrizzleAuthStore implements AuthStore {
  constructor(private readonly db: Db) {}

  bootstrap(owner: MemberRecord, token: TokenRecord): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${BOOTSTRAP_LOCK})`);
      const existing = await tx.select({ id: members.id }).from(members).limit(1);
      if (existing.length > 0) return false;
      await tx.insert(members).values(owner);
      await tx.insert(accessTokens).values(token);
      return true;
    });
  }

  async listMembers(q: MemberQuery): Promise<Listed<MemberRecord>> {
    const conds: SQL[] = [];
    if (q.query) {
      const p = likePattern(q.query);
      conds.push(
        or(sql`lower(${members.email}) like ${p}`, sql`lower(coalesce(${members.firstName}, '') || ' ' || coalesce(${members.lastName}, '')) like ${p}`)!,
      );
    }
    // An empty list matches nothing.
    if (q.roles) conds.push(q.roles.length ? inArray(members.role, q.roles) : sql`false`);
    if (q.ids) conds.push(q.ids.length ? inArray(members.id, q.ids) : sql`false`);
    if (q.emails) conds.push(q.emails.length ? inArray(members.email, q.emails) : sql`false`);
    const where = conds.length ? and(...conds) : undefined;
    const [items, totals] = await Promise.all([
      this.db.select().from(members).where(where).orderBy(...memberOrder(q)).limit(q.limit).offset(q.offset),
      this.db.select({ n: count() }).from(members).where(where),
    ]);
    return { items, total: totals[0]?.n ?? 0 };
  }

  async memberById(id: string) {
    return (await this.db.select().from(members).where(eq(members.id, id)).limit(1))[0];
  }

  async memberByEmail(email: string) {
    return (await this.db.select().from(members).where(eq(members.email, email)).limit(1))[0];
  }

  async insertMembers(list: MemberRecord[], audit: AuditEntry[]) {
    await unique(
      this.db.transaction(async (tx) => {
        await tx.insert(members).values(list);
        await writeAudit(tx, audit);
      }),
      "A member with this email already exists",
    );
  }

  async updateMember(member: MemberRecord, expectedVersion: number, audit: AuditEntry) {
    const { id, ...fields } = member;
    return this.db.transaction(async (tx) => {
      const rows = await tx
        .update(members)
        .set(fields)
        .where(and(eq(members.id, id), eq(members.version, expectedVersion)))
        .returning({ id: members.id });
      if (rows.length !== 1) return false;
      await writeAudit(tx, [audit]);
      return true;
    });
  }

  async deleteMember(id: string, audit: AuditEntry) {
    return this.db.transaction(async (tx) => {
      const deleted = await tx.delete(members).where(eq(members.id, id)).returning({ id: members.id });
      if (deleted.length !== 1) return undefined;
      const tokens = await tx
        .delete(accessTokens)
        .where(and(eq(accessTokens.memberId, id), eq(accessTokens.serviceToken, false)))
        .returning({ id: accessTokens.id });
      await writeAudit(tx, [audit]);
      return tokens.map((t) => t.id);
    });
  }

  async countOwners() {
    return (await this.db.select({ n: count() }).from(members).where(eq(members.role, "owner")))[0]?.n ?? 0;
  }

  async touchMembers(seen: Map<string, number>) {
    for (const [id, at] of seen) {
      await this.db.update(members).set({ lastSeen: sql`greatest(coalesce(${members.lastSeen}, 0), ${at})` }).where(eq(members.id, id));
    }
  }

  async listRoles(page: Page) {
    const [items, totals] = await Promise.all([
      this.db.select().from(customRoles).orderBy(asc(sql`${customRoles.key} collate "C"`)).limit(page.limit).offset(page.offset),
      this.db.select({ n: count() }).from(customRoles),
    ]);
    return { items: items.map(asRole), total: totals[0]?.n ?? 0 };
  }

  async roleByKeyOrId(keyOrId: string) {
    const row = (await this.db.select().from(customRoles).where(or(eq(customRoles.key, keyOrId), eq(customRoles.id, keyOrId))).limit(1))[0];
    return row && asRole(row);
  }

  async rolesByKeysOrIds(keysOrIds: string[]) {
    if (keysOrIds.length === 0) return [];
    const rows = await this.db.select().from(customRoles).where(or(inArray(customRoles.key, keysOrIds), inArray(customRoles.id, keysOrIds)));
    return rows.map(asRole);
  }

  async insertRole(role: RoleRecord, audit: AuditEntry) {
    await unique(
      this.db.transaction(async (tx) => {
        await tx.insert(customRoles).values(role);
        await writeAudit(tx, [audit]);
      }),
      `A role with key "${role.key}" already exists`,
    );
  }

  async updateRole(role: RoleRecord, expectedVersion: number, audit: AuditEntry) {
    const { id, ...fields } = role;
    return this.db.transaction(async (tx) => {
      const rows = await tx
        .update(customRoles)
        .set(fields)
        .where(and(eq(customRoles.id, id), eq(customRoles.version, expectedVersion)))
        .returning({ id: customRoles.id });
      if (rows.length !== 1) return false;
      await writeAudit(tx, [audit]);
      return true;
    });
  }

  async deleteRole(role: RoleRecord, audit: AuditEntry) {
    return this.db.transaction(async (tx) => {
      const usedByMembers = await tx.select({ n: count() }).from(members).where(sql`${members.customRoles} @> ${JSON.stringify([role.key])}::jsonb`);
      const usedByTokens = await tx
        .select({ n: count() })
        .from(accessTokens)
        .where(or(sql`${accessTokens.customRoleIds} @> ${JSON.stringify([role.id])}::jsonb`, sql`${accessTokens.customRoleIds} @> ${JSON.stringify([role.key])}::jsonb`));
      if ((usedByMembers[0]?.n ?? 0) > 0 || (usedByTokens[0]?.n ?? 0) > 0) {
        throw conflict(`The role "${role.key}" is assigned to members or tokens; unassign it first`);
      }
      const rows = await tx.delete(customRoles).where(eq(customRoles.id, role.id)).returning({ id: customRoles.id });
      if (rows.length !== 1) return false;
      await writeAudit(tx, [audit]);
      return true;
    });
  }

  async listTokens(memberId: string | undefined, page: Page) {
    const where = memberId === undefined ? undefined : eq(accessTokens.memberId, memberId);
    const [items, totals] = await Promise.all([
      this.db.select().from(accessTokens).where(where).orderBy(asc(accessTokens.createdAt), asc(accessTokens.id)).limit(page.limit).offset(page.offset),
      this.db.select({ n: count() }).from(accessTokens).where(where),
    ]);
    return { items, total: totals[0]?.n ?? 0 };
  }

  async tokenById(id: string) {
    return (await this.db.select().from(accessTokens).where(eq(accessTokens.id, id)).limit(1))[0];
  }

  async tokenBySelector(selector: string) {
    return (await this.db.select().from(accessTokens).where(eq(accessTokens.selector, selector)).limit(1))[0];
  }

  async retiredSecret(selector: string) {
    return (await this.db.select().from(retiredTokenSecrets).where(eq(retiredTokenSecrets.selector, selector)).limit(1))[0];
  }

  async insertToken(token: TokenRecord, audit: AuditEntry) {
    await unique(
      this.db.transaction(async (tx) => {
        await tx.insert(accessTokens).values(token);
        await writeAudit(tx, [audit]);
      }),
      "A token with this selector already exists",
    );
  }

  async updateToken(token: TokenRecord, expectedVersion: number, audit: AuditEntry, retired?: RetiredSecret) {
    const { id, ...fields } = token;
    return unique(
      this.db.transaction(async (tx) => {
        const rows = await tx
          .update(accessTokens)
          .set(fields)
          .where(and(eq(accessTokens.id, id), eq(accessTokens.version, expectedVersion)))
          .returning({ id: accessTokens.id });
        if (rows.length !== 1) return false;
        if (retired) await tx.insert(retiredTokenSecrets).values(retired);
        await writeAudit(tx, [audit]);
        return true;
      }),
      "A token with this selector already exists",
    );
  }

  async deleteToken(id: string, audit: AuditEntry) {
    return this.db.transaction(async (tx) => {
      const rows = await tx.delete(accessTokens).where(eq(accessTokens.id, id)).returning({ id: accessTokens.id });
      if (rows.length !== 1) return false;
      await writeAudit(tx, [audit]);
      return true;
    });
  }

  async touchTokens(used: Map<string, number>) {
    for (const [id, at] of used) {
      await this.db.update(accessTokens).set({ lastUsed: sql`greatest(coalesce(${accessTokens.lastUsed}, 0), ${at})` }).where(eq(accessTokens.id, id));
    }
  }

  async insertEnvironmentKeys(keys: EnvironmentKeyRecord[]) {
    if (keys.length === 0) return;
    await unique(this.db.insert(environmentKeys).values(keys), "An environment key with this selector already exists");
  }

  async environmentKeyBySelector(selector: string) {
    const row = (await this.db.select().from(environmentKeys).where(eq(environmentKeys.selector, selector)).limit(1))[0];
    return row && asKey(row);
  }

  async liveEnvironmentKeys(environmentId: string, kind: "sdk" | "mob", now: number) {
    const rows = await this.db
      .select()
      .from(environmentKeys)
      .where(and(eq(environmentKeys.environmentId, environmentId), eq(environmentKeys.kind, kind), or(isNull(environmentKeys.expiresAt), gt(environmentKeys.expiresAt, now))))
      .orderBy(desc(environmentKeys.createdAt));
    return rows.map(asKey);
  }

  async rotateEnvironmentKey(key: EnvironmentKeyRecord, oldExpireAt: number, audit: AuditEntry) {
    await unique(
      this.db.transaction(async (tx) => {
        await tx
          .update(environmentKeys)
          .set({ expiresAt: sql`least(coalesce(${environmentKeys.expiresAt}, ${oldExpireAt}), ${oldExpireAt})` })
          .where(and(eq(environmentKeys.environmentId, key.environmentId), eq(environmentKeys.kind, key.kind)));
        await tx.insert(environmentKeys).values(key);
        await writeAudit(tx, [audit]);
      }),
      "An environment key with this selector already exists",
    );
  }

  async deleteEnvironmentKeys(environmentIds: string[]) {
    if (environmentIds.length === 0) return 0;
    const deleted = await this.db.delete(environmentKeys).where(inArray(environmentKeys.environmentId, environmentIds)).returning({ id: environmentKeys.id });
    return deleted.length;
  }

  async insertSession(session: SessionRecord) {
    await this.db.insert(sessions).values(session);
  }

  async sessionById(id: string) {
    return (await this.db.select().from(sessions).where(eq(sessions.id, id)).limit(1))[0];
  }

  async deleteSession(id: string) {
    return (await this.db.delete(sessions).where(eq(sessions.id, id)).returning({ id: sessions.id })).length === 1;
  }

  async auditEntries(limit: number) {
    return (await this.db.select().from(auditLog).orderBy(desc(auditLog.date), desc(auditLog.id)).limit(limit)) as AuditEntry[];
  }
}
