/**
 * Plan: the semantic-patch instructions that would make what is live equal to a flags-as-code
 * file, per flag and per segment, with a line of summary for each and the version each was
 * computed against. Nothing is written: `apply.ts` does that.
 *
 * - A flag's instructions form one semantic patch; those that concern an environment carry their
 *   own `environmentKey`. A flag to create is a creation (its variations with the ids the plan gives
 *   them) followed by such a patch; a segment to create likewise.
 * - Only the environments the file lists are managed; a flag's environment the file leaves out, and
 *   segments of an environment the file's `segments` leaves out, stay as they are.
 * - Live flags and segments the file does not have are deleted only with `prune`.
 * - Items come in the order they can be applied: segments, then flags with a flag's prerequisites
 *   before it, then deletions (dependents first).
 */
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { invalidRequest } from "@vexil/shared/errors";
import type { FlagsContext } from "../context.ts";
import { newId, type Flag } from "../flags/model.ts";
import { jsonEqual } from "../validation.ts";
import { environmentsNamed, fileOf, readLive, type Live } from "./export.ts";
import { readFile, type FileFlag, type FileSegment, type FlagsFile, type VariationRef } from "./file-format.ts";
import { planSegment } from "./plan-segments.ts";
import { clauseParams, differences, fileEnvSpec, freshEnvSpec, liveEnvSpec, serveParams, type EnvSpec, type RuleSpec } from "./targeting.ts";
import { matchVariations, refIndex, variationKeys } from "./variation-keys.ts";
import { applyOrder, findCycle } from "./prerequisite-order.ts";
import { Steps, type Instruction } from "./steps.ts";

export type { Instruction };

export interface PlanItem {
  resource: "flag" | "segment";
  key: string;
  /** A segment's environment. */
  environmentKey?: string;
  action: "create" | "update" | "delete";
  /** The version the plan was computed against; null for one to create. */
  version: number | null;
  /** The body of the creation, for one to create. */
  create?: Record<string, unknown>;
  instructions: Instruction[];
  summary: string[];
}

export interface Plan {
  project: string;
  environments: string[];
  prune: boolean;
  items: PlanItem[];
  /** One line: how many to create, update and delete. */
  summary: string;
  /** What the file says that a plan does not change (environment settings). */
  notes: string[];
}

const show = (v: unknown) => JSON.stringify(v);

function describeServe(s: EnvSpec["fallthrough"], keyOf: (id: string) => string): string {
  if ("variation" in s) return `serve ${keyOf(s.variation)}`;
  const parts = s.rollout.weights.map(([id, w]) => `${keyOf(id)} ${w / 1000}%`);
  return `roll out ${parts.join(", ")}${s.rollout.bucketBy ? ` by ${s.rollout.bucketBy}` : ""}`;
}

const ruleParams = (r: RuleSpec) => ({ ...(r.description ? { description: r.description } : {}), clauses: r.clauses.map(clauseParams), ...serveParams(r.serve), trackEvents: r.trackEvents });

/** The instructions that turn `current` into `desired` in one environment. */
function environmentSteps(steps: Steps, env: string, current: EnvSpec, desired: EnvSpec, keyOf: (id: string) => string) {
  const d = differences(current, desired);
  const at = (i: Instruction) => ({ ...i, environmentKey: env });
  if (d.offVariation) steps.add(`${env}: off variation ${keyOf(desired.offVariation!)}`, at({ kind: "updateOffVariation", variationId: desired.offVariation }));
  if (d.fallthrough) steps.add(`${env}: default rule ${describeServe(desired.fallthrough, keyOf)}`, at({ kind: "updateFallthroughVariationOrRollout", ...serveParams(desired.fallthrough) }));
  if (d.targets) {
    const count = desired.targets.reduce((n, t) => n + t.values.length, 0);
    steps.add(`${env}: individual targets (${count} in all)`, at({ kind: "replaceTargets", targets: desired.targets.map((t) => ({ contextKind: t.kind, variationId: t.variation, values: t.values })) }));
  }
  if (d.prerequisites) {
    const list = desired.prerequisites.map((p) => `${p.key}`).join(", ") || "none";
    steps.add(`${env}: prerequisites ${list}`, at({ kind: "replacePrerequisites", prerequisites: desired.prerequisites.map((p) => ({ key: p.key, variationId: p.variation })) }));
  }
  if (d.rules) steps.add(`${env}: rules (${desired.rules.length})`, at({ kind: "replaceRules", rules: desired.rules.map(ruleParams) }));
  if (d.trackEvents) steps.add(`${env}: track events ${desired.trackEvents ? "on" : "off"}`, at({ kind: "updateTrackEvents", trackEvents: desired.trackEvents }));
  if (d.trackEventsFallthrough) steps.add(`${env}: track default-rule events ${desired.trackEventsFallthrough ? "on" : "off"}`, at({ kind: "updateTrackEventsFallthrough", trackEvents: desired.trackEventsFallthrough }));
  if (d.on) steps.add(`${env}: turn ${desired.on ? "on" : "off"}`, at({ kind: desired.on ? "turnFlagOn" : "turnFlagOff" }));
}

