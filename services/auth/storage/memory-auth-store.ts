/** In-memory AuthStore for `app.handle` tests; the contract suite keeps it honest against Postgres. */
import type { AuditEntry } from "@vexil/shared/audit/audit";
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

const clone = <T>(v: T): T => structuredClone(v);
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
/** The name members are sorted by: see `MemberQuery.sort`. */
const displayName = (m: MemberRecord) => [m.firstName, m.lastName].filter(Boolean).join(" ") || m.email;
const page = <T>(rows: T[], p: Page): Listed<T> => ({ items: rows.slice(p.offset, p.offset + p.limit).map(clone), total: rows.length });

export class MemoryAuthStore implements AuthStore {
  private members = new Map<string, MemberRecord>();
  private tokens = new Map<string, TokenRecord>();
  private retired = new Map<string, RetiredSecret>();
  private roles = new Map<string, RoleRecord>();
  private keys = new Map<string, EnvironmentKeyRecord>();
  private sessions = new Map<string, SessionRecord>();
  private audit: AuditEntry[] = [];

  async bootstrap(owner: MemberRecord, token: TokenRecord) {
    if (this.members.size > 0) return false;
    this.members.set(owner.id, clone(owner));
    this.tokens.set(token.id, clone(token));
    return true;
  }

  async listMembers(q: MemberQuery) {
    let rows = [...this.members.values()];
    if (q.query) {
      const needle = q.query.toLowerCase();
      rows = rows.filter((m) => m.email.toLowerCase().includes(needle) || `${m.firstName ?? ""} ${m.lastName ?? ""}`.toLowerCase().includes(needle));
    }
    if (q.roles) rows = rows.filter((m) => q.roles!.includes(m.role));
    if (q.ids) rows = rows.filter((m) => q.ids!.includes(m.id));
    if (q.emails) rows = rows.filter((m) => q.emails!.includes(m.email));
    const sign = q.sort?.descending ? -1 : 1;
    const primary = q.sort?.field === "displayName" ? displayName : (m: MemberRecord) => m.email;
    return page(rows.sort((a, b) => sign * (byteOrder(primary(a), primary(b)) || byteOrder(a.email, b.email))), q);
  }

  async memberById(id: string) {
    const m = this.members.get(id);
    return m && clone(m);
  }

  async memberByEmail(email: string) {
    const m = [...this.members.values()].find((x) => x.email === email);
    return m && clone(m);
  }

  async insertMembers(list: MemberRecord[], audit: AuditEntry[]) {
    const emails = list.map((m) => m.email);
    if (emails.some((e, i) => emails.indexOf(e) !== i || [...this.members.values()].some((m) => m.email === e))) {
      throw conflict("A member with this email already exists");
    }
    for (const m of list) this.members.set(m.id, clone(m));
    this.audit.push(...clone(audit));
  }

  async updateMember(member: MemberRecord, expectedVersion: number, audit: AuditEntry) {
    const current = this.members.get(member.id);
    if (!current || current.version !== expectedVersion) return false;
    this.members.set(member.id, clone(member));
    this.audit.push(clone(audit));
    return true;
  }

  async deleteMember(id: string, audit: AuditEntry) {
    if (!this.members.delete(id)) return undefined;
    const removed = [...this.tokens.values()].filter((t) => t.memberId === id && !t.serviceToken).map((t) => t.id);
    for (const t of removed) this.dropToken(t);
    for (const [sid, s] of this.sessions) if (s.memberId === id) this.sessions.delete(sid);
    this.audit.push(clone(audit));
    return removed;
  }

  async countOwners() {
    return [...this.members.values()].filter((m) => m.role === "owner").length;
  }

  async touchMembers(seen: Map<string, number>) {
    for (const [id, at] of seen) {
      const m = this.members.get(id);
      if (m) m.lastSeen = Math.max(m.lastSeen ?? 0, at);
    }
  }

  async listRoles(p: Page) {
    return page([...this.roles.values()].sort((a, b) => byteOrder(a.key, b.key)), p);
  }

  async roleByKeyOrId(keyOrId: string) {
    const r = [...this.roles.values()].find((x) => x.key === keyOrId || x.id === keyOrId);
    return r && clone(r);
  }

  async rolesByKeysOrIds(keysOrIds: string[]) {
    return [...this.roles.values()].filter((r) => keysOrIds.includes(r.key) || keysOrIds.includes(r.id)).map(clone);
  }

  async insertRole(role: RoleRecord, audit: AuditEntry) {
    if ([...this.roles.values()].some((r) => r.key === role.key)) throw conflict(`A role with key "${role.key}" already exists`);
    this.roles.set(role.id, clone(role));
    this.audit.push(clone(audit));
  }

  async updateRole(role: RoleRecord, expectedVersion: number, audit: AuditEntry) {
    const current = this.roles.get(role.id);
    if (!current || current.version !== expectedVersion) return false;
    this.roles.set(role.id, clone(role));
    this.audit.push(clone(audit));
    return true;
  }

