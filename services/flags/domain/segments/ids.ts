/**
 * A segment's ids, completed on every write just before `validateSegment`, as flags' are (the rules
 * are in `../rule-ids.ts`): rule ids unique in the segment, clause ids within their rule. Segment
 * rules have no `trackEvents`.
 */
import { newId } from "../flags/model.ts";
import { withRuleIds } from "../rule-ids.ts";
import { isRecord } from "../validation.ts";
import type { Segment } from "./model.ts";

/** The segment with every rule and clause id it lacks assigned; duplicate ids refused. Pure. */
export function withSegmentIds(segment: Segment, id: () => string = newId): Segment {
  const s: unknown = segment;
  if (!isRecord(s)) return segment;
  const rules = withRuleIds(s.rules, "rules", { trackEvents: false }, id);
  return rules === s.rules ? segment : ({ ...s, rules } as unknown as Segment);
}