/** A file flag with the ids its variations will have, and how a reference resolves. */
interface Resolved {
  file: FileFlag;
  live?: Flag;
  ids: string[];
  /** For each file variation, the live one it is, or -1. */
  match: number[];
  resolve(ref: VariationRef, at: string): string;
}

function resolved(file: FileFlag, live: Flag | undefined, at: string): Resolved {
  const keys = file.variations.map((v) => v.key);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw invalidRequest(`file: ${at}.variations: the key "${twice}" is used twice`);
  const sameValue = file.variations.findIndex((v, i) => file.variations.findIndex((w) => jsonEqual(w.value, v.value)) !== i);
  if (sameValue >= 0) throw invalidRequest(`file: ${at}.variations[${sameValue}]: another variation has the same value`);
  const match = live ? matchVariations(file.variations, live.variations) : file.variations.map(() => -1);
  const ids = match.map((m) => (m >= 0 ? live!.variations[m]!._id : newId()));
  return {
    file,
    live,
    ids,
    match,
    resolve: (ref, where) => {
      const i = refIndex(keys, ref);
      if (i < 0) throw invalidRequest(`file: ${where}: flag "${file.key}" has no variation ${show(ref)}`);
      return ids[i]!;
    },
  };
}

/** Checks a rollout's weights and that exactly one of variation or rollout is given. */
function checkServes(flag: FileFlag, at: string) {
  const check = (s: { variation?: unknown; rollout?: { variations: Record<string, number> } }, where: string) => {
    if ((s.variation === undefined) === (s.rollout === undefined)) throw invalidRequest(`file: ${where}: give exactly one of variation or rollout`);
    if (s.rollout) {
      const sum = Object.values(s.rollout.variations).reduce((a, b) => a + b, 0);
      if (sum !== 100_000) throw invalidRequest(`file: ${where}.rollout.variations: weights must sum to 100000, not ${sum}`);
    }
  };
  for (const [env, e] of Object.entries(flag.environments ?? {})) {
    check(e.fallthrough, `${at}.environments.${env}.fallthrough`);
    (e.rules ?? []).forEach((r, i) => check(r, `${at}.environments.${env}.rules[${i}]`));
  }
}

