/** The gateway's documentation: the joined OpenAPI document, kept a minute, and its pages. */
import { describe, expect, test } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import { PART_PATH, operation } from "@vexil/shared/http/openapi";
import { silentLogger } from "@vexil/shared/logger";
import type { ServiceClient } from "@vexil/shared/transport/http-over-bus";
import { createDocs } from "@vexil/gateway/docs";

/** A service answering its part (one operation at `path`), counting the times it was asked; `down` makes it fail. */
function service(path: string, schema: string) {
  const state = { asked: 0, down: false };
  const client: ServiceClient = {
    async handle(request) {
      state.asked++;
      expect(request.path).toBe(PART_PATH);
      if (state.down) return Response.json({ code: "service_unavailable", message: "down", id: "x" }, { status: 503 });
      const op = operation({ id: `get${schema}`, tag: schema, summary: `Get ${schema}`, ok: { 200: schema } });
      return Response.json({ paths: { [path]: { get: op } }, components: { schemas: { [schema]: { type: "object" } } } });
    },
  };
  return { client, state };
}

async function failure(work: () => Promise<unknown> | Response): Promise<VexilError> {
  try {
    await work();
  } catch (e) {
    if (e instanceof VexilError) return e;
    throw e;
  }
  throw new Error("expected a VexilError");
}

describe("the API document at the gateway", () => {
  test("joins the services' parts with the gateway's own operations, and builds it again after a minute", async () => {
    const flags = service("/api/v2/things", "Thing");
    const auth = service("/api/v2/people", "Person");
    let now = 1_000_000;
    const docs = createDocs({ flags: flags.client, auth: auth.client }, silentLogger, () => now);
    const document = (await (await docs.answer("/api/v2/openapi.json")).json()) as { openapi: string; paths: object; components: { schemas: object }; tags: Array<{ name: string }> };
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths).sort()).toEqual(["/api/v2", "/api/v2/live", "/api/v2/openapi.json", "/api/v2/people", "/api/v2/things", "/api/v2/versions"]);
    expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(["Thing", "Person", "Root", "Versions"]));
    expect(document.tags.map((t) => t.name)).toEqual(["Other", "Person", "Thing"]);
    expect([flags.state.asked, auth.state.asked]).toEqual([1, 1]);
    now += 59_000;
    await docs.answer("/api/v2/openapi.json");
    expect([flags.state.asked, auth.state.asked]).toEqual([1, 1]);
    now += 2_000;
    await docs.answer("/api/v2/openapi.json");
    expect([flags.state.asked, auth.state.asked]).toEqual([2, 2]);
  });

  test("a service that does not answer: 503 until a document was built, the last one after", async () => {
    const flags = service("/api/v2/things", "Thing");
    const auth = service("/api/v2/people", "Person");
    auth.state.down = true;
    let now = 1_000_000;
    const docs = createDocs({ flags: flags.client, auth: auth.client }, silentLogger, () => now);
    const refused = await failure(() => docs.answer("/api/v2/openapi.json"));
    expect([refused.status, refused.code]).toEqual([503, "service_unavailable"]);
    auth.state.down = false;
    const built = await (await docs.answer("/api/v2/openapi.json")).text();
    auth.state.down = true;
    now += 120_000;
    expect(await (await docs.answer("/api/v2/openapi.json")).text()).toBe(built);
  });

  test("without a webhooks service the document has everything else", async () => {
    const flags = service("/api/v2/things", "Thing");
    const webhooks = service("/api/v2/webhooks", "Webhook");
    webhooks.state.down = true;
    const docs = createDocs({ flags: flags.client, webhooks: webhooks.client }, silentLogger, () => 1);
    const document = (await (await docs.answer("/api/v2/openapi.json")).json()) as { paths: object };
    expect(Object.keys(document.paths)).toContain("/api/v2/things");
    expect(Object.keys(document.paths)).not.toContain("/api/v2/webhooks");
  });

  test("the pages: Swagger UI at /docs and /api-docs with assets served here, and only those", async () => {
    const docs = createDocs({}, silentLogger);
    for (const path of ["/docs", "/api-docs", "/api/v2/openapi.json", "/docs/assets/swagger-ui.css"]) expect(docs.has(path)).toBe(true);
    for (const path of ["/doc", "/api/v2/openapi", "/docsx"]) expect(docs.has(path)).toBe(false);
    const page = await docs.answer("/api-docs");
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('<script src="/docs/assets/swagger-ui-bundle.js"></script>');
    const bundle = await docs.answer("/docs/assets/swagger-ui-bundle.js");
    expect(bundle.headers.get("content-type")).toContain("javascript");
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    expect((await failure(() => docs.answer("/docs/assets/../../package.json"))).status).toBe(404);
    expect((await failure(() => docs.answer("/docs/assets/index.html"))).status).toBe(404);
  });
});
