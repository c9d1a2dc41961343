/**
 * The web console in real Chromium (Debian's, driven by `playwright-core`) against the all-in-one
 * process on real Postgres and nats-server. A member signs in with a password, creates a project
 * and a flag, adds a rule with a 30/70 rollout and turns the flag on in production with a comment;
 * the LaunchDarkly server-side SDK connected to production sees it. A change made elsewhere while
 * editing is a 409 that the member re-applies on top; a token's secret is shown once; the audit
 * log shows the comment. Another browser sees changes made in the first and through the API live,
 * without a reload. axe-core finds no serious or critical violations on the main pages, and
 * no page breaks the Content-Security-Policy. Screenshots of the pages go to a temporary directory, or
 * to `VEXIL_CONSOLE_SHOTS` (`docs/console` keeps them in the repository).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basicLogger, init, type LDClient } from "@launchdarkly/node-server-sdk";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { buildConsole } from "../../services/console/build.ts";
import { startNats, type NatsServer } from "../../infra/local/nats.ts";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { ROOT, startEntry, type Running } from "../support/process.ts";
import { testDatabaseUrl } from "../support/postgres.ts";

const TOKEN = "console-admin-token";
const EMAIL = "ada@example.com";
const PASSWORD = "correct horse battery staple";
const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };
/** `VEXIL_CONSOLE_SHOTS=docs/console` refreshes the screenshots kept in the repository. */
const SHOTS = process.env.VEXIL_CONSOLE_SHOTS ? join(ROOT, process.env.VEXIL_CONSOLE_SHOTS) : mkdtempSync(join(tmpdir(), "vexil-console-shots-"));
const AXE = join(ROOT, "node_modules/axe-core/axe.min.js");
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