function flagWideSteps(steps: Steps, r: Resolved, keyOf: (id: string) => string) {
  const { file, live } = r;
  if (!live) return;
  if (file.name !== live.name) steps.add(`name ${show(file.name)}`, { kind: "updateName", value: file.name });
  if ((file.description ?? "") !== live.description) steps.add("description", { kind: "updateDescription", value: file.description ?? "" });
  const tags = file.tags ?? [];
  const add = tags.filter((t) => !live.tags.includes(t));
  const remove = live.tags.filter((t) => !tags.includes(t));
  if (add.length > 0) steps.add(`add tags ${add.join(", ")}`, { kind: "addTags", values: add });
  if (remove.length > 0) steps.add(`remove tags ${remove.join(", ")}`, { kind: "removeTags", values: remove });
  if (file.temporary !== undefined && file.temporary !== live.temporary) steps.add(file.temporary ? "make temporary" : "make permanent", { kind: file.temporary ? "makeFlagTemporary" : "makeFlagPermanent" });
  for (const which of ["usingEnvironmentId", "usingMobileKey"] as const) {
    const want = file.clientSideAvailability?.[which];
    if (want !== undefined && want !== live.clientSideAvailability[which]) {
      steps.add(`client-side availability ${which} ${want ? "on" : "off"}`, { kind: want ? "turnOnClientSideAvailability" : "turnOffClientSideAvailability", value: which });
    }
  }
  file.variations.forEach((v, i) => {
    const m = r.match[i]!;
    if (m < 0) {
      steps.add(`add variation ${v.key} = ${show(v.value)}`, { kind: "addVariation", _id: r.ids[i], value: v.value, ...(v.name ? { name: v.name } : {}), ...(v.description ? { description: v.description } : {}) });
      return;
    }
    const was = live.variations[m]!;
    const change: Instruction = {};
    if (!jsonEqual(was.value, v.value)) change.value = v.value;
    if ((v.name ?? "") !== (was.name ?? "")) change.name = v.name ?? "";
    if ((v.description ?? "") !== (was.description ?? "")) change.description = v.description ?? "";
    if (Object.keys(change).length > 0) steps.add(`update variation ${v.key}`, { kind: "updateVariation", variationId: r.ids[i], ...change });
  });
  const on = r.resolve(file.defaults.onVariation, "defaults.onVariation");
  const off = r.resolve(file.defaults.offVariation, "defaults.offVariation");
  const valueOf = (id: string) => file.variations[r.ids.indexOf(id)]!.value;
  if (on !== live.variations[live.defaults.onVariation]?._id || off !== live.variations[live.defaults.offVariation]?._id) {
    steps.add(`defaults: on ${keyOf(on)}, off ${keyOf(off)}`, { kind: "updateDefaultVariation", onVariationValue: valueOf(on), offVariationValue: valueOf(off) });
  }
}

export interface PlanInput {
  file: FlagsFile;
  prune: boolean;
}

