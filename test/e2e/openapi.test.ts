/**
 * The OpenAPI document and its contract, against the all-in-one process on Postgres and NATS: the
 * document validates (`@apidevtools/swagger-parser`), the UI pages and their assets are served, and
 * every documented operation is called — with answers and refusals — and each answer's status and
 * body must be what the document says.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNats, type NatsServer } from "../../infra/local/nats.ts";
import { makeClient, type Client } from "../support/client.ts";
import { Contract } from "../support/contract.ts";
import { freePort } from "../support/ports.ts";
import { testDatabaseUrl } from "../support/postgres.ts";
import { startEntry, type Running } from "../support/process.ts";
import { exerciseAuditLog } from "./contract/audit-log.ts";
import { exerciseAuth } from "./contract/auth.ts";
import { exerciseCompat } from "./contract/compat.ts";
import { exerciseFlagStatuses } from "./contract/flag-statuses.ts";
import { exerciseDeliveries } from "./contract/deliveries.ts";
import { exerciseSdkConnections } from "./contract/sdk-connections.ts";
import { exerciseFlags } from "./contract/flags.ts";
import { exerciseFlagsAsCode } from "./contract/flags-as-code.ts";
import { exerciseProjects } from "./contract/projects.ts";
import { exerciseSegments } from "./contract/segments.ts";
import { exerciseScheduledChanges } from "./contract/scheduled-changes.ts";
import { exerciseExpiringTargets } from "./contract/expiring-targets.ts";
import { exerciseApprovals } from "./contract/approvals.ts";
import { exerciseWebhooks } from "./contract/webhooks.ts";

const TOKEN = "openapi-contract-admin-token";

let nats: NatsServer;
let vexil: Running;
let dataDir: string;
let document: any;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "vexil-openapi-"));
  nats = await startNats();
  vexil = await startEntry("services/all-in-one/main.ts", freePort(), {
    VEXIL_ADMIN_TOKEN: TOKEN,
    VEXIL_DATA_DIR: dataDir,
    DATABASE_URL: await testDatabaseUrl(),
    NATS_URL: nats.url,
    // SDK reports reach flag statuses within a fifth of a second.
    VEXIL_EVALUATIONS_FLUSH_MS: "200",
    // Webhooks deliver to a receiver on this machine.
    VEXIL_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.0/8",
  });
  const answer = await fetch(`${vexil.url}/api/v2/openapi.json`);
  expect(answer.status).toBe(200);
  document = await answer.json();
});

afterAll(async () => {
  await vexil?.stop();
  await nats?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the OpenAPI document", () => {
  test("is a valid OpenAPI 3.1 document, answered without a credential", async () => {
    await SwaggerParser.validate(structuredClone(document));
    expect(document.openapi).toBe("3.1.0");
    expect(document.components.securitySchemes.ApiKey).toEqual(expect.objectContaining({ type: "apiKey", in: "header", name: "Authorization" }));
    expect(document.paths["/api/v2/openapi.json"].get.security).toEqual([]);
  });

  test("has every operation named, summarised, tagged, with its errors in the common error schema", () => {
    const ids = new Set<string>();
    for (const [path, methods] of Object.entries<Record<string, any>>(document.paths)) {
      for (const [method, op] of Object.entries<any>(methods)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect({ where, id: typeof op.operationId }).toEqual({ where, id: "string" });
        expect(ids.has(op.operationId)).toBe(false);
        ids.add(op.operationId);
        expect({ where, summary: (op.summary ?? "").length > 0, tags: op.tags?.length }).toEqual({ where, summary: true, tags: 1 });
        for (const [status, response] of Object.entries<any>(op.responses)) {
          if (Number(status) >= 400) expect({ where, status, schema: response.content["application/json"].schema }).toEqual({ where, status, schema: { $ref: "#/components/schemas/Error" } });
        }
        for (const parameter of op.parameters ?? []) if (parameter.in === "path") expect(path).toContain(`{${parameter.name}}`);
      }
    }
    expect(ids.size).toBeGreaterThan(40);
  });

  test("the LaunchDarkly operation ids of the operations LaunchDarkly has", () => {
    const id = (method: string, path: string) => document.paths[path]?.[method]?.operationId;
    expect(id("get", "/api/v2/flags/{projectKey}/{flagKey}")).toBe("getFeatureFlag");
    expect(id("patch", "/api/v2/flags/{projectKey}/{flagKey}")).toBe("patchFeatureFlag");
    expect(id("get", "/api/v2/projects")).toBe("getProjects");
    expect(id("post", "/api/v2/tokens")).toBe("postToken");
    expect(id("get", "/api/v2/auditlog")).toBe("getAuditLogEntries");
    expect(id("get", "/api/v2/versions")).toBe("getVersions");
    expect(id("get", "/api/v2/flag-statuses/{projectKey}/{environmentKey}")).toBe("getFeatureFlagStatuses");
    expect(id("get", "/api/v2/flag-statuses/{projectKey}/{environmentKey}/{featureFlagKey}")).toBe("getFeatureFlagStatus");
    expect(id("get", "/api/v2/flag-status/{projectKey}/{featureFlagKey}")).toBe("getFeatureFlagStatusAcrossEnvironments");
    const changes = "/api/v2/projects/{projectKey}/flags/{flagKey}/environments/{environmentKey}/scheduled-changes";
    expect([id("get", changes), id("post", changes), id("get", `${changes}/{id}`), id("patch", `${changes}/{id}`), id("delete", `${changes}/{id}`)]).toEqual([
      "getFlagConfigScheduledChanges",
      "postFlagConfigScheduledChanges",
      "getFeatureFlagScheduledChange",
      "patchFlagConfigScheduledChange",
      "deleteFlagConfigScheduledChanges",
    ]);
    const expiring = [
      ["/api/v2/flags/{projectKey}/{flagKey}/expiring-targets/{environmentKey}", "getExpiringContextTargets", "patchExpiringTargets"],
      ["/api/v2/flags/{projectKey}/{flagKey}/expiring-user-targets/{environmentKey}", "getExpiringUserTargets", "patchExpiringUserTargets"],
      ["/api/v2/segments/{projectKey}/{segmentKey}/expiring-targets/{environmentKey}", "getExpiringTargetsForSegment", "patchExpiringTargetsForSegment"],
      ["/api/v2/segments/{projectKey}/{segmentKey}/expiring-user-targets/{environmentKey}", "getExpiringUserTargetsForSegment", "patchExpiringUserTargetsForSegment"],
      ["/api/v2/users/{projectKey}/{userKey}/expiring-user-targets/{environmentKey}", "getExpiringFlagsForUser", "patchExpiringFlagsForUser"],
    ];
    for (const [path, get, patch] of expiring) expect([id("get", path!), id("patch", path!)]).toEqual([get, patch]);
    const approvals = "/api/v2/projects/{projectKey}/flags/{flagKey}/environments/{environmentKey}";
    expect([
      id("get", `${approvals}/approval-requests`),
      id("post", `${approvals}/approval-requests`),
      id("post", `${approvals}/approval-requests-flag-copy`),
      id("get", `${approvals}/approval-requests/{id}`),
      id("delete", `${approvals}/approval-requests/{id}`),
      id("post", `${approvals}/approval-requests/{id}/reviews`),
      id("post", `${approvals}/approval-requests/{id}/apply`),
      id("get", "/api/v2/approval-requests"),
      id("post", "/api/v2/approval-requests"),
      id("get", "/api/v2/approval-requests/{id}"),
      id("delete", "/api/v2/approval-requests/{id}"),
      id("post", "/api/v2/approval-requests/{id}/reviews"),
      id("post", "/api/v2/approval-requests/{id}/apply"),
    ]).toEqual([
      "getApprovalsForFlag",
      "postApprovalRequestForFlag",
      "postFlagCopyConfigApprovalRequest",
      "getApprovalForFlag",
      "deleteApprovalRequestForFlag",
      "postApprovalRequestReviewForFlag",
      "postApprovalRequestApplyForFlag",
      "getApprovalRequests",
      "postApprovalRequest",
      "getApprovalRequest",
      "deleteApprovalRequest",
      "postApprovalRequestReview",
      "postApprovalRequestApply",
    ]);
    expect([id("get", "/api/v2/webhooks"), id("post", "/api/v2/webhooks"), id("get", "/api/v2/webhooks/{id}"), id("patch", "/api/v2/webhooks/{id}"), id("delete", "/api/v2/webhooks/{id}")]).toEqual([
      "getAllWebhooks",
      "postWebhook",
      "getWebhook",
      "patchWebhook",
      "deleteWebhook",
    ]);
  });

  test("request bodies from the routes' own schemas, with the ways of patching by content type", () => {
    const body = (method: string, path: string) => document.paths[path][method].requestBody?.content;
    expect(body("post", "/api/v2/projects")["application/json"].schema.required).toEqual(expect.arrayContaining(["key", "name"]));
    expect(body("post", "/api/v2/flags/{projectKey}")["application/json"].schema.properties.variations.type).toBe("array");
    expect(body("post", "/api/v2/tokens")["application/json"].schema.type).toBe("object");
    expect(Object.keys(body("patch", "/api/v2/flags/{projectKey}/{flagKey}")).sort()).toEqual(["application/json", "application/json; domain-model=launchdarkly.semanticpatch", "application/merge-patch+json"]);
    expect(Object.keys(body("patch", "/api/v2/projects/{projectKey}")).sort()).toEqual(["application/json", "application/merge-patch+json"]);
    for (const [path, methods] of Object.entries<Record<string, any>>(document.paths)) {
      for (const method of ["post", "patch", "put"]) {
        const content = methods[method]?.requestBody?.content;
        if (content) for (const media of Object.values<any>(content)) expect({ path, method, schema: typeof media.schema }).toEqual({ path, method, schema: "object" });
      }
      if (methods.patch) expect({ path, body: methods.patch.requestBody !== undefined }).toEqual({ path, body: true });
    }
  });

  test("the interactive documentation at /docs and /api-docs, with its assets served here", async () => {
    for (const path of ["/docs", "/api-docs"]) {
      const page = await fetch(vexil.url + path);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      const html = await page.text();
      expect(html).toContain('data-document="/api/v2/openapi.json"');
      for (const [, src] of html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)) {
        const asset = await fetch(vexil.url + src);
        expect({ src, status: asset.status }).toEqual({ src: src!, status: 200 });
        expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
      }
    }
    const wrong = await fetch(`${vexil.url}/docs`, { method: "POST" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
    expect((await fetch(`${vexil.url}/docs/assets/nothing.js`)).status).toBe(404);
  });
});

describe("the contract checker", () => {
  const tiny = {
    openapi: "3.1.0",
    info: { title: "t", version: "1" },
    paths: {
      "/things/{key}": {
        get: {
          operationId: "getThing",
          responses: {
            "200": { description: "ok", content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } } },
            "404": { description: "no", content: { "application/json": { schema: { type: "object", required: ["code"] } } } },
          },
        },
      },
      "/things/{key}/parts": { delete: { operationId: "deleteParts", responses: { "204": { description: "gone" } } } },
    },
    components: { schemas: { Thing: { type: "object", required: ["key"], properties: { key: { type: "string" } }, additionalProperties: false } } },
  };
  const answer = (status: number, body?: unknown) => ({ status, headers: new Headers(body === undefined ? {} : { "content-type": "application/json" }), body, text: body === undefined ? "" : JSON.stringify(body) });

  test("finds wrong bodies, undocumented statuses and bodies where none is documented, and what was not called", async () => {
    const contract = await Contract.of(tiny);
    contract.check("GET", "/things/a", answer(200, { key: "a" }));
    expect(contract.violations).toEqual([]);
    contract.check("GET", "/things/a", answer(200, { key: 1 }));
    contract.check("GET", "/things/a", answer(200, { key: "a", extra: true }));
    contract.check("GET", "/things/a", answer(500, { code: "internal_error" }));
    contract.check("DELETE", "/things/a/parts", answer(204, { unexpected: true }));
    expect(contract.violations.map((v) => [v.operation, v.status])).toEqual([
      ["GET /things/{key}", 200],
      ["GET /things/{key}", 200],
      ["GET /things/{key}", 500],
      ["DELETE /things/{key}/parts", 204],
    ]);
    expect(contract.uncalled()).toEqual([]);
    expect((await Contract.of({ ...tiny, paths: { ...tiny.paths, "/other": { get: { operationId: "getOther", responses: { "204": { description: "x" } } } } } })).uncalled()).toEqual(["DELETE /things/{key}/parts", "GET /other", "GET /things/{key}"]);
  });

  test("refuses an invalid document", async () => {
    await expect(Contract.of({ ...tiny, paths: { "/x": { get: { responses: { "200": { content: {} } } } } } })).rejects.toThrow();
  });
});

describe("the contract: every documented operation, called", () => {
  let contract: Contract;
  let api: Client;

  beforeAll(async () => {
    contract = await Contract.of(document);
    api = contract.checked(makeClient([vexil.url], TOKEN));
  });

  test("the gateway's own operations", async () => {
    expect((await api.call("GET", "/api/v2")).status).toBe(200);
    expect((await api.call("GET", "/api/v2/versions")).status).toBe(200);
    expect((await api.call("GET", "/api/v2/versions", { headers: { "ld-api-version": "19990101" } })).status).toBe(400);
    expect((await api.call("GET", "/api/v2/openapi.json", { token: null })).status).toBe(200);
    expect((await api.call("GET", "/api/v2", { token: "api-not-a-token" })).status).toBe(401);
    // The live feed is a stream that does not end: its answer is checked from the headers, the body left unread.
    const abort = new AbortController();
    const live = await fetch(`${vexil.url}/api/v2/live?project=default`, { headers: { authorization: TOKEN }, signal: abort.signal });
    expect(live.headers.get("content-type")).toContain("text/event-stream");
    expect(Object.keys(document.paths["/api/v2/live"].get.responses["200"].content)).toEqual(["text/event-stream"]);
    contract.check("GET", "/api/v2/live?project=default", { status: live.status, headers: live.headers, body: undefined, text: "" });
    abort.abort();
    expect((await api.call("GET", "/api/v2/live", { token: null })).status).toBe(401);
    expect((await api.call("GET", "/api/v2/live?project=no%20such")).status).toBe(400);
  });

  test("projects and environments", async () => {
    await exerciseProjects(api);
  });

  test("flags", async () => {
    await exerciseFlags(api);
  });

  test("flag statuses", async () => {
    await exerciseFlagStatuses(api);
  });

  test("delivery receipts", async () => {
    await exerciseDeliveries(api, vexil.url);
  });

  test("SDK connections", async () => {
    await exerciseSdkConnections(api, vexil.url);
  });

  test("segments", async () => {
    await exerciseSegments(api);
  });

  test("scheduled changes", async () => {
    await exerciseScheduledChanges(api);
  });

  test("expiring targets", async () => {
    await exerciseExpiringTargets(api);
  });

  test("approval requests", async () => {
    await exerciseApprovals(api);
  });

  test("flags as code", async () => {
    await exerciseFlagsAsCode(api);
  });

  test("the audit log", async () => {
    await exerciseAuditLog(api);
  });

  test("the Unleash and FeatureProbe routes", async () => {
    await exerciseCompat(api);
  });

  test("webhooks and their deliveries", async () => {
    await exerciseWebhooks(api);
  });

  test("tokens, members, roles, sessions and the caller's identity", async () => {
    await exerciseAuth(api, vexil.url);
  });

  test("every answer was as documented, and no documented operation was left out", () => {
    expect(contract.violations).toEqual([]);
    expect(contract.uncalled()).toEqual([]);
  });
});