describe("console", () => {
  let nats: NatsServer;
  let vexil: Running;
  let admin: Client;
  let dataDir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let sdk: LDClient | undefined;
  const cspViolations: string[] = [];

  /** Serious or critical axe-core violations on the page as it is now. */
  async function axeViolations(p: Page): Promise<string[]> {
    // Evaluated through the browser's debugging protocol: the page's CSP rightly refuses script tags.
    await p.evaluate(`${await Bun.file(AXE).text()}\n;0`);
    const result = await p.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
      const r = await axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ["violations"] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => JSON.stringify(n.target)).slice(0, 3) }));
    });
    return result.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.impact} ${v.id} ${v.targets.join(" ")}`);
  }

  async function checkPage(p: Page, name: string, fullPage = true) {
    await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage, animations: "disabled" });
    expect(await axeViolations(p)).toEqual([]);
  }

  function watchCsp(p: Page) {
    p.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${p.url()}: ${m.text().slice(0, 80)}`);
    });
  }

  beforeAll(async () => {
    await buildConsole();
    dataDir = mkdtempSync(join(tmpdir(), "vexil-console-"));
    nats = await startNats();
    const port = freePort();
    vexil = await startEntry("services/all-in-one/main.ts", port, {
      VEXIL_ADMIN_TOKEN: TOKEN,
      VEXIL_DATA_DIR: dataDir,
      DATABASE_URL: await testDatabaseUrl(),
      NATS_URL: nats.url,
      VEXIL_PUBLIC_ORIGIN: `http://127.0.0.1:${port}`,
    });
    admin = makeClient([vexil.url], TOKEN);
    const member = await admin.call("POST", "/api/v2/members", {
      body: [
        { email: EMAIL, firstName: "Ada", role: "admin", password: PASSWORD },
        { email: "grace@example.com", firstName: "Grace", role: "writer", password: PASSWORD },
      ],
    });
    expect(member.status).toBe(201);
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(8_000);
    page = await context.newPage();
    watchCsp(page);
  }, 90_000);

  afterAll(async () => {
    sdk?.close();
    await browser?.close();
    await vexil?.stop();
    await nats?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (!process.env.VEXIL_CONSOLE_SHOTS) rmSync(SHOTS, { recursive: true, force: true });
  });

  test("the gateway serves the console: the page with a strict CSP, hashed assets cached for good, client routes, and JSON elsewhere", async () => {
    const index = await fetch(`${vexil.url}/`);
    expect(index.status).toBe(200);
    const csp = index.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const script = /src="(\/assets\/main-[a-z0-9]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(vexil.url + script);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(asset.headers.get("content-type")).toContain("javascript");
    for (const path of ["/assets/main-missing.js", "/assets/.%2e/index.html", "/assets/%2e%2e%2fpackage.json", "/assets/.hidden", "/assets/"]) {
      expect((await fetch(vexil.url + path)).status).toBe(404);
    }

    const html404 = { accept: "text/html,application/xhtml+xml" };
    const route = await fetch(`${vexil.url}/projects/shop/flags/checkout`, { headers: html404 });
    expect(route.status).toBe(200);
    expect(await route.text()).toBe(html);
    // Not client routes: other methods, callers that want JSON, the API, the SDK paths and the docs.
    expect((await fetch(`${vexil.url}/projects/shop`, { headers: { accept: "application/json" } })).status).toBe(404);
    expect((await fetch(`${vexil.url}/projects/shop`, { method: "POST", headers: html404 })).status).toBe(404);
    const api = await fetch(`${vexil.url}/api/v2/nothing-here`, { headers: html404 });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { code: string }).code).toBe("not_found");
    expect((await fetch(`${vexil.url}/sdk/latest-all`, { headers: html404 })).status).toBe(401);
  });

  test("signing in: a wrong password shows the API's message; the right one gives the console with the session cookie only", async () => {
    await page.goto(`${vexil.url}/`);
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByRole("textbox", { name: "Password" }).fill("wrong password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Wrong email or password" }).waitFor();
    await checkPage(page, "sign-in");

    await page.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Projects" }).waitFor();
    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name)).toEqual(["vexil_session"]);
    expect(cookies[0]!.httpOnly).toBe(true);
    // Nothing of the session is readable by scripts.
    expect(await page.evaluate("[document.cookie, localStorage.length, sessionStorage.length]")).toEqual(["", 0, 0]);
  });

  let sdkKey = "";

  test("creating a project shows its SDK keys once; creating a flag lists it", async () => {
    await page.getByLabel("Project key").fill("shop");
    await page.getByLabel("Project name").fill("Shop");
    await page.getByRole("button", { name: "Create project" }).click();
    sdkKey = (await page.getByTestId("sdk-key-production").textContent())!;
    expect(sdkKey).toMatch(/^sdk-/);
    await page.getByRole("link", { name: "Shop" }).waitFor();
    await checkPage(page, "projects");

    await page.getByRole("link", { name: "Shop" }).click();
    await page.getByRole("heading", { name: "Shop: flags" }).waitFor();
    await page.getByLabel("Flag key").fill("checkout");
    await page.getByLabel("Flag name").fill("New checkout");
    await page.getByLabel("Flag tags").fill("web, payments");
    await page.getByRole("button", { name: "Create flag" }).click();
    await page.getByRole("link", { name: "New checkout" }).waitFor();
    await page.getByLabel("Flag key").fill("legacy-search");
    await page.getByRole("button", { name: "Create flag" }).click();
    await page.getByRole("link", { name: "legacy-search" }).waitFor();
    expect(await page.getByRole("switch", { name: "New checkout in production" }).isChecked()).toBe(false);
    await checkPage(page, "flags");
    // Search and tags narrow the list through the API's filter.
    const rows = page.getByRole("table", { name: "Flags" }).getByRole("link");
    await page.getByLabel("Search flags").fill("legacy");
    await waitFor("the search", async () => (await rows.allTextContents()).join() === "legacy-search");
    await page.getByLabel("Search flags").fill("");
    await page.getByLabel("Tags", { exact: true }).fill("payments");
    await waitFor("the tag filter", async () => (await rows.allTextContents()).join() === "New checkout");
    await page.getByLabel("Tags", { exact: true }).fill("");
    await waitFor("the whole list", async () => (await rows.count()) === 2);
    // Past 20 flags the list has pages.
    for (let i = 0; i < 20; i++) expect((await admin.call("POST", "/api/v2/flags/shop", { body: { key: `z-${String(i).padStart(2, "0")}`, name: `z-${String(i).padStart(2, "0")}` } })).status).toBe(201);
    await page.reload();
    await page.getByText("22 flag(s)").waitFor();
    expect(await rows.count()).toBe(20);
    await page.getByRole("button", { name: "2", exact: true }).click();
    await waitFor("the second page", async () => (await rows.count()) === 2);
    const firstPage = await admin.call("GET", "/api/v2/flags/shop?limit=20&offset=0");
    const secondPage = (await admin.call("GET", "/api/v2/flags/shop?limit=20&offset=20")).body.items.map((f: { name: string }) => f.name);
    expect(firstPage.body.totalCount).toBe(22);
    expect((await rows.allTextContents()).sort()).toEqual(secondPage.sort());
    await page.getByRole("button", { name: "1", exact: true }).click();
    await page.getByRole("link", { name: "New checkout" }).waitFor();
  });

  test("a rule `email endsWith @example.com` with a 30/70 rollout, turned on in production with a comment, reaches the server-side SDK", async () => {
    sdk = init(sdkKey, { baseUri: vexil.url, streamUri: vexil.url, eventsUri: vexil.url, sendEvents: false, logger: basicLogger({ level: "none" }) });
    await sdk.waitForInitialization({ timeout: 10 });
    const user = (n: number) => ({ kind: "user", key: `user-${n}`, email: `user-${n}@example.com` });
    expect((await sdk.variationDetail("checkout", user(1), "absent")).reason.kind).toBe("OFF");

    await page.getByRole("link", { name: "New checkout" }).click();
    await page.getByRole("heading", { name: "New checkout" }).waitFor();
    await page.getByRole("button", { name: "Add rule" }).click();
    await page.getByLabel("Rule 1 clause 1 attribute").fill("email");
    await page.getByLabel("Rule 1 clause 1 operator").selectOption("endsWith");
    await page.getByLabel("Rule 1 clause 1 values").fill("@example.com");
    await page.getByLabel("Rule 1 clause 1 values").press("Enter");
    await page.getByLabel("Rule 1 serves", { exact: true }).selectOption("rollout");
    await page.getByLabel("Rule 1 serves: % true").fill("30");
    await page.getByLabel("Rule 1 serves: % false").fill("70");
    await page.getByRole("switch", { name: "Targeting off in production" }).click({ force: true });
    await checkPage(page, "flag");

    await page.getByRole("button", { name: /Review and save \(2 changes\)/ }).click();
    const preview = page.getByTestId("change-preview");
    await preview.waitFor();
    expect(await preview.locator("li").allTextContents()).toEqual(["Turn targeting on", "Add a rule: if email endsWith @example.com, roll out 30% true / 70% false"]);
    await page.getByLabel("Comment").fill("Roll out the new checkout to example.com");
    await checkPage(page, "review", false);
    await page.getByRole("button", { name: /Save on version/ }).click();
    await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();

    // The SDK's stream brings the change: the rule matches example.com, 30/70 by key.
    const first = await waitFor("the SDK to see the rule", async () => {
      const d = await sdk!.variationDetail("checkout", user(1), "absent");
      return d.reason.kind === "RULE_MATCH" ? d : undefined;
    });
    expect(first.reason.inExperiment ?? false).toBe(false);
    const other = await sdk.variationDetail("checkout", { kind: "user", key: "x", email: "x@elsewhere.org" }, "absent");
    expect(other.reason.kind).toBe("FALLTHROUGH");
    let yes = 0;
    for (let n = 0; n < 1000; n++) if ((await sdk.variation("checkout", user(n), "absent")) === true) yes++;
    expect(yes).toBeGreaterThan(250);
    expect(yes).toBeLessThan(350);

    const flag = await admin.call("GET", "/api/v2/flags/shop/checkout?env=production&summary=0");
    const rule = flag.body.environments.production.rules[0];
    expect(flag.body.environments.production.on).toBe(true);
    expect(rule.clauses).toMatchObject([{ attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }]);
    expect(rule.rollout.variations).toEqual([
      { variation: 0, weight: 30000 },
      { variation: 1, weight: 70000 },
    ]);
  });

  test("a change made in another browser while editing is a 409 that shows the new version; the member's change is applied on top of it", async () => {
    await page.reload();
    await page.getByRole("heading", { name: "New checkout" }).waitFor();
    await page.getByLabel("Serve true to").fill("alice");
    await page.getByLabel("Serve true to").press("Enter");
    // Meanwhile, in another browser signed in as another member: a target for the other variation.
    const flag = await admin.call("GET", "/api/v2/flags/shop/checkout");
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    other.setDefaultTimeout(8_000);
    const second = await other.newPage();
    watchCsp(second);
    await second.goto(`${vexil.url}/projects/shop/flags/checkout?env=production`);
    await second.getByLabel("Email").fill("grace@example.com");
    await second.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await second.getByRole("button", { name: "Sign in" }).click();
    await second.getByLabel("Serve false to").fill("bob");
    await second.getByRole("button", { name: /Review and save \(1 change\)/ }).click();
    await second.getByLabel("Comment").fill("bob stays on the old one");
    await second.getByRole("button", { name: /Save on version/ }).click();
    await second.getByRole("status").filter({ hasText: "Saved" }).waitFor();
    await other.close();
    const elsewhere = await admin.call("GET", "/api/v2/flags/shop/checkout");
    expect(elsewhere.body._version).toBe(flag.body._version + 1);
    // The precondition the console sends, through the API: a stale version is a 409, a malformed one a 400.
    const stale = await admin.call("PATCH", "/api/v2/flags/shop/checkout", { headers: { ...SEMANTIC, "if-match": `"${flag.body._version}"` }, body: { environmentKey: "production", instructions: [{ kind: "turnFlagOff" }] } });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe("optimistic_locking_error");
    const malformed = await admin.call("PATCH", "/api/v2/flags/shop/checkout", { headers: { ...SEMANTIC, "if-match": "version one" }, body: { environmentKey: "production", instructions: [{ kind: "turnFlagOff" }] } });
    expect(malformed.status).toBe(400);

    await page.getByRole("button", { name: /Review and save \(1 change\)/ }).click();
    await page.getByLabel("Comment").fill("alice tries it");
    await page.getByRole("button", { name: /Save on version/ }).click();
    const conflict = page.getByRole("alert").filter({ hasText: "Someone else changed this flag" });
    await conflict.waitFor();
    expect(await page.getByTestId("conflict-latest").textContent()).toContain(`version ${elsewhere.body._version}`);
    await page.screenshot({ path: join(SHOTS, "conflict.png"), animations: "disabled" });
    // Nothing was written from the browser yet.
    expect((await admin.call("GET", "/api/v2/flags/shop/checkout?summary=0")).body.environments.production.targets).toEqual([{ contextKind: "user", values: ["bob"], variation: 1 }]);

    await page.getByRole("button", { name: `Apply my change on version ${elsewhere.body._version}` }).click();
    await page.getByRole("button", { name: `Save on version ${elsewhere.body._version}` }).click();
    await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
    const after = await admin.call("GET", "/api/v2/flags/shop/checkout?summary=0");
    const targets = after.body.environments.production.targets.map((t: { values: string[]; variation: number }) => [t.variation, t.values]);
    expect(targets.sort()).toEqual([
      [0, ["alice"]],
      [1, ["bob"]],
    ]);
  });

  test("an API refusal shows the API's message and keeps the draft", async () => {
    await page.getByRole("button", { name: "Add rule" }).click();
    await page.getByLabel("Rule 2 clause 1 attribute").fill("plan");
    await page.getByLabel("Rule 2 clause 1 operator").selectOption("lessThan");
    await page.getByLabel("Rule 2 serves", { exact: true }).selectOption("rollout");
    await page.getByLabel("Rule 2 serves: % true").fill("50");
    await page.getByLabel("Rule 2 serves: % false").fill("40");
    await page.getByRole("button", { name: /Review and save/ }).click();
    await page.getByRole("button", { name: /Save on version/ }).click();
    const refusal = page.getByRole("alert").filter({ hasText: "Not saved" });
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain("must sum to 100000, not 90000");
    await page.getByRole("button", { name: "Cancel" }).click();
    expect(await page.getByLabel("Rule 2 clause 1 attribute").inputValue()).toBe("plan");
    await page.getByRole("button", { name: "Discard changes" }).click();
  });

  test("a new environment's keys are shown once; an SDK key reset keeps the old key until its expiry", async () => {
    await page.goto(`${vexil.url}/projects/shop/environments`);
    await page.getByLabel("Environment key").fill("staging");
    await page.getByLabel("Environment name").fill("Staging");
    await page.getByRole("button", { name: "Create environment" }).click();
    const sdkKey = (await page.getByTestId("secret-SDK key").textContent())!;
    expect(sdkKey).toMatch(/^sdk-/);
    expect(await page.getByTestId("secret-Mobile key").textContent()).toMatch(/^mob-/);
    await page.getByRole("cell", { name: "Staging", exact: true }).waitFor();
    expect(await page.getByRole("table", { name: "Environments" }).textContent()).not.toContain(sdkKey);
    await checkPage(page, "environments");

    await page.getByLabel("When an SDK key is reset, the old one stops").selectOption({ label: "in an hour" });
    await page.getByRole("button", { name: "Reset the SDK key of Staging" }).click();
    await page.getByRole("status").filter({ hasText: "Staging: new SDK key" }).waitFor();
    const newKey = (await page.getByTestId("secret-SDK key").textContent())!;
    expect(newKey).not.toBe(sdkKey);
    for (const key of [sdkKey, newKey]) expect((await fetch(`${vexil.url}/sdk/latest-all`, { headers: { authorization: key } })).status).toBe(200);
  });

  test("a new access token's secret is shown once, and works", async () => {
    await page.getByRole("link", { name: "Access tokens" }).click();
    await page.getByLabel("Token name").fill("deploys");
    await page.getByLabel("Role").selectOption("writer");
    await page.getByRole("button", { name: "Create token" }).click();
    const secret = (await page.getByTestId("new-token-secret").textContent())!;
    expect(secret.length).toBeGreaterThan(20);
    expect((await admin.call("GET", "/api/v2/caller-identity", { token: secret })).body.tokenName).toBe("deploys");
    await checkPage(page, "tokens");
    await page.reload();
    await page.getByRole("cell", { name: "deploys" }).waitFor();
    expect(await page.content()).not.toContain(secret);
  });

  test("the audit log shows each change with its comment and its instructions", async () => {
    await page.getByRole("link", { name: "Audit log" }).click();
    const entry = page.getByTestId("audit-entry").filter({ hasText: "Roll out the new checkout to example.com" });
    await entry.waitFor();
    await entry.getByRole("button").first().click();
    const change = entry.getByLabel("The change");
    await change.waitFor();
    expect(await change.textContent()).toContain('"endsWith"');
    await page.getByTestId("audit-entry").filter({ hasText: "alice tries it" }).waitFor();
    await page.getByTestId("audit-entry").filter({ hasText: "grace@example.com updated the flag" }).filter({ hasText: "bob stays on the old one" }).waitFor();
    await checkPage(page, "audit-log");
  });

  test("the on/off switch in the flags list sends one change with a comment", async () => {
    await page.goto(`${vexil.url}/projects/shop?env=production`);
    await page.getByRole("switch", { name: "New checkout in production" }).click({ force: true });
    expect(await page.getByTestId("change-preview").textContent()).toBe("Turn targeting off");
    await page.getByLabel("Comment").fill("Pause");
    await page.getByRole("button", { name: /Save on version/ }).click();
    await waitFor("the switch to turn off", async () => !(await page.getByRole("switch", { name: "New checkout in production" }).isChecked()));
    await waitFor("the SDK to see it off", async () => (await sdk!.variationDetail("checkout", { kind: "user", key: "a" }, "absent")).reason.kind === "OFF");
  });

  test("another browser sees the changes made in this one and through the API live, without a reload", async () => {
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    other.setDefaultTimeout(8_000);
    const second = await other.newPage();
    watchCsp(second);
    await second.goto(`${vexil.url}/projects/shop?env=production`);
    await second.getByLabel("Email").fill("grace@example.com");
    await second.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await second.getByRole("button", { name: "Sign in" }).click();
    const checkout = second.getByRole("switch", { name: "New checkout in production" });
    await checkout.waitFor();
    expect(await checkout.isChecked()).toBe(false);
    // Anything the page holds is lost on a reload: this marker tells one happened.
    await second.evaluate(() => void ((globalThis as unknown as { kept: boolean }).kept = true));

    // This browser turns the flag back on: the other one's switch follows.
    await page.getByRole("switch", { name: "New checkout in production" }).click({ force: true });
    await page.getByLabel("Comment").fill("Resume");
    await page.getByRole("button", { name: /Save on version/ }).click();
    await waitFor("the other browser to show it on", () => checkout.isChecked());

    // A flag created through the API appears in the other browser's list.
    await second.getByLabel("Search flags").fill("live-flag");
    await second.getByText("No flags match.").waitFor();
    const created = await admin.call("POST", "/api/v2/flags/shop", { body: { key: "live-flag", name: "Live flag", variations: [{ value: true }, { value: false }] } });
    expect(created.status).toBe(201);
    await second.getByRole("link", { name: "Live flag" }).click();
    await second.getByRole("heading", { name: "Live flag" }).waitFor();
    await second.getByText("version 1", { exact: true }).waitFor();
    // And its page follows a change made through the API.
    const on = await admin.call("PATCH", "/api/v2/flags/shop/live-flag", { headers: SEMANTIC, body: { environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] } });
    expect(on.status).toBe(200);
    await second.getByText("version 2", { exact: true }).waitFor();
    await second.getByRole("switch", { name: "Targeting on in production" }).waitFor();
    expect(await second.evaluate(() => (globalThis as unknown as { kept?: boolean }).kept)).toBe(true);
    await other.close();
  }, 30_000);

  test("signing out ends the session: the cookie no longer works and the sign-in form is back", async () => {
    const [cookie] = await context.cookies();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    expect(await context.cookies()).toEqual([]);
    const reuse = await fetch(`${vexil.url}/api/v2/projects`, { headers: { cookie: `${cookie!.name}=${cookie!.value}` } });
    expect(reuse.status).toBe(401);
    expect(cspViolations).toEqual([]);
  });
});
