/** The auth service wired from its parts on a real Postgres database and the in-process bus. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Verdict } from "@vexil/shared/auth-messages";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { requestJson } from "@vexil/shared/bus/rpc";
import { openDatabase, type Database } from "@vexil/shared/db/connector";
import { createAssertions } from "@vexil/shared/assertion";
import { CALLER_HEADER } from "@vexil/shared/caller";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { sessionKeysFrom, startAuthService, type AuthServiceOptions } from "@vexil/auth/service";
import { testDatabaseUrl } from "../../support/postgres.ts";

// The first database starts the shared throwaway server (initdb and a migrated template): allow it time.
beforeAll(async () => {
  await testDatabaseUrl();
}, 60_000);

const databases: Database[] = [];
afterAll(async () => {
  await Promise.allSettled(databases.map((d) => d.close()));
});

async function database(): Promise<Database> {
  const d = await openDatabase({ url: await testDatabaseUrl(), dataDir: "/nonexistent-unused", max: 2 });
  databases.push(d);
  return d;
}

const assertions = createAssertions(crypto.getRandomValues(new Uint8Array(32)));

function options(over: Pick<AuthServiceOptions, "database" | "bus" | "adminToken" | "announce">): AuthServiceOptions {
  return { logger: silentLogger, assertions, sessionKeys: sessionKeysFrom([], new Uint8Array(32)), publicOrigin: "http://localhost:8080", ...over };
}

describe("startAuthService", () => {
  test("announces a generated admin token once, and that token verifies over the bus", async () => {
    const db = await database();
    const bus = new MemoryBus();
    const announced: string[] = [];
    const first = await startAuthService(options({ database: db, bus, adminToken: undefined, announce: (m) => announced.push(m) }));
    expect(announced).toHaveLength(1);
    const token = /(api-[0-9A-Za-z]{12}_[0-9A-Za-z]{28})/.exec(announced[0]!)?.[1];
    expect(token).toBeDefined();
    const verdict = await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token }, 2_000);
    expect(verdict).toMatchObject({ ok: true, caller: { role: "admin" } });
    await first.stop();

    // A second instance on the same database creates nothing and announces nothing.
    const second = await startAuthService(options({ database: db, bus, adminToken: undefined, announce: (m) => announced.push(m) }));
    expect(announced).toHaveLength(1);
    expect(await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token }, 2_000)).toMatchObject({ ok: true });
    await second.stop();
    await bus.drain();
  });

  test("with VEXIL_ADMIN_TOKEN set nothing is announced, and handle answers HTTP", async () => {
    const db = await database();
    const bus = new MemoryBus();
    const announced: string[] = [];
    const service = await startAuthService(options({ database: db, bus, adminToken: "configured-admin-token-1", announce: (m) => announced.push(m) }));
    expect(announced).toEqual([]);
    const verdict = await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token: "configured-admin-token-1" }, 2_000);
    expect(verdict.ok).toBe(true);

    const response = await service.handle(new Request("http://vexil.internal/api/v2/caller-identity"));
    expect(response.status).toBe(401);
    expect((await response.json()) as object).toMatchObject({ code: "unauthorized" });

    // With the assertion the gateway would sign, the service answers as that caller, from Postgres.
    const caller = (verdict as Extract<Verdict, { ok: true }>).caller;
    const signed = { [CALLER_HEADER]: await assertions.sign(caller) };
    const identity = await service.handle(new Request("http://vexil.internal/api/v2/caller-identity", { headers: signed }));
    expect(await identity.json()).toMatchObject({ authKind: "token", tokenKind: "personal", role: "admin", memberEmail: "owner@vexil.local" });
    const members = await service.handle(new Request("http://vexil.internal/api/v2/members", { headers: signed }));
    expect(members.status).toBe(200);
    expect(await members.json()).toMatchObject({ totalCount: 1, items: [{ email: "owner@vexil.local", role: "owner" }] });

    await service.stop();
    await bus.drain();
  });
});

describe("sessionKeysFrom", () => {
  test("configured keys are used in order, the first signing", () => {
    const keys = sessionKeysFrom(
      [
        { kid: "new", secret: "n".repeat(32) },
        { kid: "old", secret: "o".repeat(32) },
      ],
      new Uint8Array(32),
    );
    expect(keys.map((k) => k.kid)).toEqual(["new", "old"]);
    expect(new TextDecoder().decode(keys[0]!.secret)).toBe("n".repeat(32));
  });

  test("without configured keys one is derived from the internal key: stable, distinct per key, not the key itself", () => {
    const internal = new TextEncoder().encode("i".repeat(32));
    const [a] = sessionKeysFrom([], internal);
    const [b] = sessionKeysFrom([], new TextEncoder().encode("i".repeat(32)));
    const [c] = sessionKeysFrom([], new TextEncoder().encode("j".repeat(32)));
    expect(a!.kid).toBe("derived");
    expect(a!.secret).toHaveLength(32);
    expect(Buffer.from(a!.secret).equals(Buffer.from(b!.secret))).toBe(true);
    expect(Buffer.from(a!.secret).equals(Buffer.from(c!.secret))).toBe(false);
    expect(Buffer.from(a!.secret).equals(Buffer.from(internal))).toBe(false);
  });
});
