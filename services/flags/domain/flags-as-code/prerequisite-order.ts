/** The order prerequisites impose on a plan: cycles refused, and a flag applied after its prerequisites. */

/** A cycle in the prerequisites the file asks for (with live ones of flags it leaves out), per environment. */
export function findCycle(edges: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (k: string): string[] | undefined => {
    if (state.get(k) === "done") return undefined;
    if (state.get(k) === "open") return [...path.slice(path.indexOf(k)), k];
    state.set(k, "open");
    path.push(k);
    for (const next of edges.get(k) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(k, "done");
    return undefined;
  };
  for (const k of [...edges.keys()].sort()) {
    const cycle = visit(k);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Flag keys with every flag's prerequisites (in any environment) before it. */
export function applyOrder(keys: string[], prerequisitesOf: (key: string) => string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const included = new Set(keys);
  const visit = (k: string) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const p of prerequisitesOf(k)) if (included.has(p)) visit(p);
    order.push(k);
  };
  for (const k of keys) visit(k);
  return order;
}
