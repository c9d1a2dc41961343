/** One contract for both AuthStore implementations: the in-memory one and drizzle on real Postgres. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import type { Db } from "@vexil/shared/db/connector";
import { resourceId } from "@vexil/shared/ids";
import { issueCredential } from "@vexil/shared/secrets";
import type { AuthStore, EnvironmentKeyRecord, MemberRecord, TokenRecord } from "@vexil/auth/storage/auth-store";
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
  passwordHash: null,
  createdAt: NOW,
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
    serviceToken: false,
    defaultApiVersion: 20240415,
    createdAt: NOW,
    lastModified: NOW,
    lastUsed: null,
    expiresAt: null,
    ...over,
  };
};

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
  });
}
