/**
 * A plan cut into plans small enough to send: a request body is at most 1 MiB, and a plan of
 * thousands of items (creations carry whole flags) is larger. Items keep their order, so each part
 * is applied after the one before it and prerequisites still come first.
 */
export const MAX_PLAN_BYTES = 900 * 1024;

export function planChunks<P extends { items: unknown[]; summary: string }>(plan: P, maxBytes = MAX_PLAN_BYTES): P[] {
  const whole = JSON.stringify(plan).length;
  if (whole <= maxBytes) return [plan];
  const overhead = JSON.stringify({ ...plan, items: [] }).length + 64;
  const parts: P[] = [];
  let items: unknown[] = [];
  let size = overhead;
  for (const item of plan.items) {
    const bytes = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (items.length > 0 && size + bytes > maxBytes) {
      parts.push({ ...plan, items });
      items = [];
      size = overhead;
    }
    items.push(item);
    size += bytes;
  }
  if (items.length > 0) parts.push({ ...plan, items });
  return parts.map((p, i) => ({ ...p, summary: `${plan.summary} (part ${i + 1} of ${parts.length})` }));
}
