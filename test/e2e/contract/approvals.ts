/** Calls every documented approval-request operation, answers and refusals. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

export async function exerciseApprovals(api: Client): Promise<void> {
  const project = await api.call("POST", "/api/v2/projects", { body: { key: "contract-appr", name: "Approvals", environments: [{ key: "live", name: "Live", color: "00ff00" }, { key: "dev", name: "Dev", color: "0000ff" }] } });
  expect(project.status).toBe(201);
  expect((await api.call("POST", "/api/v2/flags/contract-appr", { body: { key: "launch", name: "Launch" } })).status).toBe(201);
  const settings = [
    { op: "replace", path: "/approvalSettings/required", value: true },
    { op: "replace", path: "/approvalSettings/canReviewOwnRequest", value: true },
  ];
  expect((await api.call("PATCH", "/api/v2/projects/contract-appr/environments/live", { body: settings })).status).toBe(200);
  const base = "/api/v2/projects/contract-appr/flags/launch/environments/live";
  const requests = `${base}/approval-requests`;

  expect((await api.call("GET", requests)).status).toBe(200);
  expect((await api.call("GET", "/api/v2/projects/contract-appr/flags/nope/environments/live/approval-requests")).status).toBe(404);
  const made = await api.call("POST", requests, { body: { description: "Launch", instructions: [{ kind: "turnFlagOn" }], comment: "go" } });
  expect(made.status).toBe(201);
  const id = made.body._id;
  expect((await api.call("POST", requests, { body: { description: "Bad", instructions: [{ kind: "nope" }] } })).status).toBe(400);
  expect((await api.call("POST", "/api/v2/projects/contract-appr/flags/launch/environments/nope/approval-requests", { body: { description: "x", instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(404);
  expect((await api.call("GET", `${requests}/${id}`)).status).toBe(200);
  expect((await api.call("GET", `${requests}/nope`)).status).toBe(404);
  expect((await api.call("POST", `${requests}/${id}/apply`, { body: {} })).status).toBe(400);
  expect((await api.call("POST", `${requests}/${id}/reviews`, { body: { kind: "maybe" } })).status).toBe(400);
  expect((await api.call("POST", `${requests}/nope/reviews`, { body: { kind: "approve" } })).status).toBe(404);
  expect((await api.call("POST", `${requests}/${id}/reviews`, { body: { kind: "approve", comment: "ok" } })).status).toBe(200);
  expect((await api.call("POST", `${requests}/nope/apply`, { body: {} })).status).toBe(404);
  expect((await api.call("POST", `${requests}/${id}/apply`, { body: { comment: "ship" } })).status).toBe(200);

  const copy = await api.call("POST", `${base}/approval-requests-flag-copy`, { body: { description: "Copy dev", source: { key: "dev" }, excludedActions: ["updateRules"] } });
  expect(copy.status).toBe(201);
  expect((await api.call("POST", `${base}/approval-requests-flag-copy`, { body: { description: "Copy dev", source: { key: "dev", version: 99 } } })).status).toBe(409);
  expect((await api.call("POST", `${base}/approval-requests-flag-copy`, { body: { description: "Copy", source: { key: "live" } } })).status).toBe(400);
  expect((await api.call("DELETE", `${requests}/${copy.body._id}`)).status).toBe(204);
  expect((await api.call("DELETE", `${requests}/${copy.body._id}`)).status).toBe(404);

  // The generic endpoints.
  const resourceId = "proj/contract-appr:env/live:flag/launch";
  const generic = await api.call("POST", "/api/v2/approval-requests", { body: { resourceId, description: "Off", instructions: [{ kind: "turnFlagOff" }] } });
  expect(generic.status).toBe(201);
  const gid = generic.body._id;
  expect((await api.call("POST", "/api/v2/approval-requests", { body: { resourceId: "proj/contract-appr", description: "x", instructions: [{ kind: "turnFlagOff" }] } })).status).toBe(400);
  expect((await api.call("GET", `/api/v2/approval-requests?filter=${encodeURIComponent(`resourceId equals ${resourceId}`)}&expand=flag,project,environments&limit=1`)).status).toBe(200);
  expect((await api.call("GET", "/api/v2/approval-requests?filter=colour%20equals%20red")).status).toBe(400);
  expect((await api.call("GET", `/api/v2/approval-requests/${gid}?expand=resource`)).status).toBe(200);
  expect((await api.call("GET", "/api/v2/approval-requests/nope")).status).toBe(404);
  expect((await api.call("POST", `/api/v2/approval-requests/${gid}/apply`, { body: {} })).status).toBe(400);
  expect((await api.call("POST", `/api/v2/approval-requests/${gid}/reviews`, { body: { kind: "approve" } })).status).toBe(200);
  expect((await api.call("POST", "/api/v2/approval-requests/nope/reviews", { body: { kind: "approve" } })).status).toBe(404);
  expect((await api.call("POST", `/api/v2/approval-requests/${gid}/apply`, { body: {} })).status).toBe(200);
  expect((await api.call("POST", "/api/v2/approval-requests/nope/apply", { body: {} })).status).toBe(404);

  const reader = await api.call("POST", "/api/v2/tokens", { body: { name: "contract-appr reader", role: "reader" } });
  const asReader = api.as(reader.body.token);
  expect((await asReader.call("POST", requests, { body: { description: "x", instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(403);
  expect((await asReader.call("DELETE", `/api/v2/approval-requests/${gid}`)).status).toBe(403);
  expect((await api.call("DELETE", `/api/v2/approval-requests/${gid}`)).status).toBe(204);
  expect((await api.call("DELETE", `/api/v2/approval-requests/${gid}`)).status).toBe(404);
}