  async deleteRole(role: RoleRecord, audit: AuditEntry) {
    const used =
      [...this.members.values()].some((m) => m.customRoles.includes(role.key)) ||
      [...this.tokens.values()].some((t) => t.customRoleIds.includes(role.id) || t.customRoleIds.includes(role.key));
    if (used) throw conflict(`The role "${role.key}" is assigned to members or tokens; unassign it first`);
    if (!this.roles.delete(role.id)) return false;
    this.audit.push(clone(audit));
    return true;
  }

  async listTokens(memberId: string | undefined, p: Page) {
    const rows = [...this.tokens.values()]
      .filter((t) => memberId === undefined || t.memberId === memberId)
      .sort((a, b) => a.createdAt - b.createdAt || byteOrder(a.id, b.id));
    return page(rows, p);
  }

  async tokenById(id: string) {
    const t = this.tokens.get(id);
    return t && clone(t);
  }

  async tokenBySelector(selector: string) {
    const t = [...this.tokens.values()].find((x) => x.selector === selector);
    return t && clone(t);
  }

  async retiredSecret(selector: string) {
    const r = this.retired.get(selector);
    return r && clone(r);
  }

  private selectorTaken(selector: string, exceptId?: string) {
    return this.retired.has(selector) || [...this.tokens.values()].some((t) => t.selector === selector && t.id !== exceptId);
  }

  async insertToken(token: TokenRecord, audit: AuditEntry) {
    if (this.selectorTaken(token.selector)) throw conflict("A token with this selector already exists");
    this.tokens.set(token.id, clone(token));
    this.audit.push(clone(audit));
  }

  async updateToken(token: TokenRecord, expectedVersion: number, audit: AuditEntry, retired?: RetiredSecret) {
    const current = this.tokens.get(token.id);
    if (!current || current.version !== expectedVersion) return false;
    if (this.selectorTaken(token.selector, token.id) || (retired && this.retired.has(retired.selector))) {
      throw conflict("A token with this selector already exists");
    }
    this.tokens.set(token.id, clone(token));
    if (retired) this.retired.set(retired.selector, clone(retired));
    this.audit.push(clone(audit));
    return true;
  }

  private dropToken(id: string) {
    this.tokens.delete(id);
    for (const [selector, r] of this.retired) if (r.tokenId === id) this.retired.delete(selector);
  }

  async deleteToken(id: string, audit: AuditEntry) {
    if (!this.tokens.has(id)) return false;
    this.dropToken(id);
    this.audit.push(clone(audit));
    return true;
  }

  async touchTokens(used: Map<string, number>) {
    for (const [id, at] of used) {
      const t = this.tokens.get(id);
      if (t) t.lastUsed = Math.max(t.lastUsed ?? 0, at);
    }
  }

  async insertEnvironmentKeys(keys: EnvironmentKeyRecord[]) {
    const selectors = keys.map((k) => k.selector);
    if (selectors.some((s, i) => this.keys.has(s) || selectors.indexOf(s) !== i)) throw conflict("An environment key with this selector already exists");
    for (const k of keys) this.keys.set(k.selector, clone(k));
  }

  async environmentKeyBySelector(selector: string) {
    const k = this.keys.get(selector);
    return k && clone(k);
  }

  async liveEnvironmentKeys(environmentId: string, kind: "sdk" | "mob", now: number) {
    return [...this.keys.values()]
      .filter((k) => k.environmentId === environmentId && k.kind === kind && (k.expiresAt === null || k.expiresAt > now))
      .sort((a, b) => b.createdAt - a.createdAt)
      .map(clone);
  }

  async rotateEnvironmentKey(key: EnvironmentKeyRecord, oldExpireAt: number, audit: AuditEntry) {
    if (this.keys.has(key.selector)) throw conflict("An environment key with this selector already exists");
    for (const k of this.keys.values()) {
      if (k.environmentId === key.environmentId && k.kind === key.kind) k.expiresAt = Math.min(k.expiresAt ?? oldExpireAt, oldExpireAt);
    }
    this.keys.set(key.selector, clone(key));
    this.audit.push(clone(audit));
  }

  async deleteEnvironmentKeys(environmentIds: string[]) {
    let n = 0;
    for (const [selector, k] of this.keys) {
      if (environmentIds.includes(k.environmentId)) {
        this.keys.delete(selector);
        n++;
      }
    }
    return n;
  }

  async insertSession(session: SessionRecord) {
    this.sessions.set(session.id, clone(session));
  }

  async sessionById(id: string) {
    const s = this.sessions.get(id);
    return s && clone(s);
  }

  async deleteSession(id: string) {
    return this.sessions.delete(id);
  }

  async auditEntries(limit: number) {
    return [...this.audit].sort((a, b) => b.date - a.date || byteOrder(b.id, a.id)).slice(0, limit).map(clone);
  }
}