/** The plan of a file against the live state. Pure. */
export function planOf(live: Live, { file, prune }: PlanInput): Plan {
  const envKeys = Object.keys(file.environments).sort();
  const liveEnvs = new Map(live.scope.envs.map((e) => [e.key, e]));
  for (const k of envKeys) if (!liveEnvs.has(k)) throw invalidRequest(`file: /environments/${k}: project "${live.scope.project.key}" has no environment "${k}"; create it first`);
  const liveFlags = new Map(live.flags.map((f) => [f.key, f]));
  const seen = new Set<string>();
  const flags = new Map<string, Resolved>();
  file.flags.forEach((f, i) => {
    const at = `/flags/${i}`;
    if (seen.has(f.key)) throw invalidRequest(`file: ${at}/key: the flag "${f.key}" is declared twice`);
    seen.add(f.key);
    for (const env of Object.keys(f.environments ?? {})) if (!file.environments[env]) throw invalidRequest(`file: ${at}/environments/${env}: not one of the file's environments`);
    checkServes(f, at);
    flags.set(f.key, resolved(f, liveFlags.get(f.key), at));
  });
  // Another flag's variation: from the file when it declares the flag, else the live flag.
  const resolveOther = (key: string, ref: VariationRef, at: string): string => {
    const declared = flags.get(key);
    if (declared) return declared.resolve(ref, at);
    const other = liveFlags.get(key);
    if (!other || prune) throw invalidRequest(`file: ${at}: no flag "${key}" in the file${prune ? "" : " or the project"}`);
    const i = refIndex(variationKeys(other.variations), ref);
    if (i < 0) throw invalidRequest(`file: ${at}: flag "${key}" has no variation ${show(ref)}`);
    return other.variations[i]!._id;
  };
  const liveIds = (key: string) => {
    const f = liveFlags.get(key);
    return f?.variations.map((v) => v._id);
  };

  // What the file asks for, per flag and environment; then cycles, per environment.
  const desired = new Map<string, Map<string, EnvSpec>>();
  file.flags.forEach((f, i) => {
    const r = flags.get(f.key)!;
    const specs = new Map<string, EnvSpec>();
    for (const [env, e] of Object.entries(f.environments ?? {})) {
      const at = `/flags/${i}/environments/${env}`;
      const spec = fileEnvSpec(e, at, r.resolve, resolveOther);
      if (spec.prerequisites.some((p) => p.key === f.key)) throw invalidRequest(`file: ${at}/prerequisites: a flag cannot be its own prerequisite`);
      specs.set(env, spec);
    }
    desired.set(f.key, specs);
  });
  for (const env of envKeys) {
    const edges = new Map<string, string[]>();
    for (const f of live.flags) if (!flags.has(f.key)) edges.set(f.key, (f.environments[env]?.prerequisites ?? []).map((p) => p.key));
    for (const [key, specs] of desired) {
      const spec = specs.get(env);
      edges.set(key, spec ? spec.prerequisites.map((p) => p.key) : (liveFlags.get(key)?.environments[env]?.prerequisites ?? []).map((p) => p.key));
    }
    const cycle = findCycle(edges);
    if (cycle) throw invalidRequest(`file: prerequisite cycle in ${env}: ${cycle.join(" → ")}`);
  }

  const items: PlanItem[] = [];
  // Segments first: flag rules may match them.
  for (const env of envKeys) {
    const wanted = file.segments?.[env];
    if (wanted === undefined) continue;
    const current = new Map((live.segments.get(env) ?? []).map((s) => [s.key, s]));
    const keys = new Set<string>();
    wanted.forEach((s: FileSegment, i) => {
      if (keys.has(s.key)) throw invalidRequest(`file: /segments/${env}/${i}/key: the segment "${s.key}" is declared twice`);
      keys.add(s.key);
      const item = planSegment(env, s, current.get(s.key));
      if (item) items.push(item);
    });
  }

  const order = applyOrder([...flags.keys()].sort(), (k) => [...(desired.get(k)?.values() ?? [])].flatMap((s) => s.prerequisites.map((p) => p.key)));
  for (const key of order) {
    const r = flags.get(key)!;
    const f = r.file;
    const idKey = new Map<string, string>();
    r.ids.forEach((id, i) => idKey.set(id, f.variations[i]!.key));
    const keyOf = (id: string) => idKey.get(id) ?? id;
    const steps = new Steps();
    flagWideSteps(steps, r, keyOf);
    const on = r.resolve(f.defaults.onVariation, `defaults.onVariation of "${key}"`);
    const off = r.resolve(f.defaults.offVariation, `defaults.offVariation of "${key}"`);
    for (const [env, spec] of desired.get(key)!) {
      const liveEnv = r.live?.environments[env];
      const current = r.live && liveEnv ? liveEnvSpec(r.live, liveEnv, liveIds) : freshEnvSpec(on, off);
      environmentSteps(steps, env, current, spec, keyOf);
    }
    if (r.live) {
      const kept = new Set(r.match);
      r.live.variations.forEach((v, i) => {
        if (!kept.has(i)) steps.add(`remove variation ${variationKeys(r.live!.variations)[i]} = ${show(v.value)}`, { kind: "removeVariation", variationId: v._id });
      });
      if (steps.instructions.length > 0) items.push({ resource: "flag", key, action: "update", version: live.flagVersions.get(key) ?? null, instructions: steps.instructions, summary: steps.summary });
      continue;
    }
    const create = {
      key,
      name: f.name,
      ...(f.description ? { description: f.description } : {}),
      tags: f.tags ?? [],
      temporary: f.temporary ?? true,
      ...(f.clientSideAvailability ? { clientSideAvailability: f.clientSideAvailability } : {}),
      variations: f.variations.map((v, i) => ({ _id: r.ids[i]!, value: v.value, ...(v.name ? { name: v.name } : {}), ...(v.description ? { description: v.description } : {}) })),
      defaults: { onVariation: r.ids.indexOf(on), offVariation: r.ids.indexOf(off) },
    };
    items.push({ resource: "flag", key, action: "create", version: null, create, instructions: steps.instructions, summary: [`create flag with variations ${f.variations.map((v) => v.key).join(", ")}`, ...steps.summary] });
  }

  if (prune) {
    const gone = live.flags.filter((f) => !flags.has(f.key)).map((f) => f.key);
    const prerequisitesOf = (k: string) => Object.values(liveFlags.get(k)?.environments ?? {}).flatMap((e) => e.prerequisites.map((p) => p.key));
    // Dependents before the flags they depend on.
    for (const key of applyOrder(gone, prerequisitesOf).reverse()) {
      items.push({ resource: "flag", key, action: "delete", version: live.flagVersions.get(key) ?? null, instructions: [{ kind: "deleteFlag" }], summary: ["delete flag"] });
    }
    for (const env of envKeys) {
      const wanted = file.segments?.[env];
      if (wanted === undefined) continue;
      for (const s of live.segments.get(env) ?? []) {
        if (!wanted.some((w) => w.key === s.key)) items.push({ resource: "segment", key: s.key, environmentKey: env, action: "delete", version: s.version, instructions: [], summary: [`${env}: delete segment`] });
      }
    }
  }

  const count = (a: PlanItem["action"]) => items.filter((i) => i.action === a).length;
  const instructions = items.reduce((n, i) => n + i.instructions.length, 0);
  const summary = items.length === 0 ? "Nothing to do: the live state matches the file" : `${count("create")} to create, ${count("update")} to update, ${count("delete")} to delete (${instructions} instructions)`;
  return { project: live.scope.project.key, environments: envKeys, prune, items, summary, notes: environmentNotes(live, file) };
}

