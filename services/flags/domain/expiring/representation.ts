/** Expiring targets as LaunchDarkly represents them (`ExpiringTarget`, and `ExpiringUserTargetItem` for the user endpoints), and the answers of a PATCH. */
import { link, type Link } from "@vexil/shared/http/links";
import type { InstructionError } from "../semantic-patch/engine.ts";
import type { ScheduledItem } from "../../storage/schedule-store.ts";

const enc = encodeURIComponent;
export const flagExpiringPath = (projectKey: string, flagKey: string, envKey: string, users: boolean) => `/api/v2/flags/${enc(projectKey)}/${enc(flagKey)}/${users ? "expiring-user-targets" : "expiring-targets"}/${enc(envKey)}`;
export const segmentExpiringPath = (projectKey: string, segmentKey: string, envKey: string, users: boolean) => `/api/v2/segments/${enc(projectKey)}/${enc(segmentKey)}/${users ? "expiring-user-targets" : "expiring-targets"}/${enc(envKey)}`;
export const userExpiringPath = (projectKey: string, userKey: string, envKey: string) => `/api/v2/users/${enc(projectKey)}/${enc(userKey)}/expiring-user-targets/${enc(envKey)}`;

/** `users`: the legacy form, with `userKey` for the context (only user contexts are listed in it). */
export function expiringTargetRep(item: ScheduledItem, users: boolean) {
  const flag = item.kind === "flagExpiry";
  return {
    _id: item.id,
    _version: item.version,
    expirationDate: item.dueAt,
    ...(users ? { userKey: item.contextKey! } : { contextKind: item.contextKind!, contextKey: item.contextKey! }),
    ...(flag ? { variationId: item.variationId! } : { targetType: item.targetType! }),
    _resourceId: { environmentKey: item.environmentKey, key: item.resourceKey, kind: flag ? "flag" : "segment", projectKey: item.projectKey, ...(flag ? { flagKey: item.resourceKey } : {}) },
  };
}

export type ExpiringTargetRep = ReturnType<typeof expiringTargetRep>;

const listed = (items: ScheduledItem[], users: boolean) =>
  items
    .filter((i) => !users || i.contextKind === "user")
    .sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : 1))
    .map((i) => expiringTargetRep(i, users));

export function expiringTargets(items: ScheduledItem[], users: boolean, path: string): { items: ExpiringTargetRep[]; _links: Record<string, Link> } {
  return { items: listed(items, users), _links: { self: link(path) } };
}

/** A PATCH's answer: every expiring target after it, and how its instructions fared. */
export function patchAnswer(items: ScheduledItem[], users: boolean, path: string, total: number, errors: InstructionError[]) {
  return {
    ...expiringTargets(items, users, path),
    totalInstructions: total,
    successfulInstructions: total - errors.length,
    failedInstructions: errors.length,
    errors,
  };
}
