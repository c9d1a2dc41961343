/**
 * A flag's ids, completed on every write just before `validateFlag` (the rules they follow are in
 * `../rule-ids.ts`). Variation ids are unique in the flag; rule ids within one environment's rules
 * (a copy of targeting carries a rule, id and all, to another environment: the same rule in both);
 * clause ids within their rule. A rule without `trackEvents` gets `false` (validation and the SDK
 * format require it; LaunchDarkly's default).
 */
import { completeEach, IdScope, withId, withRuleIds } from "../rule-ids.ts";
import { isRecord, type Json } from "../validation.ts";
import { newId, type Flag } from "./model.ts";

/**
 * The flag with every id it lacks assigned and its rule defaults filled in; duplicate ids refused. Pure.
 * `checked`: the flag it was changed from, as stored; rules that are the very same array as there
 * are complete already.
 */
export function withFlagIds(flag: Flag, id: () => string = newId, checked?: Flag): Flag {
  const f: unknown = flag;
  if (!isRecord(f)) return flag;
  const variationIds = new IdScope();
  const variations = completeEach(f.variations, (variation, i) => {
    const done = withId(variation, id);
    variationIds.note(done._id, `variations[${i}]`);
    return done;
  });
  let environments = f.environments;
  if (isRecord(environments)) {
    let copy: Json | undefined;
    for (const [key, env] of Object.entries(environments)) {
      const stored = checked && Object.hasOwn(checked.environments, key) ? checked.environments[key] : undefined;
      if (!isRecord(env) || (stored !== undefined && env.rules === stored.rules)) continue;
      const rules = withRuleIds(env.rules, `environments.${key}.rules`, { trackEvents: true }, id);
      if (rules !== env.rules) (copy ??= { ...environments })[key] = { ...env, rules };
    }
    environments = copy ?? environments;
  }
  if (variations === f.variations && environments === f.environments) return flag;
  return { ...f, variations, environments } as unknown as Flag;
}
