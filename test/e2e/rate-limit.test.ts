/**
 * Rate limits across two gateway processes: one caller's calls, alternating between the gateways,
 * are admitted up to the configured limit (at most 10 % more) in one 10-second window, refused with
 * 429 `rate_limited` and the rate-limit headers beyond it; the SDK endpoints are never limited.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { launchCluster, type Cluster } from "../../infra/launcher.ts";

const TOKEN = "rate-limit-admin-token-000";
const LIMIT = 60;
let cluster: Cluster;

beforeAll(async () => {
  cluster = await launchCluster({ counts: { gateway: 2, auth: 1, flags: 1, streaming: 0 }, adminToken: TOKEN, logLevel: "warn", env: { VEXIL_RATE_LIMIT_GLOBAL: String(LIMIT), VEXIL_RATE_LIMIT_ROUTE: "1000" } });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

test("two gateways together admit one caller's limit, not twice it", async () => {
  const [a, b] = cluster.gateways;
  // Warm the credential caches, then start at the beginning of a window.
  for (const g of [a, b]) expect((await fetch(`${g}/api/v2`, { headers: { authorization: TOKEN } })).status).toBe(200);
  await Bun.sleep(10_000 - (Date.now() % 10_000) + 20);
  const statuses: number[] = [];
  let refused: Response | undefined;
  for (let i = 0; i < LIMIT * 2; i++) {
    const res = await fetch(`${i % 2 === 0 ? a : b}/api/v2/projects/default`, { headers: { authorization: TOKEN } });
    statuses.push(res.status);
    if (res.status === 429) refused ??= res;
    else await res.arrayBuffer();
  }
  const admitted = statuses.filter((s) => s === 200).length;
  expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
  expect(admitted).toBeGreaterThanOrEqual(LIMIT);
  expect(admitted).toBeLessThanOrEqual(LIMIT * 1.1);
  expect(refused!.headers.get("retry-after")).toMatch(/^\d+$/);
  expect(Number(refused!.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now());
  expect(refused!.headers.get("x-ratelimit-global-remaining")).toBe("0");
  expect(await refused!.json()).toMatchObject({ code: "rate_limited" });
}, 60_000);
