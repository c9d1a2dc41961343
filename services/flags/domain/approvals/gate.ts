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
import { approvalRequired } from "./settings.ts";

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
