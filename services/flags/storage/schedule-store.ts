/**
 * Storage of work due at a time: scheduled flag changes and expiring targets of flags and
 * segments, as the flags domain and the scheduler see it.
 *
 * Items are written only with a change of their flag or segment (`FlagWrite.schedule`,
 * `SegmentWrite.schedule`), in the same statement or transaction, and every such change raises the
 * flag's or segment's version: so a change to an item is decided on its flag or segment as read and
 * applies only if neither moved, like any other change of it, and the execution of an item (which
 * removes it in the change it makes) can never run on an item that changed meanwhile. The
 * scheduler's claims (`claim`) are the one write outside that path: a lease, which decides nothing.
 */
export type ScheduledKind = "flagChange" | "flagExpiry" | "segmentExpiry";

/** The member or token that made an item; its execution is attributed to it. */
export interface Creator {
  memberId: string | null;
  memberEmail: string | null;
  tokenId: string | null;
  tokenName: string | null;
  serviceToken: boolean;
}

export interface Conflict {
  /** The other scheduled change. */
  _id: string;
  reason: string;
}

export interface ScheduledItem {
  id: string;
  kind: ScheduledKind;
  projectId: string;
  environmentId: string;
  /** The flag of a scheduled change or of a flag's expiring target. */
  flagId: string | null;
  /** The segment of a segment's expiring target. */
  segmentId: string | null;
  projectKey: string;
  environmentKey: string;
  /** The flag's or the segment's key. */
  resourceKey: string;
  /** When it is due (epoch ms). */
  dueAt: number;
  /** A scheduled change that could not apply stays, `failed`, to be seen; nothing else does. */
  status: "pending" | "failed";
  version: number;
  createdAt: number;
  creator: Creator;
  /** Scheduled changes: flag semantic-patch instructions, as submitted. */
  instructions: unknown[] | null;
  comment: string | null;
  conflicts: Conflict[] | null;
  /** Expiring targets. */
  contextKind: string | null;
  contextKey: string | null;
  /** A flag's expiring target: the variation that targets the context. */
  variationId: string | null;
  /** A segment's expiring target: the list it is in. */
  targetType: "included" | "excluded" | null;
  failure: { date: number; reason: string } | null;
  /** A scheduled change where approvals are required: the approved request it carries out, or that its maker could bypass them. */
  approval: { requestId: string } | { bypassed: true } | null;
}

/** An individual target a change removed: expiring targets of it go with it. */
export interface DroppedTarget {
  environmentId: string;
  contextKind: string;
  contextKey: string;
  /** A flag's target: the variation it was on. */
  variationId?: string;
  /** A segment's target: the list it was in. */
  targetType?: "included" | "excluded";
}

/** What a change of a flag or segment does to its items, written with it. */
export interface ScheduleWrite {
  /** New items, or new versions of items (by id; a claim on them is released). */
  put?: ScheduledItem[];
  /** Items removed, by id. */
  remove?: string[];
  /** Targets the change removed: their expiring targets are removed with them. */
  dropped?: DroppedTarget[];
}

/** Items a scheduler claimed: they are its own until `leaseUntil`. */
export interface Claim {
  token: string;
  leaseUntil: number;
  items: ScheduledItem[];
}

export interface ScheduleStore {
  /** A flag's items of one kind in one environment, by due time. */
  flagItems(flagId: string, environmentId: string, kind: ScheduledKind): Promise<ScheduledItem[]>;
  /** A segment's expiring targets, by due time. */
  segmentItems(segmentId: string): Promise<ScheduledItem[]>;
  /** The flags' expiring targets of one context in an environment, by due time. */
  contextItems(environmentId: string, contextKind: string, contextKey: string): Promise<ScheduledItem[]>;
  item(id: string): Promise<ScheduledItem | undefined>;

  /**
   * Claims up to `limit` pending items due at `now` that no one holds (no lease, or one that ran
   * out), earliest first, for `leaseMs`; items another claimer is claiming at the same moment
   * are skipped, not waited for.
   */
  claim(now: number, leaseMs: number, limit: number): Promise<Claim>;
  /** The earliest due time of a pending item no one holds, if there is one. */
  nextDue(now: number): Promise<number | undefined>;
  /** Gives back a claimed item (its lease ends now) if the claim is still `token`'s. */
  release(id: string, token: string): Promise<void>;
  /** Removes a claimed item if the claim is still `token`'s: its operation proved already applied. */
  discard(id: string, token: string): Promise<void>;
}

/**
 * Thrown by a flag or segment write whose audit entry names an operation already recorded: the
 * execution of an item that an earlier execution applied. Nothing was written.
 */
export class OperationAlreadyApplied extends Error {
  constructor(readonly operationId: string) {
    super(`Operation ${operationId} was already applied`);
    this.name = "OperationAlreadyApplied";
  }
}