/** Environment settings the file gives differently from what is live: reported, not changed. */
function environmentNotes(live: Live, file: FlagsFile): string[] {
  const notes: string[] = [];
  const current = fileOf(live, environmentsNamed(live.scope, Object.keys(file.environments).join(","))).environments;
  for (const [key, settings] of Object.entries(file.environments)) {
    for (const [field, value] of Object.entries(settings)) {
      const was = (current[key] as Record<string, unknown> | undefined)?.[field];
      if (!jsonEqual(was, value)) notes.push(`environment ${key}: ${field} is ${show(value)} in the file and ${show(was)} live; environment settings change through the environments API`);
    }
  }
  return notes;
}

export interface PlanRequest {
  file?: unknown;
  prune?: boolean;
  fromEnv?: string;
  toEnv?: string;
}

/**
 * The file a promotion plans: every flag's targeting in `to` made equal to its targeting in
 * `from` (the environment copy, as a plan). Segments are left alone.
 */
export function promotionFile(live: Live, from: string, to: string): FlagsFile {
  const [fromEnv] = environmentsNamed(live.scope, from);
  const [toEnv] = environmentsNamed(live.scope, to);
  if (!fromEnv || !toEnv || from === to) throw invalidRequest("fromEnv and toEnv must name two environments of the project");
  const source = fileOf(live, [fromEnv]);
  const target = fileOf(live, [toEnv]);
  return {
    version: target.version,
    environments: target.environments,
    flags: target.flags.map((f, i) => {
      const copied = source.flags[i]!.environments?.[from];
      return { ...f, environments: copied ? { [to]: copied } : {} };
    }),
  };
}

/** The file a request names: sent in it, or a promotion between two environments. */
export function fileOfRequest(live: Live, request: PlanRequest): FlagsFile {
  if (isPromotion(request)) return promotionFile(live, request.fromEnv ?? "", request.toEnv ?? "");
  return readFile(request.file);
}

function isPromotion(request: PlanRequest): boolean {
  const promotion = request.fromEnv !== undefined || request.toEnv !== undefined;
  if (promotion === (request.file !== undefined)) throw invalidRequest("give either file, or fromEnv and toEnv");
  return promotion;
}

export async function planProject(ctx: FlagsContext, caller: Caller, projectKey: string, request: PlanRequest): Promise<Plan> {
  authorizeRead(caller);
  // The file's shape is checked before anything is read.
  const parsed = isPromotion(request) ? undefined : readFile(request.file);
  const live = await readLive(ctx, projectKey);
  const file = parsed ?? fileOfRequest(live, request);
  return planOf(live, { file, prune: request.prune ?? false });
}
