/**
 * What every change of an existing flag shares, whoever makes it (a patch, a copy, a schedule, an
 * expiring target): the unit of work that reads and writes it, permissions per environment,
 * versions, change events, and the write itself — which also removes the expiring targets of the
 * individual targets the change removed, so a target removed by hand takes its removal date along.
 */
import { auditEntry } from "@vexil/shared/audit/audit";
import type { PendingChange } from "@vexil/shared/change-events";
import { authorize, type Caller } from "@vexil/shared/caller";
import { invalidRequest, notFound } from "@vexil/shared/errors";
import type { ApprovalGate, FlagRecord, FlagWrite, ScopedFlag } from "../../storage/flag-store.ts";
import type { EnvironmentRecord, ProjectRecord } from "../../storage/project-store.ts";
import type { DroppedTarget, ScheduleWrite } from "../../storage/schedule-store.ts";
import type { FlagsContext } from "../context.ts";
import { decideAndWrite, type Decision } from "../unit-of-work.ts";
import { approvalGate } from "../approvals/gate.ts";
import { ENVIRONMENT_ACTIONS, flagResource } from "./access.ts";
import type { Flag } from "./model.ts";
import { flagRep } from "./representation.ts";
import { sdkFlag } from "./sdk-format.ts";
import { allTargets, kindOf } from "./targets.ts";

export interface Scope {
  project: ProjectRecord;
  envs: EnvironmentRecord[];
}

export type Scoped = ScopedFlag & { flag: FlagRecord };

/** The project and its environments (`consistent`: read from the database, not this instance's memory). */
export async function scopeOf(ctx: FlagsContext, projectKey: string, consistent = false): Promise<Scope> {
  const scope = await ctx.flags.projectScope(projectKey, { consistent });
  if (!scope) throw notFound(`Project "${projectKey}"`);
  return { project: scope.project, envs: scope.environments };
}

/**
 * One change to an existing flag, as a unit of work (`../unit-of-work.ts`): `decide` gets the
 * project, its environments and the flag as read, and what it returns is written only if none of
 * them moved meanwhile. `also` reads more (the flag's scheduled items) after the flag: whatever
 * changes it also raises the flag's version, so a read of it that is out of date makes the write
 * fail like a stale flag does. Every update decided passes the approval gate
 * (`../approvals/gate.ts`) as `caller`'s before it is written.
 */
export function changeFlag<T, X = undefined>(
  ctx: FlagsContext,
  caller: Caller,
  projectKey: string,
  flagKey: string,
  decide: (read: Scoped, scope: Scope, more: X) => Promise<Decision<FlagWrite, T>>,
  also?: (flag: FlagRecord, scope: Scope) => Promise<X>,
): Promise<T> {
  type Read = { scoped: ScopedFlag | undefined; more: X };
  return decideAndWrite<Read, FlagWrite, T>(`flag\u0000${projectKey}\u0000${flagKey}`, {
    read: async (consistent) => {
      const scoped = await ctx.flags.flagInScope(projectKey, flagKey, { consistent });
      const more = (scoped?.flag && also ? await also(scoped.flag, { project: scoped.project, envs: scoped.environments }) : undefined) as X;
      return { scoped, more };
    },
    decide: async ({ scoped, more }) => {
      if (!scoped) throw notFound(`Project "${projectKey}"`);
      if (!scoped.flag) throw notFound(`Flag "${flagKey}" in project "${scoped.project.key}"`);
      const decision = await decide(scoped as Scoped, { project: scoped.project, envs: scoped.environments }, more);
      if (decision.write === undefined) return decision;
      return { ...decision, write: approvalGate(caller, scoped.project, scoped.environments, scoped.flag, decision.write) };
    },
    write: ({ scoped }, write) => ctx.flags.writeFlag(scoped as Scoped, write),
  });
}

/** Checks an action on every environment it concerns (all of them for flag-wide actions). */
export function authorizeActions(caller: Caller, scope: Scope, flag: Pick<Flag, "key" | "tags">, actions: Iterable<string>, envKeys: string[]): void {
  for (const action of actions) {
    const targets = ENVIRONMENT_ACTIONS.has(action) && envKeys.length > 0 ? scope.envs.filter((e) => envKeys.includes(e.key)) : scope.envs;
    if (targets.length === 0) authorize(caller, action, flagResource(scope.project, undefined, flag));
    for (const env of targets) authorize(caller, action, flagResource(scope.project, env, flag));
  }
}

export function requireComments(scope: Scope, changedEnvs: string[], comment: string | undefined | null): void {
  for (const key of changedEnvs) {
    const env = scope.envs.find((e) => e.key === key);
    if (env?.requireComments && !comment) throw invalidRequest(`The environment "${key}" requires a comment on every change`);
  }
}

/**
 * Raises the versions of the environments whose targeting or SDK view changed (a new variation
 * changes what SDKs see in every environment), and the flag's.
 */
