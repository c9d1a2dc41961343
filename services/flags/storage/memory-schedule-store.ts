/** Scheduled items in memory, owned by the memory flag store (which writes them with its flags and segments); the contract suite keeps it honest. */
import type { Claim, ScheduledItem, ScheduledKind, ScheduleStore, ScheduleWrite } from "./schedule-store.ts";

interface Held {
  item: ScheduledItem;
  leaseToken: string | null;
  leaseUntil: number | null;
}

const byDue = (a: ScheduledItem, b: ScheduledItem) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class MemoryScheduleStore implements ScheduleStore {
  private readonly items = new Map<string, Held>();

  private list(keep: (item: ScheduledItem) => boolean): ScheduledItem[] {
    return [...this.items.values()].map((h) => h.item).filter(keep).sort(byDue).map((i) => structuredClone(i));
  }

  async flagItems(flagId: string, environmentId: string, kind: ScheduledKind) {
    return this.list((i) => i.flagId === flagId && i.environmentId === environmentId && i.kind === kind);
  }

  async segmentItems(segmentId: string) {
    return this.list((i) => i.segmentId === segmentId);
  }

  async contextItems(environmentId: string, contextKind: string, contextKey: string) {
    return this.list((i) => i.kind === "flagExpiry" && i.environmentId === environmentId && i.contextKind === contextKind && i.contextKey === contextKey);
  }

  async item(id: string) {
    const held = this.items.get(id);
    return held && structuredClone(held.item);
  }

  async claim(now: number, leaseMs: number, limit: number): Promise<Claim> {
    const token = crypto.randomUUID();
    const leaseUntil = now + leaseMs;
    const due = [...this.items.values()]
      .filter((h) => h.item.status === "pending" && h.item.dueAt <= now && (h.leaseUntil === null || h.leaseUntil < now))
      .sort((a, b) => byDue(a.item, b.item))
      .slice(0, limit);
    for (const h of due) Object.assign(h, { leaseToken: token, leaseUntil });
    return { token, leaseUntil, items: due.map((h) => structuredClone(h.item)) };
  }

  async nextDue(now: number) {
    const due = [...this.items.values()].filter((h) => h.item.status === "pending" && (h.leaseUntil === null || h.leaseUntil < now)).map((h) => h.item.dueAt);
    return due.length === 0 ? undefined : Math.min(...due);
  }

  async release(id: string, token: string) {
    const held = this.items.get(id);
    if (held?.leaseToken === token) Object.assign(held, { leaseToken: null, leaseUntil: null });
  }

  async discard(id: string, token: string) {
    if (this.items.get(id)?.leaseToken === token) this.items.delete(id);
  }

  // What the memory flag store calls as it writes (the database does these in its statements).

  /** The items of a write of a flag (`flagId`) or segment (`segmentId`). */
  apply(owner: { flagId?: string; segmentId?: string }, write: ScheduleWrite | undefined): void {
    if (!write) return;
    for (const item of write.put ?? []) this.items.set(item.id, { item: structuredClone(item), leaseToken: null, leaseUntil: null });
    for (const id of write.remove ?? []) this.items.delete(id);
    for (const d of write.dropped ?? []) {
      this.removeWhere((i) =>
        owner.flagId !== undefined
          ? i.kind === "flagExpiry" && i.flagId === owner.flagId && i.environmentId === d.environmentId && i.contextKind === d.contextKind && i.contextKey === d.contextKey && i.variationId === (d.variationId ?? null)
          : i.kind === "segmentExpiry" && i.segmentId === owner.segmentId && i.contextKind === d.contextKind && i.contextKey === d.contextKey && i.targetType === (d.targetType ?? null),
      );
    }
  }

  /** Removes the items `drop` picks: what foreign keys do when a flag, segment or environment goes. */
  removeWhere(drop: (item: ScheduledItem) => boolean): void {
    for (const [id, held] of this.items) if (drop(held.item)) this.items.delete(id);
  }
}
