/**
 * Expiring targets of segments: the date each context in a segment's included or excluded list is
 * to be taken off it (`…/segments/{p}/{s}/expiring-targets/{e}` — the environment last — and the
 * legacy user form). A change of them is a change of the segment (`changeSegment`): its audit entry
 * is the segment's and it raises the segment's version; SDKs are sent nothing until a context is
 * removed.
 */
import { auditEntry } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { invalidRequest, notFound } from "@vexil/shared/errors";
import type { ScheduledItem } from "../../storage/schedule-store.ts";
import type { FlagsContext } from "../context.ts";
import { newItem } from "../schedules/new-item.ts";
import { refuse, runEach } from "../semantic-patch/engine.ts";
import { listedIn } from "../segments/targets.ts";
import { changeSegment, segmentResource, segmentScheduleUpdate, type SegmentRead } from "../segments/segments.ts";
import { expiringPatch } from "./flag-expiring-targets.ts";
import { copyDraft, SEGMENT_CONTEXT_KINDS, SEGMENT_USER_KINDS, type ExpiringDraft, type Where } from "./instructions.ts";
import { expiringTargets, patchAnswer, segmentExpiringPath } from "./representation.ts";

function segmentDraft(caller: Caller, read: SegmentRead, items: ScheduledItem[], now: number): ExpiringDraft {
  return {
    items,
    now,
    checkTargeted(w: Where) {
      if (!listedIn(read.segment.doc, w.targetType!, w.contextKind, w.contextKey)) refuse(`${w.contextKind} "${w.contextKey}" is not in the segment's ${w.targetType} list; add it first`);
    },
    make: (w, dueAt) =>
      newItem(
        caller,
        now,
        { kind: "segmentExpiry", projectId: read.project.id, projectKey: read.project.key, environmentId: read.env.id, environmentKey: read.env.key, segmentId: read.segment.id, resourceKey: read.segment.key, dueAt },
        { contextKind: w.contextKind, contextKey: w.contextKey, targetType: w.targetType ?? null },
      ),
  };
}

async function segmentOf(ctx: FlagsContext, projectKey: string, segmentKey: string, envKey: string) {
  const scope = await ctx.flags.projectScope(projectKey);
  if (!scope) throw notFound(`Project "${projectKey}"`);
  const env = scope.environments.find((e) => e.key === envKey);
  if (!env) throw notFound(`Environment "${envKey}" in project "${projectKey}"`);
  const segment = await ctx.segments.segmentByKey(env.id, segmentKey);
  if (!segment) throw notFound(`Segment "${segmentKey}" in ${projectKey}/${envKey}`);
  return segment;
}

export async function getSegmentExpiringTargets(ctx: FlagsContext, caller: Caller, projectKey: string, segmentKey: string, envKey: string, users: boolean) {
  authorizeRead(caller);
  const segment = await segmentOf(ctx, projectKey, segmentKey, envKey);
  return expiringTargets(await ctx.schedules.segmentItems(segment.id), users, segmentExpiringPath(projectKey, segmentKey, envKey, users));
}

export async function patchSegmentExpiringTargets(ctx: FlagsContext, caller: Caller, projectKey: string, segmentKey: string, envKey: string, body: unknown, contentType: string | null, users: boolean) {
  const { instructions, comment } = expiringPatch(body, contentType);
  authorizeRead(caller);
  const applied = await changeSegment<{ items: ScheduledItem[]; errors: ReturnType<typeof runEach>["errors"]; earliest?: number }, ScheduledItem[]>(
    ctx,
    caller,
    projectKey,
    envKey,
    segmentKey,
    async (read, before) => {
      authorize(caller, "updateExpiringTargets", segmentResource(read, read.segment.doc));
      const now = ctx.now();
      const { draft, errors } = runEach(instructions, users ? SEGMENT_USER_KINDS : SEGMENT_CONTEXT_KINDS, segmentDraft(caller, read, before, now), copyDraft);
      const put = draft.items.filter((i) => !before.includes(i));
      const remove = before.filter((i) => !draft.items.some((x) => x.id === i.id)).map((i) => i.id);
      const result = { items: draft.items, errors, earliest: put.length > 0 ? Math.min(...put.map((i) => i.dueAt)) : undefined };
      if (put.length === 0 && remove.length === 0) return { result };
      if (read.env.requireComments && !comment) throw invalidRequest(`The environment "${read.env.key}" requires a comment on every change`);
      const audit = auditEntry({
        caller,
        kind: "segment",
        spec: `proj/${read.project.key}:env/${read.env.key}:segment/${read.segment.key}`,
        name: read.segment.doc.name,
        verb: "updated the expiring targets of the segment",
        actions: ["updateExpiringTargets"],
        comment,
        delta: { instructions },
        previousVersion: read.segment.version,
        currentVersion: read.segment.version + 1,
        now,
      });
      // Gated where segments need approval, as a flag's expiring targets are: it will change targeting.
      return { write: { ...segmentScheduleUpdate(read, audit, { put, remove }), gate: { gated: true } }, result };
    },
    (segment) => ctx.schedules.segmentItems(segment.id),
  );
  if (applied.earliest !== undefined) ctx.scheduled?.(applied.earliest);
  return patchAnswer(applied.items, users, segmentExpiringPath(projectKey, segmentKey, envKey, users), instructions.length, applied.errors);
}
