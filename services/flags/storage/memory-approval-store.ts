/** Approval requests in memory, owned by the memory flag store (which writes them with its flags). */
import { APPROVAL_LIST_CAP, type ApprovalQuery, type ApprovalRequestRecord, type ApprovalStore, type ApprovalWrite } from "./approval-store.ts";

const newestFirst = (a: ApprovalRequestRecord, b: ApprovalRequestRecord) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export class MemoryApprovalStore implements ApprovalStore {
  private readonly requests = new Map<string, ApprovalRequestRecord>();

  private select(keep: (r: ApprovalRequestRecord) => boolean): ApprovalRequestRecord[] {
    return [...this.requests.values()].filter(keep).sort(newestFirst).slice(0, APPROVAL_LIST_CAP).map((r) => structuredClone(r));
  }

  async request(id: string) {
    const found = this.requests.get(id);
    return found && structuredClone(found);
  }

  async flagRequests(flagId: string, environmentId: string) {
    return this.select((r) => r.flagId === flagId && r.environmentId === environmentId);
  }

  async list(q: ApprovalQuery) {
    return this.select(
      (r) =>
        (q.projectKey === undefined || r.projectKey === q.projectKey) &&
        (q.flagId === undefined || r.flagId === q.flagId) &&
        (q.environmentId === undefined || r.environmentId === q.environmentId) &&
        (q.requestorId === undefined || (r.requestor.memberId ?? r.requestor.tokenId) === q.requestorId) &&
        (q.statuses === undefined || q.statuses.includes(r.status)),
    );
  }

  // What the memory flag store calls as it writes (the database does these in its statements).

  apply(write: ApprovalWrite | undefined): void {
    if (!write) return;
    for (const r of write.put ?? []) this.requests.set(r.id, structuredClone(r));
    for (const id of write.remove ?? []) this.requests.delete(id);
  }

  /** What foreign keys do when a flag or environment goes. */
  removeWhere(drop: (r: ApprovalRequestRecord) => boolean): void {
    for (const [id, r] of this.requests) if (drop(r)) this.requests.delete(id);
  }
}
