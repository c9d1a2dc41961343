/**
 * Every NATS subject Vexil uses, in one place. `subjects.test.ts` pins the strings:
 * changing one is a wire-protocol change between running versions.
 */
export type ServiceName = "gateway" | "auth" | "flags" | "streaming" | "webhooks";

export const subjects = {
  /** Flags → streaming: change events of one environment, in commit order. */
  changes: (environmentId: string) => `vexil.changes.${environmentId}`,
  /**
   * Flags → streaming, every few seconds while changes flow: the last sequence number each relay
   * published per recently changed environment, so a subscriber that lost the last event of a
   * burst (a bus node died with it) notices without waiting for the next change.
   */
  changeTips: "vexil.change-tips",
  /** Flags → every gateway: a committed change of a flag, segment, project or environment, for the live feed (`shared/live.ts`). */
  live: "vexil.live",
  /** Flags → every gateway: changes may have been missed beyond what can be replayed; every feed tells its browser to read everything again. */
  liveReset: "vexil.live.reset",
  /** Gateway → flags (queue group): the live events committed since a feed position, for a feed that reconnects (`shared/live.ts`). */
  liveReplay: "vexil.live.replay",
  /** Gateway → service: an HTTP request carried over request/reply (queue group = service name). */
  http: (service: Exclude<ServiceName, "gateway">) => `vexil.http.${service}`,
  /** Gateway → auth: verify a credential, reply with a verdict. */
  authVerify: "vexil.auth.verify",
  /** Streaming → auth: does this SDK key or mobile key work, and for which environment. */
  authVerifyEnvironmentKey: "vexil.auth.env-keys.verify",
  /** Flags → auth: issue an environment's SDK key and mobile key. */
  authIssueEnvironmentKeys: "vexil.auth.env-keys.issue",
  /** Flags → auth: forget the keys of deleted environments. */
  authDeleteEnvironmentKeys: "vexil.auth.env-keys.delete",
  /** Flags → auth: reset an environment's SDK key or mobile key. */
  authResetEnvironmentKey: "vexil.auth.env-keys.reset",
  /** Auth → every gateway and streaming instance: drop cached verdicts for these credentials. */
  authRevoked: "vexil.auth.revoked",
  /** Auth → streaming: environment keys that stop working. */
  authEnvironmentKeysRevoked: "vexil.auth.env-keys.revoked",
  /** Streaming → flags (queue group): one environment's flags and segments in the SDK format, with their sequence number. */
  flagsEnvironmentData: "vexil.flags.env-data",
  /** Streaming → flags (queue group): evaluation counts per flag and variation, in batches, for flag statuses. */
  streamingEvaluations: "vexil.streaming.evaluations",
  /** Streaming → every flags instance: how many streams of an instance a flag's change reached, and when (delivery receipts). */
  streamingReceipts: "vexil.streaming.receipts",
  /** Flags → every streaming instance (no queue group, scatter/gather): the SDK connections an instance serves for one environment. */
  streamingConnections: "vexil.streaming.connections",
  /** Gateways → gateways: calls admitted per caller and route in the current rate-limit window. */
  gatewayRate: "vexil.gateway.rate",
  /**
   * Webhooks → the audit stream (JetStream `VEXIL_AUDIT`): a committed audit entry, by its kind,
   * published once from the webhook feed, consumed by the webhooks instances.
   */
  audit: (kind: string) => `vexil.audit.${kind.replace(/[^A-Za-z0-9_-]/g, "_") || "_"}`,
  /** Every subject of the audit stream. */
  auditAll: "vexil.audit.>",
  /** Gateways → auth (queue group): tokens last used, members last seen. */
  authUsage: "vexil.auth.usage",
} as const;

/** JetStream names: the stream of committed audit entries and the webhooks' durable consumer of it. */
export const streams = { audit: "VEXIL_AUDIT", auditWebhooksConsumer: "vexil-webhooks" } as const;

/** The queue group shared by every instance of a service. */
export const queueGroup = (service: ServiceName) => `vexil-${service}`;
