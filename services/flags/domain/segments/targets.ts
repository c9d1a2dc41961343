/** A segment's individual targets, as expiring targets read them. */
import type { Segment } from "./model.ts";

/** True when the segment lists the context on that side (user keys in `included`/`excluded` count for kind `user`). */
export function listedIn(segment: Segment, side: "included" | "excluded", kind: string, key: string): boolean {
  if (kind === "user" && segment[side].includes(key)) return true;
  return segment[side === "included" ? "includedContexts" : "excludedContexts"].some((t) => t.contextKind === kind && t.values.includes(key));
}
