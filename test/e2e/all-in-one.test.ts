/** The all-in-one process (`bun run start`'s entry) on embedded PGlite and the in-process bus. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CREDENTIAL_SHAPE } from "@vexil/shared/secrets";
import { freePort } from "../support/ports.ts";
import { makeClient } from "../support/client.ts";
import { spawnEntry, startEntry } from "../support/process.ts";
import { runScenario } from "./scenario.ts";

const ENTRY = "services/all-in-one/main.ts";
const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "vexil-aio-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("all-in-one on embedded PGlite", () => {
  test("runs the scenario, shuts down cleanly on SIGTERM and keeps its data across a restart", async () => {
    const dir = dataDir();
    const token = "all-in-one-admin-token-0001";
    const port = freePort();
    let vexil = await startEntry(ENTRY, port, { VEXIL_DATA_DIR: dir, VEXIL_ADMIN_TOKEN: token, DATABASE_URL: undefined, NATS_URL: undefined });
    const client = makeClient([vexil.url], token);
    await runScenario(client, "aio");
    const kept = await client.call("POST", "/api/v2/projects", { body: { key: "survives-restart", name: "Survives" } });
    expect(kept.status).toBe(201);
    expect((await fetch(`${vexil.url}/readyz`)).status).toBe(200);
    expect(await vexil.stop("SIGTERM")).toBe(0);
    expect(await vexil.stderr()).toContain('"msg":"stopped"');

    vexil = await startEntry(ENTRY, port, { VEXIL_DATA_DIR: dir, VEXIL_ADMIN_TOKEN: token, DATABASE_URL: undefined, NATS_URL: undefined });
    const again = await client.call("GET", "/api/v2/projects/survives-restart?expand=environments");
    expect(again.status).toBe(200);
    expect(again.body.environments.items.map((e: { apiKey: string }) => e.apiKey)).toEqual(
      kept.body.environments.map((e: { key: string; apiKey: string }) => `sdk-****${e.apiKey.slice(-4)}`).reverse(),
    );
    // The default project is created once, not again on restart.
    expect((await client.call("GET", "/api/v2/projects?filter=keys:default")).body.totalCount).toBe(1);
    expect(await vexil.stop("SIGINT")).toBe(0);
  }, 120_000);

  test("without VEXIL_ADMIN_TOKEN it prints a generated token once, and that token works", async () => {
    const dir = dataDir();
    const port = freePort();
    let vexil = await startEntry(ENTRY, port, { VEXIL_DATA_DIR: dir, VEXIL_ADMIN_TOKEN: undefined, DATABASE_URL: undefined, NATS_URL: undefined });
    await vexil.stop();
    const printed = (await vexil.stdout()).match(/api-[0-9A-Za-z_]+/g) ?? [];
    expect(printed.length).toBe(1);
    const token = printed[0]!;
    expect(token).toMatch(CREDENTIAL_SHAPE);
    expect(await vexil.stderr()).not.toContain(token);

    vexil = await startEntry(ENTRY, port, { VEXIL_DATA_DIR: dir, VEXIL_ADMIN_TOKEN: undefined, DATABASE_URL: undefined, NATS_URL: undefined });
    const res = await makeClient([vexil.url], token).call("GET", "/api/v2/projects");
    expect(res.status).toBe(200);
    expect(res.body.items.map((p: { key: string }) => p.key)).toEqual(["default"]);
    await vexil.stop();
    expect(await vexil.stdout()).not.toContain("api-");
  }, 60_000);

  test("invalid configuration exits 1 with one clear message listing every problem", async () => {
    const proc = spawnEntry(ENTRY, { DATABASE_URL: "nope", PORT: "eighty", LOG_LEVEL: "loud", VEXIL_DATA_DIR: dataDir() });
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    expect(code).toBe(1);
    expect(stderr).toContain("Invalid configuration");
    expect(stderr).toContain("DATABASE_URL");
    expect(stderr).toContain("PORT");
    expect(stderr).toContain("LOG_LEVEL");
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  test("a port already in use is a one-line error and exit 1", async () => {
    const blocker = Bun.serve({ port: 0, hostname: "0.0.0.0", fetch: () => new Response("taken") });
    try {
      const proc = spawnEntry(ENTRY, { PORT: String(blocker.port), VEXIL_DATA_DIR: dataDir(), VEXIL_ADMIN_TOKEN: undefined, DATABASE_URL: undefined, NATS_URL: undefined });
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
      expect(code).toBe(1);
      const lines = stderr.split("\n").filter((l) => l.startsWith("vexil:"));
      expect(lines).toEqual([`vexil: Port ${blocker.port} is already in use; set PORT to a free port`]);
    } finally {
      blocker.stop(true);
    }
  }, 30_000);
});
