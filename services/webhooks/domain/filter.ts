/**
 * Which audit entries a webhook receives. No statements (or none at all): every entry. Otherwise,
 * through the one policy module, as LaunchDarkly applies a webhook's policy: each `(action,
 * resource)` pair of the entry's `accesses` is decided by the statements (a deny wins), and the
 * entry goes out if at least one pair is allowed. The resource is the entry's specifier; its last
 * scope carries the tags of the changed item (after the change, or before it for a deletion), so
 * `flag/*;beta` selects flags tagged `beta`.
 */
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { decide, type Resource, type Scope, type Statement } from "@vexil/shared/policy";

function tagsOf(entry: Pick<AuditEntry, "current" | "previous">): string[] {
  for (const doc of [entry.current, entry.previous]) {
    const tags = (doc as { tags?: unknown } | null)?.tags;
    if (Array.isArray(tags) && tags.every((t) => typeof t === "string")) return tags as string[];
  }
  return [];
}

/** `proj/a:env/b:flag/c` as a concrete resource; the last scope with `tags`. */
export function resourceOf(specifier: string, tags: readonly string[] = []): Resource {
  const scopes = specifier.split(":").map((part): Scope => {
    const slash = part.indexOf("/");
    return slash < 0 ? { type: part } : { type: part.slice(0, slash), key: part.slice(slash + 1) };
  });
  const last = scopes.at(-1);
  if (last && tags.length > 0) scopes[scopes.length - 1] = { ...last, tags };
  return scopes;
}

export function webhookReceives(statements: readonly Statement[] | null, entry: Pick<AuditEntry, "accesses" | "current" | "previous">): boolean {
  if (!statements || statements.length === 0) return true;
  const tags = tagsOf(entry);
  return entry.accesses.some((a) => decide(statements, a.action, resourceOf(a.resource, tags)) === "allow");
}
