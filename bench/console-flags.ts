/**
 * The console's flags list at 5,000 flags: how long from navigation to a list the user can act on
 * (the first page's rows with their on/off switches), in headless Chromium (`playwright-core`,
 * Debian's `/usr/bin/chromium`), against the all-in-one process on the embedded default (PGlite,
 * in-process bus).
 *
 *   bun bench/console-flags.ts [--flags 5000] [--samples 10] [--fill-connections 16]
 *
 * The project `default` is filled through the API (`POST /api/v2/flags/default`, boolean flags), a
 * member signs in, then each sample is a navigation to `/projects/default?env=production`, timed from
 * `goto` until the first row's switch is visible and enabled: first with a cold browser cache (a new
 * context each time), then warm (the same page navigated again; hashed assets come from the cache).
 * Prints the medians and the largest, in milliseconds (target ≤ 1 s).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { freePort, waitReady } from "../infra/launcher.ts";
import { buildConsole } from "../services/console/build.ts";
import { median } from "./load-result.ts";

const ROOT = resolve(import.meta.dir, "..");
const { values } = parseArgs({ options: { flags: { type: "string", default: "5000" }, samples: { type: "string", default: "10" }, "fill-connections": { type: "string", default: "16" } } });
const FLAGS = Number(values.flags);
const SAMPLES = Number(values.samples);
const TOKEN = `console-bench-${crypto.randomUUID()}`;
const PASSWORD = "correct horse battery staple";

await buildConsole();
const dataDir = mkdtempSync(join(tmpdir(), "vexil-console-bench-"));
const port = freePort();
const url = `http://127.0.0.1:${port}`;
const proc = Bun.spawn(["bun", "services/all-in-one/main.ts"], {
  cwd: ROOT,
  env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn", VEXIL_ADMIN_TOKEN: TOKEN, VEXIL_DATA_DIR: dataDir, VEXIL_PUBLIC_ORIGIN: url, VEXIL_RATE_LIMIT_GLOBAL: "0", VEXIL_RATE_LIMIT_ROUTE: "0" },
  stdout: "ignore",
  stderr: "inherit",
});
try {
  await waitReady(url, 60_000, proc);
  const call = async (method: string, path: string, body: unknown) => {
    const r = await fetch(url + path, { method, headers: { authorization: TOKEN, "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  };
  await call("POST", "/api/v2/members", [{ email: "bench@example.com", role: "reader", password: PASSWORD }]);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(values["fill-connections"]) }, async () => {
      for (let i = next++; i < FLAGS; i = next++) {
        const key = `f-${String(i).padStart(5, "0")}`;
        await call("POST", "/api/v2/flags/default", { key, name: `Flag ${i}`, variations: [{ value: true }, { value: false }], tags: i % 2 ? ["odd"] : ["even"] });
      }
    }),
  );
  console.log(`${FLAGS} flags made in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const signedIn = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const r = await context.request.post(`${url}/api/v2/sessions`, { data: { email: "bench@example.com", password: PASSWORD }, headers: { origin: url } });
    if (r.status() !== 201) throw new Error(`sign-in: ${r.status()}`);
    return context;
  };
  const timeList = async (page: import("playwright-core").Page) => {
    const t0 = performance.now();
    await page.goto(`${url}/projects/default?env=production`);
    const first = page.getByRole("switch").first();
    await first.waitFor({ state: "visible", timeout: 30_000 });
    if (!(await first.isEnabled())) throw new Error("the switch is not enabled");
    const ms = performance.now() - t0;
    if ((await page.getByRole("switch").count()) !== 20) throw new Error("the first page does not have 20 flags");
    return ms;
  };
  const cold: number[] = [];
  const warm: number[] = [];
  // One untimed navigation first: the process's first reads of the list.
  const warmUp = await signedIn();
  await timeList(await warmUp.newPage());
  await warmUp.close();
  for (let i = 0; i < SAMPLES; i++) {
    const context = await signedIn();
    const page = await context.newPage();
    cold.push(await timeList(page));
    warm.push(await timeList(page));
    await context.close();
  }
  await browser.close();
  const row = (name: string, xs: number[]) => `| ${name} | ${FLAGS.toLocaleString("en")} | ${xs.length} | ${median(xs).toFixed(0)} ms | ${Math.max(...xs).toFixed(0)} ms |`;
  console.log(["| browser cache | flags | samples | median | max |", "| --- | ---: | ---: | ---: | ---: |", row("cold", cold), row("warm", warm)].join("\n"));
} finally {
  proc.kill();
  await proc.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
