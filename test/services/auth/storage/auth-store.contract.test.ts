/** One contract for both AuthStore implementations: the in-memory one and drizzle on real Postgres. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { auditEntry, type AuditEntry } from "@vexil/shared/audit/audit";
import type { Caller } from "@vexil/shared/caller";
import type { Db } from "@vexil/shared/db/connector";
import { VexilError } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { issueCredential } from "@vexil/shared/secrets";
import type { AuthStore, EnvironmentKeyRecord, MemberRecord, RoleRecord, SessionRecord, TokenRecord } from "@vexil/auth/storage/auth-store";
import { DrizzleAuthStore } from "@vexil/auth/storage/drizzle-auth-store";
import { MemoryAuthStore } from "@vexil/auth/storage/memory-auth-store";
import { testDatabaseUrl } from "../../../support/postgres.ts";

const NOW = 1_760_000_000_000;

const member = (over: Partial<MemberRecord> = {}): MemberRecord => ({
  id: resourceId(),
  email: `owner-${resourceId()}@vexil.local`,
  firstName: "Owner",
  lastName: null,
  role: "owner",
  customRoles: [],
  passwordHash: null,
  createdAt: NOW,
  lastSeen: null,
  version: 1,
  ...over,
});

const token = (memberId: string, over: Partial<TokenRecord> = {}): TokenRecord => {
  const c = issueCredential("api");
  return {
    id: resourceId(),
    selector: c.selector,
    verifier: c.verifier,
    last4: c.last4,
    name: "bootstrap admin token",
    description: "",
    ownerId: memberId,
    memberId,
    role: "admin",
    customRoleIds: [],
    inlineRole: null,
    serviceToken: false,
    defaultApiVersion: 20240415,
    createdAt: NOW,
    lastModified: NOW,
    lastUsed: null,
    expiresAt: null,
    version: 1,
    ...over,
  };
};

const role = (over: Partial<RoleRecord> = {}): RoleRecord => ({
  id: resourceId(),
  key: `role-${resourceId()}`,
  name: "A role",
  description: "",
  policy: [{ effect: "allow", resources: ["proj/*"], actions: ["*"] }],
  basePermissions: "reader",
  createdAt: NOW,
  version: 1,
  ...over,
});

const actor: Caller = {
  kind: "token",
  tokenId: "0123456789abcdef01234567",
  tokenName: "admin token",
  memberId: "76543210fedcba9876543210",
  memberEmail: "admin@vexil.test",
  role: "admin",
  serviceToken: false,
  grants: [],
};

/** Audit entries dated one millisecond apart, in the order they are made, so "newest first" is well defined. */
let tick = 0;
const audit = (action: string, over: Partial<AuditEntry> = {}): AuditEntry => ({
  ...auditEntry({
    caller: actor,
    kind: "test",
    spec: `test/${action}`,
    name: action,
    verb: "did",
    actions: [action],
    delta: { action, nested: [1, "two", null] },
    previousVersion: 1,
    currentVersion: 2,
    now: NOW + ++tick,
  }),
  ...over,
});

const session = (memberId: string, over: Partial<SessionRecord> = {}): SessionRecord => ({ id: resourceId(), memberId, createdAt: NOW, expiresAt: NOW + 3_600_000, ...over });

/** The VexilError `work` rejects with. */
async function rejected(work: Promise<unknown>): Promise<VexilError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VexilError);
  return error as VexilError;
}

const environmentKey = (environmentId: string, kind: "sdk" | "mob", over: Partial<EnvironmentKeyRecord> = {}): EnvironmentKeyRecord => {
  const c = issueCredential(kind);
  return { id: resourceId(), environmentId, kind, selector: c.selector, verifier: c.verifier, last4: c.last4, createdAt: NOW, expiresAt: null, ...over };
};

// The first database starts the shared throwaway server (initdb and a migrated template): allow it time.
beforeAll(async () => {
  await testDatabaseUrl();
}, 60_000);

const clients: Array<{ end(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
});

interface Subject {
  store: AuthStore;
  /** Stores over the same data, each on its own connection where there are connections. */
  peers(n: number): AuthStore[];
}

const implementations: Array<[string, () => Promise<Subject>]> = [
  [
    "memory",
    async () => {
      const store = new MemoryAuthStore();
      return { store, peers: (n) => Array.from({ length: n }, () => store) };
    },
  ],
  [
    "postgres",
    async () => {
      const url = await testDatabaseUrl();
      const open = (max: number) => {
        const client = postgres(url, { max, onnotice: () => {} });
        clients.push(client);
        return new DrizzleAuthStore(drizzle(client) as unknown as Db);
      };
      return { store: open(4), peers: (n) => Array.from({ length: n }, () => open(1)) };
    },
  ],
];

