/**
 * A segment's part of a plan: the segment instructions (`../segments/semantic-patch.ts`) that make
 * a live segment, or a new one, equal to the file's. Targets are compared as sets per side and
 * context kind (removals first, so a key can move between sides); rules, which segment
 * instructions cannot replace at once, are removed and added again when they differ.
 */
import type { Segment } from "../segments/model.ts";
import type { FileSegment } from "./file-format.ts";
import type { PlanItem } from "./plan.ts";
import { Steps } from "./steps.ts";
import { clauseParams, type ClauseSpec } from "./targeting.ts";

type Side = "included" | "excluded";
const SIDES: Side[] = ["included", "excluded"];
const KIND = { included: "IncludedTargets", excluded: "ExcludedTargets" } as const;

/** Keys per context kind on one side, in order. */
function keysBySide(s: { included?: string[]; excluded?: string[]; includedContexts?: Array<{ contextKind: string; values: string[] }>; excludedContexts?: Array<{ contextKind: string; values: string[] }> }, side: Side): Map<string, string[]> {
  const byKind = new Map<string, string[]>();
  const add = (kind: string, values: string[]) => byKind.set(kind, [...(byKind.get(kind) ?? []), ...values.filter((v) => !(byKind.get(kind) ?? []).includes(v))]);
  add("user", s[side] ?? []);
  for (const t of s[side === "included" ? "includedContexts" : "excludedContexts"] ?? []) add(t.contextKind, t.values);
  if (byKind.get("user")!.length === 0) byKind.delete("user");
  return byKind;
}

interface SegmentRuleSpec {
  description?: string;
  clauses: ClauseSpec[];
  weight?: number;
  bucketBy?: string;
  rolloutContextKind?: string;
}

function ruleSpecs(rules: Array<{ description?: string; clauses: Array<{ contextKind?: string; attribute: string; op: string; values: unknown[]; negate?: boolean }>; weight?: number; bucketBy?: string; rolloutContextKind?: string }>): SegmentRuleSpec[] {
  return rules.map((r) => ({
    ...(r.description ? { description: r.description } : {}),
    clauses: r.clauses.map((c) => ({ contextKind: c.contextKind || "user", attribute: c.attribute, op: c.op, values: c.values, negate: c.negate ?? false })),
    ...(r.weight !== undefined ? { weight: r.weight } : {}),
    ...(r.bucketBy ? { bucketBy: r.bucketBy } : {}),
    ...(r.rolloutContextKind ? { rolloutContextKind: r.rolloutContextKind } : {}),
  }));
}

const EMPTY: Pick<Segment, "included" | "excluded" | "includedContexts" | "excludedContexts" | "rules"> = { included: [], excluded: [], includedContexts: [], excludedContexts: [], rules: [] };

/** The plan item for one segment of the file in environment `env`, or undefined when nothing differs. */
export function planSegment(env: string, file: FileSegment, live: Segment | undefined): PlanItem | undefined {
  const steps = new Steps();
  const at = (i: Record<string, unknown>) => ({ ...i, environmentKey: env });
  if (live) {
    if (file.name !== live.name) steps.add(`${env}: name ${JSON.stringify(file.name)}`, { kind: "updateName", value: file.name });
    if ((file.description ?? "") !== live.description) steps.add(`${env}: description`, { kind: "updateDescription", value: file.description ?? "" });
    const tags = file.tags ?? [];
    const add = tags.filter((t) => !live.tags.includes(t));
    const remove = live.tags.filter((t) => !tags.includes(t));
    if (add.length > 0) steps.add(`${env}: add tags ${add.join(", ")}`, { kind: "addTags", values: add });
    if (remove.length > 0) steps.add(`${env}: remove tags ${remove.join(", ")}`, { kind: "removeTags", values: remove });
  }
  const current = live ?? EMPTY;
  const adds: Array<() => void> = [];
  for (const side of SIDES) {
    const have = keysBySide(current, side);
    const want = keysBySide(file, side);
    for (const kind of [...new Set([...have.keys(), ...want.keys()])].sort()) {
      const h = have.get(kind) ?? [];
      const w = want.get(kind) ?? [];
      const gone = h.filter((v) => !w.includes(v));
      const fresh = w.filter((v) => !h.includes(v));
      if (gone.length > 0) steps.add(`${env}: ${side} ${kind}: remove ${gone.length}`, { kind: `remove${KIND[side]}`, contextKind: kind, values: gone });
      if (fresh.length > 0) adds.push(() => steps.add(`${env}: ${side} ${kind}: add ${fresh.length}`, { kind: `add${KIND[side]}`, contextKind: kind, values: fresh }));
    }
  }
  for (const add of adds) add();
  const wantRules = ruleSpecs(file.rules ?? []);
  if (!Bun.deepEquals(ruleSpecs(current.rules), wantRules)) {
    for (const r of current.rules) steps.add(`${env}: remove rule ${r.description ?? r._id}`, { kind: "removeRule", ruleId: r._id });
    wantRules.forEach((r, i) => steps.add(`${env}: add rule ${r.description ?? i + 1}`, { kind: "addRule", ...r, clauses: r.clauses.map(clauseParams) }));
  }
  const instructions = steps.instructions.map(at);
  if (live) return instructions.length > 0 ? { resource: "segment", key: file.key, environmentKey: env, action: "update", version: live.version, instructions, summary: steps.summary } : undefined;
  const create = { key: file.key, name: file.name, ...(file.description ? { description: file.description } : {}), tags: file.tags ?? [] };
  return { resource: "segment", key: file.key, environmentKey: env, action: "create", version: null, create, instructions, summary: [`${env}: create segment`, ...steps.summary] };
}
