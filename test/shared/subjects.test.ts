/** The subject strings are the wire protocol between running versions: a change here must be deliberate. */
import { expect, test } from "bun:test";
import { queueGroup, streams, subjects } from "@vexil/shared/subjects";

test("HTTP-over-bus subjects", () => {
  expect(subjects.http("auth")).toBe("vexil.http.auth");
  expect(subjects.http("flags")).toBe("vexil.http.flags");
  expect(subjects.http("streaming")).toBe("vexil.http.streaming");
});

test("auth subjects", () => {
  expect(subjects.authVerify).toBe("vexil.auth.verify");
  expect(subjects.authIssueEnvironmentKeys).toBe("vexil.auth.env-keys.issue");
  expect(subjects.authDeleteEnvironmentKeys).toBe("vexil.auth.env-keys.delete");
  expect(subjects.authRevoked).toBe("vexil.auth.revoked");
  expect(subjects.authResetEnvironmentKey).toBe("vexil.auth.env-keys.reset");
  expect(subjects.authVerifyEnvironmentKey).toBe("vexil.auth.env-keys.verify");
  expect(subjects.authEnvironmentKeysRevoked).toBe("vexil.auth.env-keys.revoked");
  expect(subjects.authUsage).toBe("vexil.auth.usage");
  expect(subjects.changes("6b032fee1969c61bc4538117")).toBe("vexil.changes.6b032fee1969c61bc4538117");
  expect(subjects.changeTips).toBe("vexil.change-tips");
});

test("gateway subjects", () => {
  expect(subjects.gatewayRate).toBe("vexil.gateway.rate");
});

test("flags subjects", () => {
  expect(subjects.flagsEnvironmentData).toBe("vexil.flags.env-data");
  expect(subjects.streamingEvaluations).toBe("vexil.streaming.evaluations");
  expect(subjects.streamingReceipts).toBe("vexil.streaming.receipts");
  expect(subjects.streamingConnections).toBe("vexil.streaming.connections");
  expect(subjects.live).toBe("vexil.live");
  expect(subjects.liveReset).toBe("vexil.live.reset");
  expect(subjects.liveReplay).toBe("vexil.live.replay");
});

test("no subject is added or removed without updating this test", () => {
  expect(Object.keys(subjects).sort()).toEqual([
    "audit",
    "auditAll",
    "authDeleteEnvironmentKeys",
    "authEnvironmentKeysRevoked",
    "authIssueEnvironmentKeys",
    "authResetEnvironmentKey",
    "authRevoked",
    "authUsage",
    "authVerify",
    "authVerifyEnvironmentKey",
    "changeTips",
    "changes",
    "flagsEnvironmentData",
    "gatewayRate",
    "http",
    "live",
    "liveReplay",
    "liveReset",
    "streamingConnections",
    "streamingEvaluations",
    "streamingReceipts",
  ]);
});

test("queue groups", () => {
  expect(queueGroup("gateway")).toBe("vexil-gateway");
  expect(queueGroup("auth")).toBe("vexil-auth");
  expect(queueGroup("flags")).toBe("vexil-flags");
  expect(queueGroup("streaming")).toBe("vexil-streaming");
});

test("the audit stream", () => {
  expect(subjects.audit("flag")).toBe("vexil.audit.flag");
  expect(subjects.audit("a.b*>")).toBe("vexil.audit.a_b__");
  expect(subjects.auditAll).toBe("vexil.audit.>");
  expect(streams).toEqual({ audit: "VEXIL_AUDIT", auditWebhooksConsumer: "vexil-webhooks" });
});
