/**
 * The approval gate: where an environment requires approvals for a flag (`settings.ts`), a change
 * to the flag's targeting there is refused with LaunchDarkly's 405 `method_not_allowed`, unless it
 * carries out an approved request (or a scheduled change that may run), or the caller holds
 * `bypassRequiredApproval` there — and then the audit entry says so. `changeFlag` runs it on every
 * change of a flag, whatever made it: a patch in any format, the compat routes, a copy, a
 * scheduled change made, edited or run, an expiring target set.
 *
 * What it gates: the targeting of each environment (everything but its version, date and archived mirror), and the
 * variations, which every environment serves (LaunchDarkly gates variation edits when any
 * environment requires approvals). A flag's name, description, tags, maintainer, archiving and
 * deletion are not gated, as in LaunchDarkly.
 */
import { can, type Caller } from "@vexil/shared/caller";
import { VexilError } from "@vexil/shared/errors";
import { BYPASS_REQUIRED_APPROVAL } from "@vexil/shared/policy";
import type { FlagRecord, FlagWrite } from "../../storage/flag-store.ts";
import type { EnvironmentRecord, ProjectRecord } from "../../storage/project-store.ts";
import { ENVIRONMENT_ACTIONS, flagResource } from "../flags/access.ts";
import type { FlagEnvironment } from "../flags/model.ts";
import { approvalRequired, segmentApprovalRequired } from "./settings.ts";
import type { SegmentWrite } from "../../storage/segment-store.ts";
import type { Segment } from "../segments/model.ts";
import { segmentResource, type SegmentRead } from "../segments/segments.ts";

/** What approvals govern of an environment: all but its version and date, and `archived`, which mirrors the flag's (archiving is not gated). */
const targeting = (env: FlagEnvironment | undefined) => {
  if (!env) return undefined;
  const { version: _v, lastModified: _l, archived: _a, ...rest } = env;
  return rest;
};

/** The environments where `write` changes what approvals govern and approvals are required for the flag. */
export function gatedEnvironments(envs: readonly EnvironmentRecord[], read: FlagRecord, write: FlagWrite): EnvironmentRecord[] {
  if (write.kind !== "update") return [];
  const variations = !Bun.deepEquals(read.doc.variations, write.flag.doc.variations, true);
  return envs.filter((env) => {
    if (!approvalRequired(env, read.doc) && !approvalRequired(env, write.flag.doc)) return false;
    if (variations || write.gate?.environments?.includes(env.key)) return true;
    return !Bun.deepEquals(targeting(read.configs[env.key]), targeting(write.flag.configs[env.key]), true);
  });
}

/** The error LaunchDarkly answers a direct change with where approvals are required. */
export function approvalRequiredError(action: string): VexilError {
  return new VexilError("method_not_allowed", `Flag configuration updates require approval: action '${action}' not allowed`);
}

/**
 * The write as it may go ahead: as it is, or with the bypass recorded in its audit entry (as an
 * access `bypassRequiredApproval` on each gated environment, and in its description). Throws the
 * 405 otherwise.
 */
export function approvalGate(caller: Caller, project: ProjectRecord, envs: readonly EnvironmentRecord[], read: FlagRecord, write: FlagWrite): FlagWrite {
  if (write.kind !== "update" || write.gate?.approved) return write;
  const gated = gatedEnvironments(envs, read, write);
  if (gated.length === 0) return write;
  for (const env of gated) {
    if (!can(caller, BYPASS_REQUIRED_APPROVAL, flagResource(project, env, read.doc))) {
      const action = write.audit.accesses.map((a) => a.action).find((a) => ENVIRONMENT_ACTIONS.has(a)) ?? write.audit.accesses[0]?.action ?? "updateFlag";
      throw approvalRequiredError(action);
    }
  }
  const spec = (env: EnvironmentRecord) => `proj/${project.key}:env/${env.key}:flag/${read.key}`;
  const bypassed = gated.filter((env) => !write.audit.accesses.some((a) => a.action === BYPASS_REQUIRED_APPROVAL && a.resource === spec(env)));
  if (bypassed.length === 0) return write;
  const note = `Bypassed required approval in ${bypassed.map((e) => e.key).join(", ")}`;
  return {
    ...write,
    audit: {
      ...write.audit,
      accesses: [...write.audit.accesses, ...bypassed.map((env) => ({ action: BYPASS_REQUIRED_APPROVAL, resource: spec(env) }))],
      description: write.audit.description ? `${write.audit.description}\n\n${note}` : note,
    },
  };
}

/** What approvals govern of a segment: what SDKs evaluate of it (its name, description and tags are not gated, as in LaunchDarkly). */
const segmentTargeting = (s: Segment) => [s.included, s.excluded, s.includedContexts, s.excludedContexts, s.rules];

/** The error LaunchDarkly's wording gives a direct change of a segment where approvals are required. */
export function segmentApprovalRequiredError(action: string): VexilError {
  return new VexilError("method_not_allowed", `Segment configuration updates require approval: action '${action}' not allowed`);
}

/**
 * The gate of a segment's change, run by `changeSegment` on every update, as `approvalGate` is for
 * flags: where the environment's segment settings (`resourceApprovalSettings.segment`) require
 * approvals for the segment, a change of its targeting (or a write that declares itself gated) is
 * 405 unless it carries out an approved request or `caller` holds `bypassRequiredApproval` on the
 * segment — and then the audit entry says so.
 */
export function segmentApprovalGate(caller: Caller, read: SegmentRead, write: SegmentWrite): SegmentWrite {
  if (write.kind !== "update" || write.gate?.approved) return write;
  const before = read.segment.doc;
  const after = write.segment.doc;
  if (!segmentApprovalRequired(read.env, before) && !segmentApprovalRequired(read.env, after)) return write;
  if (!write.gate?.gated && Bun.deepEquals(segmentTargeting(before), segmentTargeting(after), true)) return write;
  if (!can(caller, BYPASS_REQUIRED_APPROVAL, segmentResource(read, before))) throw segmentApprovalRequiredError(write.audit.accesses[0]?.action ?? "updateSegment");
  const spec = `proj/${read.project.key}:env/${read.env.key}:segment/${before.key}`;
  if (write.audit.accesses.some((a) => a.action === BYPASS_REQUIRED_APPROVAL && a.resource === spec)) return write;
  const note = `Bypassed required approval in ${read.env.key}`;
  return {
    ...write,
    audit: {
      ...write.audit,
      accesses: [...write.audit.accesses, { action: BYPASS_REQUIRED_APPROVAL, resource: spec }],
      description: write.audit.description ? `${write.audit.description}\n\n${note}` : note,
    },
  };
}
