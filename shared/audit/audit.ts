/** Audit entries as the services write them, in the same transaction as the change they record. */
import { cloneJson } from "../json-clone.ts";
import { jsonDiff } from "../json-diff.ts";
import type { Caller } from "../caller.ts";
import { sortableId } from "../ids.ts";
import jsonPatch, { type Operation } from "fast-json-patch";
import { patchDelta, type PatchRequest } from "../patch.ts";
import type { AuditAccess } from "./schema.ts";

export interface AuditEntry {
  id: string;
  date: number;
  kind: string;
  spec: string;
  name: string;
  title: string;
  description: string;
  comment: string | null;
  accesses: AuditAccess[];
  memberId: string | null;
  memberEmail: string | null;
  tokenId: string | null;
  tokenName: string | null;
  serviceToken: boolean;
  delta: unknown;
  previousVersion: number | null;
  currentVersion: number | null;
  /** Null when `previousDelta` holds it: read it with `previousOf`. */
  previous: unknown;
  current: unknown;
  /** JSON Patch operations that turn `current` into the previous representation. */
  previousDelta: unknown;
  /** The operation the entry records, when it must happen at most once (unique in the log). */
  operationId: string | null;
}

export interface AuditInput {
  caller: Caller;
  kind: string;
  spec: string;
  name: string;
  /** Past tense, e.g. "created the access token". */
  verb: string;
  actions: readonly string[];
  comment?: string | null;
  description?: string;
  delta?: unknown;
  previousVersion?: number | null;
  currentVersion?: number | null;
  previous?: unknown;
  current?: unknown;
  now?: number;
  /** Who the title names, when not the caller: a schedule acting for the member or token that made it. */
  actor?: string;
  operationId?: string;
}

export function actorName(caller: Pick<Caller, "memberEmail" | "tokenName">): string {
  if (caller.memberEmail) return caller.memberEmail;
  if (caller.tokenName) return `token "${caller.tokenName}"`;
  return "Vexil";
}

const isObject = (v: unknown): v is object => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * An entry keeps the representation after the change whole and the one before it as the patch
 * back from it: a change touches a few fields of a document of kilobytes, and the entry is written
 * with every change.
 */
function before(previous: unknown, current: unknown): Pick<AuditEntry, "previous" | "previousDelta"> {
  if (!isObject(previous) || !isObject(current)) return { previous: previous ?? null, previousDelta: null };
  return { previous: null, previousDelta: jsonDiff(current, previous) };
}

/** The representation before the change an entry records, however the entry keeps it. */
export function previousOf(entry: Pick<AuditEntry, "previous" | "current" | "previousDelta">): unknown {
  if (entry.previous !== null && entry.previous !== undefined) return entry.previous;
  if (!Array.isArray(entry.previousDelta) || !isObject(entry.current)) return null;
  return jsonPatch.applyPatch(cloneJson(entry.current), entry.previousDelta as Operation[], false, true).newDocument;
}

export function auditEntry(input: AuditInput): AuditEntry {
  const date = input.now ?? Date.now();
  return {
    id: sortableId(date),
    date,
    kind: input.kind,
    spec: input.spec,
    name: input.name,
    title: `${input.actor ?? actorName(input.caller)} ${input.verb} ${input.name}`,
    description: input.description ?? "",
    comment: input.comment ?? null,
    accesses: input.actions.map((action) => ({ action, resource: input.spec })),
    memberId: input.caller.memberId,
    memberEmail: input.caller.memberEmail,
    tokenId: input.caller.tokenId,
    tokenName: input.caller.tokenName,
    serviceToken: input.caller.serviceToken,
    delta: input.delta ?? null,
    previousVersion: input.previousVersion ?? null,
    currentVersion: input.currentVersion ?? null,
    ...before(input.previous, input.current),
    current: input.current ?? null,
    operationId: input.operationId ?? null,
  };
}

/**
 * The fields of a PATCH's audit entry: its comment and patch (or `delta`, when the patch must be
 * shown otherwise), and the representations and versions before and after.
 */
export function patchChange(
  request: PatchRequest,
  noun: string,
  representations: { previous: unknown; current: unknown },
  versions: { previous: number; current: number },
  now: number,
  delta: unknown = patchDelta(request),
): Pick<AuditInput, "verb" | "comment" | "delta" | "previous" | "current" | "previousVersion" | "currentVersion" | "now"> {
  return {
    verb: `updated the ${noun}`,
    comment: request.comment,
    delta,
    previous: representations.previous,
    current: representations.current,
    previousVersion: versions.previous,
    currentVersion: versions.current,
    now,
  };
}
