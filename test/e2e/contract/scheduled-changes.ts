/** Calls every documented scheduled-change operation, answers and refusals. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

const SEMANTIC = { "content-type": "application/json; domain-model=launchdarkly.semanticpatch" };

export async function exerciseScheduledChanges(api: Client): Promise<void> {
  const project = await api.call("POST", "/api/v2/projects", { body: { key: "contract-sched", name: "Schedules", environments: [{ key: "live", name: "Live", color: "00ff00" }] } });
  expect(project.status).toBe(201);
  expect((await api.call("POST", "/api/v2/flags/contract-sched", { body: { key: "launch", name: "Launch" } })).status).toBe(201);
  const changes = "/api/v2/projects/contract-sched/flags/launch/environments/live/scheduled-changes";
  const later = Date.now() + 3_600_000;

  expect((await api.call("GET", changes)).status).toBe(200);
  expect((await api.call("GET", "/api/v2/projects/contract-sched/flags/nope/environments/live/scheduled-changes")).status).toBe(404);

  const created = await api.call("POST", changes, { body: { comment: "launch", executionDate: later, instructions: [{ kind: "turnFlagOn" }] } });
  expect(created.status).toBe(201);
  const id = created.body._id;
  expect((await api.call("POST", changes, { body: { executionDate: later + 1, instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(400);
  const kept = await api.call("POST", `${changes}?ignoreConflicts=true`, { body: { executionDate: later + 1, instructions: [{ kind: "turnFlagOn" }] } });
  expect(kept.status).toBe(201);
  expect(kept.body.conflicts).toEqual([{ _id: id, reason: expect.any(String) }]);
  expect((await api.call("POST", changes, { body: { executionDate: Date.now() - 1, instructions: [{ kind: "turnFlagOff" }] } })).status).toBe(400);
  expect((await api.call("POST", changes, { body: { executionDate: later, instructions: [{ kind: "addTargets", variationId: "nope", values: ["a"] }] } })).status).toBe(400);
  expect((await api.call("POST", "/api/v2/projects/contract-sched/flags/launch/environments/nope/scheduled-changes", { body: { executionDate: later, instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(404);

  expect((await api.call("GET", `${changes}/${id}`)).status).toBe(200);
  expect((await api.call("GET", `${changes}/nope`)).status).toBe(404);

  const edited = await api.call("PATCH", `${changes}/${id}`, { headers: SEMANTIC, body: { instructions: [{ kind: "updateScheduledChangesExecutionDate", value: later + 60_000 }, { kind: "replaceScheduledChangesInstructions", value: [{ kind: "turnFlagOff" }] }] } });
  expect(edited.status).toBe(200);
  expect(edited.body._version).toBe(2);
  expect((await api.call("PATCH", `${changes}/${id}`, { headers: SEMANTIC, body: { instructions: [{ kind: "frobnicate" }] } })).status).toBe(400);
  expect((await api.call("PATCH", `${changes}/${id}`, { body: { instructions: [{ kind: "deleteScheduledChange" }] } })).status).toBe(400);
  expect((await api.call("PATCH", `${changes}/nope`, { headers: SEMANTIC, body: { instructions: [{ kind: "deleteScheduledChange" }] } })).status).toBe(404);
  expect((await api.call("PATCH", `${changes}/${kept.body._id}`, { headers: SEMANTIC, body: { instructions: [{ kind: "deleteScheduledChange" }] } })).status).toBe(200);

  const reader = await api.call("POST", "/api/v2/tokens", { body: { name: "contract-sched reader", role: "reader" } });
  const asReader = api.as(reader.body.token);
  expect((await asReader.call("GET", `${changes}/${id}`)).status).toBe(200);
  expect((await asReader.call("POST", changes, { body: { executionDate: later, instructions: [{ kind: "turnFlagOn" }] } })).status).toBe(403);
  expect((await asReader.call("DELETE", `${changes}/${id}`)).status).toBe(403);

  expect((await api.call("DELETE", `${changes}/${id}`)).status).toBe(204);
  expect((await api.call("DELETE", `${changes}/${id}`)).status).toBe(404);
}