for (const [name, make] of implementations) {
  describe(`AuthStore contract: ${name}`, () => {
    let subject: Subject;
    let store: AuthStore;
    beforeEach(async () => {
      subject = await make();
      store = subject.store;
    });

    test("bootstrap creates the owner and the first token exactly once", async () => {
      const owner = member({ lastName: "Person", passwordHash: "$argon2id$v=19$..." });
      const first = token(owner.id, { description: "Created on first start" });
      expect(await store.bootstrap(owner, first)).toBe(true);
      expect(await store.memberById(owner.id)).toEqual(owner);
      expect(await store.tokenBySelector(first.selector)).toEqual(first);

      const otherOwner = member();
      const second = token(otherOwner.id);
      expect(await store.bootstrap(otherOwner, second)).toBe(false);
      expect(await store.memberById(otherOwner.id)).toBeUndefined();
      expect(await store.tokenBySelector(second.selector)).toBeUndefined();
      expect(await store.tokenBySelector(first.selector)).toEqual(first);
    });

    test("five concurrent bootstraps create exactly one owner and one token", async () => {
      const stores = subject.peers(5);
      const attempts = stores.map(() => {
        const owner = member();
        return { owner, token: token(owner.id) };
      });
      const results = await Promise.all(stores.map((s, i) => s.bootstrap(attempts[i]!.owner, attempts[i]!.token)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = attempts[results.indexOf(true)]!;

      const owners = await Promise.all(attempts.map((a) => store.memberById(a.owner.id)));
      const tokens = await Promise.all(attempts.map((a) => store.tokenBySelector(a.token.selector)));
      expect(owners.filter((o) => o !== undefined)).toEqual([winner.owner]);
      expect(tokens.filter((t) => t !== undefined)).toEqual([winner.token]);
    });

    test("a token is found by its selector with every field intact", async () => {
      const owner = member();
      const t = token(owner.id, {
        serviceToken: true,
        role: "reader",
        lastUsed: NOW + 5,
        expiresAt: NOW + 86_400_000,
        name: "ci token — ünïcode",
        description: "for the pipeline",
      });
      await store.bootstrap(owner, t);
      const found = await store.tokenBySelector(t.selector);
      expect(found).toEqual(t);
      expect(typeof found!.createdAt).toBe("number");
      expect(typeof found!.expiresAt).toBe("number");
    });

    test("unknown selectors and member ids find nothing", async () => {
      const owner = member();
      const t = token(owner.id);
      await store.bootstrap(owner, t);
      expect(await store.tokenBySelector(issueCredential("api").selector)).toBeUndefined();
      expect(await store.tokenBySelector(t.selector.toLowerCase() === t.selector ? t.selector.toUpperCase() : t.selector.toLowerCase())).toBeUndefined();
      expect(await store.tokenBySelector("")).toBeUndefined();
      expect(await store.memberById(resourceId())).toBeUndefined();
    });

    test("a record read back is a copy: changing it changes nothing stored", async () => {
      const owner = member();
      const t = token(owner.id);
      await store.bootstrap(owner, t);
      const read = (await store.tokenBySelector(t.selector))!;
      read.role = "owner";
      read.verifier = "0".repeat(64);
      const readMember = (await store.memberById(owner.id))!;
      readMember.role = "reader";
      expect(await store.tokenBySelector(t.selector)).toEqual(t);
      expect(await store.memberById(owner.id)).toEqual(owner);
    });

    test("environment keys are inserted, found by selector and deleted by environment", async () => {
      const envA = resourceId();
      const envB = resourceId();
      const keys = [
        environmentKey(envA, "sdk"),
        environmentKey(envA, "mob", { expiresAt: NOW + 1000 }),
        environmentKey(envB, "sdk"),
        environmentKey(envB, "mob"),
      ];
      await store.insertEnvironmentKeys(keys);
      for (const k of keys) expect(await store.environmentKeyBySelector(k.selector)).toEqual(k);
      expect(await store.environmentKeyBySelector(issueCredential("sdk").selector)).toBeUndefined();

      expect(await store.deleteEnvironmentKeys([envA])).toBe(2);
      expect(await store.environmentKeyBySelector(keys[0]!.selector)).toBeUndefined();
      expect(await store.environmentKeyBySelector(keys[1]!.selector)).toBeUndefined();
      expect(await store.environmentKeyBySelector(keys[2]!.selector)).toEqual(keys[2]!);
      expect(await store.deleteEnvironmentKeys([envA])).toBe(0);
      expect(await store.deleteEnvironmentKeys([envB, envA, resourceId()])).toBe(2);
      expect(await store.environmentKeyBySelector(keys[3]!.selector)).toBeUndefined();
    });

    test("several keys of one environment may be live at once and are all deleted together", async () => {
      const env = resourceId();
      const keys = [environmentKey(env, "sdk"), environmentKey(env, "sdk"), environmentKey(env, "mob")];
      await store.insertEnvironmentKeys(keys.slice(0, 2));
      await store.insertEnvironmentKeys(keys.slice(2));
      expect(await store.deleteEnvironmentKeys([env])).toBe(3);
    });

    test("empty inserts and deletes do nothing", async () => {
      const k = environmentKey(resourceId(), "sdk");
      await store.insertEnvironmentKeys([k]);
      await store.insertEnvironmentKeys([]);
      expect(await store.deleteEnvironmentKeys([])).toBe(0);
      expect(await store.deleteEnvironmentKeys([resourceId()])).toBe(0);
      expect(await store.environmentKeyBySelector(k.selector)).toEqual(k);
    });

    test("a taken key selector is refused and nothing of that batch is written", async () => {
      const env = resourceId();
      const existing = environmentKey(env, "sdk");
      await store.insertEnvironmentKeys([existing]);
      const fresh = environmentKey(resourceId(), "mob");
      const clash = environmentKey(resourceId(), "sdk", { selector: existing.selector });
      await expect(store.insertEnvironmentKeys([fresh, clash])).rejects.toThrow();
      expect(await store.environmentKeyBySelector(fresh.selector)).toBeUndefined();
      expect(await store.environmentKeyBySelector(existing.selector)).toEqual(existing);
    });

    describe("members", () => {
      /** Members and their audit entries, written in one batch. */
      async function seed(list: MemberRecord[]) {
        await store.insertMembers(list, list.map((m) => audit(`createMember ${m.email}`)));
        return list;
      }

      test("list in byte order of email, with every member's fields intact", async () => {
        const emails = ["b@x.test", "B@x.test", "a@x.test", "_u@x.test", "Zed@x.test", "ärger@x.test", "100%@x.test"];
        const made = await seed(emails.map((email) => member({ email, role: "reader", customRoles: ["r1"], lastSeen: NOW + 1, passwordHash: "$argon2id$h" })));
        const listed = await store.listMembers({ limit: 100, offset: 0 });
        expect(listed.total).toBe(7);
        expect(listed.items.map((m) => m.email)).toEqual([...emails].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
        expect(listed.items.map((m) => m.email)).toEqual(["100%@x.test", "B@x.test", "Zed@x.test", "_u@x.test", "a@x.test", "b@x.test", "ärger@x.test"]);
        for (const m of made) expect(listed.items.find((x) => x.id === m.id)).toEqual(m);
      });

      test("pages: limit and offset over the ordered list, total over every match", async () => {
        await seed(["a", "b", "c", "d", "e"].map((l) => member({ email: `${l}@x.test` })));
        const page = await store.listMembers({ limit: 2, offset: 1 });
        expect(page.items.map((m) => m.email)).toEqual(["b@x.test", "c@x.test"]);
        expect(page.total).toBe(5);
        const beyond = await store.listMembers({ limit: 2, offset: 10 });
        expect(beyond).toEqual({ items: [], total: 5 });
      });

      test("sort by display name: first and last name (unset and empty ones left out), else the email; ties by email; byte order", async () => {
        await seed([
          member({ email: "a@x.test", firstName: "Zoë", lastName: null }),
          member({ email: "b@x.test", firstName: null, lastName: "Zoe" }),
          member({ email: "c@x.test", firstName: "ann", lastName: "Lee" }),
          member({ email: "d@x.test", firstName: "Ann", lastName: "Lee" }),
          member({ email: "e@x.test", firstName: "Ann", lastName: "Lee" }),
          member({ email: "f@x.test", firstName: "", lastName: "" }),
          member({ email: "Ann@x.test", firstName: null, lastName: null }),
          member({ email: "g@x.test", firstName: "Ann", lastName: "" }),
          member({ email: "h@x.test", firstName: "", lastName: "Ann" }),
          member({ email: "i@x.test", firstName: "Ann ", lastName: "Lee" }),
          member({ email: "j@x.test", firstName: "_", lastName: null }),
        ]);
        const emails = async (sort?: { field: "displayName" | "email"; descending: boolean }, page = { limit: 100, offset: 0 }) =>
          (await store.listMembers({ ...page, ...(sort ? { sort } : {}) })).items.map((m) => m.email);
        // "Ann" (g, h: by email), "Ann  Lee" (i), "Ann Lee" (d, e), "Ann@x.test" (no name), "Zoe", "Zoë", "_", "ann Lee", "f@x.test" (empty names).
        const byName = ["g@x.test", "h@x.test", "i@x.test", "d@x.test", "e@x.test", "Ann@x.test", "b@x.test", "a@x.test", "j@x.test", "c@x.test", "f@x.test"];
        expect(await emails({ field: "displayName", descending: false })).toEqual(byName);
        expect(await emails({ field: "displayName", descending: true })).toEqual([...byName].reverse());
        expect(await emails({ field: "displayName", descending: false }, { limit: 3, offset: 2 })).toEqual(["i@x.test", "d@x.test", "e@x.test"]);
        expect(await emails({ field: "displayName", descending: true }, { limit: 3, offset: 2 })).toEqual(["j@x.test", "a@x.test", "b@x.test"]);
        const byEmail = ["Ann@x.test", "a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test", "f@x.test", "g@x.test", "h@x.test", "i@x.test", "j@x.test"];
        expect(await emails()).toEqual(byEmail);
        expect(await emails({ field: "email", descending: false })).toEqual(byEmail);
        expect(await emails({ field: "email", descending: true })).toEqual([...byEmail].reverse());
        const filtered = await store.listMembers({ limit: 2, offset: 0, query: "lee", sort: { field: "displayName", descending: true } });
        expect(filtered.items.map((m) => m.email)).toEqual(["c@x.test", "e@x.test"]);
        expect(filtered.total).toBe(4);
      });

      test("query: a case-insensitive substring of the email or the name, with % and _ taken literally", async () => {
        const [ann, bob, pct, und] = await seed([
          member({ email: "ann@x.test", firstName: "Ann", lastName: "Smith", role: "writer" }),
          member({ email: "bob@x.test", firstName: "Robert", lastName: null, role: "reader" }),
          member({ email: "100%@x.test", firstName: null, lastName: "Hundred", role: "reader" }),
          member({ email: "u_u@x.test", firstName: null, lastName: null, role: "admin" }),
        ]);
        const ids = async (q: Parameters<AuthStore["listMembers"]>[0]) => (await store.listMembers(q)).items.map((m) => m.id);
        const all = { limit: 100, offset: 0 };
        expect(await ids({ ...all, query: "ANN" })).toEqual([ann!.id]);
        expect(await ids({ ...all, query: "smith" })).toEqual([ann!.id]);
        expect(await ids({ ...all, query: "ann smi" })).toEqual([ann!.id]);
        expect(await ids({ ...all, query: "rob" })).toEqual([bob!.id]);
        expect(await ids({ ...all, query: "%" })).toEqual([pct!.id]);
        expect(await ids({ ...all, query: "_" })).toEqual([und!.id]);
        expect(await ids({ ...all, query: "x.TEST" })).toHaveLength(4);
        expect(await ids({ ...all, query: "nobody" })).toEqual([]);
      });

      test("roles, ids and emails filters, each a list, combined with and", async () => {
        const [a, b, c] = await seed([
          member({ email: "a@x.test", role: "writer" }),
          member({ email: "b@x.test", role: "reader" }),
          member({ email: "c@x.test", role: "writer" }),
        ]);
        const all = { limit: 100, offset: 0 };
        const emails = async (q: Parameters<AuthStore["listMembers"]>[0]) => (await store.listMembers(q)).items.map((m) => m.email);
        expect(await emails({ ...all, roles: ["writer"] })).toEqual(["a@x.test", "c@x.test"]);
        expect(await emails({ ...all, roles: ["writer", "reader"] })).toEqual(["a@x.test", "b@x.test", "c@x.test"]);
        expect(await emails({ ...all, ids: [c!.id, b!.id, resourceId()] })).toEqual(["b@x.test", "c@x.test"]);
        expect(await emails({ ...all, emails: ["a@x.test", "A@X.TEST"] })).toEqual(["a@x.test"]);
        expect(await emails({ ...all, roles: ["writer"], ids: [a!.id, b!.id] })).toEqual(["a@x.test"]);
        expect(await emails({ ...all, roles: ["writer"], query: "c@" })).toEqual(["c@x.test"]);
      });

      test("an empty roles, ids or emails list matches nothing", async () => {
        await seed([member({ email: "a@x.test", role: "writer" })]);
        const all = { limit: 100, offset: 0 };
        expect(await store.listMembers({ ...all, roles: [] })).toEqual({ items: [], total: 0 });
        expect(await store.listMembers({ ...all, ids: [] })).toEqual({ items: [], total: 0 });
        expect(await store.listMembers({ ...all, emails: [] })).toEqual({ items: [], total: 0 });
      });

      test("found by id and by exact email", async () => {
        const [m] = await seed([member({ email: "Exact@x.test" })]);
        expect(await store.memberById(m!.id)).toEqual(m);
        expect(await store.memberByEmail("Exact@x.test")).toEqual(m);
        expect(await store.memberByEmail("exact@x.test")).toBeUndefined();
        expect(await store.memberByEmail("")).toBeUndefined();
      });

      test("insertMembers writes every member and every audit entry", async () => {
        const list = [member({ email: "a@x.test" }), member({ email: "b@x.test" })];
        const entries = [audit("createMember a"), audit("createMember b")];
        await store.insertMembers(list, entries);
        for (const m of list) expect(await store.memberById(m.id)).toEqual(m);
        expect(await store.auditEntries(10)).toEqual([entries[1]!, entries[0]!]);
      });

      test("insertMembers is all or nothing: a taken email is a conflict, and no member nor audit entry is written", async () => {
        const [existing] = await seed([member({ email: "taken@x.test" })]);
        const before = await store.auditEntries(100);
        const fresh = member({ email: "fresh@x.test" });
        const clash = member({ email: "taken@x.test" });
        const error = await rejected(store.insertMembers([fresh, clash], [audit("createMember fresh"), audit("createMember clash")]));
        expect(error.code).toBe("conflict");
        expect(error.status).toBe(409);
        expect(await store.memberById(fresh.id)).toBeUndefined();
        expect(await store.memberById(clash.id)).toBeUndefined();
        expect(await store.memberByEmail("taken@x.test")).toEqual(existing);
        expect(await store.auditEntries(100)).toEqual(before);
      });

      test("insertMembers refuses the same email twice in one batch", async () => {
        const a = member({ email: "twice@x.test" });
        const b = member({ email: "twice@x.test" });
        expect((await rejected(store.insertMembers([a, b], [audit("createMember a")]))).code).toBe("conflict");
        expect(await store.listMembers({ limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
        expect(await store.auditEntries(10)).toEqual([]);
      });

      test("updateMember writes only from the expected version, with its audit entry", async () => {
        const [m] = await seed([member({ role: "writer" })]);
        const before = await store.auditEntries(100);
        const next = { ...m!, firstName: "New", role: "reader", customRoles: ["r"], passwordHash: "$argon2id$new", version: 2 };
        const entry = audit("updateMember");
        expect(await store.updateMember(next, 1, entry)).toBe(true);
        expect(await store.memberById(m!.id)).toEqual(next);
        expect((await store.auditEntries(1))[0]).toEqual(entry);

        const stale = { ...m!, firstName: "Stale", version: 2 };
        expect(await store.updateMember(stale, 1, audit("stale"))).toBe(false);
        expect(await store.memberById(m!.id)).toEqual(next);
        expect(await store.updateMember(member(), 1, audit("missing"))).toBe(false);
        expect(await store.auditEntries(100)).toEqual([entry, ...before]);
      });

      test("deleteMember removes the member, their personal tokens with retired secrets, and their sessions; service tokens stay", async () => {
        const [m, other] = await seed([member(), member()]);
        const personal = [token(m!.id, { name: "one", createdAt: NOW + 1 }), token(m!.id, { name: "two", createdAt: NOW + 2 })];
        const service = token(m!.id, { name: "svc", serviceToken: true });
        const othersToken = token(other!.id);
        for (const t of [...personal, service, othersToken]) await store.insertToken(t, audit(`createAccessToken ${t.name}`));
        const next = issueCredential("api");
        await store.updateToken({ ...personal[0]!, selector: next.selector, verifier: next.verifier, version: 2 }, 1, audit("reset"), {
          selector: personal[0]!.selector,
          tokenId: personal[0]!.id,
          verifier: personal[0]!.verifier,
          expiresAt: NOW + 60_000,
        });
        const sessions = [session(m!.id), session(m!.id)];
        const othersSession = session(other!.id);
        for (const s of [...sessions, othersSession]) await store.insertSession(s);

        const entry = audit("deleteMember");
        const removed = await store.deleteMember(m!.id, entry);
        expect([...removed!].sort()).toEqual(personal.map((t) => t.id).sort());
        expect(await store.memberById(m!.id)).toBeUndefined();
        for (const t of personal) expect(await store.tokenById(t.id)).toBeUndefined();
        expect(await store.retiredSecret(personal[0]!.selector)).toBeUndefined();
        expect(await store.tokenById(service.id)).toEqual(service);
        expect(await store.tokenById(othersToken.id)).toEqual(othersToken);
        for (const s of sessions) expect(await store.sessionById(s.id)).toBeUndefined();
        expect(await store.sessionById(othersSession.id)).toEqual(othersSession);
        expect((await store.auditEntries(1))[0]).toEqual(entry);

        const before = await store.auditEntries(100);
        expect(await store.deleteMember(m!.id, audit("again"))).toBeUndefined();
        expect(await store.auditEntries(100)).toEqual(before);
      });

      test("a member without tokens is deleted with an empty list", async () => {
        const [m] = await seed([member()]);
        expect(await store.deleteMember(m!.id, audit("deleteMember"))).toEqual([]);
      });

      test("countOwners counts members whose role is owner", async () => {
        expect(await store.countOwners()).toBe(0);
        await seed([member({ role: "owner" }), member({ role: "admin" }), member({ role: "owner" })]);
        expect(await store.countOwners()).toBe(2);
      });

      test("touchMembers keeps the latest time and ignores unknown members", async () => {
        const [a, b] = await seed([member(), member({ lastSeen: NOW + 50 })]);
        await store.touchMembers(new Map([[a!.id, NOW + 10], [b!.id, NOW + 20], [resourceId(), NOW]]));
        expect((await store.memberById(a!.id))!.lastSeen).toBe(NOW + 10);
        expect((await store.memberById(b!.id))!.lastSeen).toBe(NOW + 50);
        await store.touchMembers(new Map([[a!.id, NOW + 5]]));
        expect((await store.memberById(a!.id))!.lastSeen).toBe(NOW + 10);
        await store.touchMembers(new Map([[a!.id, NOW + 99]]));
        expect((await store.memberById(a!.id))!.lastSeen).toBe(NOW + 99);
        await store.touchMembers(new Map());
        // Touching is not a change: no audit entry, no new version.
        expect((await store.memberById(a!.id))!.version).toBe(1);
      });
    });

    describe("roles", () => {
      test("insert, find by key or id, list in byte order of key with pages", async () => {
        const roles = ["b", "B", "a-1", "_x"].map((key) => role({ key, basePermissions: key === "B" ? "no_access" : "reader", description: `about ${key}` }));
        const entries = roles.map((r) => audit(`createRole ${r.key}`));
        for (const [i, r] of roles.entries()) await store.insertRole(r, entries[i]!);
        expect(await store.roleByKeyOrId("a-1")).toEqual(roles[2]!);
        expect(await store.roleByKeyOrId(roles[1]!.id)).toEqual(roles[1]!);
        expect(await store.roleByKeyOrId("nope")).toBeUndefined();
        const listed = await store.listRoles({ limit: 10, offset: 0 });
        expect(listed.items.map((r) => r.key)).toEqual(["B", "_x", "a-1", "b"]);
        expect(listed.total).toBe(4);
        expect(await store.listRoles({ limit: 2, offset: 1 })).toEqual({ items: [roles[3]!, roles[2]!], total: 4 });
        expect(await store.auditEntries(4)).toEqual([...entries].reverse());
      });

      test("a taken key is a conflict and writes no audit entry", async () => {
        const first = role({ key: "ops" });
        await store.insertRole(first, audit("createRole"));
        const before = await store.auditEntries(100);
        const error = await rejected(store.insertRole(role({ key: "ops" }), audit("createRole again")));
        expect(error.code).toBe("conflict");
        expect(await store.listRoles({ limit: 10, offset: 0 })).toEqual({ items: [first], total: 1 });
        expect(await store.auditEntries(100)).toEqual(before);
      });

      test("rolesByKeysOrIds finds roles by key and by id", async () => {
        const [a, b, c] = [role({ key: "a" }), role({ key: "b" }), role({ key: "c" })];
        for (const r of [a, b, c]) await store.insertRole(r, audit("createRole"));
        const found = await store.rolesByKeysOrIds(["a", b.id, "missing", resourceId()]);
        expect(found.sort((x, y) => x.key.localeCompare(y.key))).toEqual([a, b]);
        expect(await store.rolesByKeysOrIds([])).toEqual([]);
        expect(await store.rolesByKeysOrIds(["a", a.id])).toEqual([a]);
      });

      test("updateRole writes only from the expected version", async () => {
        const r = role();
        await store.insertRole(r, audit("createRole"));
        const next = { ...r, name: "Renamed", policy: [{ effect: "deny" as const, notResources: ["proj/a"], notActions: ["read*"] }], basePermissions: "no_access" as const, version: 2 };
        const entry = audit("updateRole");
        expect(await store.updateRole(next, 1, entry)).toBe(true);
        expect(await store.roleByKeyOrId(r.key)).toEqual(next);
        expect(await store.updateRole({ ...r, name: "Stale", version: 2 }, 1, audit("stale"))).toBe(false);
        expect(await store.updateRole(role(), 1, audit("missing"))).toBe(false);
        expect(await store.roleByKeyOrId(r.key)).toEqual(next);
        expect((await store.auditEntries(1))[0]).toEqual(entry);
      });

      test("deleteRole is refused with a conflict while a member or a token uses the role", async () => {
        const r = role({ key: "ops" });
        await store.insertRole(r, audit("createRole"));
        const m = member({ customRoles: ["ops"] });
        await store.insertMembers([m], []);
        const before = await store.auditEntries(100);

        expect((await rejected(store.deleteRole(r, audit("deleteRole")))).code).toBe("conflict");
        await store.updateMember({ ...m, customRoles: [], version: 2 }, 1, audit("unassign"));

        const byId = token(m.id, { customRoleIds: [r.id] });
        await store.insertToken(byId, audit("createAccessToken"));
        expect((await rejected(store.deleteRole(r, audit("deleteRole")))).code).toBe("conflict");
        await store.deleteToken(byId.id, audit("deleteAccessToken"));

        const byKey = token(m.id, { customRoleIds: ["ops"] });
        await store.insertToken(byKey, audit("createAccessToken"));
        expect((await rejected(store.deleteRole(r, audit("deleteRole")))).code).toBe("conflict");
        await store.deleteToken(byKey.id, audit("deleteAccessToken"));

        expect(await store.roleByKeyOrId("ops")).toEqual(r);
        expect((await store.auditEntries(100)).some((e) => e.name === "deleteRole")).toBe(false);
        expect((await store.auditEntries(100)).length).toBe(before.length + 5);

        const entry = audit("deleteRole");
        expect(await store.deleteRole(r, entry)).toBe(true);
        expect(await store.roleByKeyOrId("ops")).toBeUndefined();
        expect((await store.auditEntries(1))[0]).toEqual(entry);
        expect(await store.deleteRole(r, audit("deleteRole again"))).toBe(false);
        expect((await store.auditEntries(1))[0]).toEqual(entry);
      });
    });

    describe("tokens", () => {
      test("insertToken writes its audit entry; tokenById finds it", async () => {
        const m = member();
        await store.insertMembers([m], []);
        const t = token(m.id, { customRoleIds: ["ops"], inlineRole: [{ effect: "allow", resources: ["proj/*;{critical:true}"], actions: ["update*"] }] });
        const entry = audit("createAccessToken");
        await store.insertToken(t, entry);
        expect(await store.tokenById(t.id)).toEqual(t);
        expect(await store.tokenById(resourceId())).toBeUndefined();
        expect(await store.auditEntries(10)).toEqual([entry]);
        const before = await store.auditEntries(10);
        expect((await rejected(store.insertToken(token(m.id, { selector: t.selector }), audit("clash")))).code).toBe("conflict");
        expect(await store.auditEntries(10)).toEqual(before);
      });

      test("listTokens by member or all, oldest first, in pages", async () => {
        const [a, b] = [member(), member()];
        await store.insertMembers([a, b], []);
        const tokens = [
          token(a.id, { name: "a1", createdAt: NOW + 3 }),
          token(b.id, { name: "b1", createdAt: NOW + 1 }),
          token(a.id, { name: "a2", createdAt: NOW + 2 }),
          token(a.id, { name: "svc", serviceToken: true, createdAt: NOW + 4 }),
        ];
        for (const t of tokens) await store.insertToken(t, audit("createAccessToken"));
        const names = async (memberId: string | undefined, limit = 10, offset = 0) => {
          const listed = await store.listTokens(memberId, { limit, offset });
          return { names: listed.items.map((t) => t.name), total: listed.total };
        };
        expect(await names(undefined)).toEqual({ names: ["b1", "a2", "a1", "svc"], total: 4 });
        expect(await names(a.id)).toEqual({ names: ["a2", "a1", "svc"], total: 3 });
        expect(await names(b.id)).toEqual({ names: ["b1"], total: 1 });
        expect(await names(resourceId())).toEqual({ names: [], total: 0 });
        expect(await names(undefined, 2, 1)).toEqual({ names: ["a2", "a1"], total: 4 });
        expect((await store.listTokens(b.id, { limit: 10, offset: 0 })).items).toEqual([tokens[1]!]);
      });

      test("updateToken with a retired secret: the new selector finds the token, the old one its retired secret", async () => {
        const m = member();
        await store.insertMembers([m], []);
        const t = token(m.id);
        await store.insertToken(t, audit("createAccessToken"));
        const next = issueCredential("api");
        const updated = { ...t, selector: next.selector, verifier: next.verifier, last4: next.last4, lastModified: NOW + 9, version: 2 };
        const retired = { selector: t.selector, tokenId: t.id, verifier: t.verifier, expiresAt: NOW + 60_000 };
        const entry = audit("resetAccessToken");
        expect(await store.updateToken(updated, 1, entry, retired)).toBe(true);
        expect(await store.tokenBySelector(next.selector)).toEqual(updated);
        expect(await store.tokenBySelector(t.selector)).toBeUndefined();
        expect(await store.retiredSecret(t.selector)).toEqual(retired);
        expect(await store.retiredSecret(next.selector)).toBeUndefined();
        expect((await store.auditEntries(1))[0]).toEqual(entry);
      });

      test("updateToken writes only from the expected version; a stale write keeps no retired secret and no audit entry", async () => {
        const m = member();
        await store.insertMembers([m], []);
        const t = token(m.id);
        await store.insertToken(t, audit("createAccessToken"));
        expect(await store.updateToken({ ...t, name: "renamed", version: 2 }, 1, audit("updateAccessTokenName"))).toBe(true);
        const before = await store.auditEntries(100);
        const next = issueCredential("api");
        const stale = { ...t, selector: next.selector, verifier: next.verifier, version: 2 };
        expect(await store.updateToken(stale, 1, audit("stale"), { selector: t.selector, tokenId: t.id, verifier: t.verifier, expiresAt: NOW + 1 })).toBe(false);
        expect(await store.tokenById(t.id)).toEqual({ ...t, name: "renamed", version: 2 });
        expect(await store.retiredSecret(t.selector)).toBeUndefined();
        expect(await store.updateToken(token(m.id), 1, audit("missing"))).toBe(false);
        expect(await store.auditEntries(100)).toEqual(before);
      });

      test("deleteToken removes the token and its retired secrets, with its audit entry", async () => {
        const m = member();
        await store.insertMembers([m], []);
        const [t, keep] = [token(m.id), token(m.id)];
        await store.insertToken(t, audit("createAccessToken"));
        await store.insertToken(keep, audit("createAccessToken"));
        const second = issueCredential("api");
        const third = issueCredential("api");
        await store.updateToken({ ...t, selector: second.selector, verifier: second.verifier, version: 2 }, 1, audit("reset 1"), {
          selector: t.selector,
          tokenId: t.id,
          verifier: t.verifier,
          expiresAt: NOW + 60_000,
        });
        await store.updateToken({ ...t, selector: third.selector, verifier: third.verifier, version: 3 }, 2, audit("reset 2"), {
          selector: second.selector,
          tokenId: t.id,
          verifier: second.verifier,
          expiresAt: NOW + 60_000,
        });
        const entry = audit("deleteAccessToken");
        expect(await store.deleteToken(t.id, entry)).toBe(true);
        expect(await store.tokenById(t.id)).toBeUndefined();
        expect(await store.retiredSecret(t.selector)).toBeUndefined();
        expect(await store.retiredSecret(second.selector)).toBeUndefined();
        expect(await store.tokenById(keep.id)).toEqual(keep);
        expect((await store.auditEntries(1))[0]).toEqual(entry);
        expect(await store.deleteToken(t.id, audit("again"))).toBe(false);
        expect((await store.auditEntries(1))[0]).toEqual(entry);
      });

      test("touchTokens keeps the latest time and ignores unknown tokens", async () => {
        const m = member();
        await store.insertMembers([m], []);
        const [a, b] = [token(m.id), token(m.id, { lastUsed: NOW + 50 })];
        await store.insertToken(a, audit("createAccessToken"));
        await store.insertToken(b, audit("createAccessToken"));
        await store.touchTokens(new Map([[a.id, NOW + 10], [b.id, NOW + 20], [resourceId(), NOW]]));
        expect((await store.tokenById(a.id))!.lastUsed).toBe(NOW + 10);
        expect((await store.tokenById(b.id))!.lastUsed).toBe(NOW + 50);
        await store.touchTokens(new Map([[a.id, NOW + 1]]));
        expect((await store.tokenById(a.id))!.lastUsed).toBe(NOW + 10);
        expect((await store.tokenById(a.id))!.version).toBe(1);
      });
    });

    describe("environment key rotation", () => {
      test("liveEnvironmentKeys: one kind of one environment, not yet expired at now, newest first", async () => {
        const env = resourceId();
        const keys = [
          environmentKey(env, "sdk", { createdAt: NOW + 1 }),
          environmentKey(env, "sdk", { createdAt: NOW + 3, expiresAt: NOW + 100 }),
          environmentKey(env, "sdk", { createdAt: NOW + 2, expiresAt: NOW + 50 }),
          environmentKey(env, "mob", { createdAt: NOW + 4 }),
          environmentKey(resourceId(), "sdk", { createdAt: NOW + 5 }),
        ];
        await store.insertEnvironmentKeys(keys);
        expect(await store.liveEnvironmentKeys(env, "sdk", NOW)).toEqual([keys[1]!, keys[2]!, keys[0]!]);
        expect(await store.liveEnvironmentKeys(env, "sdk", NOW + 49)).toEqual([keys[1]!, keys[2]!, keys[0]!]);
        expect(await store.liveEnvironmentKeys(env, "sdk", NOW + 50)).toEqual([keys[1]!, keys[0]!]);
        expect(await store.liveEnvironmentKeys(env, "sdk", NOW + 100)).toEqual([keys[0]!]);
        expect(await store.liveEnvironmentKeys(env, "mob", NOW + 100)).toEqual([keys[3]!]);
        expect(await store.liveEnvironmentKeys(resourceId(), "sdk", NOW)).toEqual([]);
      });

      test("rotateEnvironmentKey ends the old keys of its kind at the given time, never later than before, and adds the new one", async () => {
        const env = resourceId();
        const open = environmentKey(env, "sdk");
        const ending = environmentKey(env, "sdk", { expiresAt: NOW + 100 });
        const later = environmentKey(env, "sdk", { expiresAt: NOW + 10_000 });
        const mobile = environmentKey(env, "mob");
        const elsewhere = environmentKey(resourceId(), "sdk");
        await store.insertEnvironmentKeys([open, ending, later, mobile, elsewhere]);
        const fresh = environmentKey(env, "sdk", { createdAt: NOW + 1 });
        const entry = audit("updateApiKey");
        await store.rotateEnvironmentKey(fresh, NOW + 500, entry);
        expect(await store.environmentKeyBySelector(open.selector)).toEqual({ ...open, expiresAt: NOW + 500 });
        expect(await store.environmentKeyBySelector(ending.selector)).toEqual(ending);
        expect(await store.environmentKeyBySelector(later.selector)).toEqual({ ...later, expiresAt: NOW + 500 });
        expect(await store.environmentKeyBySelector(mobile.selector)).toEqual(mobile);
        expect(await store.environmentKeyBySelector(elsewhere.selector)).toEqual(elsewhere);
        expect(await store.environmentKeyBySelector(fresh.selector)).toEqual(fresh);
        expect((await store.liveEnvironmentKeys(env, "sdk", NOW + 500)).map((k) => k.selector)).toEqual([fresh.selector]);
        expect(await store.auditEntries(10)).toEqual([entry]);
      });

      test("a rotation whose new selector is taken changes nothing and writes no audit entry", async () => {
        const env = resourceId();
        const old = environmentKey(env, "sdk");
        await store.insertEnvironmentKeys([old]);
        const error = await rejected(store.rotateEnvironmentKey(environmentKey(env, "sdk", { selector: old.selector }), NOW, audit("updateApiKey")));
        expect(error.code).toBe("conflict");
        expect(await store.environmentKeyBySelector(old.selector)).toEqual(old);
        expect(await store.auditEntries(10)).toEqual([]);
      });
    });

    describe("sessions", () => {
      test("insert, find, delete", async () => {
        const m = member();
        await store.insertMembers([m], []);
        const s = session(m.id);
        await store.insertSession(s);
        expect(await store.sessionById(s.id)).toEqual(s);
        expect(await store.sessionById(resourceId())).toBeUndefined();
        expect(await store.deleteSession(s.id)).toBe(true);
        expect(await store.sessionById(s.id)).toBeUndefined();
        expect(await store.deleteSession(s.id)).toBe(false);
      });
    });

    describe("audit entries", () => {
      test("come back whole, newest first, at most n", async () => {
        const m = member();
        const entries = [audit("one", { comment: "why", description: "d", serviceToken: true }), audit("two", { previous: { a: 1 }, current: { a: 2 } }), audit("three")];
        await store.insertMembers([m], [entries[0]!]);
        await store.insertRole(role(), entries[1]!);
        await store.insertToken(token(m.id), entries[2]!);
        expect(await store.auditEntries(2)).toEqual([entries[2]!, entries[1]!]);
        expect(await store.auditEntries(10)).toEqual([entries[2]!, entries[1]!, entries[0]!]);
        expect(entries[0]!.title).toBe("admin@vexil.test did one");
      });

      test("entries of the same millisecond come back in a stable order", async () => {
        const m = member();
        const same = [audit("a"), audit("b"), audit("c")].map((e) => ({ ...e, date: NOW }));
        await store.insertMembers([m], same);
        const first = await store.auditEntries(10);
        expect(first).toHaveLength(3);
        expect(await store.auditEntries(10)).toEqual(first);
      });
    });
  });
}
