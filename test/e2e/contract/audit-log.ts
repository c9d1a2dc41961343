/** Calls every documented audit-log operation, answers and refusals. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

export async function exerciseAuditLog(api: Client): Promise<void> {
  const started = Date.now() - 1;
  expect((await api.call("POST", "/api/v2/projects", { body: { key: "contract-audit", name: "Contract audit", environments: [{ key: "live", name: "Live", color: "00ff00" }] } })).status).toBe(201);
  const segs = "/api/v2/segments/contract-audit/live";
  expect((await api.call("POST", segs, { body: { key: "audited", name: "Audited" } })).status).toBe(201);
  expect((await api.call("PATCH", `${segs}/audited`, { body: { comment: "contract-audit comment", patch: [{ op: "add", path: "/included/-", value: "u-1" }] } })).status).toBe(200);
  expect((await api.call("DELETE", `${segs}/audited`)).status).toBe(204);

  // The segment's three entries, newest first.
  const spec = encodeURIComponent("proj/contract-audit:env/*:segment/*");
  const listed = await api.call("GET", `/api/v2/auditlog?spec=${spec}&after=${started}`);
  expect(listed.status).toBe(200);
  expect(listed.body.items.map((e: { accesses: Array<{ action: string }> }) => e.accesses[0]!.action)).toEqual(["deleteSegment", "updateIncluded", "createSegment"]);
  const [deleted, updated, created] = listed.body.items as Array<{ _id: string }>;
  const q = await api.call("GET", `/api/v2/auditlog?q=${encodeURIComponent("contract-audit comment")}&limit=5`);
  expect(q.status).toBe(200);
  expect(q.body.items.map((e: { _id: string }) => e._id)).toEqual([updated!._id]);
  expect((await api.call("GET", `/api/v2/auditlog?before=${started}&spec=${spec}`)).body.items).toEqual([]);

  // Each kind of entry in detail: a creation, an update, a deletion.
  const creation = await api.call("GET", `/api/v2/auditlog/${created!._id}`);
  expect(creation.status).toBe(200);
  expect(creation.body.currentVersion).toMatchObject({ key: "audited" });
  expect(creation.body.previousVersion).toBeUndefined();
  const update = await api.call("GET", `/api/v2/auditlog/${updated!._id}`);
  expect(update.status).toBe(200);
  expect(update.body).toMatchObject({ comment: "contract-audit comment", _previousVersionNumber: 1, _currentVersionNumber: 2, previousVersion: { included: [] }, currentVersion: { included: ["u-1"] } });
  expect(update.body.delta).toEqual([{ op: "add", path: "/included/-", value: "u-1" }]);
  const deletion = await api.call("GET", `/api/v2/auditlog/${deleted!._id}`);
  expect(deletion.status).toBe(200);
  expect(deletion.body.currentVersion).toBeUndefined();
  expect(deletion.body.previousVersion).toMatchObject({ key: "audited", included: ["u-1"] });
  expect((await api.call("GET", "/api/v2/auditlog/0000000000000000nope")).status).toBe(404);

  // The whole log, page by page, every entry in detail.
  let next: string | undefined = "/api/v2/auditlog?limit=20";
  const ids: string[] = [];
  while (next) {
    const page: { status: number; body: { items: Array<{ _id: string }>; _links: { next?: { href: string } } } } = await api.call("GET", next);
    expect(page.status).toBe(200);
    ids.push(...page.body.items.map((e) => e._id));
    next = page.body._links.next?.href;
  }
  expect(ids.length).toBeGreaterThan(3);
  for (const id of ids) expect((await api.call("GET", `/api/v2/auditlog/${id}`)).status).toBe(200);

  // Many entries in the same few milliseconds: following next from the first page to the last gives each exactly once, newest first.
  const crowdStarted = Date.now() - 1;
  const keys = Array.from({ length: 30 }, (_, i) => `crowd-${i}`);
  const createdCrowd = await Promise.all(keys.map((key) => api.call("POST", segs, { body: { key, name: key } })));
  expect(createdCrowd.map((r) => r.status)).toEqual(keys.map(() => 201));
  let crowdNext: string | undefined = `/api/v2/auditlog?limit=7&after=${crowdStarted}&spec=${encodeURIComponent("proj/contract-audit:env/live:segment/crowd-*")}`;
  const crowd: Array<{ _id: string; date: number; name: string }> = [];
  while (crowdNext) {
    const page: { status: number; body: { items: Array<{ _id: string; date: number; name: string }>; _links: { next?: { href: string } } } } = await api.call("GET", crowdNext);
    expect(page.status).toBe(200);
    crowd.push(...page.body.items);
    crowdNext = page.body._links.next?.href;
  }
  expect(crowd.map((e) => e.name).sort()).toEqual([...keys].sort());
  expect(new Set(crowd.map((e) => e._id)).size).toBe(30);
  const newestFirst = [...crowd].sort((a, b) => b.date - a.date || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0));
  expect(crowd.map((e) => e._id)).toEqual(newestFirst.map((e) => e._id));

  // Refusals.
  const refusals = ["limit=0", "limit=21", "limit=ten", "before=yesterday", "after=-1", `spec=${encodeURIComponent("proj/")}`, `spec=${encodeURIComponent("proj/a:{x")}`];
  refusals.push(`before=${Date.now()}&beforeId=nope`, `before=${Date.now()}&beforeId=${"A".repeat(24)}`, `beforeId=${crowd[0]!._id}`);
  for (const query of refusals) {
    expect({ query, status: (await api.call("GET", `/api/v2/auditlog?${query}`)).status }).toEqual({ query, status: 400 });
  }
}
