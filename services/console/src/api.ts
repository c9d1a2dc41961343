/** The public REST API, called like any client: the session cookie rides along, nothing else is kept. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export const SEMANTIC_PATCH = "application/json; domain-model=launchdarkly.semanticpatch";

export async function api<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  const response = await fetch(path, init);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const json = text ? safeJson(text) : undefined;
  if (!response.ok) {
    const e = (json ?? {}) as { code?: string; message?: string; id?: string };
    throw new ApiError(response.status, e.code ?? "error", e.message ?? `${response.status} ${response.statusText}`, e.id);
  }
  return json as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const enc = encodeURIComponent;

export interface Environment {
  key: string;
  name: string;
  _id: string;
  apiKey?: string;
  mobileKey?: string;
  color?: string;
}
export interface Project {
  key: string;
  name: string;
  _id: string;
  environments?: { items: Environment[] } | Environment[];
}
export interface Variation {
  _id: string;
  value: unknown;
  name?: string;
}
export interface Clause {
  _id?: string;
  contextKind?: string;
  attribute: string;
  op: string;
  values: unknown[];
  negate: boolean;
}
export interface Rollout {
  variations: Array<{ variation: number; weight: number }>;
  bucketBy?: string;
  contextKind?: string;
}
export interface Rule {
  _id?: string;
  description?: string;
  clauses: Clause[];
  variation?: number;
  rollout?: Rollout;
}
export interface Target {
  values: string[];
  variation: number;
  contextKind?: string;
}
export interface FlagEnvironment {
  on: boolean;
  version: number;
  targets?: Target[];
  contextTargets?: Target[];
  rules?: Rule[];
  fallthrough?: { variation?: number; rollout?: Rollout };
  offVariation?: number;
  prerequisites?: Array<{ key: string; variation: number }>;
  _summary?: unknown;
}
export interface Flag {
  key: string;
  name: string;
  description?: string;
  _version: number;
  variations: Variation[];
  tags: string[];
  environments: Record<string, FlagEnvironment>;
}
/** One semantic patch instruction. */
export type Instruction = Record<string, unknown> & { kind: string };

export interface Page<T> {
  items: T[];
  totalCount?: number;
}

export const environmentsOf = (p: Project): Environment[] => (Array.isArray(p.environments) ? p.environments : (p.environments?.items ?? []));
export const errorText = (e: unknown) => (e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e));
