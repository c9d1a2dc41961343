/**
 * The seeds' own curl examples, run with curl as written but for the host (and the placeholders
 * they ask the reader to fill in), against the all-in-one process.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { ROOT, startEntry, type Running } from "../support/process.ts";

const TOKEN = "seed-examples-admin-token";
const SEEDS = resolve(ROOT, "../shared/seeds");
let vexil: Running;
let client: Client;
let dataDir: string;

const seed = (prefix: string) => readFileSync(join(SEEDS, readdirSync(SEEDS).find((f) => f.startsWith(prefix))!), "utf8");

/** Runs curl with the seed's arguments; returns status and body. */
function curl(args: string[]): { status: number; body: string } {
  const out = Bun.spawnSync(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", ...args]);
  const text = out.stdout.toString();
  const cut = text.lastIndexOf("\n");
  return { status: Number(text.slice(cut + 1)), body: text.slice(0, cut) };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "vexil-seeds-"));
  vexil = await startEntry("services/all-in-one/main.ts", freePort(), { VEXIL_DATA_DIR: dataDir, VEXIL_ADMIN_TOKEN: TOKEN, DATABASE_URL: undefined, NATS_URL: undefined });
  client = makeClient([vexil.url], TOKEN);
}, 60_000);

afterAll(async () => {
  await vexil?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("seed examples", () => {
  test("FeatureProbe (seed 000): PATCH …/toggles/{TOGGLE_KEY}/targeting with the seed's body, then GET it back in that shape", async () => {
    const text = seed("000_");
    const body = /--data-raw '([\s\S]*?)'\n```/.exec(text)![1]!;
    const url = /curl -i '([^']+)'/.exec(text)![1]!;
    expect((await client.call("POST", "/api/v2/flags/default", { body: { key: "demo-toggle", name: "Demo toggle" } })).status).toBe(201);
    const target = url
      .replace("https://featureprobe.io", vexil.url)
      .replace("{PROJECT_KEY}", "default")
      .replace("{ENV_KEY}", "production")
      .replace("{TOGGLE_KEY}", "demo-toggle");
    const res = curl(["-i", target, "-X", "PATCH", "-H", `Authorization: ${TOKEN}`, "-H", "Content-Type: application/json", "--data-raw", body]);
    expect(res.status).toBe(200);

    const flag = (await client.call("GET", "/api/v2/flags/default/demo-toggle")).body;
    const prod = flag.environments.production;
    expect(prod.on).toBe(true);
    // variation1 is "false" (our index 1), variation2 "true" (index 0).
    expect(prod.fallthrough).toEqual({ variation: 0 });
    expect(prod.offVariation).toBe(1);
    expect(prod.rules.length).toBe(1);
    expect(prod.rules[0]).toMatchObject({ description: "city", variation: 1 });
    expect(prod.rules[0].clauses[0]).toMatchObject({ attribute: "1", op: "greaterThan", values: [1000, 1001], negate: false });
    expect(flag.environments.test.on).toBe(false);

    const back = curl([target, "-H", `Authorization: ${TOKEN}`]);
    expect(back.status).toBe(200);
    const sent = JSON.parse(body);
    const got = JSON.parse(back.body);
    expect(got.disabled).toBe(sent.disabled);
    // The same targeting, with `select` naming a variation by its value in each side's list.
    const byValue = (doc: any) =>
      doc.content.rules.map((r: any) => ({ name: r.name, conditions: r.conditions, serves: doc.content.variations[r.serve.select].value }));
    expect(byValue(got)).toEqual(byValue(sent));
    expect(got.content.variations.map((v: any) => v.value).sort()).toEqual(sent.content.variations.map((v: any) => v.value).sort());
    expect(got.content.disabledServe).toEqual({ select: 1 });
    expect(got.content.defaultServe).toEqual({ select: 0 });

    const audit = await client.call("GET", `/api/v2/auditlog?spec=${encodeURIComponent("proj/default:env/production:flag/demo-toggle")}`);
    expect(audit.body.items[0].comment).toBe(sent.comment);
  });

  test("Unleash (seed 001): POST /api/admin/features/{name}/toggle/on, and the change shows in the audit log with the acting token", async () => {
    const text = seed("001_");
    const line = /curl -X POST -H "Authorization: admintoken"[\s|]*\n[|\s]*(https:\/\/\S+)/.exec(text);
    const url = line![1]!.replace("https://app.unleash-hosted.com/demo", vexil.url);
    expect((await client.call("POST", "/api/v2/flags/default", { body: { key: "Demo", name: "Demo" } })).status).toBe(201);
    const res = curl(["-X", "POST", "-H", `Authorization: ${TOKEN}`, url]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "Demo", enabled: true, project: "default" });
    expect((await client.call("GET", "/api/v2/flags/default/Demo")).body.environments.production.on).toBe(true);
    const off = curl(["-X", "POST", "-H", `Authorization: ${TOKEN}`, `${vexil.url}/api/admin/projects/default/features/Demo/environments/test/on`]);
    expect(off.status).toBe(200);
    expect((await client.call("GET", "/api/v2/flags/default/Demo")).body.environments.test.on).toBe(true);
    const audit = await client.call("GET", `/api/v2/auditlog?spec=${encodeURIComponent("proj/default:env/*:flag/Demo")}`);
    const entry = audit.body.items.find((e: { comment?: string }) => e.comment === "Unleash API: toggle on");
    expect(entry.token.name).toBe("bootstrap admin token");
    expect(curl(["-X", "POST", "-H", `Authorization: ${TOKEN}`, `${vexil.url}/api/admin/features/NoSuchToggle/toggle/on`]).status).toBe(404);
    expect(curl(["-X", "POST", `${vexil.url}/api/admin/features/Demo/toggle/off`]).status).toBe(401);
  });
});
