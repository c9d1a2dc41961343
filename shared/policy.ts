/**
 * The one policy module: every permission check in every service is decided here.
 *
 * A statement is `{effect, resources | notResources, actions | notActions}`. A resource specifier
 * names scopes from parent to child, `proj/default:env/production:flag/new-checkout`; in a
 * statement each scope's name is a glob (`*`, `qa_*`) and may carry selectors after `;`: tag globs
 * (`proj/*;mobile`, several joined by `,` must all match) or a property (`env/*;{critical:true}`).
 * Actions are globs too (`update*`). An explicit deny wins; an allow with no deny grants; anything
 * else is denied. Statement order does not matter.
 */
export type Effect = "allow" | "deny";

/** The actions on a flag's approval requests in an environment (`proj/…:env/…:flag/…`). */
export const APPROVAL_REQUEST_ACTIONS = ["createApprovalRequest", "reviewApprovalRequest", "applyApprovalRequest", "deleteApprovalRequest"] as const;

/**
 * Lets a change to a flag's targeting go ahead without an approved request where approvals are
 * required (on `proj/…:env/…:flag/…`). Built-in roles below admin do not hold it: a `*` of actions
 * in a writer's grant leaves it out, so only admins, owners and roles that name it bypass.
 */
export const BYPASS_REQUIRED_APPROVAL = "bypassRequiredApproval";

export interface Statement {
  effect: Effect;
  resources?: string[];
  notResources?: string[];
  actions?: string[];
  notActions?: string[];
}

/** One scope of a concrete resource: its type, key, tags and properties. */
export interface Scope {
  type: string;
  key?: string;
  tags?: readonly string[];
  properties?: Readonly<Record<string, string | number | boolean>>;
}

/** A concrete resource, parent first: `[{type: "proj", key: "a"}, {type: "env", key: "test"}]`. */
export type Resource = readonly Scope[];

interface Selector {
  tag?: RegExp;
  property?: { name: string; value: string };
}

interface PatternScope {
  type: string;
  name: RegExp | undefined;
  selectors: Selector[];
}

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyError";
  }
}

const SCOPE = /^([a-z][a-z-]*)(?:\/([^;]*))?(?:;(.*))?$/;
const globCache = new Map<string, RegExp>();

/** `*` matches any run of characters, everything else literally. */
export function glob(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    if (globCache.size > 10_000) globCache.clear();
    globCache.set(pattern, re);
  }
  return re;
}

const specifierCache = new Map<string, PatternScope[]>();

/** Parses a resource specifier of a statement; throws PolicyError naming the problem. */
export function parseSpecifier(specifier: string): PatternScope[] {
  const cached = specifierCache.get(specifier);
  if (cached) return cached;
  if (specifier.length === 0 || specifier.length > 1024) throw new PolicyError(`Invalid resource specifier "${specifier.slice(0, 64)}"`);
  const scopes = splitScopes(specifier).map((part) => {
    const m = SCOPE.exec(part);
    if (!m) throw new PolicyError(`Invalid resource specifier "${specifier}": cannot read "${part}"`);
    const [, type, name, selectors] = m;
    if (name !== undefined && name === "") throw new PolicyError(`Invalid resource specifier "${specifier}": "${type}/" needs a name or *`);
    return { type: type!, name: name === undefined ? undefined : glob(name), selectors: selectors === undefined ? [] : parseSelectors(specifier, selectors) };
  });
  if (specifierCache.size > 10_000) specifierCache.clear();
  specifierCache.set(specifier, scopes);
  return scopes;
}

/** Splits on `:` outside `{…}` (property selectors contain a colon). */
function splitScopes(specifier: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < specifier.length; i++) {
    const c = specifier[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === ":" && depth === 0) {
      parts.push(specifier.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) throw new PolicyError(`Invalid resource specifier "${specifier}": unbalanced braces`);
  }
  if (depth !== 0) throw new PolicyError(`Invalid resource specifier "${specifier}": unbalanced braces`);
  parts.push(specifier.slice(start));
  return parts;
}

