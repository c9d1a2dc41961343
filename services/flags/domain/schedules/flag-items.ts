/** What scheduled changes and expiring targets of a flag both read: the environment, and the flag's items in it. */
import { notFound } from "@vexil/shared/errors";
import type { FlagRecord } from "../../storage/flag-store.ts";
import type { EnvironmentRecord } from "../../storage/project-store.ts";
import type { ScheduledItem, ScheduledKind } from "../../storage/schedule-store.ts";
import type { FlagsContext } from "../context.ts";
import type { Scope } from "../flags/change.ts";

/** The environment `envKey` of the project; a 404 naming it when there is none. */
export function environmentIn(scope: Scope, envKey: string): EnvironmentRecord {
  const env = scope.envs.find((e) => e.key === envKey);
  if (!env) throw notFound(`Environment "${envKey}" in project "${scope.project.key}"`);
  return env;
}

/** The flag's items of one kind in the environment, read after the flag (a change of them raises its version). */
export const flagItemsIn =
  (ctx: FlagsContext, envKey: string, kind: ScheduledKind) =>
  (flag: FlagRecord, scope: Scope): Promise<ScheduledItem[]> => {
    const env = scope.envs.find((e) => e.key === envKey);
    return env ? ctx.schedules.flagItems(flag.id, env.id, kind) : Promise.resolve([]);
  };
