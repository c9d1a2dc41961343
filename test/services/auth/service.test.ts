/** The auth service wired from its parts on a real Postgres database and the in-process bus. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Verdict } from "@vexil/shared/auth-messages";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { requestJson } from "@vexil/shared/bus/rpc";
import { openDatabase, type Database } from "@vexil/shared/db/connector";
import { silentLogger } from "@vexil/shared/logger";
import { subjects } from "@vexil/shared/subjects";
import { startAuthService } from "@vexil/auth/service";
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

describe("startAuthService", () => {
  test("announces a generated admin token once, and that token verifies over the bus", async () => {
    const db = await database();
    const bus = new MemoryBus();
    const announced: string[] = [];
    const first = await startAuthService({ database: db, bus, logger: silentLogger, adminToken: undefined, announce: (m) => announced.push(m) });
    expect(announced).toHaveLength(1);
    const token = /(api-[0-9A-Za-z]{12}_[0-9A-Za-z]{28})/.exec(announced[0]!)?.[1];
    expect(token).toBeDefined();
    const verdict = await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token }, 2_000);
    expect(verdict).toMatchObject({ ok: true, caller: { role: "admin" } });
    await first.stop();

    // A second instance on the same database creates nothing and announces nothing.
    const second = await startAuthService({ database: db, bus, logger: silentLogger, adminToken: undefined, announce: (m) => announced.push(m) });
    expect(announced).toHaveLength(1);
    expect(await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token }, 2_000)).toMatchObject({ ok: true });
    await second.stop();
    await bus.drain();
  });

  test("with VEXIL_ADMIN_TOKEN set nothing is announced, and handle answers HTTP", async () => {
    const db = await database();
    const bus = new MemoryBus();
    const announced: string[] = [];
    const service = await startAuthService({ database: db, bus, logger: silentLogger, adminToken: "configured-admin-token-1", announce: (m) => announced.push(m) });
    expect(announced).toEqual([]);
    expect(await requestJson<Verdict>(bus, subjects.authVerify, { v: 1, token: "configured-admin-token-1" }, 2_000)).toMatchObject({ ok: true });

    const response = await service.handle(new Request("http://vexil.internal/api/v2/caller-identity"));
    expect(response.status).toBe(401);
    expect((await response.json()) as object).toMatchObject({ code: "unauthorized" });

    await service.stop();
    await bus.drain();
  });
});
