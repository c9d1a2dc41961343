/**
 * The web console in real Chromium (Debian's, driven by `playwright-core`) against the all-in-one
 * process on real Postgres and nats-server. A member signs in with a password, creates a project
 * and a flag, adds a rule with a 30/70 rollout and turns the flag on in production with a comment;
 * the LaunchDarkly server-side SDK connected to production sees it. A change made elsewhere while
 * editing is a 409 that the member re-applies on top; a token's secret is shown once; the audit
 * log shows the comment. Another browser sees changes made in the first and through the API live,
 * without a reload. Where production requires approval, a writer's save is a 405 that opens an
 * approval request with the same instructions, which an admin approves and applies from its page (a
 * refused scheduled change asks for approval at the same date); a change scheduled from the review
 * shows in the API and is deleted from its page; a webhook's signing secret is shown once, signs the
 * deliveries its receiver gets, and its delivery log lists them; a segment gets targets and a rule; a
 * custom role and a member invited with it are made; the flag page edits settings, variation names,
 * other context kinds' targets and prerequisites, and a target's removal date; a flag's delivery
 * receipts show the SDK's stream; an environment's SDK connections list the SDKs streaming to it and
 * follow them while the page is open. A flag's rule and a segment's rule are edited in place (clause and
 * rule instructions); a segment is deleted after a confirmation naming the flags that use it. A
 * keyboard-only member signs in, finds a flag and turns it on, with focus visible, held in the dialog
 * and given back. axe-core finds no
 * serious or critical violations on the main pages, and
 * no page breaks the Content-Security-Policy. Screenshots of the pages go to a temporary directory, or
 * to `VEXIL_CONSOLE_SHOTS` (`docs/console` keeps them in the repository).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
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
  /** A webhook receiver on loopback (allowed by `VEXIL_WEBHOOK_ALLOWED_NETWORKS`): what it was sent. */
  const received: Array<{ body: string; signature: string | null }> = [];
  const receiver = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      received.push({ body: await req.text(), signature: req.headers.get("x-ld-signature") });
      return new Response("ok");
    },
  });

  /** A new browser context signed in as `email`, on `path`. */
  async function signedIn(email: string, path: string): Promise<{ context: BrowserContext; page: Page }> {
    const c = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    c.setDefaultTimeout(8_000);
    const p = await c.newPage();
    watchCsp(p);
    await p.goto(vexil.url + path);
    await p.getByLabel("Email").fill(email);
    await p.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await p.getByRole("button", { name: "Sign in" }).click();
    return { context: c, page: p };
  }

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
      VEXIL_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.0/8",
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
    receiver.stop(true);
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

  test("where production requires approval, a writer's save is a 405 that opens an approval request; an admin approves and applies it", async () => {
    expect((await admin.call("PATCH", "/api/v2/projects/shop/environments/production", { body: [{ op: "replace", path: "/approvalSettings/required", value: true }] })).status).toBe(200);
    const before = (await admin.call("GET", "/api/v2/flags/shop/checkout?summary=0")).body;
    const grace = await signedIn("grace@example.com", "/projects/shop/flags/checkout?env=production");
    const g = grace.page;
    await g.getByLabel("Serve true to").fill("alice, carol");
    await g.getByRole("button", { name: /Review and save \(1 change\)/ }).click();
    await g.getByLabel("Comment").fill("carol joins the pilot");
    await g.getByRole("button", { name: /Save on version/ }).click();
    const needs = g.getByRole("alert").filter({ hasText: "This change needs approval" });
    await needs.waitFor();
    expect(await needs.textContent()).toContain("require approval");
    await g.getByLabel("Approval request description").fill("Add carol to the new checkout");
    await checkPage(g, "approval-needed", false);
    await g.getByRole("button", { name: "Request approval" }).click();
    await g.getByText(/Approval request [0-9a-f]+ opened/).waitFor();
    // Nothing changed yet; the request holds the same instructions and comment.
    const flagNow = (await admin.call("GET", "/api/v2/flags/shop/checkout?summary=0")).body;
    expect(flagNow.environments.production.targets).toEqual(before.environments.production.targets);
    const listed = await admin.call("GET", "/api/v2/projects/shop/flags/checkout/environments/production/approval-requests");
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).toMatchObject({ description: "Add carol to the new checkout", status: "pending", reviewStatus: "pending", instructions: [{ kind: "addTargets", values: ["carol"] }] });
    // The requestor cannot approve their own request here: the API's message shows.
    await g.getByRole("link", { name: "See the approval requests" }).click();
    const own = g.getByTestId("approval-request").filter({ hasText: "Add carol to the new checkout" });
    await own.getByRole("button", { name: "Approve" }).click();
    await own.getByRole("alert").filter({ hasText: "does not let a requestor review their own" }).waitFor();
    await grace.context.close();

    await page.goto(`${vexil.url}/projects/shop/flags/checkout?env=production`);
    await page.getByRole("link", { name: "Approval requests in production" }).click();
    const card = page.getByTestId("approval-request").filter({ hasText: "Add carol to the new checkout" });
    await card.waitFor();
    expect(await card.textContent()).toContain("Serve true to carol");
    // The requester is named once the members list has been read.
    await card.filter({ hasText: "by grace@example.com" }).waitFor();
    await card.getByLabel("Review comment on Add carol to the new checkout").fill("fine by me");
    await card.getByRole("button", { name: "Approve" }).click();
    await card.getByRole("cell", { name: "fine by me" }).waitFor();
    await checkPage(page, "approvals");
    await card.getByRole("button", { name: "Apply" }).click();
    await card.getByText("completed", { exact: true }).waitFor();
    const after = (await admin.call("GET", "/api/v2/flags/shop/checkout?summary=0")).body;
    expect(after.environments.production.targets.find((t: { variation: number }) => t.variation === 0).values.sort()).toEqual(["alice", "carol"]);
    const applied = (await admin.call("GET", "/api/v2/projects/shop/flags/checkout/environments/production/approval-requests")).body.items[0];
    expect(applied.status).toBe("completed");
    expect(applied.allReviews.map((r: { kind: string; comment?: string }) => [r.kind, r.comment])).toEqual([["approve", "fine by me"]]);
    expect((await admin.call("PATCH", "/api/v2/projects/shop/environments/production", { body: [{ op: "replace", path: "/approvalSettings/required", value: false }] })).status).toBe(200);
  }, 20_000);

  test("where approval is required, a refused scheduled change becomes an approval request for the same date", async () => {
    expect((await admin.call("PATCH", "/api/v2/projects/shop/environments/production", { body: [{ op: "replace", path: "/approvalSettings/required", value: true }] })).status).toBe(200);
    const grace = await signedIn("grace@example.com", "/projects/shop/flags/checkout?env=production");
    const g = grace.page;
    await g.getByLabel("Serve true to").fill("alice, carol, erin");
    await g.getByRole("button", { name: /Review and save \(1 change\)/ }).click();
    const local = "2099-05-06T07:08";
    await g.getByLabel("Schedule for").fill(local);
    await g.getByRole("button", { name: "Schedule the change" }).click();
    await g.getByRole("alert").filter({ hasText: "This change needs approval" }).filter({ hasText: "The request can ask for it to apply at" }).waitFor();
    await g.getByLabel("Approval request description").fill("erin next year");
    await g.getByRole("button", { name: "Request approval" }).click();
    await g.getByText(/Approval request [0-9a-f]+ opened/).waitFor();
    const expected = await g.evaluate(`new Date(${JSON.stringify(local)}).getTime()`);
    await grace.context.close();
    const requests = (await admin.call("GET", "/api/v2/projects/shop/flags/checkout/environments/production/approval-requests")).body.items;
    expect(requests.find((r: { description: string }) => r.description === "erin next year")).toMatchObject({ status: "pending", executionDate: expected, instructions: [{ kind: "addTargets", values: ["erin"] }] });
    expect((await admin.call("GET", "/api/v2/projects/shop/flags/checkout/environments/production/scheduled-changes")).body.items).toEqual([]);
    expect((await admin.call("PATCH", "/api/v2/projects/shop/environments/production", { body: [{ op: "replace", path: "/approvalSettings/required", value: false }] })).status).toBe(200);
  }, 20_000);

  test("a change scheduled from the review is in the API, leaves the flag as it is, and is deleted from its page", async () => {
    await page.goto(`${vexil.url}/projects/shop/flags/checkout?env=production`);
    await page.getByLabel("Serve false to").fill("bob, dave");
    await page.getByRole("button", { name: /Review and save \(1 change\)/ }).click();
    await page.getByLabel("Comment").fill("dave moves back next week");
    const local = "2099-01-02T03:04";
    await page.getByLabel("Schedule for").fill(local);
    await page.getByRole("button", { name: "Schedule the change" }).click();
    await page.getByRole("status").filter({ hasText: "Scheduled change" }).waitFor();
    const expected = await page.evaluate(`new Date(${JSON.stringify(local)}).getTime()`);
    const path = "/api/v2/projects/shop/flags/checkout/environments/production/scheduled-changes";
    const listed = (await admin.call("GET", path)).body.items;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ executionDate: expected, instructions: [{ kind: "addTargets", values: ["dave"] }] });
    const flag = (await admin.call("GET", "/api/v2/flags/shop/checkout?summary=0")).body;
    expect(flag.environments.production.targets.find((t: { variation: number }) => t.variation === 1).values).toEqual(["bob"]);

    await page.getByRole("link", { name: "See the scheduled changes" }).click();
    const row = page.getByTestId("scheduled-change");
    await row.waitFor();
    expect(await row.textContent()).toContain("Serve false to dave");
    await checkPage(page, "scheduled-changes");
    await row.getByRole("button", { name: /Delete the change scheduled for/ }).click();
    await page.getByText("No scheduled changes in production.").waitFor();
    expect((await admin.call("GET", path)).body.items).toEqual([]);
  });

  test("a webhook's secret is shown once and signs its deliveries; the delivery log lists them; it turns off and is deleted", async () => {
    await page.goto(`${vexil.url}/`);
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByLabel("Webhook name").fill("audit-sink");
    await page.getByLabel("Webhook URL").fill(`http://127.0.0.1:${receiver.port}/hooks`);
    await page.getByLabel("Send changes to").fill("proj/shop:env/*:flag/*");
    await page.getByRole("button", { name: "Create webhook" }).click();
    const secret = (await page.getByTestId("new-webhook-secret").textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole("cell", { name: "audit-sink", exact: true }).waitFor();
    await checkPage(page, "webhooks");
    const hooks = (await admin.call("GET", "/api/v2/webhooks")).body.items;
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({ name: "audit-sink", on: true, _signed: true, statements: [{ effect: "allow", resources: ["proj/shop:env/*:flag/*"], actions: ["*"] }] });
    expect(JSON.stringify(hooks)).not.toContain(secret);
    await page.reload();
    await page.getByRole("cell", { name: "audit-sink", exact: true }).waitFor();
    expect(await page.content()).not.toContain(secret);

    // A change made now is delivered, signed with the secret the console showed.
    expect((await admin.call("POST", "/api/v2/flags/shop", { body: { key: "hooked", name: "hooked" } })).status).toBe(201);
    const got = await waitFor("a delivery", () => received.find((r) => r.body.includes("hooked")));
    expect(got.signature).toBe(createHmac("sha256", secret).update(got.body).digest("hex"));
    await page.getByRole("button", { name: "Deliveries of audit-sink" }).click();
    const delivered = page.getByTestId("delivery").filter({ hasText: "flag/hooked" }).filter({ hasText: "delivered" });
    await waitFor("the delivery log", async () => {
      if ((await delivered.count()) > 0) return true;
      await page.getByRole("button", { name: "Refresh the deliveries" }).click();
      return false;
    });
    await checkPage(page, "webhook-deliveries");
    // Redelivered from the log: the receiver gets the same body again.
    await delivered.first().getByRole("button", { name: /^Redeliver/ }).click();
    await waitFor("the redelivery", () => received.filter((r) => r.body === got.body).length === 2);

    await page.getByRole("switch", { name: "Webhook audit-sink on" }).click({ force: true });
    await waitFor("the webhook to turn off", async () => (await admin.call("GET", `/api/v2/webhooks/${hooks[0]._id}`)).body.on === false);
    await page.getByRole("button", { name: "Delete audit-sink" }).click();
    await page.getByRole("cell", { name: "audit-sink", exact: true }).waitFor({ state: "detached" });
    expect((await admin.call("GET", "/api/v2/webhooks")).body.items).toEqual([]);
  }, 20_000);

  test("a segment made in production gets included and excluded keys and a rule, sent as one semantic patch", async () => {
    await page.goto(`${vexil.url}/projects/shop?env=production`);
    await page.getByRole("link", { name: "Segments", exact: true }).click();
    await page.getByText("No segments in production.").waitFor();
    await page.getByLabel("Segment key").fill("beta");
    await page.getByLabel("Segment name").fill("Beta testers");
    await page.getByRole("button", { name: "Create segment" }).click();
    await page.getByRole("link", { name: "Beta testers" }).click();
    await page.getByRole("heading", { name: "Beta testers" }).waitFor();
    await page.getByLabel("Included context keys").fill("ann, ben");
    await page.getByLabel("Excluded context keys").fill("cat");
    await page.getByRole("button", { name: "Add rule" }).click();
    await page.getByLabel("Rule 1 clause 1 attribute").fill("email");
    await page.getByLabel("Rule 1 clause 1 operator").selectOption("endsWith");
    await page.getByLabel("Rule 1 clause 1 values").fill("@example.com");
    await page.getByLabel("Rule 1: % of matching contexts").fill("25");
    await page.getByRole("button", { name: /Review and save \(3 changes\)/ }).click();
    expect(await page.getByTestId("segment-preview").locator("li").allTextContents()).toEqual(["Include ann, ben", "Exclude cat", "Add a rule: if email endsWith @example.com, 25% of them"]);
    await page.getByLabel("Comment").fill("the beta group");
    await checkPage(page, "segment");
    await page.getByRole("button", { name: "Save the segment" }).click();
    await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
    const segment = (await admin.call("GET", "/api/v2/segments/shop/production/beta")).body;
    expect(segment.included.sort()).toEqual(["ann", "ben"]);
    expect(segment.excluded).toEqual(["cat"]);
    expect(segment.rules).toMatchObject([{ clauses: [{ attribute: "email", op: "endsWith", values: ["@example.com"], negate: false }], weight: 25000 }]);
    await page.getByTestId("segment-rule").filter({ hasText: "email endsWith @example.com (25% of them)" }).waitFor();
    await page.getByRole("link", { name: "All segments" }).click();
    await page.getByRole("table", { name: "Segments" }).waitFor();
    await checkPage(page, "segments");
  }, 20_000);

  test("a custom role made with a policy written as JSON; a member invited with it and a password signs in", async () => {
    await page.getByRole("link", { name: "Custom roles" }).click();
    await page.getByLabel("Role key").fill("staging-editor");
    await page.getByLabel("Role name").fill("Staging editor");
    await page.getByLabel("Policy").fill("[{");
    await page.getByText(/Not JSON/).waitFor();
    expect(await page.getByRole("button", { name: "Create role" }).isDisabled()).toBe(true);
    // The API's own check of the policy shows its message.
    await page.getByLabel("Policy").fill(JSON.stringify([{ effect: "maybe", resources: ["proj/*"], actions: ["*"] }]));
    await page.getByRole("button", { name: "Create role" }).click();
    await page.getByRole("alert").filter({ hasText: "effect" }).waitFor();
    await page.getByLabel("Policy").fill(JSON.stringify([{ effect: "allow", resources: ["proj/*:env/staging:flag/*"], actions: ["*"] }]));
    await page.getByRole("button", { name: "Create role" }).click();
    await page.getByRole("cell", { name: "staging-editor" }).waitFor();
    await checkPage(page, "roles");
    const role = (await admin.call("GET", "/api/v2/roles/staging-editor")).body;
    expect(role).toMatchObject({ name: "Staging editor", policy: [{ effect: "allow", resources: ["proj/*:env/staging:flag/*"], actions: ["*"] }] });

    await page.getByRole("link", { name: "Members" }).click();
    await page.getByLabel("Member email").fill("lin@example.com");
    await page.getByLabel("First name").fill("Lin");
    await page.getByLabel("Member role").selectOption("reader");
    await page.getByLabel("Custom roles").fill("staging-editor");
    await page.getByLabel("Initial password").fill(PASSWORD);
    await page.getByRole("button", { name: "Invite member" }).click();
    await page.getByRole("cell", { name: "lin@example.com" }).waitFor();
    await checkPage(page, "members");
    const lin = (await admin.call("GET", "/api/v2/members?limit=100")).body.items.find((m: { email: string }) => m.email === "lin@example.com");
    expect(lin).toMatchObject({ firstName: "Lin", role: "reader", customRoles: ["staging-editor"] });
    const session = await fetch(`${vexil.url}/api/v2/sessions`, { method: "POST", headers: { "content-type": "application/json", origin: vexil.url }, body: JSON.stringify({ email: "lin@example.com", password: PASSWORD }) });
    expect(session.status).toBeLessThan(300);
  }, 20_000);

  test("the flag page edits settings, variation names, targets of another context kind and prerequisites in one change, and sets a removal date", async () => {
    await page.goto(`${vexil.url}/projects/shop/flags/legacy-search?env=production`);
    await page.getByRole("heading", { name: "legacy-search" }).waitFor();
    await page.getByLabel("Description", { exact: true }).fill("The old search");
    await page.getByLabel("Tags", { exact: true }).fill("search");
    await page.getByLabel("Name of variation 1").fill("Enabled");
    await page.getByLabel("Context kind").fill("organization");
    await page.getByRole("button", { name: "Target organization with true" }).click();
    await page.getByLabel("Serve true to organization keys").fill("acme, globex");
    await page.getByLabel("Prerequisite flag").selectOption("checkout");
    await page.getByLabel("Must serve").selectOption({ label: "true" });
    await page.getByRole("button", { name: "Add prerequisite" }).click();
    await page.getByTestId("prerequisite").filter({ hasText: "New: checkout must serve true" }).waitFor();
    await checkPage(page, "flag-editors");
    await page.getByRole("button", { name: /Review and save \(5 changes\)/ }).click();
    expect(await page.getByTestId("change-preview").locator("li").allTextContents()).toEqual([
      "Describe the flag as: The old search",
      "Add the tags search",
      'Name the variation true "Enabled"',
      expect.stringMatching(/^Require the flag checkout to serve its variation /),
      "Serve true to organization acme, globex",
    ]);
    await page.getByLabel("Comment").fill("tidy up");
    await page.getByRole("button", { name: /Save on version/ }).click();
    await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
    const flag = (await admin.call("GET", "/api/v2/flags/shop/legacy-search?env=production&summary=0")).body;
    const checkout = (await admin.call("GET", "/api/v2/flags/shop/checkout")).body;
    expect(flag).toMatchObject({ description: "The old search", tags: ["search"] });
    expect(flag.variations[0].name).toBe("Enabled");
    expect(flag.environments.production.contextTargets).toContainEqual({ contextKind: "organization", variation: 0, values: ["acme", "globex"] });
    expect(flag.environments.production.prerequisites).toEqual([{ key: "checkout", variation: checkout.variations.findIndex((v: { value: unknown }) => v.value === true) }]);
    await page.getByTestId("prerequisite").filter({ hasText: "checkout must serve true" }).waitFor();
    expect(await page.getByLabel("Serve Enabled to organization keys").inputValue()).toBe("acme, globex");

    // A targeted context gets a removal date, and has it cancelled.
    await page.getByLabel("Targeted context").selectOption("organization:acme");
    const local = "2099-03-04T05:06";
    await page.getByLabel("Remove it at").fill(local);
    await page.getByRole("button", { name: "Set the removal date" }).click();
    await page.getByTestId("expiring-target").filter({ hasText: "acme" }).waitFor();
    const expected = await page.evaluate(`new Date(${JSON.stringify(local)}).getTime()`);
    const expiringPath = "/api/v2/flags/shop/legacy-search/expiring-targets/production";
    expect((await admin.call("GET", expiringPath)).body.items).toMatchObject([{ contextKind: "organization", contextKey: "acme", variationId: flag.variations[0]._id, expirationDate: expected }]);
    await checkPage(page, "expiring-targets");
    await page.getByRole("button", { name: "Cancel the removal of acme" }).click();
    await page.getByText("No target has a removal date in production.").waitFor();
    expect((await admin.call("GET", expiringPath)).body.items).toEqual([]);
  }, 20_000);

  test("a flag's delivery receipts show the SDK stream that got each change", async () => {
    await page.goto(`${vexil.url}/projects/shop/flags/checkout?env=production`);
    await page.getByRole("link", { name: "Delivery to SDKs in production" }).click();
    const rows = page.getByTestId("receipt");
    await rows.first().waitFor();
    const api = (await admin.call("GET", "/api/v2/flags/shop/checkout/deliveries?env=production")).body.items;
    expect(api.length).toBeGreaterThan(0);
    expect(api[0].streams).toBeGreaterThanOrEqual(1);
    const first = await rows.first().locator("td").allTextContents();
    expect(first[0]).toBe(String(api[0].version));
    expect(first[2]).toBe(String(api[0].streams));
    await checkPage(page, "deliveries");
  });

  test("an environment's SDK connections: the empty state, the SDKs connected with their kind and count, kept current while the page is open", async () => {
    const project = await admin.call("POST", "/api/v2/projects", { body: { key: "conns", name: "Conns", environments: [{ key: "live", name: "Live", color: "00ff00" }, { key: "quiet", name: "Quiet", color: "aaaaaa" }] } });
    expect(project.status).toBe(201);
    const live = project.body.environments.find((e: { key: string }) => e.key === "live");
    const { context: other, page: p } = await signedIn(EMAIL, "/projects/conns/environments");
    const streams: AbortController[] = [];
    /** An SDK stream of `live` opened over raw HTTP; answers once the `put` has started arriving. */
    const openStream = async (path: string, headers: Record<string, string>) => {
      const abort = new AbortController();
      const res = await fetch(vexil.url + path, { headers, signal: abort.signal });
      expect(res.status).toBe(200);
      await res.body!.getReader().read();
      streams.push(abort);
      return abort;
    };
    try {
      await p.getByRole("link", { name: "SDK connections of Quiet" }).click();
      await p.getByTestId("no-connections").waitFor();
      expect(await p.getByTestId("instances-answered").textContent()).toStartWith("1 streaming instance answered");
      await checkPage(p, "sdk-connections-empty");

      const go = await openStream("/all", { authorization: live.apiKey, "user-agent": "GoClient/7.1.0" });
      await openStream("/all", { authorization: live.apiKey, "user-agent": "GoClient/7.1.0" });
      await p.getByRole("link", { name: "Environments of Conns" }).click();
      await p.getByRole("link", { name: "SDK connections of Live" }).click();
      const rows = p.getByTestId("sdk-connection");
      await rows.first().waitFor();
      const api = (await admin.call("GET", "/api/v2/projects/conns/environments/live/sdk-connections")).body;
      expect(api.totals.serverStreams).toBe(2);
      const cells = await rows.first().locator("td").allTextContents();
      // The date is in the browser's own format; the rest as the API has it.
      expect([...cells.slice(0, 4), ...cells.slice(5)]).toEqual(["GoClient 7.1.0", "—", "Server-side stream", "2", `#${api.items[0].lastEventSeq}`, api.items[0].instance]);
      expect(cells[4]).not.toBe("");
      expect(await p.getByTestId("total-Streams").textContent()).toBe("2");

      // While the page is open: a browser SDK's stream appears, the Go streams' going is seen, no reload.
      const ctx = Buffer.from(JSON.stringify({ kind: "user", key: "ada" })).toString("base64url");
      await openStream(`/eval/${live._id}/${ctx}`, { "x-launchdarkly-user-agent": "JSClient/3.4.0", "x-launchdarkly-wrapper": "react-client-sdk/3.0.1" });
      const browserRow = rows.filter({ hasText: "JSClient 3.4.0" });
      await browserRow.waitFor({ timeout: 20_000 });
      expect(await browserRow.locator("td").nth(1).textContent()).toBe("react-client-sdk 3.0.1");
      expect(await browserRow.locator("td").nth(2).textContent()).toBe("Client-side stream");
      go.abort();
      await waitFor("one Go stream left on the page", async () => (await p.getByTestId("total-Server-side").textContent()) === "1", 20_000);
      await checkPage(p, "sdk-connections");
    } finally {
      for (const s of streams) s.abort();
      await other.close();
    }
  }, 90_000);
  /** A project of its own for a test, with a flag `rules` whose production environment has one rule of two clauses. */
  async function projectWithRule(project: string) {
    expect((await admin.call("POST", "/api/v2/projects", { body: { key: project, name: project } })).status).toBe(201);
    expect((await admin.call("POST", `/api/v2/flags/${project}`, { body: { key: "rules", name: "Rules", variations: [{ value: true, name: "yes" }, { value: false, name: "no" }] } })).status).toBe(201);
    const flag = await admin.call("GET", `/api/v2/flags/${project}/rules`);
    const added = await admin.call("PATCH", `/api/v2/flags/${project}/rules`, {
      headers: SEMANTIC,
      body: {
        environmentKey: "production",
        instructions: [
          {
            kind: "addRule",
            description: "EU",
            variationId: flag.body.variations[0]._id,
            clauses: [
              { contextKind: "user", attribute: "country", op: "in", values: ["de", "fr"], negate: false },
              { contextKind: "user", attribute: "plan", op: "in", values: ["pro"], negate: false },
            ],
          },
        ],
      },
    });
    expect(added.status).toBe(200);
    return added.body.environments.production.rules[0] as { _id: string; clauses: Array<{ _id: string }> };
  }

  test("a rule is edited in place: its clauses, what it serves and its description become clause and rule instructions in one change with a comment", async () => {
    const before = await projectWithRule("edits");
    const { context: c, page: p } = await signedIn(EMAIL, "/projects/edits/flags/rules?env=production");
    try {
      await p.getByRole("button", { name: "Edit rule 1" }).click();
      await p.getByLabel("Rule 1 description").fill("Europe");
      await p.getByLabel("Rule 1 clause 1 values").fill("de, at");
      await p.getByLabel("Rule 1 clause 2 operator").selectOption("startsWith");
      await p.getByRole("button", { name: "Add clause to rule 1" }).click();
      await p.getByLabel("Rule 1 clause 3 attribute").fill("email");
      await p.getByLabel("Rule 1 clause 3 operator").selectOption("endsWith");
      await p.getByLabel("Rule 1 clause 3 values").fill("@example.com");
      await p.getByLabel("Rule 1 serves").selectOption({ label: "no" });
      await p.getByRole("button", { name: /Review and save \(6 changes\)/ }).click();
      const dialog = p.getByRole("dialog");
      expect(await dialog.getByTestId("change-preview").locator("li").allTextContents()).toEqual([
        'Rule 1 (EU): describe it as "Europe"',
        'Rule 1 (EU): remove fr from the clause "country in de, fr"',
        'Rule 1 (EU): add at to the clause "country in de, fr"',
        'Rule 1 (EU): change the clause "plan in pro" to "plan startsWith pro"',
        'Rule 1 (EU): add the clause "email endsWith @example.com"',
        "Rule 1 (EU): serve no",
      ]);
      const sent = JSON.parse((await dialog.getByLabel("Instructions as sent").textContent())!);
      const [country, plan] = before.clauses.map((x) => x._id);
      expect(sent).toEqual([
        { kind: "updateRuleDescription", ruleId: before._id, description: "Europe" },
        { kind: "removeValuesFromClause", ruleId: before._id, clauseId: country, values: ["fr"] },
        { kind: "addValuesToClause", ruleId: before._id, clauseId: country, values: ["at"] },
        { kind: "updateClause", ruleId: before._id, clauseId: plan, clause: { contextKind: "user", attribute: "plan", op: "startsWith", negate: false, values: ["pro"] } },
        { kind: "addClauses", ruleId: before._id, clauses: [{ contextKind: "user", attribute: "email", op: "endsWith", negate: false, values: ["@example.com"] }] },
        { kind: "updateRuleVariationOrRollout", ruleId: before._id, variationId: expect.any(String) },
      ]);
      await dialog.getByLabel("Comment").fill("Europe, not France");
      await checkPage(p, "rule-edit", false);
      await dialog.getByRole("button", { name: /Save on version/ }).click();
      await p.getByRole("status").filter({ hasText: "Saved" }).waitFor();
      const flag = (await admin.call("GET", "/api/v2/flags/edits/rules?env=production&summary=0")).body;
      const rule = flag.environments.production.rules[0];
      expect(rule).toMatchObject({ _id: before._id, description: "Europe", variation: 1 });
      expect(rule.clauses).toMatchObject([
        { _id: country, attribute: "country", op: "in", values: ["de", "at"] },
        { _id: plan, attribute: "plan", op: "startsWith", values: ["pro"] },
        { attribute: "email", op: "endsWith", values: ["@example.com"] },
      ]);
      await p.getByTestId("rule").filter({ hasText: "Rule 1 (Europe): if country in de, at and plan startsWith pro and email endsWith @example.com, serve no" }).waitFor();
      const audit = (await admin.call("GET", "/api/v2/auditlog?spec=proj/edits:env/production:flag/rules&limit=1")).body.items[0];
      expect(audit.comment).toBe("Europe, not France");

      // Removing a clause, and a percentage rollout, in place.
      await p.getByRole("button", { name: "Edit rule 1" }).click();
      await p.getByRole("button", { name: "Remove clause 3 of rule 1" }).click();
      await p.getByLabel("Rule 1 serves").selectOption("rollout");
      await p.getByLabel("Rule 1 serves: % yes").fill("25");
      await p.getByLabel("Rule 1 serves: % no").fill("75");
      await p.getByRole("button", { name: /Review and save \(2 changes\)/ }).click();
      expect(JSON.parse((await dialog.getByLabel("Instructions as sent").textContent())!)).toEqual([
        { kind: "removeClauses", ruleId: before._id, clauseIds: [rule.clauses[2]._id] },
        { kind: "updateRuleVariationOrRollout", ruleId: before._id, rolloutWeights: { [flag.variations[0]._id]: 25_000, [flag.variations[1]._id]: 75_000 } },
      ]);
      await dialog.getByRole("button", { name: /Save on version/ }).click();
      await p.getByRole("status").filter({ hasText: "Saved" }).waitFor();
      const after = (await admin.call("GET", "/api/v2/flags/edits/rules?env=production&summary=0")).body.environments.production.rules[0];
      expect(after.clauses).toHaveLength(2);
      expect(after.rollout.variations).toEqual([
        { variation: 0, weight: 25_000 },
        { variation: 1, weight: 75_000 },
      ]);
    } finally {
      await c.close();
    }
  }, 40_000);

  test("a segment's rule is edited in place; deleting the segment asks first, names the flags that use it, and removes it", async () => {
    expect((await admin.call("POST", "/api/v2/projects", { body: { key: "segs", name: "Segs" } })).status).toBe(201);
    expect((await admin.call("POST", "/api/v2/segments/segs/production", { body: { key: "vip", name: "VIP" } })).status).toBe(201);
    const seeded = await admin.call("PATCH", "/api/v2/segments/segs/production/vip", {
      headers: SEMANTIC,
      body: { environmentKey: "production", instructions: [{ kind: "addRule", clauses: [{ contextKind: "user", attribute: "tier", op: "in", values: ["gold"], negate: false }] }] },
    });
    expect(seeded.status).toBe(200);
    const ruleId = seeded.body.rules[0]._id;
    expect((await admin.call("POST", "/api/v2/flags/segs", { body: { key: "perks", name: "Perks", variations: [{ value: true }, { value: false }] } })).status).toBe(201);
    const perks = await admin.call("GET", "/api/v2/flags/segs/perks");
    const uses = await admin.call("PATCH", "/api/v2/flags/segs/perks", {
      headers: SEMANTIC,
      body: { environmentKey: "production", instructions: [{ kind: "addRule", variationId: perks.body.variations[0]._id, clauses: [{ attribute: "segmentMatch", op: "segmentMatch", values: ["vip"], negate: false }] }] },
    });
    expect(uses.status).toBe(200);

    const { context: c, page: p } = await signedIn(EMAIL, "/projects/segs/segments/vip?env=production");
    try {
      await p.getByRole("button", { name: "Edit rule 1" }).click();
      await p.getByLabel("Rule 1 description").fill("Gold and platinum");
      await p.getByLabel("Rule 1 clause 1 values").fill("gold, platinum");
      await p.getByLabel("Rule 1: % of matching contexts").fill("50");
      await p.getByRole("button", { name: /Review and save \(3 changes\)/ }).click();
      expect(await p.getByTestId("segment-preview").locator("li").allTextContents()).toEqual([
        'Rule 1: describe it as "Gold and platinum"',
        'Rule 1: add platinum to the clause "tier in gold"',
        "Rule 1: 50% of the matching contexts",
      ]);
      await p.getByLabel("Comment").fill("more tiers");
      await p.getByRole("button", { name: "Save the segment" }).click();
      await p.getByRole("status").filter({ hasText: "Saved" }).waitFor();
      const segment = (await admin.call("GET", "/api/v2/segments/segs/production/vip")).body;
      expect(segment.rules).toMatchObject([{ _id: ruleId, description: "Gold and platinum", weight: 50_000, clauses: [{ attribute: "tier", values: ["gold", "platinum"] }] }]);

      await p.getByRole("button", { name: "Delete segment" }).click();
      const dialog = p.getByRole("dialog", { name: "Delete the segment VIP in production?" });
      await dialog.getByTestId("segment-used-by").getByRole("link", { name: "Perks" }).waitFor();
      await checkPage(p, "segment-delete", false);
      // Kept: nothing is deleted without the confirmation.
      await dialog.getByRole("button", { name: "Keep the segment" }).click();
      await dialog.waitFor({ state: "hidden" });
      expect((await admin.call("GET", "/api/v2/segments/segs/production/vip")).status).toBe(200);
      // A refusal is shown in the dialog: the segment is deleted elsewhere first.
      await p.getByRole("button", { name: "Delete segment" }).click();
      expect((await admin.call("DELETE", "/api/v2/segments/segs/production/vip")).status).toBe(204);
      await dialog.getByRole("button", { name: "Delete vip" }).click();
      await dialog.getByRole("alert").filter({ hasText: "not found" }).waitFor();
      await dialog.getByRole("button", { name: "Keep the segment" }).click();

      expect((await admin.call("POST", "/api/v2/segments/segs/production", { body: { key: "vip", name: "VIP" } })).status).toBe(201);
      await p.reload();
      await p.getByRole("button", { name: "Delete segment" }).click();
      await dialog.getByRole("button", { name: "Delete vip" }).click();
      await p.getByRole("heading", { name: "Segs: segments" }).waitFor();
      expect((await admin.call("GET", "/api/v2/segments/segs/production/vip")).status).toBe(404);
    } finally {
      await c.close();
    }
  }, 40_000);

  test("keyboard only: sign in, open a project's flags, find a flag, turn it on in production, review and confirm; focus is always visible, held in the dialog and given back", async () => {
    expect((await admin.call("POST", "/api/v2/projects", { body: { key: "kbd", name: "Kbd" } })).status).toBe(201);
    for (const [key, name] of [["keyboard-flag", "Keyboard flag"], ["other-flag", "Other flag"]]) {
      expect((await admin.call("POST", "/api/v2/flags/kbd", { body: { key, name, variations: [{ value: true }, { value: false }] } })).status).toBe(201);
    }
    const c = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    c.setDefaultTimeout(8_000);
    const p = await c.newPage();
    watchCsp(p);
    try {
      // The page the keyboard types into is the one in front (the other tests' pages stay open).
      await p.bringToFront();
      await p.goto(`${vexil.url}/`);
      await p.getByLabel("Email").waitFor();
      /** What has focus: its name, whether a focus indicator is drawn, whether it is in a dialog. */
      const focused = () =>
        p.evaluate(() => {
          const doc = (globalThis as unknown as { document: { activeElement: unknown; body: unknown } }).document;
          const el = doc.activeElement as {
            id: string;
            tagName: string;
            innerText?: string;
            labels?: Array<{ innerText: string }>;
            nextElementSibling: unknown;
            getAttribute(n: string): string | null;
            matches(s: string): boolean;
            closest(s: string): unknown;
          } | null;
          if (!el || el === doc.body) return { name: "", id: "", visible: false, inDialog: false };
          const style = (e: unknown) => (globalThis as unknown as { getComputedStyle(e: unknown): { outlineStyle: string; outlineWidth: string; boxShadow: string } }).getComputedStyle(e);
          const ring = (e: unknown) => {
            if (!e) return false;
            const s = style(e);
            return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || (s.boxShadow !== "none" && s.boxShadow !== "");
          };
          const name = el.getAttribute("aria-label") ?? el.labels?.[0]?.innerText ?? el.innerText ?? "";
          // A switch or checkbox hides its input and rings the control drawn right after it.
          // A date field's focus is in its parts, which Chromium highlights itself (out of the page's reach).
          const dateField = (el as unknown as { type?: string }).type === "datetime-local";
          return { name: name.trim(), id: el.id, visible: dateField || ring(el) || ring(el.nextElementSibling), inDialog: el.closest("[role=dialog]") !== null };
        });
      /** Tab (or Shift+Tab) until `name` has focus; its focus must be visible. */
      async function tabTo(name: string | RegExp, shift = false) {
        for (let i = 0; i < 80; i++) {
          await p.keyboard.press(shift ? "Shift+Tab" : "Tab");
          const f = await focused();
          if (typeof name === "string" ? f.name.startsWith(name) : name.test(f.name)) {
            expect({ name: f.name, visible: f.visible }).toEqual({ name: f.name, visible: true });
            return f;
          }
        }
        throw new Error(`no focus stop named ${String(name)}`);
      }

      await tabTo("Email");
      await p.keyboard.type(EMAIL);
      await tabTo("Password");
      await p.keyboard.type(PASSWORD);
      await p.keyboard.press("Enter");
      await p.getByRole("heading", { name: "Projects" }).waitFor();

      // The first stop is the skip link, shown while focused; it moves focus to the page's content.
      await p.keyboard.press("Tab");
      expect(await focused()).toMatchObject({ name: "Skip to content", visible: true });
      await p.keyboard.press("Enter");
      expect((await focused()).id).toBe("main");
      await tabTo("Kbd");
      await p.keyboard.press("Enter");
      await p.getByRole("heading", { name: "Kbd: flags" }).waitFor();
      // After following a link, focus is at the new page's content, not lost at the top of the document.
      expect((await focused()).id).toBe("main");

      await tabTo("Search flags");
      await p.keyboard.type("keyboard");
      const rows = p.getByRole("table", { name: "Flags" }).getByRole("link");
      await waitFor("the search", async () => (await rows.allTextContents()).join() === "Keyboard flag");
      await tabTo("Keyboard flag in production");
      await p.keyboard.press("Space");
      const dialog = p.getByRole("dialog", { name: "Review changes to Keyboard flag in production" });
      await dialog.waitFor();
      await waitFor("focus in the dialog", async () => (await focused()).inDialog);
      // Focus stays in the dialog both ways round, and Escape gives it back to the switch.
      for (let i = 0; i < 20; i++) {
        await p.keyboard.press("Tab");
        expect(await focused()).toMatchObject({ inDialog: true, visible: true });
      }
      for (let i = 0; i < 5; i++) {
        await p.keyboard.press("Shift+Tab");
        expect(await focused()).toMatchObject({ inDialog: true, visible: true });
      }
      await p.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      await waitFor("focus back on the switch", async () => (await focused()).name === "Keyboard flag in production");
      expect((await focused()).visible).toBe(true);

      await p.keyboard.press("Space");
      await dialog.waitFor();
      expect(await dialog.getByTestId("change-preview").textContent()).toBe("Turn targeting on");
      await tabTo("Comment");
      await p.keyboard.type("on, by keyboard");
      await tabTo(/^Save on version/);
      await p.keyboard.press("Enter");
      await dialog.waitFor({ state: "hidden" });
      await waitFor("focus back on the switch", async () => (await focused()).name === "Keyboard flag in production");
      await waitFor("the switch to show on", () => p.getByRole("switch", { name: "Keyboard flag in production" }).isChecked());

      const flag = (await admin.call("GET", "/api/v2/flags/kbd/keyboard-flag?env=production")).body;
      expect(flag.environments.production.on).toBe(true);
      const entry = (await admin.call("GET", "/api/v2/auditlog?spec=proj/kbd:env/production:flag/keyboard-flag&limit=1")).body.items[0];
      expect(entry.comment).toBe("on, by keyboard");
      expect((await admin.call("GET", "/api/v2/flags/kbd/other-flag?env=production")).body.environments.production.on).toBe(false);
      await checkPage(p, "keyboard");
    } finally {
      await c.close();
    }
  }, 60_000);

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
