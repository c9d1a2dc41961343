/**
 * Conflicts of an approval request (LaunchDarkly's `conflicts: [{instruction, reason}]`): what the
 * request changes that someone else changed since it was made. Each instruction is applied alone to
 * the flag as it was when the request was made (`baseline`); the fields it changes there (of the
 * request's environment, or flag-wide ones such as the variations) are compared between then and
 * now, and each that differs is named. A copy request conflicts on the fields it copies into the
 * target environment, and when the source environment is no longer at the version it named. A
 * request that edits or deletes a scheduled change (`operatingOnId`) conflicts when that change
 * is gone or was edited since. Requests already applied have none.
 */
import type { ApprovalRequestRecord } from "../../storage/approval-store.ts";
import type { ScheduledItem } from "../../storage/schedule-store.ts";
import type { Flag, FlagEnvironment } from "../flags/model.ts";
import { EMPTY_GRAPH } from "../flags/prerequisite-graph.ts";
import { applyInstructions } from "../flags/semantic-patch.ts";
import { copiedFields, copyActions } from "../flags/flags.ts";
import type { Conflict } from "./representation.ts";
import type { Segment } from "../segments/model.ts";
import { applySegmentInstructions } from "../segments/semantic-patch.ts";

const IGNORED_ENV = new Set(["version", "lastModified", "salt", "sel"]);
const IGNORED_FLAG = new Set(["environments", "_version"]);

const envField = (flag: Flag, envKey: string, field: string) => (flag.environments[envKey] as unknown as Record<string, unknown> | undefined)?.[field];

/** The fields `after` changed from `before`: `environments.<key>.<field>` of the environment, and flag-wide ones. */
function changedFields(before: Flag, after: Flag, envKey: string): string[] {
  const fields: string[] = [];
  const b = before.environments[envKey] ?? ({} as FlagEnvironment);
  const a = after.environments[envKey] ?? ({} as FlagEnvironment);
  for (const f of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (!IGNORED_ENV.has(f) && !Bun.deepEquals((b as unknown as Record<string, unknown>)[f], (a as unknown as Record<string, unknown>)[f], true)) fields.push(`environments.${envKey}.${f}`);
  }
  for (const f of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!IGNORED_FLAG.has(f) && !Bun.deepEquals((before as unknown as Record<string, unknown>)[f], (after as unknown as Record<string, unknown>)[f], true)) fields.push(f);
  }
  return fields;
}

function valueAt(flag: Flag, field: string): unknown {
  const parts = field.split(".");
  if (parts[0] === "environments" && parts.length === 3) return envField(flag, parts[1]!, parts[2]!);
  return (flag as unknown as Record<string, unknown>)[field];
}

const describe = (fields: string[]) => `${fields.map((f) => `"${f}"`).join(", ")} changed since the request was made`;

/** What moved of the scheduled change a request edits or deletes: it is gone, or at another version. */
function operatingOnConflicts(r: ApprovalRequestRecord, item: ScheduledItem | undefined): Conflict[] {
  const reason =
    item === undefined
      ? `the scheduled change "${r.operatingOnId}" no longer exists`
      : item.version !== r.operatingOnVersion
        ? `the scheduled change "${r.operatingOnId}" was edited since the request was made (version ${r.operatingOnVersion}, now ${item.version})`
        : undefined;
  return reason === undefined ? [] : r.instructions.map((instruction) => ({ instruction, reason }));
}

/** `operatingOn`: the scheduled change the request names in `operatingOnId`, as it is now (undefined when gone). */
export function conflictsOf(r: ApprovalRequestRecord, current: Flag, environments: string[], now: number, operatingOn?: ScheduledItem): Conflict[] {
  if (r.status !== "pending") return [];
  if (r.operatingOnId !== null) return operatingOnConflicts(r, operatingOn);
  const baseline = r.baseline as Flag;
  const moved = (fields: string[]) => fields.filter((f) => !Bun.deepEquals(valueAt(baseline, f), valueAt(current, f), true));
  if (r.kind === "copy") {
    const conflicts: Conflict[] = [];
    const fields = moved(copiedFields(copyActions(r.copyActions ?? {})).map((f) => `environments.${r.environmentKey}.${f}`));
    if (fields.length > 0) conflicts.push({ instruction: { kind: "copyFlagConfig", source: r.source }, reason: describe(fields) });
    const source = r.source && current.environments[r.source.key];
    if (r.source && source && source.version !== r.source.version) {
      conflicts.push({ instruction: { kind: "copyFlagConfig", source: r.source }, reason: `the source environment "${r.source.key}" is at version ${source.version}, not ${r.source.version}` });
    }
    return conflicts;
  }
  const conflicts: Conflict[] = [];
  let id = 0;
  for (const instruction of r.instructions) {
    let after: Flag;
    try {
      // Prerequisites are not followed here: an instruction that needs them is judged at apply.
      after = applyInstructions(baseline, [instruction], { environmentKey: r.environmentKey, environments, now, lookup: EMPTY_GRAPH.lookup, newId: () => `conflict-check-${++id}` }).flag;
    } catch {
      continue;
    }
    const fields = moved(changedFields(baseline, after, r.environmentKey));
    if (fields.length > 0) conflicts.push({ instruction, reason: describe(fields) });
  }
  return conflicts;
}

/** What SDKs evaluate of a segment and its name, description and tags: what a segment's instruction may change. */
const SEGMENT_FIELDS = ["name", "description", "tags", "included", "excluded", "includedContexts", "excludedContexts", "rules"] as const;

/**
 * Conflicts of a segment's request: each instruction applied alone to the segment as it was when the
 * request was made; each field it changes there that differs now is named.
 */
export function segmentConflictsOf(r: ApprovalRequestRecord, current: Segment): Conflict[] {
  if (r.status !== "pending") return [];
  const baseline = r.baseline as Segment;
  const conflicts: Conflict[] = [];
  let id = 0;
  for (const instruction of r.instructions) {
    let after: Segment;
    try {
      after = applySegmentInstructions(baseline, [instruction], { environmentKey: r.environmentKey, environment: r.environmentKey, newId: () => `conflict-check-${++id}` }).segment;
    } catch {
      continue;
    }
    const changed = SEGMENT_FIELDS.filter((f) => !Bun.deepEquals(baseline[f], after[f], true));
    const moved = changed.filter((f) => !Bun.deepEquals(baseline[f], current[f], true));
    if (moved.length > 0) conflicts.push({ instruction, reason: describe([...moved]) });
  }
  return conflicts;
}
