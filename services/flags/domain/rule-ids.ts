/**
 * Ids as LaunchDarkly assigns them, shared by flags (`flags/ids.ts`) and segments
 * (`segments/ids.ts`). Clients leave them out: LaunchDarkly's own JSON Patch examples add rules and
 * clauses without `_id`, its Terraform provider replaces whole `rules` arrays without any, and its
 * `Variation._id` says to leave it empty on create. So every write path completes the document
 * just before its whole-document validation:
 *
 * - an element (variation, rule, clause) whose `_id` is missing or `""` gets a fresh UUID; a given
 *   id is kept, so a rule keeps its id when others are inserted before it;
 * - a given id that another element of the same scope already has is a 400 naming both paths.
 *   Clause ids are unique within their rule, which is how clause instructions find them
 *   (`ruleId`, then `clauseId`), and all that was asked of documents stored before ids were
 *   assigned here (refusing more would block every later write to such a flag);
 * - a JSON Patch that changes an existing id is taken as the element's new id: ids identify
 *   elements for instructions and evaluation reasons only, nothing else refers to them;
 * - a clause without `negate` gets `false` (validation requires it, as LaunchDarkly's default,
 *   and LaunchDarkly's documented patch leaves it out). A clause without `contextKind` keeps none:
 *   it means `user` to the SDK format, to evaluation and to LaunchDarkly, and filling it in here
 *   would change stored clauses that lack it on the next unrelated write (new versions, events
 *   and permission checks for environments the write did not touch). Defaults go only where
 *   validation has always required the field, so nothing stored changes.
 *
 * Pure: the input is never changed (a JSON Patch's values are the request's own objects); what
 * changes is copied, the rest shared. The document may be misshapen in any way a patch can make
 * it: whatever is not where an id belongs is left alone for validation to name.
 */
import { newId } from "./flags/model.ts";
import { fail, isRecord, type Json } from "./validation.ts";

/** Where each id of one scope is first used; a second use is refused. */
export class IdScope {
  private readonly seen = new Map<string, string>();

  note(id: unknown, path: string): void {
    if (typeof id !== "string" || id === "") return;
    const first = this.seen.get(id);
    if (first !== undefined) fail(`${path}._id`, `"${id.length > 100 ? `${id.slice(0, 100)}…` : id}" is already the id of ${first}`);
    this.seen.set(id, path);
  }
}

/** `o` with a fresh `_id` (first, as LaunchDarkly shows it) when it has none or an empty one. */
export function withId(o: Json, id: () => string): Json {
  if (o._id !== undefined && o._id !== "") return o;
  const { _id: _, ...rest } = o;
  return { _id: id(), ...rest };
}

const withDefault = (o: Json, field: string, value: unknown): Json => (o[field] === undefined ? { ...o, [field]: value } : o);

/** `items` with `complete` applied to each object in it: the same array when nothing changed. */
export function completeEach(items: unknown, complete: (item: Json, index: number) => Json): unknown {
  if (!Array.isArray(items)) return items;
  let copy: unknown[] | undefined;
  items.forEach((item, i) => {
    if (!isRecord(item)) return;
    const done = complete(item, i);
    if (done !== item) (copy ??= items.slice())[i] = done;
  });
  return copy ?? items;
}

/**
 * Rules (of a flag environment or a segment) at `path` and their clauses, with ids and defaults;
 * rule ids unique among these rules. `trackEvents` (defaulting to `false`) is a field of flag rules only.
 */
export function withRuleIds(rules: unknown, path: string, o: { trackEvents: boolean }, id: () => string = newId): unknown {
  const ruleIds = new IdScope();
  return completeEach(rules, (rule, i) => {
    const at = `${path}[${i}]`;
    let done = withId(rule, id);
    ruleIds.note(done._id, at);
    if (o.trackEvents) done = withDefault(done, "trackEvents", false);
    const clauseIds = new IdScope();
    const clauses = completeEach(done.clauses, (clause, j) => {
      const complete = withDefault(withId(clause, id), "negate", false);
      clauseIds.note(complete._id, `${at}.clauses[${j}]`);
      return complete;
    });
    return clauses === done.clauses ? done : { ...done, clauses };
  });
}
