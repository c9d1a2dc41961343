/**
 * Change events (version 1): what the flags service publishes, after commit and in commit order,
 * on `vexil.changes.<environmentId>` for every changed flag or segment of an environment.
 * `seq` rises by one per event of the environment, so a consumer can tell a gap.
 */
export interface ChangeEvent {
  v: 1;
  environmentId: string;
  seq: number;
  kind: "flag" | "segment";
  key: string;
  /** The item's version in the environment; a delete carries the version it had. */
  version: number;
  deleted: boolean;
  /** The item in the SDK format; absent for a delete. */
  data?: Record<string, unknown>;
  /** When the change was written (epoch ms, the time of its audit entry), added by the relay as it publishes; what delivery lag is measured from. */
  committedAt?: number;
}

/** What a change produces before commit: the store adds the environment id and the sequence number. */
export type PendingChange = Omit<ChangeEvent, "v" | "environmentId" | "seq" | "committedAt"> & { environmentKey: string };
