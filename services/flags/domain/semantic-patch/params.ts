/**
 * Readers of instruction parameters, for every instruction family. Each refuses the instruction
 * when the parameter is missing or of the wrong type; `at` names the object the parameter belongs
 * to in messages ("targets[1].values").
 */
import { isRecord } from "../validation.ts";
import { refuse, type Params } from "./engine.ts";

export const named = (at: string, key: string) => (at ? `${at}.${key}` : key);

export function object(v: unknown, name: string): Params {
  if (!isRecord(v)) refuse(`${name} must be an object`);
  return v;
}

export function list(o: Params, key: string, at = ""): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) refuse(`${named(at, key)} must be an array`);
  return v;
}

export function strings(o: Params, key: string, at = ""): string[] {
  return list(o, key, at).map((v, i) => (typeof v === "string" ? v : refuse(`${named(at, key)}[${i}] must be a string`)));
}

export function str(o: Params, key: string, at = ""): string {
  const v = o[key];
  if (typeof v !== "string" || v === "") refuse(`${named(at, key)} must be a non-empty string`);
  return v;
}

export function optStr(o: Params, key: string, at = ""): string | undefined {
  const v = o[key];
  if (v !== undefined && typeof v !== "string") refuse(`${named(at, key)} must be a string`);
  return v;
}

export function bool(o: Params, key: string, at = ""): boolean {
  const v = o[key];
  if (typeof v !== "boolean") refuse(`${named(at, key)} must be a boolean`);
  return v;
}

export function optBool(o: Params, key: string, at = ""): boolean | undefined {
  return o[key] === undefined ? undefined : bool(o, key, at);
}

export const unique = <T>(values: T[]) => [...new Set(values)];
