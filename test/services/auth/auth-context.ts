/**
 * An AuthContext for domain tests: an in-memory store behind a RecordingStore, events recorded as
 * they are published, a clock the test moves, and helpers that seed members and tokens directly
 * in the store. Callers come from the real verifiers (`verifyAccessToken`, `sessionCaller`), so a
 * test acts exactly as the gateway would let that credential act.
 */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import type { EnvironmentKeysRevokedEvent, RevokedEvent } from "@vexil/shared/auth-messages";
import type { Caller } from "@vexil/shared/caller";
import { VexilError, type ErrorCode } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { silentLogger } from "@vexil/shared/logger";
import type { Statement } from "@vexil/shared/policy";
import { issueCredential } from "@vexil/shared/secrets";
import type { AuthContext, AuthEvents, SessionKey } from "@vexil/auth/domain/context";
import { CURRENT_API_VERSION } from "@vexil/auth/domain/context";
import { sessionCaller } from "@vexil/auth/domain/grants";
import { verifyAccessToken } from "@vexil/auth/domain/token-verifier";
import type { MemberRecord, RoleRecord, TokenRecord } from "@vexil/auth/storage/auth-store";
import { RecordingStore } from "./recording-store.ts";

export const NOW = 1_760_000_000_000;

/** AuthEvents that keep what was published, in order. */
export class RecordingEvents implements AuthEvents {
  readonly revocations: Array<Omit<RevokedEvent, "v">> = [];
  readonly keyRevocations: Array<Omit<EnvironmentKeysRevokedEvent, "v">> = [];

  async revoked(event: Omit<RevokedEvent, "v">): Promise<void> {
    this.revocations.push(structuredClone(event));
  }

  async environmentKeysRevoked(event: Omit<EnvironmentKeysRevokedEvent, "v">): Promise<void> {
    this.keyRevocations.push(structuredClone(event));
  }
}

export const sessionKey = (kid: string): SessionKey => ({ kid, secret: crypto.getRandomValues(new Uint8Array(32)) });

export interface TestAuth {
  ctx: AuthContext;
  store: RecordingStore;
  events: RecordingEvents;
  clock: { now: number };
}

export function testAuth(over: Partial<Omit<AuthContext, "store" | "events" | "now">> = {}): TestAuth {
  const clock = { now: NOW };
  const store = new RecordingStore();
  const events = new RecordingEvents();
  const ctx: AuthContext = {
    store,
    events,
    logger: silentLogger,
    now: () => clock.now,
    sessionKeys: [sessionKey("k1")],
    publicOrigin: "https://flags.example.com",
    ...over,
  };
  return { ctx, store, events, clock };
}

export function memberRecord(over: Partial<MemberRecord> = {}): MemberRecord {
  const id = over.id ?? resourceId();
  return {
    id,
    email: `m-${id}@vexil.test`,
    firstName: null,
    lastName: null,
    role: "reader",
    customRoles: [],
    passwordHash: null,
    createdAt: NOW,
    lastSeen: null,
    version: 1,
    ...over,
  };
}

/** A member written straight to the store (no audit entry). */
export async function addMember(t: TestAuth, over: Partial<MemberRecord> = {}): Promise<MemberRecord> {
  const m = memberRecord(over);
  await t.store.inner.insertMembers([m], []);
  return m;
}

export function roleRecord(over: Partial<RoleRecord> = {}): RoleRecord {
  const key = over.key ?? `role-${resourceId().slice(-8)}`;
  return { id: resourceId(), key, name: key, description: "", policy: [], basePermissions: "reader", createdAt: NOW, version: 1, ...over };
}

export function tokenRecord(memberId: string, over: Partial<TokenRecord> = {}): { record: TokenRecord; value: string } {
  const c = issueCredential("api");
  const record: TokenRecord = {
    id: resourceId(),
    selector: c.selector,
    verifier: c.verifier,
    last4: c.last4,
    name: `token-${c.last4}`,
    description: "",
    ownerId: memberId,
    memberId,
    role: "reader",
    customRoleIds: [],
    inlineRole: null,
    serviceToken: false,
    defaultApiVersion: CURRENT_API_VERSION,
    createdAt: NOW,
    lastModified: NOW,
    lastUsed: null,
    expiresAt: null,
    version: 1,
    ...over,
  };
  return { record, value: c.value };
}

/** A token written straight to the store; its value is what its holder presents. */
export async function addToken(t: TestAuth, memberId: string, over: Partial<TokenRecord> = {}) {
  const made = tokenRecord(memberId, over);
  await t.store.inner.insertToken(made.record, placeholderAudit());
  return made;
}

/** The caller a presented token acts as, per the real verifier; fails the test if it is refused. */
export async function tokenCallerOf(t: TestAuth, value: string): Promise<Caller> {
  const verdict = await verifyAccessToken(t.store.inner, value, t.clock.now);
  if (!verdict.ok) throw new Error(`token refused: ${verdict.reason}`);
  return verdict.caller;
}

/** The caller of a browser session of `member`, with its custom roles as stored now. */
export async function sessionOf(t: TestAuth, member: MemberRecord): Promise<Caller> {
  const current = (await t.store.inner.memberById(member.id)) ?? member;
  const roles = current.customRoles.length > 0 ? await t.store.inner.rolesByKeysOrIds(current.customRoles) : [];
  return sessionCaller(current, roles);
}

/** A member of `role` with a session caller; the usual actor of a domain test. */
export async function actor(t: TestAuth, role: string, over: Partial<MemberRecord> = {}) {
  const member = await addMember(t, { role, ...over });
  return { member, caller: await sessionOf(t, member) };
}

/** A service token's caller: no member, the token's own grant only. */
export async function serviceCaller(t: TestAuth, role: string, over: Partial<TokenRecord> = {}): Promise<Caller> {
  const owner = await addMember(t, { role: "admin" });
  const { value } = await addToken(t, owner.id, { serviceToken: true, role, ...over });
  return tokenCallerOf(t, value);
}

/** The newest audit entry recording `action`; fails the test when there is none. */
export async function auditOf(t: TestAuth, action: string): Promise<AuditEntry> {
  const entry = (await t.store.inner.auditEntries(1000)).find((a) => a.accesses.some((x) => x.action === action));
  if (!entry) throw new Error(`no audit entry for ${action}`);
  return entry;
}

/** The audit entry of a seeded row: dated at 0, so it is always the oldest. */
export function placeholderAudit(): AuditEntry {
  return {
    id: resourceId(),
    date: 0,
    kind: "seed",
    spec: "acct",
    name: "seed",
    title: "seed",
    description: "",
    comment: null,
    accesses: [],
    memberId: null,
    memberEmail: null,
    tokenId: null,
    tokenName: null,
    serviceToken: false,
    delta: null,
    previousVersion: null,
    currentVersion: null,
    previous: null,
    current: null,
    previousDelta: null,
    operationId: null,
  };
}

/** The VexilError `work` rejects with; fails the test when it resolves or throws anything else. */
export async function rejection(work: Promise<unknown>, code?: ErrorCode): Promise<VexilError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof VexilError)) throw new Error(`expected a VexilError, got ${error === undefined ? "success" : String(error)}`);
  if (code !== undefined && error.code !== code) throw new Error(`expected code ${code}, got ${error.code}: ${error.message}`);
  return error;
}

export const allow = (resources: string[], actions: string[] = ["*"]): Statement => ({ effect: "allow", resources, actions });
export const deny = (resources: string[], actions: string[] = ["*"]): Statement => ({ effect: "deny", resources, actions });
