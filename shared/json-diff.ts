/**
 * The JSON Patch (RFC 6902) that turns one JSON document into another: what an audit entry keeps
 * of the representation before a change (`audit/audit.ts`). A walk of both documents that passes
 * over a part both share (the same object: a changed flag shares its unchanged environments'
 * targets and rules with the flag it was changed from) and builds a path only for an operation,
 * where `fast-json-patch`'s `compare` walks everything and escapes every key it passes.
 *
 * The operations are those `compare` makes: `replace` where a value differs (and is not an object
 * or array on both sides of the same kind), `remove` and `add` for keys one side lacks, and for
 * arrays of different lengths the elements past the shorter one removed from, or added at, the end.
 * A key whose value is `undefined` counts as absent, as it is once the entry is JSON.
 */
import { cloneJson } from "./json-clone.ts";

export type PatchOperation = { op: "add" | "replace"; path: string; value: unknown } | { op: "remove"; path: string };

type Json = Record<string, unknown>;

const isContainer = (v: unknown): v is Json | unknown[] => typeof v === "object" && v !== null;
const escaped = (key: string) => (key.includes("~") || key.includes("/") ? key.replaceAll("~", "~0").replaceAll("/", "~1") : key);

/** Operations that turn `from` into `to`. */
export function jsonDiff(from: unknown, to: unknown): PatchOperation[] {
  const walk = new Walk();
  walk.value(from, to);
  return walk.ops;
}

/** The walk keeps the keys down to where it is and joins them into a path only for an operation. */
class Walk {
  readonly ops: PatchOperation[] = [];
  private readonly keys: string[] = [];

  private path(last?: string): string {
    let path = "";
    for (const key of this.keys) path += `/${key}`;
    return last === undefined ? path : `${path}/${last}`;
  }

  value(from: unknown, to: unknown): void {
    if (from === to) return;
    if (isContainer(from) && isContainer(to) && Array.isArray(from) === Array.isArray(to)) {
      if (Array.isArray(from)) this.array(from, to as unknown[]);
      else this.object(from, to as Json);
      return;
    }
    this.ops.push({ op: "replace", path: this.path(), value: cloneJson(to) });
  }

  private inside(key: string, from: unknown, to: unknown): void {
    if (from === to) return;
    if (!isContainer(from) && !isContainer(to)) {
      this.ops.push({ op: "replace", path: this.path(key), value: to });
      return;
    }
    this.keys.push(key);
    this.value(from, to);
    this.keys.pop();
  }

  private object(from: Json, to: Json): void {
    for (const key of Object.keys(from)) {
      const before = from[key];
      if (before === undefined) continue;
      const after = Object.hasOwn(to, key) ? to[key] : undefined;
      if (after === undefined) this.ops.push({ op: "remove", path: this.path(escaped(key)) });
      else this.inside(escaped(key), before, after);
    }
    for (const key of Object.keys(to)) {
      const after = to[key];
      if (after !== undefined && (!Object.hasOwn(from, key) || from[key] === undefined)) this.ops.push({ op: "add", path: this.path(escaped(key)), value: cloneJson(after) });
    }
  }

  private array(from: unknown[], to: unknown[]): void {
    const common = Math.min(from.length, to.length);
    for (let i = 0; i < common; i++) this.inside(String(i), from[i], to[i]);
    // Removed from the end first, so each index names the element it means when applied in order.
    for (let i = from.length - 1; i >= common; i--) this.ops.push({ op: "remove", path: this.path(String(i)) });
    for (let i = common; i < to.length; i++) this.ops.push({ op: "add", path: this.path(String(i)), value: cloneJson(to[i]) });
  }
}
