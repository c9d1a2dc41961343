/**
 * The verified caller and what it may do. The gateway learns the caller from the auth service
 * and hands it to the services as a signed assertion (`assertion.ts`); services decide every
 * permission with `authorize`, through the one policy module.
 *
 * A caller holds one or more grants and an action is allowed only if every grant allows it: a
 * personal token carries its own grant and its member's current one, so it never does more than
 * its member could.
 */
import { VexilError } from "./errors.ts";
import { isAllowed, type Resource, type Statement } from "./policy.ts";

export interface Grant {
  /** `reader` may read everything; `no_access` reads nothing. */
  base: "reader" | "no_access";
  statements: Statement[];
}

export interface Caller {
  kind: "token" | "session";
  tokenId: string | null;
  tokenName: string | null;
  memberId: string | null;
  memberEmail: string | null;
  /** The token's built-in role, or the member's for a session. */
  role: string;
  serviceToken: boolean;
  /** Personal tokens and sessions act for this member; service tokens for the account. */
  grants: Grant[];
  /** The token's `defaultApiVersion`: the API version of calls that name none. */
  apiVersion?: number;
}

export const CALLER_HEADER = "x-vexil-caller";

export function can(caller: Caller, action: string, resource: Resource): boolean {
  return caller.grants.length > 0 && caller.grants.every((g) => isAllowed(g.statements, action, resource));
}

export function canRead(caller: Caller): boolean {
  return caller.grants.length > 0 && caller.grants.every((g) => g.base !== "no_access");
}

export const forbidden = (message = "Forbidden. Access to the requested resource was denied.") => new VexilError("forbidden", message);

/** Throws 403 unless the caller may take every one of `actions` on `resource`. */
export function authorize(caller: Caller, actions: string | readonly string[], resource: Resource): void {
  for (const action of typeof actions === "string" ? [actions] : actions) {
    if (!can(caller, action, resource)) {
      throw forbidden(`Forbidden: this ${caller.kind === "session" ? "session" : "token"} may not ${action} on ${specifierOf(resource)}`);
    }
  }
}

export function authorizeRead(caller: Caller): void {
  if (!canRead(caller)) throw forbidden("Forbidden: this caller has no access");
}

/** `proj/a:env/test:flag/f` for a concrete resource. */
export function specifierOf(resource: Resource): string {
  return resource.map((s) => (s.key === undefined ? s.type : `${s.type}/${s.key}`)).join(":");
}
