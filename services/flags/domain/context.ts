/** What the flags use cases need, passed in: storage, the key issuer (auth, over the bus), a clock. */
import type { IssuedEnvironmentKeys, ResetEnvironmentKeyRequest } from "@vexil/shared/auth-messages";
import type { Logger } from "@vexil/shared/logger";
import type { AuditReader } from "../storage/audit-reader.ts";
import type { FlagStore } from "../storage/flag-store.ts";
import type { FlagUsageStore } from "../storage/flag-usage-store.ts";
import type { SegmentStore } from "../storage/segment-store.ts";
import type { ProjectStore } from "../storage/project-store.ts";
import type { ScheduleStore } from "../storage/schedule-store.ts";
import type { DeliveryReceipts } from "./flags/deliveries.ts";
import type { SdkConnectionSource } from "./sdk-connections.ts";
import type { ApprovalStore } from "../storage/approval-store.ts";

export interface EnvironmentKeyIssuer {
  /** New SDK and mobile keys for these environments; the values are returned this once. */
  issue(environmentIds: string[]): Promise<IssuedEnvironmentKeys[]>;
  /** Forgets the keys of environments that are gone. */
  forget(environmentIds: string[]): Promise<void>;
  /** A new key of one kind for an environment; returns its value, this once. */
  reset(request: Omit<ResetEnvironmentKeyRequest, "v">): Promise<string>;
}

export interface FlagsContext {
  store: ProjectStore;
  flags: FlagStore;
  segments: SegmentStore;
  /** Scheduled changes and expiring targets (written with their flag or segment, read here). */
  schedules: ScheduleStore;
  /** Approval requests (written with their flag, read here). */
  approvals: ApprovalStore;
  /** What SDKs reported evaluating (flag statuses). */
  usage: FlagUsageStore;
  audit: AuditReader;
  keys: EnvironmentKeyIssuer;
  logger: Logger;
  now: () => number;
  /** Called after a change with events committed, so they go out at once. */
  committed?: () => void;
  /** Called after a scheduled item due at `dueAt` (epoch ms) was written, so this instance's scheduler wakes for it. */
  scheduled?: (dueAt: number) => void;
  /** Delivery receipts of recent changes, as the streaming instances reported them; absent: none known. */
  deliveries?: DeliveryReceipts;
  /** The streaming instances' SDK connections of an environment, asked for at once; absent: none. */
  sdkConnections?: SdkConnectionSource;
}
