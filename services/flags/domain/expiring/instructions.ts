/**
 * Expiring-target instructions: LaunchDarkly's kinds for the removal dates of individually
 * targeted contexts, a table per endpoint family (flag contexts, flag users, segment contexts,
 * segment users, a user's flags), one line per kind with its policy action. Each instruction runs
 * on its own (`runEach`): one that fails is reported by index and the others stand.
 *
 * A context has one removal date per flag and environment (on the one variation that targets it),
 * and per segment; it must be individually targeted there to get one. `version`, when given, must
 * be the expiring target's `_version`. `remove…` cancels the date and leaves the context targeted.
 */
import { refuse, type InstructionTable, type Params } from "../semantic-patch/engine.ts";
import { optStr, str } from "../semantic-patch/params.ts";
import type { ScheduledItem } from "../../storage/schedule-store.ts";

/** Where an instruction's context is targeted: a flag's variation, or a segment's list. */
export interface Where {
  contextKind: string;
  contextKey: string;
  variationId?: string;
  targetType?: "included" | "excluded";
}

export interface ExpiringDraft {
  /** The expiring targets of the flag in the environment, or of the segment. */
  items: ScheduledItem[];
  now: number;
  /** The user of the user-level endpoint (from the path). */
  userKey?: string;
  /** Refuses unless the context is individually targeted where `where` says. */
  checkTargeted(where: Where): void;
  /** A new expiring target. */
  make(where: Where, dueAt: number): ScheduledItem;
}

export const copyDraft = (d: ExpiringDraft): ExpiringDraft => ({ ...d, items: [...d.items] });

/** The most instructions one request holds. */
export const MAX_EXPIRING_INSTRUCTIONS = 1_000;

const ACTION = "updateExpiringTargets";

/** A removal date: epoch milliseconds, in the future. */
function removalDate(p: Params, now: number): number {
  const v = p.value;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > 8.64e15) refuse("value must be a date in epoch milliseconds");
  if (v <= now) refuse(`value ${v} is not in the future`);
  return v;
}

const named = (w: Where) => `${w.contextKind} "${w.contextKey}"`;
const find = (d: ExpiringDraft, w: Where) => d.items.find((i) => i.contextKind === w.contextKind && i.contextKey === w.contextKey);

/** Refuses when the target is on another variation or list than the instruction says. */
function sameWhere(item: ScheduledItem, w: Where): void {
  if (w.variationId !== undefined && item.variationId !== w.variationId) refuse(`${named(w)} is to be removed from variation "${item.variationId}", not "${w.variationId}"`);
  if (w.targetType !== undefined && item.targetType !== w.targetType) refuse(`${named(w)} is to be removed from the ${item.targetType} list, not the ${w.targetType} one`);
}

/** Bytes of a context's kind and key at most: they are indexed (one date per context), and an index entry is bounded. */
const MAX_KIND_BYTES = 256;
const MAX_KEY_BYTES = 1024;

function add(d: ExpiringDraft, w: Where, p: Params): void {
  if (Buffer.byteLength(w.contextKind) > MAX_KIND_BYTES) refuse(`contextKind is over ${MAX_KIND_BYTES} bytes`);
  if (Buffer.byteLength(w.contextKey) > MAX_KEY_BYTES) refuse(`the context key is over ${MAX_KEY_BYTES} bytes`);
  const dueAt = removalDate(p, d.now);
  d.checkTargeted(w);
  const existing = find(d, w);
  if (existing) refuse(`${named(w)} already has a removal date (${new Date(existing.dueAt).toISOString()}); update it instead`);
  d.items.push(d.make(w, dueAt));
}

function update(d: ExpiringDraft, w: Where, p: Params): void {
  const dueAt = removalDate(p, d.now);
  const item = find(d, w) ?? refuse(`${named(w)} has no removal date to update`);
  sameWhere(item, w);
  const version = p.version;
  if (version !== undefined && (typeof version !== "number" || !Number.isInteger(version))) refuse("version must be an integer");
  if (version !== undefined && version !== item.version) refuse(`version ${version} is not the expiring target's version, ${item.version}`);
  d.items[d.items.indexOf(item)] = { ...item, dueAt, version: item.version + 1 };
}

function remove(d: ExpiringDraft, w: Where): void {
  const item = find(d, w) ?? refuse(`${named(w)} has no removal date`);
  sameWhere(item, w);
  d.items.splice(d.items.indexOf(item), 1);
}

function targetType(p: Params): "included" | "excluded" {
  const v = p.targetType;
  if (v !== "included" && v !== "excluded") refuse('targetType must be "included" or "excluded"');
  return v;
}

/** The three kinds of a family, with how its instructions name the context. */
function family(names: [string, string, string], where: (p: Params, d: ExpiringDraft) => Where): InstructionTable<ExpiringDraft> {
  const [addKind, updateKind, removeKind] = names;
  return {
    [addKind]: { action: ACTION, run: (d, p) => add(d, where(p, d), p) },
    [updateKind]: { action: ACTION, run: (d, p) => update(d, where(p, d), p) },
    [removeKind]: { action: ACTION, run: (d, p) => remove(d, where(p, d)) },
  };
}

const CONTEXT = ["addExpiringTarget", "updateExpiringTarget", "removeExpiringTarget"] as [string, string, string];
const USER = ["addExpireUserTargetDate", "updateExpireUserTargetDate", "removeExpireUserTargetDate"] as [string, string, string];
const contextOf = (p: Params) => ({ contextKind: optStr(p, "contextKind") || "user", contextKey: str(p, "contextKey") });

/** `…/flags/{p}/{f}/expiring-targets/{e}`: `variationId`, `contextKey`, `contextKind`. */
export const FLAG_CONTEXT_KINDS = family(CONTEXT, (p) => ({ ...contextOf(p), variationId: str(p, "variationId") }));
/** `…/flags/{p}/{f}/expiring-user-targets/{e}`: `variationId`, `userKey`. */
export const FLAG_USER_KINDS = family(USER, (p) => ({ contextKind: "user", contextKey: str(p, "userKey"), variationId: str(p, "variationId") }));
/** `…/segments/{p}/{s}/expiring-targets/{e}`: `targetType`, `contextKey`, `contextKind`. */
export const SEGMENT_CONTEXT_KINDS = family(CONTEXT, (p) => ({ ...contextOf(p), targetType: targetType(p) }));
/** `…/segments/{p}/{s}/expiring-user-targets/{e}`: `targetType`, `userKey`. */
export const SEGMENT_USER_KINDS = family(USER, (p) => ({ contextKind: "user", contextKey: str(p, "userKey"), targetType: targetType(p) }));
/** `/users/{p}/{userKey}/expiring-user-targets/{e}`: `flagKey` (which flag: the caller groups by it), `variationId`; the user from the path. */
export const USER_FLAG_KINDS = family(USER, (p, d) => ({ contextKind: "user", contextKey: d.userKey!, variationId: str(p, "variationId") }));

export const EXPIRING_CONTEXT_KINDS: readonly string[] = CONTEXT;
export const EXPIRING_USER_KINDS: readonly string[] = USER;
