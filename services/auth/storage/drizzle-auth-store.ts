import { eq, inArray, sql } from "drizzle-orm";
import { isUniqueViolation, type Db } from "@vexil/shared/db/connector";
import { conflict } from "@vexil/shared/errors";
import { LOCK_NAMESPACE } from "@vexil/shared/db/migrate";
import type { AuthStore, EnvironmentKeyRecord, MemberRecord, TokenRecord } from "./auth-store.ts";
import { accessTokens, environmentKeys, members } from "./schema.ts";

const BOOTSTRAP_LOCK = 2;

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

  async tokenBySelector(selector: string): Promise<TokenRecord | undefined> {
    const rows = await this.db.select().from(accessTokens).where(eq(accessTokens.selector, selector)).limit(1);
    return rows[0];
  }

  async memberById(id: string): Promise<MemberRecord | undefined> {
    const rows = await this.db.select().from(members).where(eq(members.id, id)).limit(1);
    return rows[0];
  }

  async insertEnvironmentKeys(keys: EnvironmentKeyRecord[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db
      .insert(environmentKeys)
      .values(keys)
      .catch((e: unknown) => {
        if (isUniqueViolation(e)) throw conflict("An environment key with this selector already exists");
        throw e;
      });
  }

  async environmentKeyBySelector(selector: string): Promise<EnvironmentKeyRecord | undefined> {
    const rows = await this.db.select().from(environmentKeys).where(eq(environmentKeys.selector, selector)).limit(1);
    const row = rows[0];
    return row ? { ...row, kind: row.kind as EnvironmentKeyRecord["kind"] } : undefined;
  }

  async deleteEnvironmentKeys(environmentIds: string[]): Promise<number> {
    if (environmentIds.length === 0) return 0;
    const deleted = await this.db
      .delete(environmentKeys)
      .where(inArray(environmentKeys.environmentId, environmentIds))
      .returning({ id: environmentKeys.id });
    return deleted.length;
  }
}
