/** In-memory AuthStore for `app.handle` tests; the contract suite keeps it honest against Postgres. */
import { conflict } from "@vexil/shared/errors";
import type { AuthStore, EnvironmentKeyRecord, MemberRecord, TokenRecord } from "./auth-store.ts";

export class MemoryAuthStore implements AuthStore {
  private members = new Map<string, MemberRecord>();
  private tokens = new Map<string, TokenRecord>();
  private keys = new Map<string, EnvironmentKeyRecord>();

  async bootstrap(owner: MemberRecord, token: TokenRecord): Promise<boolean> {
    if (this.members.size > 0) return false;
    this.members.set(owner.id, { ...owner });
    this.tokens.set(token.selector, { ...token });
    return true;
  }

  async tokenBySelector(selector: string): Promise<TokenRecord | undefined> {
    const t = this.tokens.get(selector);
    return t && { ...t };
  }

  async memberById(id: string): Promise<MemberRecord | undefined> {
    const m = this.members.get(id);
    return m && { ...m };
  }

  async insertEnvironmentKeys(keys: EnvironmentKeyRecord[]): Promise<void> {
    const selectors = keys.map((k) => k.selector);
    if (selectors.some((s, i) => this.keys.has(s) || selectors.indexOf(s) !== i)) throw conflict("An environment key with this selector already exists");
    for (const k of keys) this.keys.set(k.selector, { ...k });
  }

  async environmentKeyBySelector(selector: string): Promise<EnvironmentKeyRecord | undefined> {
    const k = this.keys.get(selector);
    return k && { ...k };
  }

  async deleteEnvironmentKeys(environmentIds: string[]): Promise<number> {
    const ids = new Set(environmentIds);
    let n = 0;
    for (const [selector, k] of this.keys) {
      if (ids.has(k.environmentId)) {
        this.keys.delete(selector);
        n++;
      }
    }
    return n;
  }
}
