/** A new pending scheduled item: what every kind shares, filled in once, and what is its own. */
import type { Caller } from "@vexil/shared/caller";
import { resourceId } from "@vexil/shared/ids";
import type { ScheduledItem } from "../../storage/schedule-store.ts";

type Place = Pick<ScheduledItem, "kind" | "projectId" | "projectKey" | "environmentId" | "environmentKey" | "resourceKey" | "dueAt"> & Partial<Pick<ScheduledItem, "flagId" | "segmentId">>;
type Own = Partial<Pick<ScheduledItem, "instructions" | "comment" | "conflicts" | "contextKind" | "contextKey" | "variationId" | "targetType" | "approval">>;

export function newItem(caller: Caller, now: number, place: Place, own: Own): ScheduledItem {
  return {
    id: resourceId(),
    flagId: null,
    segmentId: null,
    ...place,
    status: "pending",
    version: 1,
    createdAt: now,
    creator: { memberId: caller.memberId, memberEmail: caller.memberEmail, tokenId: caller.tokenId, tokenName: caller.tokenName, serviceToken: caller.serviceToken },
    instructions: null,
    comment: null,
    conflicts: null,
    contextKind: null,
    contextKey: null,
    variationId: null,
    targetType: null,
    failure: null,
    approval: null,
    ...own,
  };
}