export function stamp(current: Flag, next: Flag, now: number): string[] {
  // What SDKs see of an environment is its targeting plus these flag-wide parts (sdk-format.ts):
  // compared once, not as a whole SDK view per environment.
  const sdkWide = (f: Flag) => [f.key, f.variations.map((v) => v.value), f.clientSideAvailability];
  const wideChanged = !Bun.deepEquals(sdkWide(next), sdkWide(current), true);
  const changed: string[] = [];
  for (const [key, env] of Object.entries(next.environments)) {
    const before = current.environments[key];
    if (before && (wideChanged || (env !== before && !Bun.deepEquals(env, before, true)))) {
      // A new object: an environment the change left alone may be shared with `current` (frozen).
      next.environments[key] = { ...env, version: before.version + 1, lastModified: now };
      changed.push(key);
    }
  }
  next._version = current._version + 1;
  return changed;
}

/** Change events for SDKs: the flag as each changed environment now serves it. */
export function changesOf(flag: Flag, envKeys: string[]): PendingChange[] {
  return envKeys.map((environmentKey) => ({
    environmentKey,
    kind: "flag" as const,
    key: flag.key,
    version: flag.environments[environmentKey]!.version,
    deleted: false,
    data: sdkFlag(flag, environmentKey),
  }));
}

/** A deletion is one event per environment, with a version above the last one SDKs saw. */
export function deletionsOf(flag: Flag): PendingChange[] {
  return Object.entries(flag.environments).map(([environmentKey, env]) => ({ environmentKey, kind: "flag" as const, key: flag.key, version: env.version + 1, deleted: true }));
}

export function deletionAudit(caller: Caller, scope: Scope, flag: Flag, comment: string | undefined, now: number, dependents: string[], by: { actor?: string; operationId?: string } = {}) {
  if (dependents.length > 0) throw invalidRequest(`The flag is a prerequisite of ${dependents.map((k) => `"${k}"`).join(", ")}; remove those prerequisites first`);
  return auditEntry({
    caller,
    kind: "flag",
    spec: `proj/${scope.project.key}:env/*:flag/${flag.key}`,
    name: flag.name,
    verb: "deleted the flag",
    actions: ["deleteFlag"],
    comment,
    previous: flagRep(flag, { projectKey: scope.project.key, environments: scope.envs, summary: false }),
    previousVersion: flag._version,
    now,
    ...by,
  });
}

/** The individual targets of `current` that `next` no longer has, per environment, by variation id. */
export function droppedTargets(scope: Scope, current: Flag, next: Flag): DroppedTarget[] {
  const dropped: DroppedTarget[] = [];
  // Most changes leave the targets and the variations' ids alone: nothing can have been dropped.
  const sameIds = Bun.deepEquals(current.variations.map((v) => v._id), next.variations.map((v) => v._id));
  for (const env of scope.envs) {
    const before = current.environments[env.key];
    if (!before) continue;
    const after = next.environments[env.key];
    if (sameIds && after && Bun.deepEquals(before.targets, after.targets, true) && Bun.deepEquals(before.contextTargets, after.contextTargets, true)) continue;
    const kept = new Set(after ? allTargets(after).flatMap((t) => t.values.map((v) => `${kindOf(t)}\u0000${v}\u0000${next.variations[t.variation]?._id}`)) : []);
    for (const t of allTargets(before)) {
      const variationId = current.variations[t.variation]?._id;
      if (variationId === undefined) continue;
      for (const key of t.values) {
        if (!kept.has(`${kindOf(t)}\u0000${key}\u0000${variationId}`)) dropped.push({ environmentId: env.id, contextKind: kindOf(t), contextKey: key, variationId });
      }
    }
  }
  return dropped;
}

/** An update of the flag from `current` to `next`: expiring targets of the targets it removed go with it. */
export function flagUpdate(read: Scoped, scope: Scope, current: Flag, next: Flag, audit: FlagWrite["audit"], changes: PendingChange[], schedule: ScheduleWrite = {}): FlagWrite {
  const { environments, ...doc } = next;
  const dropped = droppedTargets(scope, current, next);
  return {
    kind: "update",
    flag: { ...read.flag, doc, configs: environments, version: next._version },
    audit,
    changes,
    ...(dropped.length > 0 || schedule.put || schedule.remove ? { schedule: { ...schedule, dropped: [...(schedule.dropped ?? []), ...dropped] } } : {}),
  };
}

/**
 * A change of the flag's scheduled items (or approval requests) only: the flag itself stays as it
 * is but for its version, raised so that every change of its items is decided on one version of
 * the flag. `gate`: what the approval gate is to know of it.
 */
export function scheduleUpdate(read: Scoped, audit: FlagWrite["audit"], schedule: ScheduleWrite, gate?: ApprovalGate): FlagWrite & { kind: "update" } {
  const version = read.flag.version + 1;
  return { kind: "update", flag: { ...read.flag, doc: { ...read.flag.doc, _version: version }, version }, audit, changes: [], schedule, ...(gate ? { gate } : {}) };
}
