/** Custom roles: named policies assigned to members and tokens. A change reaches every cached verdict at once. */
import { auditEntry, patchChange } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { invalidRequest, notFound } from "@vexil/shared/errors";
import { link, pageLinks, parsePage } from "@vexil/shared/http/links";
import { resourceId } from "@vexil/shared/ids";
import { applyPatch, checkPatchedDocument, parsePatchRequest, untilWritten } from "@vexil/shared/patch";
import { statementProblems, type Resource } from "@vexil/shared/policy";
import type { RoleRecord } from "../storage/auth-store.ts";
import type { AuthContext } from "./context.ts";
import { RoleEditable, type RolePost } from "./schemas.ts";

const PATH = "/api/v2/roles";
const roleResource = (key: string): Resource => [{ type: "role", key }];

export function roleRep(r: RoleRecord) {
  return {
    _id: r.id,
    _links: { self: link(`${PATH}/${r.key}`), parent: link(PATH) },
    key: r.key,
    name: r.name,
    description: r.description,
    policy: r.policy,
    basePermissions: r.basePermissions,
  };
}
export type RoleRep = ReturnType<typeof roleRep>;

function checkPolicy(policy: unknown): void {
  const problems = statementProblems(policy);
  if (problems.length > 0) throw invalidRequest(`policy: ${problems.join("; ")}`);
}

async function roleOr404(ctx: AuthContext, caller: Caller, keyOrId: string): Promise<RoleRecord> {
  authorizeRead(caller);
  const role = await ctx.store.roleByKeyOrId(keyOrId);
  if (!role) throw notFound(`Role "${keyOrId}"`);
  return role;
}

export async function listRoles(ctx: AuthContext, caller: Caller, params: { limit?: string; offset?: string }) {
  authorizeRead(caller);
  const page = parsePage(params);
  const { items, total } = await ctx.store.listRoles(page);
  return { items: items.map(roleRep), totalCount: total, _links: pageLinks(PATH, {}, page, total) };
}

export async function getRole(ctx: AuthContext, caller: Caller, keyOrId: string): Promise<RoleRep> {
  return roleRep(await roleOr404(ctx, caller, keyOrId));
}

export async function createRole(ctx: AuthContext, caller: Caller, post: RolePost): Promise<RoleRep> {
  authorize(caller, "createRole", roleResource(post.key));
  checkPolicy(post.policy);
  const role: RoleRecord = {
    id: resourceId(),
    key: post.key,
    name: post.name,
    description: post.description ?? "",
    policy: post.policy,
    basePermissions: post.basePermissions ?? "reader",
    createdAt: ctx.now(),
    version: 1,
  };
  const rep = roleRep(role);
  await ctx.store.insertRole(role, auditEntry({ caller, kind: "role", spec: `role/${role.key}`, name: role.name, verb: "created the role", actions: ["createRole"], current: rep, currentVersion: 1, now: role.createdAt }));
  return rep;
}

const ROLE_RULES = { readOnly: ["_id", "_links", "key"], editable: RoleEditable } as const;

export async function patchRole(ctx: AuthContext, caller: Caller, keyOrId: string, body: unknown, contentType: string | null): Promise<RoleRep> {
  const request = parsePatchRequest(body, contentType);
  return untilWritten(async () => {
    const current = await roleOr404(ctx, caller, keyOrId);
    const rep = roleRep(current);
    const fields = checkPatchedDocument<RoleEditable>(rep, applyPatch(rep, request), ROLE_RULES);
    checkPolicy(fields.policy);
    const actions: string[] = [];
    if (fields.name !== current.name) actions.push("updateName");
    if (fields.description !== current.description) actions.push("updateDescription");
    if (!Bun.deepEquals(fields.policy, current.policy)) actions.push("updatePolicy");
    if (fields.basePermissions !== current.basePermissions) actions.push("updateBasePermissions");
    if (actions.length === 0) return rep;
    authorize(caller, actions, roleResource(current.key));
    const next: RoleRecord = { ...current, ...fields, version: current.version + 1 };
    const after = roleRep(next);
    const audit = auditEntry({
      caller,
      kind: "role",
      spec: `role/${current.key}`,
      name: next.name,
      actions,
      ...patchChange(request, "role", { previous: rep, current: after }, { previous: current.version, current: next.version }, ctx.now()),
    });
    if (await ctx.store.updateRole(next, current.version, audit)) {
      // Any verdict may rest on this role.
      await ctx.events.revoked({ all: true });
      return after;
    }
    return undefined;
  });
}

export async function deleteRole(ctx: AuthContext, caller: Caller, keyOrId: string): Promise<void> {
  const role = await roleOr404(ctx, caller, keyOrId);
  authorize(caller, "deleteRole", roleResource(role.key));
  const audit = auditEntry({ caller, kind: "role", spec: `role/${role.key}`, name: role.name, verb: "deleted the role", actions: ["deleteRole"], previous: roleRep(role), previousVersion: role.version, now: ctx.now() });
  if (!(await ctx.store.deleteRole(role, audit))) throw notFound(`Role "${keyOrId}"`);
  await ctx.events.revoked({ all: true });
}