function parseSelectors(specifier: string, raw: string): Selector[] {
  return raw.split(",").map((s) => {
    const text = s.trim();
    if (text === "") throw new PolicyError(`Invalid resource specifier "${specifier}": empty selector`);
    const prop = /^\{\s*([A-Za-z][\w-]*)\s*:\s*([^{}]*?)\s*\}$/.exec(text);
    if (prop) return { property: { name: prop[1]!, value: prop[2]! } };
    if (/[{}]/.test(text)) throw new PolicyError(`Invalid resource specifier "${specifier}": cannot read selector "${text}"`);
    return { tag: glob(text) };
  });
}

function scopeMatches(pattern: PatternScope, scope: Scope): boolean {
  if (pattern.type !== scope.type) return false;
  if (pattern.name && !pattern.name.test(scope.key ?? "")) return false;
  for (const sel of pattern.selectors) {
    if (sel.tag && !(scope.tags ?? []).some((t) => sel.tag!.test(t))) return false;
    if (sel.property && String(scope.properties?.[sel.property.name]) !== sel.property.value) return false;
  }
  return true;
}

/** True if the specifier (of a statement) covers the concrete resource. */
export function specifierMatches(specifier: string, resource: Resource): boolean {
  const pattern = parseSpecifier(specifier);
  return pattern.length === resource.length && pattern.every((p, i) => scopeMatches(p, resource[i]!));
}

function applies(statement: Statement, action: string, resource: Resource): boolean {
  const resourceHit = statement.resources
    ? statement.resources.some((r) => specifierMatches(r, resource))
    : statement.notResources
      ? !statement.notResources.some((r) => specifierMatches(r, resource))
      : false;
  if (!resourceHit) return false;
  return statement.actions
    ? statement.actions.some((a) => glob(a).test(action))
    : statement.notActions
      ? !statement.notActions.some((a) => glob(a).test(action))
      : false;
}

export type Decision = "allow" | "deny" | "none";

/** "deny" if a deny statement applies, else "allow" if an allow statement does, else "none". */
export function decide(statements: readonly Statement[], action: string, resource: Resource): Decision {
  let allowed = false;
  for (const s of statements) {
    if (!applies(s, action, resource)) continue;
    if (s.effect === "deny") return "deny";
    allowed = true;
  }
  return allowed ? "allow" : "none";
}

export function isAllowed(statements: readonly Statement[], action: string, resource: Resource): boolean {
  return decide(statements, action, resource) === "allow";
}

/** Checks statements as a client sent them; returns the problems (empty when valid). */
export function statementProblems(input: unknown): string[] {
  if (!Array.isArray(input)) return ["policy must be an array of statements"];
  if (input.length > 100) return ["a policy may hold at most 100 statements"];
  const problems: string[] = [];
  input.forEach((raw, i) => {
    const at = `statement ${i}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return void problems.push(`${at} must be an object`);
    const s = raw as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      if (!["effect", "resources", "notResources", "actions", "notActions"].includes(key)) problems.push(`${at}: unknown field "${key}"`);
    }
    if (s.effect !== "allow" && s.effect !== "deny") problems.push(`${at}: effect must be "allow" or "deny"`);
    const pair = (a: string, b: string) => {
      const has = [a, b].filter((k) => s[k] !== undefined);
      if (has.length !== 1) return void problems.push(`${at}: give exactly one of ${a} or ${b}`);
      const list = s[has[0]!];
      if (!Array.isArray(list) || list.length === 0 || list.length > 100 || !list.every((x) => typeof x === "string" && x.length > 0 && x.length <= 1024)) {
        return void problems.push(`${at}: ${has[0]} must be a non-empty array of strings`);
      }
      if (a === "resources") {
        for (const spec of list as string[]) {
          try {
            parseSpecifier(spec);
          } catch (e) {
            problems.push(`${at}: ${(e as Error).message}`);
          }
        }
      }
    };
    pair("resources", "notResources");
    pair("actions", "notActions");
  });
  return problems;
}
